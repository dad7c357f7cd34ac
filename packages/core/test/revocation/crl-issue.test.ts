/**
 * CRLs from issueCrl, checked by `openssl crl` and `openssl verify -crl_check`, and read back by
 * our own parser and revocation checker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OID } from '../../src/asn1/oids.ts';
import { isSealpostError } from '../../src/errors.ts';
import { createRevocationChecker } from '../../src/revocation/checker.ts';
import { parseCrl, serialContent, verifyCrlSignature } from '../../src/revocation/crl.ts';
import { generalizedTime, issueCrl, reasonCode } from '../../src/revocation/crl-issue.ts';
import { pemEncode } from '../../src/util/pem.ts';
import { keySigner } from '../../src/x509/builder.ts';
import type { Certificate } from '../../src/x509/certificate.ts';
import { ATTIME, ISSUE_TIME, type Issuer, makeIntermediate, makeLeaf, makeRoot, workdir } from '../x509/ca-support.ts';

const wd = workdir('crl-issue');
after(() => wd.cleanup());

const THIS_UPDATE = new Date('2026-05-31T00:00:00Z');
const NEXT_UPDATE = new Date('2026-06-07T00:00:00Z');

const rejects = (p: Promise<unknown>, code: string, message?: RegExp) =>
  assert.rejects(p, (e) => isSealpostError(e) && e.code === code && (!message || message.test(e.message)));

describe('issueCrl', () => {
  let root: Issuer;
  let inter: Issuer;
  let good: Certificate;
  let revoked: Certificate;
  let held: Certificate;
  let crl: Buffer;

  before(async () => {
    root = await makeRoot('rsa');
    inter = await makeIntermediate(root, 'p256');
    good = (await makeLeaf(inter, 'good@example.org')).certificate;
    revoked = (await makeLeaf(inter, 'revoked@example.org')).certificate;
    held = (await makeLeaf(inter, 'held@example.org')).certificate;
    crl = await issueCrl({
      issuer: inter.certificate,
      signer: inter.signer,
      thisUpdate: THIS_UPDATE,
      nextUpdate: NEXT_UPDATE,
      crlNumber: 7,
      entries: [
        { serial: revoked.serialNumber, revokedAt: new Date('2026-05-01T00:00:00Z'), reason: 'keyCompromise' },
        {
          serial: held.serialNumber,
          revokedAt: new Date('2026-05-02T00:00:00Z'),
          reason: 'unspecified',
          invalidityDate: new Date('2026-04-30T12:00:00Z'),
        },
        { serial: 0x1234n, revokedAt: new Date('2026-05-03T00:00:00Z'), reason: 'superseded' },
      ],
    });
  });

  test('openssl crl verifies the signature and shows the extensions', () => {
    const path = wd.write('inter.crl', crl);
    const r = wd.openssl([
      'crl',
      '-inform',
      'DER',
      '-in',
      path,
      '-CAfile',
      wd.write('inter.pem', inter.certificate),
      '-noout',
      '-text',
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stderr, /verify OK/);
    assert.match(r.stdout, /Version 2 \(0x1\)/);
    assert.match(r.stdout, /X509v3 CRL Number: \s+7/);
    assert.match(r.stdout, /X509v3 Authority Key Identifier/);
    assert.match(r.stdout, new RegExp(`Serial Number: ${revoked.serialHex.toUpperCase()}[\\s\\S]*?Key Compromise`));
    assert.match(r.stdout, /Serial Number: 1234[\s\S]*?Superseded/);
    assert.match(r.stdout, /Invalidity Date: \s+Apr 30 12:00:00 2026 GMT/);
    assert.match(r.stdout, /Next Update: Jun {2}7 00:00:00 2026 GMT/);
    // unspecified is not written as a reason (RFC 5280 §5.3.1).
    assert.doesNotMatch(r.stdout, /Unspecified/);
  });

  test('openssl verify -crl_check rejects the revoked leaf and accepts the good one', () => {
    const crlPem = wd.write('inter.crl.pem', pemEncode('X509 CRL', crl));
    const rootPem = wd.write('root.pem', root.certificate);
    const interPem = wd.write('inter.pem', inter.certificate);
    const verify = (cert: Certificate, name: string) =>
      wd.openssl([
        'verify',
        '-attime',
        ATTIME,
        '-crl_check',
        '-CRLfile',
        crlPem,
        '-CAfile',
        rootPem,
        '-untrusted',
        interPem,
        wd.write(name, cert),
      ]);
    const ok = verify(good, 'good.pem');
    assert.equal(ok.status, 0, ok.out);
    const bad = verify(revoked, 'revoked.pem');
    assert.notEqual(bad.status, 0);
    assert.match(bad.out, /certificate revoked/);
  });

  test('parseCrl reads it back', () => {
    const parsed = parseCrl(crl);
    assert.equal(parsed.version, 2);
    assert.equal(parsed.crlNumber, 7n);
    assert.equal(parsed.deltaBase, undefined);
    assert.deepEqual(parsed.authorityKeyId, inter.certificate.subjectKeyIdentifier);
    assert.equal(parsed.entryCount, 3);
    assert.equal(parsed.unsupportedCritical, undefined);
    assert.deepEqual(parsed.thisUpdate, THIS_UPDATE);
    assert.deepEqual(parsed.nextUpdate, NEXT_UPDATE);
    assert.equal(verifyCrlSignature(parsed, inter.certificate.publicKey), true);
    const r = parsed.lookup(inter.certificate.subject, serialContent(revoked));
    assert.equal(r?.reason, 'keyCompromise');
    const h = parsed.lookup(inter.certificate.subject, serialContent(held));
    assert.equal(h?.reason, undefined);
    assert.deepEqual(h?.invalidityDate, new Date('2026-04-30T12:00:00Z'));
    assert.equal(parsed.lookup(inter.certificate.subject, serialContent(good)), undefined);
  });

  test('the revocation checker answers from it', () => {
    const check = createRevocationChecker({ crls: [crl] });
    assert.equal(check(good, inter.certificate, ISSUE_TIME).status, 'good');
    const s = check(revoked, inter.certificate, ISSUE_TIME);
    assert.equal(s.status, 'revoked');
    assert.equal(s.reason, 'keyCompromise');
    assert.deepEqual(s.revokedAt, new Date('2026-05-01T00:00:00Z'));
  });

  test('an empty CRL omits revokedCertificates and still verifies', async () => {
    const empty = await issueCrl({
      issuer: inter.certificate,
      signer: inter.signer,
      thisUpdate: THIS_UPDATE,
      nextUpdate: NEXT_UPDATE,
      crlNumber: 1,
      entries: [],
    });
    const parsed = parseCrl(empty);
    assert.equal(parsed.entryCount, 0);
    const r = wd.openssl([
      'crl',
      '-inform',
      'DER',
      '-in',
      wd.write('empty.crl', empty),
      '-CAfile',
      wd.write('inter.pem', inter.certificate),
      '-noout',
      '-text',
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /No Revoked Certificates/);
  });

  test('a delta CRL carries a critical deltaCRLIndicator', async () => {
    const delta = await issueCrl({
      issuer: inter.certificate,
      signer: inter.signer,
      thisUpdate: THIS_UPDATE,
      nextUpdate: NEXT_UPDATE,
      crlNumber: 8n,
      deltaOf: 7n,
      entries: [{ serial: held.serialNumber, revokedAt: THIS_UPDATE, reason: 'removeFromCRL' }],
    });
    const parsed = parseCrl(delta);
    assert.equal(parsed.deltaBase, 7n);
    assert.equal(parsed.crlNumber, 8n);
    assert.equal(parsed.lookup(inter.certificate.subject, serialContent(held))?.reason, 'removeFromCRL');
    const r = wd.openssl(['crl', '-inform', 'DER', '-in', wd.write('delta.crl', delta), '-noout', '-text']);
    assert.match(r.stdout, /X509v3 Delta CRL Indicator: critical\s+7/);
    assert.match(r.stdout, /Remove From CRL/);
  });

  test('100,000 entries build, verify with openssl and parse', async () => {
    const entries = Array.from({ length: 100_000 }, (_, i) => ({
      serial: BigInt(0x100000 + i),
      revokedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000),
      ...(i % 3 === 0 ? { reason: 'cessationOfOperation' as const } : {}),
    }));
    const big = await issueCrl({
      issuer: inter.certificate,
      signer: inter.signer,
      thisUpdate: THIS_UPDATE,
      nextUpdate: NEXT_UPDATE,
      crlNumber: 9,
      entries,
    });
    const parsed = parseCrl(big);
    assert.equal(parsed.entryCount, 100_000);
    assert.equal(verifyCrlSignature(parsed, inter.certificate.publicKey), true);
    assert.equal(
      parsed.lookup(inter.certificate.subject, Buffer.from('10000f', 'hex'))?.reason,
      'cessationOfOperation',
    );
    const r = wd.openssl([
      'crl',
      '-inform',
      'DER',
      '-in',
      wd.write('big.crl', big),
      '-CAfile',
      wd.write('inter.pem', inter.certificate),
      '-noout',
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stderr, /verify OK/);
  });

  test('RSA-PSS and Ed25519 CA keys sign CRLs openssl accepts', async () => {
    for (const spec of ['rsa-pss', 'ed25519'] as const) {
      const ca = await makeRoot(spec);
      const der = await issueCrl({
        issuer: ca.certificate,
        signer: ca.signer,
        thisUpdate: THIS_UPDATE,
        nextUpdate: NEXT_UPDATE,
        crlNumber: 1,
        entries: [{ serial: Buffer.of(0x01, 0x02), revokedAt: THIS_UPDATE, reason: 'affiliationChanged' }],
      });
      const r = wd.openssl([
        'crl',
        '-inform',
        'DER',
        '-in',
        wd.write(`${spec}.crl`, der),
        '-CAfile',
        wd.write(`${spec}.pem`, ca.certificate),
        '-noout',
      ]);
      assert.equal(r.status, 0, `${spec}: ${r.out}`);
      assert.match(r.stderr, /verify OK/);
    }
  });

  test('refuses a signer that is not the issuer, and bad arguments', async () => {
    const base = {
      issuer: inter.certificate,
      signer: inter.signer,
      thisUpdate: THIS_UPDATE,
      nextUpdate: NEXT_UPDATE,
      crlNumber: 2,
      entries: [],
    };
    await rejects(issueCrl({ ...base, signer: keySigner(root.privateKey) }), 'KEY_MISMATCH');
    await rejects(issueCrl({ ...base, nextUpdate: THIS_UPDATE }), 'INVALID_ARGUMENT');
    await rejects(issueCrl({ ...base, crlNumber: -1 }), 'INVALID_ARGUMENT');
    await rejects(issueCrl({ ...base, crlNumber: 2n ** 160n }), 'INVALID_ARGUMENT');
    await rejects(issueCrl({ ...base, deltaOf: 2 }), 'INVALID_ARGUMENT', /higher crlNumber/);
    await rejects(
      issueCrl({ ...base, entries: [{ serial: 1n, revokedAt: THIS_UPDATE, reason: 'removeFromCRL' }] }),
      'INVALID_ARGUMENT',
      /delta/,
    );
    await rejects(issueCrl({ ...base, entries: [{ serial: 0n, revokedAt: THIS_UPDATE }] }), 'INVALID_ARGUMENT');
    await rejects(
      issueCrl({ ...base, entries: [{ serial: Buffer.alloc(21, 1), revokedAt: THIS_UPDATE }] }),
      'INVALID_ARGUMENT',
    );
    const leaf = await makeLeaf(inter, 'nocrl@example.org');
    await rejects(
      issueCrl({ ...base, issuer: leaf.certificate, signer: keySigner(leaf.privateKey!) }),
      'KEY_UNSUITABLE',
      /cRLSign/,
    );
  });
});

describe('encoding helpers', () => {
  test('generalizedTime is YYYYMMDDHHMMSSZ', () => {
    assert.equal(
      generalizedTime(new Date('2051-02-03T04:05:06.789Z')).subarray(2).toString('latin1'),
      '20510203040506Z',
    );
    assert.equal(generalizedTime(new Date('1999-12-31T23:59:59Z'))[0], 0x18);
  });

  test('reason codes follow RFC 5280 §5.3.1', () => {
    assert.equal(reasonCode('keyCompromise'), 1);
    assert.equal(reasonCode('certificateHold'), 6);
    assert.equal(reasonCode('removeFromCRL'), 8);
    assert.equal(reasonCode('aACompromise'), 10);
    assert.equal(OID.reasonCode, '2.5.29.21');
  });
});
