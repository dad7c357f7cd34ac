import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decode } from '../../src/asn1/der.ts';
import { algorithm, explicit, integer, oid, seq } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { isSealpostError } from '../../src/errors.ts';
import { type AlgorithmIdentifier, parseAlgorithmIdentifier } from '../../src/x509/algorithm.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { type HashName, signatureAlgorithmFor, verifySignature } from '../../src/x509/signature.ts';
import { testPki, type UserName } from '../support/pki.ts';

const pki = testPki();
const work = mkdtempSync(join(tmpdir(), 'sealpost-sig-'));
const data = Buffer.from('the data to be signed');
const priv = (n: UserName): KeyObject => createPrivateKey(pki.user(n).key);
const pub = (n: UserName): KeyObject => createPublicKey(priv(n));
const alg = (der: Uint8Array): AlgorithmIdentifier => parseAlgorithmIdentifier(decode(der));

/** `openssl dgst -sign` over `data` with extra -sigopt options. */
function opensslSign(name: UserName, hash: HashName, sigopts: string[] = []): Buffer {
  const file = join(work, 'data.bin');
  writeFileSync(file, data);
  return execFileSync('openssl', [
    'dgst',
    `-${hash}`,
    '-sign',
    pki.user(name).keyPath,
    ...sigopts.flatMap((o) => ['-sigopt', o]),
    file,
  ]);
}

function pssParams(hash: string, mgfHash: string, salt: number): Buffer {
  return seq(
    explicit(0, algorithm(hash, null)),
    explicit(1, algorithm(OID.mgf1, algorithm(mgfHash, null))),
    explicit(2, integer(salt)),
  );
}

describe('signatureAlgorithmFor', () => {
  const cases: [UserName, HashName, boolean, string][] = [
    ['alice', 'sha256', false, OID.sha256WithRSAEncryption],
    ['bob', 'sha384', false, OID.sha384WithRSAEncryption],
    ['alice', 'sha512', false, OID.sha512WithRSAEncryption],
    ['alice', 'sha256', true, OID.rsassaPss],
    ['bob', 'sha512', true, OID.rsassaPss],
    ['carol', 'sha256', false, OID.ecdsaWithSHA256],
    ['dave', 'sha384', false, OID.ecdsaWithSHA384],
    ['erin', 'sha512', false, OID.ed25519],
  ];
  for (const [name, hash, pss, expected] of cases) {
    it(`${name} ${hash}${pss ? ' PSS' : ''} -> ${expected}, verified by us and by openssl`, () => {
      const s = signatureAlgorithmFor(priv(name), hash, pss);
      const a = alg(s.algorithm);
      assert.equal(a.oid, expected);
      const signature = s.sign(data);
      assert.equal(verifySignature(a, pub(name), data, signature), true);
      // openssl pkeyutl verifies independently.
      const pubFile = join(work, `${name}.pub.pem`);
      writeFileSync(pubFile, pub(name).export({ type: 'spki', format: 'pem' }));
      const sigFile = join(work, 'sig.bin');
      writeFileSync(sigFile, signature);
      const dataFile = join(work, 'data.bin');
      writeFileSync(dataFile, data);
      const opts =
        name === 'erin'
          ? ['-rawin']
          : [
              '-rawin',
              '-digest',
              hash,
              ...(pss
                ? ['-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', `rsa_pss_saltlen:${hash === 'sha256' ? 32 : 64}`]
                : []),
            ];
      execFileSync('openssl', [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        pubFile,
        '-in',
        dataFile,
        '-sigfile',
        sigFile,
        ...opts,
      ]);
    });
  }

  it('encodes parameters as RFC 4055 / RFC 5758 / RFC 8410 require', () => {
    assert.equal(
      Buffer.from(signatureAlgorithmFor(priv('alice'), 'sha256', false).algorithm).toString('hex'),
      '300d06092a864886f70d01010b0500',
    );
    assert.equal(
      Buffer.from(signatureAlgorithmFor(priv('carol'), 'sha256', false).algorithm).toString('hex'),
      '300a06082a8648ce3d040302',
    );
    assert.equal(
      Buffer.from(signatureAlgorithmFor(priv('erin'), 'sha256', false).algorithm).toString('hex'),
      '300506032b6570',
    );
    assert.deepEqual(
      signatureAlgorithmFor(priv('alice'), 'sha256', true).algorithm,
      algorithm(OID.rsassaPss, pssParams(OID.sha256, OID.sha256, 32)),
    );
  });

  it('refuses keys that cannot sign and legacy hashes', () => {
    assert.throws(
      () => signatureAlgorithmFor(priv('frank'), 'sha256', false),
      (e) => isSealpostError(e, 'KEY_UNSUITABLE'),
    );
    assert.throws(
      () => signatureAlgorithmFor(priv('alice'), 'sha1', false),
      (e) => isSealpostError(e, 'UNSUPPORTED_ALGORITHM'),
    );
  });
});

