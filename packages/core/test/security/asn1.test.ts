/**
 * Security checklist, "ASN.1 and parsing": depth limits (node-forge CVE-2025-66031, asn1js), OID
 * arcs as big integers (CVE-2025-66030), size and element caps, strict DER for certificates and
 * signed attributes, bounded BER for CMS envelopes — through the public entry points, not only
 * the decoder.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode, readOid } from '../../src/asn1/der.ts';
import { explicit, integer, oid, seq, setOf, tlv } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { decodeSignedAttributes } from '../../src/cms/attributes.ts';
import { decryptContent, decryptStream, describeEnvelope, encryptContent } from '../../src/cms/enveloped-data.ts';
import { openSignedStream, parseSignedData } from '../../src/cms/signed-data.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { cert, chunked, key } from '../smime/support.ts';
import { rejected, thrown } from './support.ts';

/** `n` nested indefinite-length [0] elements: a few bytes per level, so deep input is cheap to send. */
function deep(n: number): Buffer {
  return Buffer.concat([Buffer.alloc(2 * n).fill(Buffer.from([0xa0, 0x80])), Buffer.alloc(2 * n)]);
}

/** A ContentInfo of `type` whose content is `inner`. */
const contentInfo = (type: string, inner: Uint8Array) => seq(oid(type), explicit(0, inner));

describe('depth limits: typed errors, never a stack overflow', () => {
  const bomb = deep(100_000);

  test('SignedData and EnvelopedData parsers (buffer)', () => {
    for (const type of [OID.signedData, OID.envelopedData]) {
      const der = contentInfo(type, bomb);
      const e = thrown(() => (type === OID.signedData ? parseSignedData(der) : describeEnvelope(der)));
      assert.match(e.code, /LIMIT$/, type);
      // EnvelopedData input surfaces the decoder's ASN1_LIMIT, SignedData maps it to CMS_LIMIT.
      assert.match(thrown(() => decryptContent(der, [key('alice')])).code, /LIMIT$/, type);
    }
  });

  test('SignedData and EnvelopedData parsers (stream)', async () => {
    const signed = contentInfo(OID.signedData, seq(integer(1), setOf([]), seq(oid(OID.data), explicit(0, bomb))));
    const s = await rejected(async () => {
      const opened = await openSignedStream(chunked(signed, 4096));
      await opened.finish();
    });
    assert.match(s.code, /MALFORMED|LIMIT/);
    const enveloped = contentInfo(OID.envelopedData, seq(integer(0), bomb));
    const e = await rejected(() => decryptStream(chunked(enveloped, 4096), [key('alice')]));
    assert.match(e.code, /MALFORMED|LIMIT/);
  });

  test('certificates and signed attributes', () => {
    assert.ok(thrown(() => Certificate.fromDer(Buffer.concat([Buffer.from([0x30, 0x80]), bomb, Buffer.alloc(2)]))));
    const attrs = Buffer.concat([Buffer.from([0xa0, 0x80]), bomb, Buffer.alloc(2)]);
    assert.equal(thrown(() => decodeSignedAttributes(attrs)).code, 'CMS_MALFORMED');
  });
});

describe('OBJECT IDENTIFIER arcs beyond 2^32 and 2^53 are exact (CVE-2025-66030)', () => {
  const huge = [
    '2.999.4294967295',
    '2.999.4294967296',
    '1.2.9007199254740991',
    '1.2.9007199254740993',
    '2.25.340282366920938463463374607431768211455',
  ];

  test('decoded exactly, and re-encoded to the same bytes', () => {
    for (const dotted of huge) {
      const der = oid(dotted);
      assert.equal(readOid(decode(der)), dotted);
      assert.deepEqual(oid(readOid(decode(der))), der);
    }
  });

  test('an arc one above 2^32 differs from the truncated arc (no 32-bit wrap)', () => {
    assert.notEqual(readOid(decode(oid('2.999.4294967297'))), '2.999.1');
    assert.notDeepEqual(oid('2.999.4294967297'), oid('2.999.1'));
  });

  test('through the CMS: an envelope’s content type with huge arcs is reported and kept exactly', () => {
    for (const type of huge) {
      const env = encryptContent(Buffer.from('x'), {
        recipients: [{ certificate: cert('alice') }],
        cipher: 'aes-128-cbc',
        contentType: type,
      });
      assert.equal(describeEnvelope(env).contentType, type);
    }
  });

  test('an arc longer than 64 octets is ASN1_LIMIT (bounded bigint work)', () => {
    const arc = Buffer.concat([Buffer.alloc(65, 0xff), Buffer.from([0x7f])]);
    assert.equal(thrown(() => readOid(decode(tlv(0x06, Buffer.from([0x2a]), arc)))).code, 'ASN1_LIMIT');
  });
});

describe('size and element caps', () => {
  test('the decoder’s element budget', () => {
    const many = seq(...Array.from({ length: 2000 }, () => Buffer.from([5, 0])));
    assert.equal(thrown(() => decode(many, { maxElements: 1000 })).code, 'ASN1_LIMIT');
    assert.equal(decode(many, { maxElements: 3000 }).children.length, 2000);
  });

  test('SignedData: more than 16 signers or 64 certificates is CMS_LIMIT', () => {
    const sd = (certs: Buffer[], signers: Buffer[]) =>
      contentInfo(OID.signedData, seq(integer(1), setOf([]), seq(oid(OID.data)), setOf(certs, 0xa0), setOf(signers)));
    const filler = seq(integer(1));
    assert.equal(thrown(() => parseSignedData(sd(Array(65).fill(filler), []))).code, 'CMS_LIMIT');
    assert.equal(thrown(() => parseSignedData(sd([], Array(17).fill(filler)))).code, 'CMS_LIMIT');
  });

  test('signed attributes: more than 64 is refused', () => {
    const attr = seq(oid('1.2.3.4'), setOf([Buffer.from([5, 0])]));
    const raw = tlv(0xa0, ...Array(65).fill(attr));
    assert.equal(thrown(() => decodeSignedAttributes(raw)).code, 'CMS_LIMIT');
  });
});

describe('strict DER where it is signed, bounded BER for envelopes', () => {
  test('a certificate with a non-minimal length is refused', () => {
    const der = cert('alice').der;
    assert.equal(der[1], 0x82);
    const ber = Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), der.subarray(2)]);
    assert.equal(thrown(() => Certificate.fromDer(ber)).code, 'CERT_MALFORMED');
  });

  test('an indefinite-length envelope (BER, RFC 5652 §1.2) is accepted', () => {
    const der = encryptContent(Buffer.from('hello'), {
      recipients: [{ certificate: cert('alice') }],
      cipher: 'aes-128-cbc',
    });
    const root = decode(der);
    const indefinite = (el: typeof root): Buffer =>
      el.constructed && el.tag !== 0x31
        ? Buffer.concat([Buffer.from([el.tag, 0x80]), ...el.children.map(indefinite), Buffer.alloc(2)])
        : Buffer.from(el.raw);
    assert.deepEqual(decryptContent(indefinite(root), [key('alice')]).content, Buffer.from('hello'));
  });
});
