import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSealpostError } from '../../src/errors.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { verifySignature } from '../../src/x509/signature.ts';
import { cert as pkitsCert, SKIP } from '../conformance/pkits/data.ts';
import { testPki } from '../support/pki.ts';

describe('Certificate keys', () => {
  test('keyDescription names the type and size', () => {
    const pki = testPki();
    const describeUser = (name: 'alice' | 'carol' | 'erin') => Certificate.from(pki.user(name).cert).keyDescription;
    assert.equal(describeUser('alice'), 'RSA 2048 bits');
    assert.equal(describeUser('carol'), 'EC prime256v1 (256 bits)');
    assert.equal(describeUser('erin'), 'Ed25519 256 bits');
  });

  test('a DSA key without parameters verifies with those of its issuer (PKITS 4.1.5)', { skip: SKIP }, () => {
    const ca = pkitsCert('DSACACert')!;
    const inherited = pkitsCert('DSAParametersInheritedCACert')!;
    const ee = pkitsCert('ValidDSAParameterInheritanceTest5EE')!;
    assert.equal(inherited.publicKeyInfo.algorithm.params, undefined);
    const key = inherited.publicKeyWithDsaParameters(ca.publicKeyInfo.algorithm.params!.raw);
    assert.ok(verifySignature(ee.signatureAlgorithm, key, ee.tbs, ee.signature, { allowLegacy: true }));
    assert.throws(
      () => inherited.publicKeyWithDsaParameters(Buffer.from([0x30, 0x00])),
      (e) => isSealpostError(e, 'KEY_MALFORMED'),
    );
  });
});
