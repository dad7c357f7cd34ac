import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { integer, oid, seq, set, tlv, utf8 } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { isSealpostError } from '../../src/errors.ts';
import { crlCurrentAt, parseCrl, serialContent, verifyCrlSignature } from '../../src/revocation/crl.ts';
import { pemEncode } from '../../src/util/pem.ts';
import { buildCrl, crlNumber, extension, tbsCertList } from './crl-support.ts';
import { createTestCa, type TestCa } from './openssl-ca.ts';

const name = (cn: string) => seq(set(seq(oid(OID.commonName), utf8(cn))));
const T0 = new Date('2026-01-01T00:00:00Z');
const T1 = new Date('2026-02-01T00:00:00Z');
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const malformed = (fn: () => unknown, pattern?: RegExp) =>
  assert.throws(fn, (e) => isSealpostError(e, 'CRL_MALFORMED') && (!pattern || pattern.test((e as Error).message)));

describe('CRLs made by openssl ca', () => {
  let ca: TestCa;
  before(() => {
    ca = createTestCa();
  });
  after(() => ca.cleanup());

  test('parses the v2 CRL, finds the revoked certificate and its reason, verifies the signature', () => {
    const crl = parseCrl(ca.crl());
    assert.equal(crl.version, 2);
    assert.equal(crl.crlNumber, 1n);
    assert.equal(crl.entryCount, 1);
    assert.deepEqual(crl.authorityKeyId, ca.ca.subjectKeyIdentifier);
    const entry = crl.lookup(ca.revoked.issuer, serialContent(ca.revoked));
    assert.equal(entry?.reason, 'keyCompromise');
    assert.equal(crl.lookup(ca.good.issuer, serialContent(ca.good)), undefined);
    assert.equal(verifyCrlSignature(crl, ca.ca.publicKey), true);
    assert.equal(verifyCrlSignature(crl, ca.good.publicKey), false);
    assert.ok(crl.nextUpdate && crl.nextUpdate > crl.thisUpdate);
    assert.equal(crlCurrentAt(crl, new Date(crl.thisUpdate.getTime() + 1000)), true);
    assert.equal(crlCurrentAt(crl, new Date(crl.nextUpdate.getTime() + 1000)), false);
  });

  test('reads the PEM form too', () => {
    const pem = readFileSync(join(ca.dir, 'ca.crl.pem'));
    assert.equal(parseCrl(pem).entryCount, 1);
    malformed(() => parseCrl(Buffer.from(pemEncode('CERTIFICATE', ca.crl()))), /no X509 CRL block/);
  });
});