describe('verifySignature', () => {
  it('verifies OpenSSL PKCS#1 v1.5, PSS (salt 20, 32, max) and ECDSA signatures', () => {
    const v = (a: Buffer, name: UserName, sig: Buffer) => verifySignature(alg(a), pub(name), data, sig);
    assert.equal(v(algorithm(OID.sha256WithRSAEncryption, null), 'alice', opensslSign('alice', 'sha256')), true);
    assert.equal(v(algorithm(OID.sha384WithRSAEncryption), 'bob', opensslSign('bob', 'sha384')), true);
    for (const salt of [20, 32]) {
      const sig = opensslSign('alice', 'sha256', ['rsa_padding_mode:pss', `rsa_pss_saltlen:${salt}`]);
      assert.equal(v(algorithm(OID.rsassaPss, pssParams(OID.sha256, OID.sha256, salt)), 'alice', sig), true);
    }
    const max = opensslSign('alice', 'sha256', ['rsa_padding_mode:pss', 'rsa_pss_saltlen:max']);
    assert.equal(v(algorithm(OID.rsassaPss, pssParams(OID.sha256, OID.sha256, 256 - 32 - 2)), 'alice', max), true);
    assert.equal(v(algorithm(OID.ecdsaWithSHA256), 'carol', opensslSign('carol', 'sha256')), true);
    assert.equal(v(algorithm(OID.ecdsaWithSHA384), 'dave', opensslSign('dave', 'sha384')), true);
  });

  it('returns false for wrong or malformed signatures, never throws', () => {
    const a = alg(algorithm(OID.sha256WithRSAEncryption, null));
    const sig = opensslSign('alice', 'sha256');
    const flipped = Buffer.from(sig);
    flipped[7]! ^= 1;
    assert.equal(verifySignature(a, pub('alice'), data, flipped), false);
    assert.equal(verifySignature(a, pub('alice'), data, sig.subarray(1)), false);
    assert.equal(verifySignature(a, pub('bob'), data, sig), false);
    assert.equal(
      verifySignature(alg(algorithm(OID.ecdsaWithSHA256)), pub('carol'), data, Buffer.from([0x30, 0x02, 0x05])),
      false,
    );
    assert.equal(verifySignature(alg(algorithm(OID.ed25519)), pub('erin'), data, Buffer.alloc(3)), false);
  });

  it('SHA-1 only with allowLegacy', () => {
    const a = alg(algorithm(OID.sha1WithRSAEncryption, null));
    const sig = opensslSign('alice', 'sha1');
    assert.throws(
      () => verifySignature(a, pub('alice'), data, sig),
      (e) => isSealpostError(e, 'UNSUPPORTED_ALGORITHM'),
    );
    assert.equal(verifySignature(a, pub('alice'), data, sig, { allowLegacy: true }), true);
    assert.throws(
      () => verifySignature(alg(algorithm(OID.ecdsaWithSHA1)), pub('carol'), data, opensslSign('carol', 'sha1')),
      (e) => isSealpostError(e, 'UNSUPPORTED_ALGORITHM'),
    );
  });

  it('rsaEncryption takes its hash from the CMS digestAlgorithm', () => {
    const a = alg(algorithm(OID.rsaEncryption, null));
    const sig = opensslSign('alice', 'sha384');
    assert.equal(verifySignature(a, pub('alice'), data, sig, { hash: 'sha384' }), true);
    assert.throws(
      () => verifySignature(a, pub('alice'), data, sig),
      (e) => isSealpostError(e, 'UNSUPPORTED_ALGORITHM'),
    );
  });

  it('refuses unknown algorithms, PSS with another MGF1 hash, parameters where none belong, and mismatched keys', () => {
    const fails = (a: Buffer, name: UserName, code: 'UNSUPPORTED_ALGORITHM' | 'KEY_UNSUITABLE') =>
      assert.throws(
        () => verifySignature(alg(a), pub(name), data, Buffer.alloc(64)),
        (e) => isSealpostError(e, code),
      );
    fails(algorithm('1.2.3.4'), 'alice', 'UNSUPPORTED_ALGORITHM');
    fails(algorithm(OID.rsassaPss, pssParams(OID.sha256, OID.sha384, 32)), 'alice', 'UNSUPPORTED_ALGORITHM');
    fails(algorithm(OID.ecdsaWithSHA256, oid(OID.prime256v1)), 'carol', 'UNSUPPORTED_ALGORITHM');
    // gpgsm writes NULL parameters for ECDSA; they are accepted on receipt (the signature here is just wrong).
    assert.equal(
      verifySignature(alg(algorithm(OID.ecdsaWithSHA256, null)), pub('carol'), data, Buffer.alloc(64)),
      false,
    );
    fails(algorithm(OID.ed25519, null), 'erin', 'UNSUPPORTED_ALGORITHM');
    fails(algorithm(OID.ecdsaWithSHA256), 'alice', 'KEY_UNSUITABLE');
    fails(algorithm(OID.sha256WithRSAEncryption, null), 'carol', 'KEY_UNSUITABLE');
    // PSS without parameters means SHA-1: legacy.
    fails(algorithm(OID.rsassaPss), 'alice', 'UNSUPPORTED_ALGORITHM');
  });

  it('verifies the certificates OpenSSL issued in the test PKI', () => {
    const issuer = Certificate.from(pki.intermediate.cert);
    for (const name of ['alice', 'carol', 'erin', 'frank'] as const) {
      const c = Certificate.from(pki.user(name).cert);
      assert.equal(verifySignature(c.signatureAlgorithm, issuer.publicKey, c.tbs, c.signature), true);
    }
  });
});
