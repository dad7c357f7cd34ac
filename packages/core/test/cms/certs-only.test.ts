import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { decode } from '../../src/asn1/der.ts';
import { OID } from '../../src/asn1/oids.ts';
import { buildCertsOnly, splitConcatenatedDer } from '../../src/cms/certs-only.ts';
import { parseSignedData } from '../../src/cms/signed-data.ts';
import { isSealpostError } from '../../src/errors.ts';
import { pemDecodeAll } from '../../src/util/pem.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { testPki } from '../support/pki.ts';

const pki = testPki();
const root = Certificate.from(pki.root.cert);
const intermediate = Certificate.from(pki.intermediate.cert);

describe('buildCertsOnly', () => {
  const leaf = Certificate.from(pki.user('alice').cert);
  const bundle = buildCertsOnly([leaf.der, intermediate.der, root.der, intermediate.der]);

  it('is read by openssl pkcs7 -print_certs, every certificate once', () => {
    const out = execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-print_certs'], { input: bundle });
    const printed = pemDecodeAll(out).map((b) => Buffer.from(b.der).toString('hex'));
    const expected = [leaf, intermediate, root].map((c) => Buffer.from(c.der).toString('hex'));
    assert.deepEqual(printed.sort(), expected.sort());
  });

  it('is read by parseSignedData as a degenerate SignedData without signers', () => {
    const info = parseSignedData(bundle);
    assert.equal(info.version, 1);
    assert.deepEqual(info.digestAlgorithms, []);
    assert.equal(info.eContentType, OID.data);
    assert.equal(info.content, undefined);
    assert.deepEqual(info.signerInfos, []);
    assert.deepEqual(
      info.certificates.map((c) => c.fingerprintSha256).sort(),
      [leaf, intermediate, root].map((c) => c.fingerprintSha256).sort(),
    );
  });

  it('is DER: definite lengths, the certificate SET OF sorted by encoding', () => {
    const el = decode(bundle, { mode: 'der' });
    const certificates = el.child(1).child(0).child(3);
    assert.ok(certificates.isContext(0) && certificates.constructed);
    const encodings = certificates.children.map((c) => Buffer.from(c.raw));
    assert.deepEqual(encodings, [...encodings].sort(Buffer.compare));
  });

  it('refuses an empty list and what is not a DER SEQUENCE', () => {
    assert.throws(
      () => buildCertsOnly([]),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => buildCertsOnly([Buffer.from('not a certificate')]),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
  });
});

describe('splitConcatenatedDer', () => {
  it('splits certificates stored back to back', () => {
    const parts = splitConcatenatedDer(Buffer.concat([intermediate.der, root.der]));
    assert.deepEqual(
      parts.map((p) => Buffer.from(p)),
      [Buffer.from(intermediate.der), Buffer.from(root.der)],
    );
    assert.deepEqual(splitConcatenatedDer(new Uint8Array(0)), []);
  });

  it('refuses a truncated element', () => {
    const bytes = Buffer.concat([root.der, intermediate.der.subarray(0, 20)]);
    assert.throws(
      () => splitConcatenatedDer(bytes),
      (e) => isSealpostError(e, 'ASN1_MALFORMED'),
    );
  });
});
