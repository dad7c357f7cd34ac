import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isSealpostError } from '../../src/errors.ts';
import {
  buildOcspRequest,
  findSingleResponse,
  ocspCurrentAt,
  ocspNonceMatches,
  parseOcspResponse,
  verifyOcspSigner,
} from '../../src/revocation/ocsp.ts';
import { createTestCa, type TestCa } from './openssl-ca.ts';

describe('OCSP against openssl ocsp', () => {
  let ca: TestCa;
  before(() => {
    ca = createTestCa();
  });
  after(() => ca.cleanup());

  const all = () => [
    { certificate: ca.good, issuer: ca.ca },
    { certificate: ca.revoked, issuer: ca.ca },
    { certificate: ca.stranger, issuer: ca.ca },
  ];

  for (const hash of ['sha1', 'sha256'] as const) {
    test(`openssl parses our ${hash} request with its nonce`, () => {
      const req = buildOcspRequest(all(), { hash });
      writeFileSync(join(ca.dir, 'ours.der'), req.der);
      const text = execFileSync('openssl', ['ocsp', '-reqin', 'ours.der', '-req_text'], { cwd: ca.dir }).toString();
      assert.match(text, new RegExp(`Hash Algorithm: ${hash}`));
      assert.equal(text.match(/Serial Number:/g)?.length, 3);
      assert.match(text, /OCSP Nonce/);
      assert.ok(
        text
          .toUpperCase()
          .replace(/[^0-9A-F]/g, '')
          .includes(Buffer.from(req.nonce!).toString('hex').toUpperCase()),
      );
    });

    test(`good, revoked and unknown answers signed by the CA (${hash} CertID)`, () => {
      const req = buildOcspRequest(all(), { hash });
      const res = parseOcspResponse(ca.respond(req.der, 'ca'));
      assert.equal(res.status, 'successful');
      const basic = res.basic!;
      assert.ok(ocspNonceMatches(basic, req.nonce!));
      assert.equal(ocspNonceMatches(basic, Buffer.from('another nonce')), false);
      assert.equal(findSingleResponse(basic, ca.good, ca.ca)?.status, 'good');
      const revoked = findSingleResponse(basic, ca.revoked, ca.ca)!;
      assert.equal(revoked.status, 'revoked');
      assert.equal(revoked.reason, 'keyCompromise');
      assert.ok(revoked.revokedAt);
      assert.equal(findSingleResponse(basic, ca.stranger, ca.ca)?.status, 'unknown');
      // The wrong issuer matches no CertID.
      assert.equal(findSingleResponse(basic, ca.good, ca.good), undefined);
      const signer = verifyOcspSigner(basic, ca.ca, new Date());
      assert.ok(signer.ok && !signer.delegated);
      const single = findSingleResponse(basic, ca.good, ca.ca)!;
      assert.ok(single.nextUpdate);
      assert.equal(ocspCurrentAt(single, new Date()), true);
      assert.equal(ocspCurrentAt(single, new Date(single.nextUpdate.getTime() + 3600_000)), false);
    });
  }

  test('a delegated responder with OCSPSigning (and nocheck) is accepted', () => {
    const req = buildOcspRequest([{ certificate: ca.good, issuer: ca.ca }], { nonce: false });
    assert.equal(req.nonce, undefined);
    const basic = parseOcspResponse(ca.respond(req.der, 'responder')).basic!;
    assert.equal(basic.nonce, undefined);
    const signer = verifyOcspSigner(basic, ca.ca, new Date());
    assert.ok(signer.ok);
    assert.equal(signer.signer.fingerprintSha256, ca.responder.fingerprintSha256);
    assert.equal(signer.delegated, true);
    assert.equal(signer.noCheck, true);
  });

  test('a responder certificate without OCSPSigning, or from another CA, is refused', () => {
    const req = buildOcspRequest([{ certificate: ca.good, issuer: ca.ca }]);
    const basic = parseOcspResponse(ca.respond(req.der, 'impostor')).basic!;
    const signer = verifyOcspSigner(basic, ca.ca, new Date());
    assert.equal(signer.ok, false);
    assert.match((signer as { reason: string }).reason, /OCSPSigning/);
    // Checked against a CA that did not issue the responder.
    const delegated = parseOcspResponse(ca.respond(req.der, 'responder')).basic!;
    assert.equal(verifyOcspSigner(delegated, ca.good, new Date()).ok, false);
  });

  test('unsuccessful statuses and malformed responses', () => {
    assert.deepEqual(parseOcspResponse(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03])), { status: 'tryLater' });
    const bad = (der: number[]) =>
      assert.throws(
        () => parseOcspResponse(Buffer.from(der)),
        (e) => isSealpostError(e, 'OCSP_MALFORMED'),
      );
    bad([0x30, 0x03, 0x0a, 0x01, 0x04]); // 4 is not a status
    bad([0x30, 0x03, 0x02, 0x01, 0x00]); // INTEGER, not ENUMERATED
    bad([0x30, 0x03, 0x0a, 0x01, 0x00]); // successful without responseBytes
    bad([0x04, 0x00]);
    bad([]);
  });

  test('bad arguments', () => {
    assert.throws(
      () => buildOcspRequest([]),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => buildOcspRequest([{ certificate: ca.good, issuer: ca.ca }], { nonce: new Uint8Array(33) }),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
  });
});
