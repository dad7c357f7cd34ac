/**
 * The OCSP responder side: requests from `openssl ocsp -reqout` parsed, responses we sign
 * (by the CA and by a delegated responder) checked by `openssl ocsp -respin` and read back by our
 * own client code (parseOcspResponse, verifyOcspSigner, the revocation checker).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { explicit, integer, octets, oid, seq, tlv } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { isSealpostError } from '../../src/errors.ts';
import { createRevocationChecker } from '../../src/revocation/checker.ts';
import {
  buildOcspRequest,
  certIdFor,
  findSingleResponse,
  ocspNonceMatches,
  parseOcspResponse,
  verifyOcspSigner,
} from '../../src/revocation/ocsp.ts';
import {
  buildOcspResponse,
  certIdIssuedBy,
  type OcspAnswer,
  ocspErrorResponse,
  parseOcspRequest,
} from '../../src/revocation/ocsp-respond.ts';
import { issueCertificate, keySigner } from '../../src/x509/builder.ts';
import type { Certificate } from '../../src/x509/certificate.ts';
import {
  ATTIME,
  ISSUE_TIME,
  type Issuer,
  keyPair,
  makeIntermediate,
  makeLeaf,
  makeRoot,
  workdir,
} from '../x509/ca-support.ts';

const wd = workdir('ocsp-respond');
after(() => wd.cleanup());

const THIS_UPDATE = new Date('2026-05-31T12:00:00Z');
const NEXT_UPDATE = new Date('2026-06-02T12:00:00Z');
const REVOKED_AT = new Date('2026-05-01T00:00:00Z');

/**
 * OpenSSL checks thisUpdate/nextUpdate against the wall clock, not -attime: allow the fixed
 * test times that much slack.
 */
const SLACK = String(Math.max(300, Math.ceil((Date.now() - NEXT_UPDATE.getTime()) / 1000) + 86_400));

const throwsCode = (fn: () => unknown, code: string, message?: RegExp) =>
  assert.throws(fn, (e) => isSealpostError(e) && e.code === code && (!message || message.test(e.message)));

