import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { octets, oid, retag, seq, setOf, tlv } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { decodeSignedAttributes, encodeIssuerAndSerial, encodeSignedAttributes } from '../../src/cms/attributes.ts';
import { DEFAULT_CAPABILITIES } from '../../src/cms/capabilities.ts';
import { isSealpostError } from '../../src/errors.ts';
import { cert } from './signed-data-support.ts';

const digest = Buffer.alloc(32, 7);
const time = new Date('2026-05-20T10:00:00Z');
const attr = (type: string, ...values: Uint8Array[]) => seq(oid(type), setOf(values));
const utc = (s: string) => tlv(0x17, Buffer.from(s, 'latin1'));
/** The [0] IMPLICIT form a SignerInfo carries. */
const signedAttrs = (...attrs: Uint8Array[]) => retag(setOf(attrs), 0xa0);
const base = [attr(OID.contentType, oid(OID.data)), attr(OID.messageDigest, octets(digest))];

describe('encodeSignedAttributes / decodeSignedAttributes', () => {
  it('round-trips every attribute Sealpost writes', () => {
    const enc = cert('encrypter');
    const der = encodeSignedAttributes({
      eContentType: OID.data,
      messageDigest: digest,
      signingTime: time,
      capabilities: DEFAULT_CAPABILITIES,
      encryptionCertificate: enc,
    });
    assert.equal(der[0], 0x31);
    const a = decodeSignedAttributes(retag(der, 0xa0));
    assert.equal(a.contentType, OID.data);
    assert.deepEqual(Buffer.from(a.messageDigest), digest);
    assert.deepEqual(a.signingTime, time);
    assert.deepEqual(a.capabilities, DEFAULT_CAPABILITIES);
    assert.deepEqual(Buffer.from(a.encryptionKeyPreference!.serialNumber!), Buffer.from(enc.serialNumber));
    assert.deepEqual(Buffer.from(a.encryptionKeyPreference!.issuer!.der), Buffer.from(enc.issuer.der));
    assert.equal(a.types.length, 6);
  });

  it('reads the Microsoft key preference alone and the SKI choice of SMIMEEncryptionKeyPreference', () => {
    const enc = cert('alice');
    const ms = decodeSignedAttributes(
      signedAttrs(...base, attr(OID.msOeEncryptionKeyPreference, encodeIssuerAndSerial(enc))),
    );
    assert.deepEqual(Buffer.from(ms.encryptionKeyPreference!.serialNumber!), Buffer.from(enc.serialNumber));
    const ski = decodeSignedAttributes(
      signedAttrs(...base, attr(OID.smimeEncryptionKeyPreference, tlv(0x82, Buffer.from('abcd')))),
    );
    assert.deepEqual(Buffer.from(ski.encryptionKeyPreference!.subjectKeyIdentifier!), Buffer.from('abcd'));
  });

  it('accepts unknown attributes and omitted optional ones', () => {
    const a = decodeSignedAttributes(
      signedAttrs(...base, attr('1.2.3.4', octets(Buffer.from('x')), octets(Buffer.from('y')))),
    );
    assert.equal(a.signingTime, undefined);
    assert.equal(a.capabilities, undefined);
    assert.ok(a.types.includes('1.2.3.4'));
  });

  const malformed: [string, Uint8Array][] = [
    ['no contentType', signedAttrs(attr(OID.messageDigest, octets(digest)))],
    ['no messageDigest', signedAttrs(attr(OID.contentType, oid(OID.data)))],
    ['two contentType attributes', signedAttrs(...base, attr(OID.contentType, oid(OID.signedData)))],
    [
      'two messageDigest values',
      signedAttrs(
        attr(OID.contentType, oid(OID.data)),
        attr(OID.messageDigest, octets(digest), octets(Buffer.alloc(32))),
      ),
    ],
    [
      'two signingTime attributes',
      signedAttrs(...base, attr(OID.signingTime, utc('260520100000Z')), attr(OID.signingTime, utc('260520100001Z'))),
    ],
    ['a malformed signingTime', signedAttrs(...base, attr(OID.signingTime, utc('2605201000Z')))],
    ['an impossible signingTime', signedAttrs(...base, attr(OID.signingTime, utc('260231100000Z')))],
    [
      'two SMIMECapabilities',
      signedAttrs(...base, attr(OID.smimeCapabilities, seq()), attr(OID.smimeCapabilities, seq())),
    ],
    [
      'messageDigest that is not an OCTET STRING',
      signedAttrs(attr(OID.contentType, oid(OID.data)), attr(OID.messageDigest, oid(OID.data))),
    ],
    ['an empty value SET', signedAttrs(...base, seq(oid('1.2.3'), tlv(0x31)))],
    ['an empty attribute SET', tlv(0xa0)],
    ['indefinite length (not DER)', Buffer.concat([Buffer.from([0xa0, 0x80]), ...base, Buffer.from([0, 0])])],
  ];
  for (const [label, bytes] of malformed) {
    it(`refuses ${label} with CMS_MALFORMED`, () => {
      assert.throws(
        () => decodeSignedAttributes(bytes),
        (e) => isSealpostError(e, 'CMS_MALFORMED'),
      );
    });
  }
});
