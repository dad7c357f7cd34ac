/**
 * Security checklist, "Issuing (S/MIME Baseline Requirements)": RSA key constraints (BR §6.1.5,
 * §6.1.6) as the linter sees certificates our builder issued. The other BR rules (keyUsage, EKU,
 * subjectAltName, policies, CRL distribution point, validity, serial) are proven rule by rule in
 * test/x509/lint.test.ts; see docs/security.md.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { algorithm, bitString, integer, seq, unsignedInteger } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { lintCertificate } from '../../src/x509/lint.ts';
import { type Issuer, makeLeaf, makeRoot } from '../x509/ca-support.ts';

const STRICT = { profile: 'strict' } as const;

/** An RSA SubjectPublicKeyInfo (RFC 8017 A.1.1) with a real modulus and any exponent. */
function rsaSpki(modulus: Buffer, exponent: number): Buffer {
  return seq(algorithm(OID.rsaEncryption, null), bitString(seq(unsignedInteger(modulus), integer(exponent))));
}

function modulusOf(bits: number): Buffer {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return Buffer.from(publicKey.export({ format: 'jwk' }).n!, 'base64url');
}

const rules = (findings: { rule: string }[]) => findings.map((f) => f.rule);

describe('RSA keys at issuing (BR §6.1.5, §6.1.6)', () => {
  let root: Issuer;
  const n2048 = modulusOf(2048);
  before(async () => {
    root = await makeRoot('rsa');
  });

  const lintKey = async (modulus: Buffer, exponent: number) => {
    const { certificate } = await makeLeaf(root, 'key@example.org', {
      key: 'rsa',
      publicKey: rsaSpki(modulus, exponent),
    });
    return rules(lintCertificate(certificate, STRICT));
  };

  test('2048 bits with e = 65537 conform; e = 3 is allowed but outside the recommended range', async () => {
    assert.deepEqual(await lintKey(n2048, 65537), []);
    assert.deepEqual(await lintKey(n2048, 3), ['w_rsa_public_exponent_range']);
  });

  test('a modulus that is not a multiple of 8 bits is an error', async () => {
    assert.deepEqual(await lintKey(modulusOf(2052), 65537), ['e_rsa_modulus_not_multiple_of_8']);
  });

  test('a modulus under 2048 bits is an error', async () => {
    assert.ok((await lintKey(modulusOf(1024), 65537)).includes('e_rsa_key_too_small'));
  });

  // BR §6.1.6: "the value of the public exponent SHALL be an odd number equal to 3 or more".
  for (const e of [1, 2, 65536]) {
    test(`public exponent ${e} is an error`, async () => {
      const found = await lintKey(n2048, e);
      assert.ok(
        found.some((r) => r.startsWith('e_rsa_public_exponent')),
        `findings: ${found.join(', ')}`,
      );
    });
  }
});