describe('OCSP responder', () => {
  let root: Issuer;
  let inter: Issuer;
  let good: Certificate;
  let revoked: Certificate;
  let responder: Issuer;
  let paths: Record<string, string>;

  before(async () => {
    root = await makeRoot('rsa');
    inter = await makeIntermediate(root, 'p256');
    good = (await makeLeaf(inter, 'good@example.org')).certificate;
    revoked = (await makeLeaf(inter, 'revoked@example.org')).certificate;
    const rk = keyPair('ed25519');
    responder = {
      certificate: await issueCertificate(
        {
          commonName: 'Sealpost OCSP Responder',
          publicKey: rk.publicKey,
          notBefore: new Date('2026-01-01T00:00:00Z'),
          notAfter: new Date('2026-12-31T00:00:00Z'),
          keyUsage: ['digitalSignature'],
          extKeyUsage: [OID.ocspSigning],
        },
        inter,
      ),
      privateKey: rk.privateKey,
      signer: keySigner(rk.privateKey),
    };
    paths = {
      root: wd.write('root.pem', root.certificate),
      inter: wd.write('inter.pem', inter.certificate),
      good: wd.write('good.pem', good),
      revoked: wd.write('revoked.pem', revoked),
    };
  });

  /** `openssl ocsp -reqout` for good and revoked; extra args pick the hash or drop the nonce. */
  function opensslRequest(name: string, extra: string[] = []): Buffer {
    const out = join(wd.dir, `${name}.req`);
    const r = wd.openssl([
      'ocsp',
      // A digest option must come before the -cert it applies to.
      ...extra,
      '-issuer',
      paths.inter!,
      '-cert',
      paths.good!,
      '-cert',
      paths.revoked!,
      '-reqout',
      out,
    ]);
    assert.equal(r.status, 0, r.out);
    return readFileSync(out);
  }

  function answersFor(request: ReturnType<typeof parseOcspRequest>): OcspAnswer[] {
    return request.requests.map((certId) => {
      const isRevoked = Buffer.compare(Buffer.from(certId.serialNumber), Buffer.from(revoked.serialNumber)) === 0;
      return isRevoked
        ? {
            certId,
            status: 'revoked',
            revokedAt: REVOKED_AT,
            reason: 'keyCompromise',
            thisUpdate: THIS_UPDATE,
            nextUpdate: NEXT_UPDATE,
          }
        : { certId, status: 'good', thisUpdate: THIS_UPDATE, nextUpdate: NEXT_UPDATE };
    });
  }

  test('parses openssl requests: SHA-1 and SHA-256 CertIDs, with and without a nonce', () => {
    const withNonce = parseOcspRequest(opensslRequest('sha1'));
    assert.equal(withNonce.requests.length, 2);
    assert.equal(withNonce.requests[0]!.hash, 'sha1');
    assert.equal(withNonce.nonce?.length, 16);
    assert.equal(withNonce.signed, false);
    assert.ok(withNonce.requests.every((id) => certIdIssuedBy(id, inter.certificate)));
    assert.equal(certIdIssuedBy(withNonce.requests[0]!, root.certificate), false);
    const id = certIdFor(good, inter.certificate);
    assert.deepEqual(Buffer.from(withNonce.requests[0]!.serialNumber), Buffer.from(id.serialNumber));
    assert.deepEqual(Buffer.from(withNonce.requests[0]!.issuerKeyHash), Buffer.from(id.issuerKeyHash));

    const sha256 = parseOcspRequest(opensslRequest('sha256', ['-sha256', '-no_nonce']));
    assert.equal(sha256.requests[0]!.hash, 'sha256');
    assert.equal(sha256.requests[0]!.issuerNameHash.length, 32);
    assert.equal(sha256.nonce, undefined);

    // Our own client's request, too.
    const ours = buildOcspRequest([{ certificate: good, issuer: inter.certificate }], { hash: 'sha256' });
    const parsed = parseOcspRequest(ours.der);
    assert.deepEqual(Buffer.from(parsed.nonce!), Buffer.from(ours.nonce!));
  });

  for (const who of ['ca', 'delegated'] as const) {
    test(`signed by the ${who === 'ca' ? 'CA' : 'delegated responder'}: openssl ocsp verifies, nonce and statuses`, async () => {
      const reqDer = opensslRequest(`req-${who}`);
      const request = parseOcspRequest(reqDer);
      const signing = who === 'ca' ? inter : responder;
      const resp = await buildOcspResponse({
        responder: signing.certificate,
        signer: signing.signer,
        producedAt: THIS_UPDATE,
        answers: answersFor(request),
        ...(request.nonce ? { nonce: request.nonce } : {}),
      });
      const respPath = wd.write(`resp-${who}.der`, resp);
      const reqPath = join(wd.dir, `req-${who}.req`);
      // With the request: the nonce is compared, and the response text shows both statuses.
      const withReq = wd.openssl([
        'ocsp',
        '-reqin',
        reqPath,
        '-respin',
        respPath,
        '-CAfile',
        paths.root!,
        '-verify_other',
        paths.inter!,
        '-attime',
        ATTIME,
        '-validity_period',
        SLACK,
        '-resp_text',
      ]);
      assert.equal(withReq.status, 0, withReq.out);
      assert.match(withReq.stderr, /Response verify OK/);
      assert.doesNotMatch(withReq.out, /WARNING|Nonce Verify error/i);
      assert.match(withReq.stdout, /Responder Id: [0-9A-F]{40}/);
      assert.match(withReq.stdout, /Cert Status: good/);
      assert.match(
        withReq.stdout,
        /Cert Status: revoked\s+Revocation Time: May {2}1 00:00:00 2026 GMT\s+Revocation Reason: keyCompromise/,
      );
      assert.match(withReq.stdout, /OCSP Nonce: \s+0410/);
      if (who === 'delegated') assert.match(withReq.stdout, /Subject: CN ?= ?Sealpost OCSP Responder/);
      else assert.doesNotMatch(withReq.stdout, /Certificate:/);
      // By certificate: the summary per certificate.
      const byCert = wd.openssl([
        'ocsp',
        '-respin',
        respPath,
        '-issuer',
        paths.inter!,
        '-cert',
        paths.good!,
        '-cert',
        paths.revoked!,
        '-CAfile',
        paths.root!,
        '-verify_other',
        paths.inter!,
        '-attime',
        ATTIME,
        '-validity_period',
        SLACK,
        '-no_nonce',
      ]);
      assert.equal(byCert.status, 0, byCert.out);
      assert.match(byCert.stdout, /good\.pem: good/);
      assert.match(byCert.stdout, /revoked\.pem: revoked\s+This Update[\s\S]*Reason: keyCompromise/);

      // Our own client reads it.
      const parsed = parseOcspResponse(resp);
      assert.equal(parsed.status, 'successful');
      const basic = parsed.basic!;
      assert.ok(ocspNonceMatches(basic, request.nonce!));
      assert.equal(basic.unsupportedCritical, undefined);
      const signer = verifyOcspSigner(basic, inter.certificate, ISSUE_TIME);
      assert.equal(signer.ok, true, signer.ok ? '' : signer.reason);
      assert.equal(signer.ok && signer.delegated, who === 'delegated');
      assert.equal(findSingleResponse(basic, good, inter.certificate)?.status, 'good');
      const r = findSingleResponse(basic, revoked, inter.certificate);
      assert.equal(r?.status, 'revoked');
      assert.equal(r?.reason, 'keyCompromise');
      assert.deepEqual(r?.revokedAt, REVOKED_AT);
      assert.deepEqual(r?.nextUpdate, NEXT_UPDATE);
      const check = createRevocationChecker({ crls: [], ocspResponses: [resp] });
      assert.equal(check(good, inter.certificate, ISSUE_TIME).status, 'good');
      assert.equal(check(revoked, inter.certificate, ISSUE_TIME).status, 'revoked');
    });
  }

  test('openssl notices a nonce that is not the one it sent', async () => {
    const request = parseOcspRequest(opensslRequest('wrong-nonce'));
    const resp = await buildOcspResponse({
      responder: inter.certificate,
      signer: inter.signer,
      producedAt: THIS_UPDATE,
      answers: answersFor(request),
      nonce: Buffer.alloc(16, 7),
    });
    const r = wd.openssl([
      'ocsp',
      '-reqin',
      join(wd.dir, 'wrong-nonce.req'),
      '-respin',
      wd.write('wrong-nonce.der', resp),
      '-CAfile',
      paths.root!,
      '-verify_other',
      paths.inter!,
      '-attime',
      ATTIME,
      '-validity_period',
      SLACK,
    ]);
    assert.match(r.out, /Nonce Verify error/);
  });

  test('SHA-256 CertIDs, unknown status, no nonce: echoed as asked', async () => {
    const request = parseOcspRequest(opensslRequest('sha256-unknown', ['-sha256', '-no_nonce']));
    const resp = await buildOcspResponse({
      responder: inter.certificate,
      signer: inter.signer,
      producedAt: THIS_UPDATE,
      answers: request.requests.map((certId) => ({ certId, status: 'unknown', thisUpdate: THIS_UPDATE })),
    });
    const basic = parseOcspResponse(resp).basic!;
    assert.equal(basic.nonce, undefined);
    assert.equal(findSingleResponse(basic, good, inter.certificate)?.status, 'unknown');
    assert.equal(basic.responses[0]!.certId.hash, 'sha256');
    const r = wd.openssl([
      'ocsp',
      '-respin',
      wd.write('unknown.der', resp),
      '-sha256',
      '-issuer',
      paths.inter!,
      '-cert',
      paths.good!,
      '-CAfile',
      paths.root!,
      '-verify_other',
      paths.inter!,
      '-attime',
      ATTIME,
      '-validity_period',
      SLACK,
      '-no_nonce',
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /good\.pem: unknown/);
  });

  test('answers built from certIdFor (no request) carry NULL hash parameters like OpenSSL', async () => {
    const resp = await buildOcspResponse({
      responder: inter.certificate,
      signer: inter.signer,
      producedAt: THIS_UPDATE,
      answers: [{ certId: certIdFor(good, inter.certificate), status: 'good', thisUpdate: THIS_UPDATE }],
      includeCertificate: true,
    });
    const basic = parseOcspResponse(resp).basic!;
    assert.equal(basic.certs.length, 1);
    assert.equal(findSingleResponse(basic, good, inter.certificate)?.status, 'good');
    const r = wd.openssl([
      'ocsp',
      '-respin',
      wd.write('nocert.der', resp),
      '-issuer',
      paths.inter!,
      '-cert',
      paths.good!,
      '-CAfile',
      paths.root!,
      '-attime',
      ATTIME,
      '-validity_period',
      SLACK,
      '-no_nonce',
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /good\.pem: good/);
  });

  test('error responses are unsigned statuses', () => {
    for (const status of ['malformedRequest', 'internalError', 'tryLater', 'sigRequired', 'unauthorized'] as const) {
      const der = ocspErrorResponse(status);
      assert.deepEqual(parseOcspResponse(der), { status });
      const r = wd.openssl(['ocsp', '-respin', wd.write(`${status}.der`, der), '-resp_text', '-noverify']);
      assert.match(r.out, new RegExp(`Responder Error: ${status} \\(`, 'i'));
    }
    throwsCode(() => ocspErrorResponse('successful' as never), 'INVALID_ARGUMENT');
  });

  test('refuses responders that may not answer', async () => {
    const request = parseOcspRequest(opensslRequest('guard'));
    const answers = answersFor(request);
    // The root did not issue these certificates and has no OCSPSigning.
    await assert.rejects(
      buildOcspResponse({ responder: root.certificate, signer: root.signer, producedAt: THIS_UPDATE, answers }),
      (e) => isSealpostError(e, 'KEY_UNSUITABLE'),
    );
    await assert.rejects(
      buildOcspResponse({ responder: inter.certificate, signer: root.signer, producedAt: THIS_UPDATE, answers }),
      (e) => isSealpostError(e, 'KEY_MISMATCH'),
    );
    await assert.rejects(
      buildOcspResponse({ responder: inter.certificate, signer: inter.signer, producedAt: THIS_UPDATE, answers: [] }),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
    await assert.rejects(
      buildOcspResponse({
        responder: inter.certificate,
        signer: inter.signer,
        producedAt: THIS_UPDATE,
        answers,
        nonce: new Uint8Array(33),
      }),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
  });
});

describe('malformed OCSP requests', () => {
  const certId = seq(
    seq(oid(OID.sha1), tlv(0x05)),
    octets(Buffer.alloc(20, 1)),
    octets(Buffer.alloc(20, 2)),
    integer(5),
  );
  const request = (...tbs: Buffer[]) => seq(seq(...tbs));
  const nonceExt = (value: Buffer) => explicit(2, seq(seq(oid(OID.ocspNonce), octets(value))));

  test('a minimal request parses', () => {
    const r = parseOcspRequest(request(seq(seq(certId))));
    assert.equal(r.requests.length, 1);
    assert.deepEqual(Buffer.from(r.requests[0]!.serialNumber), Buffer.of(5));
  });

  test('structural problems are OCSP_MALFORMED', () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('junk'), /malformed OCSP request/],
      [request(), /requestList/],
      [request(seq()), /requestList/],
      [request(explicit(0, integer(1)), seq(seq(certId))), /v1/],
      [request(seq(seq(certId)), seq()), /unexpected field/],
      [
        request(
          seq(seq(seq(seq(oid(OID.md5), tlv(0x05)), octets(Buffer.alloc(16)), octets(Buffer.alloc(16)), integer(1)))),
        ),
        /unsupported CertID hash/,
      ],
      [
        request(seq(seq(seq(seq(oid(OID.sha1)), octets(Buffer.alloc(19)), octets(Buffer.alloc(20)), integer(1))))),
        /wrong length/,
      ],
      [request(seq(seq(certId)), nonceExt(octets(Buffer.alloc(33)))), /1 to 32/],
      [request(seq(seq(certId)), nonceExt(octets(Buffer.alloc(0)))), /1 to 32/],
      [request(seq(seq(certId)), nonceExt(Buffer.from('bare nonce'))), /OCTET STRING|malformed/],
      [
        request(seq(seq(certId)), explicit(2, seq(seq(oid('1.2.3.4'), tlv(0x01, Buffer.of(0xff)), octets(tlv(0x05)))))),
        /critical extension 1\.2\.3\.4/,
      ],
      [request(seq(...Array.from({ length: 65 }, () => seq(certId)))), /more than 64/],
    ];
    for (const [der, message] of cases) throwsCode(() => parseOcspRequest(der), 'OCSP_MALFORMED', message);
  });

  test('random bytes never escape as anything but OCSP_MALFORMED', () => {
    for (let i = 0; i < 300; i++) {
      const base = request(seq(seq(certId)), nonceExt(octets(Buffer.alloc(16, i))));
      const mutated = Buffer.from(base);
      mutated[(i * 7) % mutated.length]! ^= 1 + (i % 255);
      try {
        parseOcspRequest(mutated);
      } catch (e) {
        assert.ok(isSealpostError(e, 'OCSP_MALFORMED'), String(e));
      }
    }
  });
});