describe('CRL parsing', () => {
  const issuer = name('Builder CA');

  test('a 100,000-entry CRL is parsed once into a map and looked up', () => {
    const entries = Array.from({ length: 100_000 }, (_, i) => ({ serial: BigInt(i + 1) * 7919n, date: T0 }));
    const der = buildCrl(
      { issuer, thisUpdate: T0, nextUpdate: T1, entries, extensions: [crlNumber(9)] },
      key.privateKey,
    );
    const crl = parseCrl(der);
    assert.equal(crl.entryCount, 100_000);
    assert.ok(verifyCrlSignature(crl, key.publicKey));
    const lookup = (n: bigint) => crl.lookup(crl.issuer, integer(n).subarray(2));
    assert.ok(lookup(50_000n * 7919n));
    assert.equal(lookup(50_000n * 7919n + 1n), undefined);
  });

  test('serial numbers keep their sign: 0x00FF (255) is not 0xFF (-1)', () => {
    const crl = parseCrl(buildCrl({ issuer, thisUpdate: T0, entries: [{ serial: -1n, date: T0 }] }, key.privateKey));
    assert.ok(crl.lookup(crl.issuer, Buffer.from([0xff])));
    assert.equal(crl.lookup(crl.issuer, Buffer.from([0x00, 0xff])), undefined);
  });

  test('v1 CRLs parse; extensions in a v1 CRL are refused', () => {
    const v1 = parseCrl(
      buildCrl({ issuer, thisUpdate: T0, v1: true, entries: [{ serial: 5n, date: T0 }] }, key.privateKey),
    );
    assert.equal(v1.version, 1);
    assert.equal(v1.nextUpdate, undefined);
    malformed(
      () => parseCrl(buildCrl({ issuer, thisUpdate: T0, v1: true, extensions: [crlNumber(1)] }, key.privateKey)),
      /v1 CRL/,
    );
    malformed(
      () =>
        parseCrl(
          buildCrl(
            { issuer, thisUpdate: T0, v1: true, entries: [{ serial: 1n, date: T0, reason: 1 }] },
            key.privateKey,
          ),
        ),
      /v1 CRL/,
    );
  });

  test('entry extensions: reasons, certificateIssuer of indirect CRLs', () => {
    const other = name('Other CA');
    const crl = parseCrl(
      buildCrl(
        {
          issuer,
          thisUpdate: T0,
          entries: [
            { serial: 1n, date: T0, reason: 6 },
            { serial: 2n, date: T0, certificateIssuer: seq(tlv(0xa4, other)) },
            // certificateIssuer carries over to later entries (§5.3.3).
            { serial: 3n, date: T0, reason: 8 },
          ],
        },
        key.privateKey,
      ),
    );
    const otherName = parseCrl(buildCrl({ issuer: other, thisUpdate: T0 }, key.privateKey)).issuer;
    assert.equal(crl.lookup(crl.issuer, Buffer.from([1]))?.reason, 'certificateHold');
    assert.equal(crl.lookup(crl.issuer, Buffer.from([2])), undefined);
    assert.ok(crl.lookup(otherName, Buffer.from([2])));
    assert.equal(crl.lookup(otherName, Buffer.from([3]))?.reason, 'removeFromCRL');
    malformed(
      () =>
        parseCrl(buildCrl({ issuer, thisUpdate: T0, entries: [{ serial: 1n, date: T0, reason: 7 }] }, key.privateKey)),
      /reason code 7/,
    );
  });

  test('issuingDistributionPoint, deltaCRLIndicator and unknown critical extensions', () => {
    // IDP: distributionPoint fullName URI, onlyContainsUserCerts, onlySomeReasons {keyCompromise}.
    const idp = seq(
      tlv(0xa0, tlv(0xa0, tlv(0x86, Buffer.from('http://crl.example/a.crl')))),
      tlv(0x81, Buffer.from([0xff])),
      tlv(0x83, Buffer.from([0x06, 0x40])),
    );
    const crl = parseCrl(
      buildCrl(
        {
          issuer,
          thisUpdate: T0,
          extensions: [
            extension(OID.issuingDistributionPoint, idp, true),
            extension(OID.deltaCRLIndicator, integer(4), true),
            crlNumber(6),
          ],
        },
        key.privateKey,
      ),
    );
    const p = crl.issuingDistributionPoint!;
    assert.deepEqual(p.distributionPoint?.fullName, [
      { type: 'uniformResourceIdentifier', value: 'http://crl.example/a.crl' },
    ]);
    assert.equal(p.onlyContainsUserCerts, true);
    assert.equal(p.onlySomeReasons, 1 << 1);
    assert.equal(crl.deltaBase, 4n);
    assert.equal(crl.unsupportedCritical, undefined);

    const unknown = parseCrl(
      buildCrl({ issuer, thisUpdate: T0, extensions: [extension('1.2.3.4', integer(1), true)] }, key.privateKey),
    );
    assert.equal(unknown.unsupportedCritical, '1.2.3.4');
    const nonCritical = parseCrl(
      buildCrl({ issuer, thisUpdate: T0, extensions: [extension('1.2.3.4', integer(1))] }, key.privateKey),
    );
    assert.equal(nonCritical.unsupportedCritical, undefined);
    // Two "only contains" flags at once (§5.2.5).
    const both = seq(tlv(0x81, Buffer.from([0xff])), tlv(0x82, Buffer.from([0xff])));
    malformed(() =>
      parseCrl(
        buildCrl(
          { issuer, thisUpdate: T0, extensions: [extension(OID.issuingDistributionPoint, both, true)] },
          key.privateKey,
        ),
      ),
    );
  });

  test('structural errors are CRL_MALFORMED', () => {
    const good = buildCrl({ issuer, thisUpdate: T0, entries: [{ serial: 1n, date: T0 }] }, key.privateKey);
    malformed(() => parseCrl(Buffer.concat([good, Buffer.from([0])])), /trailing/);
    malformed(() => parseCrl(good.subarray(0, good.length - 1)));
    malformed(() => parseCrl(Buffer.from([0x30, 0x80, 0, 0])), /indefinite/);
    malformed(() => parseCrl(Buffer.alloc(0)));
    // Inner and outer signature algorithms differ.
    const alg = seq(oid(OID.ecdsaWithSHA384));
    const tbs = tbsCertList({ issuer, thisUpdate: T0 }, alg);
    malformed(() => parseCrl(seq(tbs, seq(oid(OID.ecdsaWithSHA256)), tlv(0x03, Buffer.from([0, 1])))), /differ/);
    // An empty issuer name (§5.1.2.3).
    malformed(() => parseCrl(buildCrl({ issuer: seq(), thisUpdate: T0 }, key.privateKey)), /empty/);
    // A wrong key is "false", not an exception.
    const other = createPrivateKey(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
    );
    assert.equal(verifyCrlSignature(parseCrl(buildCrl({ issuer, thisUpdate: T0 }, other)), key.publicKey), false);
  });
});
