import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { integer } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { createRevocationChecker } from '../../src/revocation/checker.ts';
import { serialContent } from '../../src/revocation/crl.ts';
import { buildOcspRequest } from '../../src/revocation/ocsp.ts';
import { buildCertificate } from '../../src/x509/builder.ts';
import { buildCrl, crlNumber, extension } from './crl-support.ts';
import { createTestCa, type TestCa } from './openssl-ca.ts';

describe('the checker over OpenSSL CRLs and OCSP responses', () => {
  let ca: TestCa;
  before(() => {
    ca = createTestCa();
  });
  after(() => ca.cleanup());
  const now = () => new Date();

  test('CRL: good and revoked', () => {
    const check = createRevocationChecker({ crls: [ca.crl()] });
    const good = check(ca.good, ca.ca, now());
    assert.equal(good.status, 'good');
    assert.equal(good.source, 'crl');
    const revoked = check(ca.revoked, ca.ca, now());
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.reason, 'keyCompromise');
    assert.ok(revoked.revokedAt instanceof Date);
    assert.match(revoked.detail, /revoked/);
  });

  test('unknown without data, with an expired CRL, or before the CRL was issued', () => {
    const none = createRevocationChecker({ crls: [] })(ca.good, ca.ca, now());
    assert.equal(none.status, 'unknown');
    assert.match(none.detail, /No CRL or OCSP response/);
    const check = createRevocationChecker({ crls: [ca.crl()] });
    const late = check(ca.good, ca.ca, new Date(Date.now() + 30 * 86400_000));
    assert.equal(late.status, 'unknown');
    assert.match(late.detail, /expired/);
    assert.equal(check(ca.good, ca.ca, new Date(Date.now() - 86400_000)).status, 'unknown');
  });

  test('a CRL by another CA of the same name is not used, even when it says good', () => {
    const twin = createTestCa();
    try {
      const check = createRevocationChecker({ crls: [twin.crl()], certificates: [twin.ca] });
      const s = check(ca.revoked, ca.ca, now());
      assert.equal(s.status, 'unknown');
      assert.match(s.detail, /No usable CRL/);
    } finally {
      twin.cleanup();
    }
  });

  test('bad data makes answers unknown, never exceptions', () => {
    const garbage = [Buffer.from('not a CRL'), Buffer.from([0x30, 0x80]), ca.crl().subarray(0, 50)];
    const check = createRevocationChecker({ crls: garbage, ocspResponses: [Buffer.from([0x30, 0x00])] });
    const s = check(ca.good, ca.ca, now());
    assert.equal(s.status, 'unknown');
    assert.match(s.detail, /4 unreadable CRLs or OCSP responses/);
  });

  test('a valid OCSP answer is preferred to the CRL', () => {
    const req = buildOcspRequest([
      { certificate: ca.good, issuer: ca.ca },
      { certificate: ca.revoked, issuer: ca.ca },
    ]);
    const check = createRevocationChecker({ crls: [ca.crl()], ocspResponses: [ca.respond(req.der, 'responder')] });
    const good = check(ca.good, ca.ca, now());
    assert.equal(good.source, 'ocsp');
    assert.equal(good.status, 'good');
    const revoked = check(ca.revoked, ca.ca, now());
    assert.deepEqual([revoked.source, revoked.status, revoked.reason], ['ocsp', 'revoked', 'keyCompromise']);
  });

  test('OCSP "unknown", a stale answer or an unauthorized responder fall back to the CRL', () => {
    const stranger = buildOcspRequest([{ certificate: ca.stranger, issuer: ca.ca }]);
    const good = buildOcspRequest([{ certificate: ca.good, issuer: ca.ca }]);
    const check = createRevocationChecker({
      crls: [ca.crl()],
      ocspResponses: [ca.respond(stranger.der, 'ca'), ca.respond(good.der, 'impostor')],
    });
    const s = check(ca.stranger, ca.ca, now());
    assert.deepEqual([s.source, s.status], ['crl', 'good']);
    const g = check(ca.good, ca.ca, now());
    assert.deepEqual([g.source, g.status], ['crl', 'good']);
    // Two hours later the OCSP answer (one hour) is stale and the CRL (a week) still current.
    const onlyOcsp = createRevocationChecker({ crls: [], ocspResponses: [ca.respond(good.der, 'ca')] });
    assert.equal(onlyOcsp(ca.good, ca.ca, now()).status, 'good');
    const stale = onlyOcsp(ca.good, ca.ca, new Date(Date.now() + 2 * 3600_000));
    assert.equal(stale.status, 'unknown');
    assert.match(stale.detail, /not current/);
  });
});

describe('delta CRLs and keys', () => {
  const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const T = new Date('2026-03-01T00:00:00Z');
  const from = new Date('2026-01-01T00:00:00Z');
  const to = new Date('2027-01-01T00:00:00Z');
  const root = buildCertificate(
    {
      commonName: 'Delta CA',
      publicKey: caKeys.publicKey,
      notBefore: from,
      notAfter: to,
      ca: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
    },
    { privateKey: caKeys.privateKey },
  );
  const leafKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const leaf = buildCertificate(
    { commonName: 'held', publicKey: leafKey, notBefore: from, notAfter: to, keyUsage: ['digitalSignature'] },
    { certificate: root, privateKey: caKeys.privateKey },
  );
  const serial = BigInt(`0x${Buffer.from(serialContent(leaf)).toString('hex')}`);
  const issuer = root.subject.der;
  const base = buildCrl(
    {
      issuer,
      thisUpdate: from,
      nextUpdate: to,
      entries: [{ serial, date: from, reason: 6 }],
      extensions: [crlNumber(10)],
    },
    caKeys.privateKey,
  );
  const delta = (baseNumber: number, number: number, reason: number) =>
    buildCrl(
      {
        issuer,
        thisUpdate: from,
        nextUpdate: to,
        entries: [{ serial, date: from, reason }],
        extensions: [crlNumber(number), extension(OID.deltaCRLIndicator, integer(baseNumber), true)],
      },
      caKeys.privateKey,
    );

  test('a certificate on hold in the base is released by removeFromCRL in the delta', () => {
    assert.equal(createRevocationChecker({ crls: [base] })(leaf, root, T).reason, 'certificateHold');
    assert.equal(createRevocationChecker({ crls: [base, delta(10, 11, 8)] })(leaf, root, T).status, 'good');
  });

  test('a delta for a later base, or older than the base, is not applied', () => {
    assert.equal(createRevocationChecker({ crls: [base, delta(12, 13, 8)] })(leaf, root, T).status, 'revoked');
    assert.equal(createRevocationChecker({ crls: [base, delta(9, 10, 8)] })(leaf, root, T).status, 'revoked');
  });

  test('the newest delta wins; a delta alone is not enough', () => {
    const s = createRevocationChecker({ crls: [base, delta(10, 11, 8), delta(10, 12, 1)] })(leaf, root, T);
    assert.deepEqual([s.status, s.reason], ['revoked', 'keyCompromise']);
    assert.equal(createRevocationChecker({ crls: [delta(10, 11, 1)] })(leaf, root, T).status, 'unknown');
  });
});
