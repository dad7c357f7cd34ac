/**
 * Security checklist, "Signatures": signed-attribute rules (RFC 5652 §5.3/§5.4/§11, RFC 8551 §2.5),
 * several SignerInfos, missing signers, validation time versus signingTime, encode-then-compare
 * RSA PKCS#1 v1.5, and degenerate SignedData. Hostile SignedData is built here field by field and
 * signed with real keys, so the rule under test is the only reason for a refusal.
 */
import assert from 'node:assert/strict';
import {
  constants,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  privateEncrypt,
  sign,
} from 'node:crypto';
import { describe, test } from 'node:test';
import { decode } from '../../src/asn1/der.ts';
import {
  algorithm,
  explicit,
  integer,
  octets,
  oid,
  retag,
  seq,
  setOf,
  time,
  tlv,
  unsignedInteger,
} from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import {
  openSignedStream,
  parseSignedData,
  type SignerVerification,
  verifySigners,
} from '../../src/cms/signed-data.ts';
import { assembleMessage, splitMessage } from '../../src/mime/canonical.ts';
import { buildPkcs7Mime } from '../../src/mime/smime-entities.ts';
import { signMessage } from '../../src/smime/sign.ts';
import { verifyMessage } from '../../src/smime/verify.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { cert, chunked, intermediate, message, pki, SIGNING_TIME, signer, verifyOptions } from '../smime/support.ts';
import { TEST_TIME } from '../support/pki.ts';
import { makeLeaf, makeRoot } from '../x509/ca-support.ts';

const ENTITY = Buffer.from('Content-Type: text/plain; charset=us-ascii\r\n\r\nPay 10 EUR to Bob.\r\n');
const aliceKey = createPrivateKey(pki.user('alice').key);
const alice = cert('alice');

const attribute = (type: string, ...values: Buffer[]): Buffer => seq(oid(type), setOf(values));
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const contentType = (type: string = OID.data) => attribute(OID.contentType, oid(type));
const messageDigest = (content: Uint8Array = ENTITY) => attribute(OID.messageDigest, octets(sha256(content)));
const signingTime = () => attribute(OID.signingTime, time(SIGNING_TIME));
const capabilities = () => attribute(OID.smimeCapabilities, seq(seq(oid(OID.aes256CBC))));
const standardAttrs = () => [contentType(), signingTime(), messageDigest(), capabilities()];

interface Build {
  /** The attributes, DER-sorted into a SET; `null` for a SignerInfo without signed attributes. */
  attrs?: Buffer[] | null;
  /** The exact signedAttrs encoding to send (SET tag; re-tagged to [0]), overriding `attrs`. */
  rawAttrs?: Buffer;
  /** What the signature covers, from the SET-tagged attributes (default: them). */
  signedBytes?: (set: Buffer) => Buffer;
  /** Replaces the signature computation. */
  signature?: (signedBytes: Buffer) => Buffer;
  eContentType?: string;
  detached?: boolean;
  digestAlgorithms?: Buffer[];
  certificates?: Uint8Array[] | null;
  /** Several SignerInfos. */
  signerInfos?: Buffer[];
}

function signerInfo(b: Build, cert: Certificate = alice, key: KeyObject = aliceKey): Buffer {
  const set = b.rawAttrs ?? (b.attrs === null ? undefined : setOf(b.attrs ?? standardAttrs()));
  const toSign = set ? (b.signedBytes ?? ((s) => s))(set) : ENTITY;
  const signature = b.signature ? b.signature(toSign) : sign('sha256', toSign, key);
  return seq(
    integer(1),
    seq(cert.issuer.der, unsignedInteger(cert.serialNumber)),
    algorithm(OID.sha256),
    ...(set ? [retag(set, 0xa0)] : []),
    algorithm(key.asymmetricKeyType === 'rsa' ? OID.sha256WithRSAEncryption : OID.ecdsaWithSHA256, null),
    octets(signature),
  );
}

function signedData(b: Build = {}): Buffer {
  const certs = b.certificates === undefined ? [alice.der, intermediate.der] : b.certificates;
  const sd = seq(
    integer(1),
    setOf(b.digestAlgorithms ?? [algorithm(OID.sha256)]),
    seq(oid(b.eContentType ?? OID.data), ...(b.detached ? [] : [explicit(0, octets(ENTITY))])),
    ...(certs ? [setOf(certs, 0xa0)] : []),
    setOf(b.signerInfos ?? [signerInfo(b)]),
  );
  return seq(oid(OID.signedData), explicit(0, sd));
}

function verifyOne(der: Uint8Array): SignerVerification {
  const info = parseSignedData(der);
  const [r] = verifySigners(info, info.content ?? ENTITY);
  assert.ok(r);
  return r;
}

const failed = (r: SignerVerification) => r.checks.filter((c) => !c.ok).map((c) => c.name);

/** An opaque-signed message around a SignedData built here. */
function opaqueMessage(der: Uint8Array, from = 'Alice <alice@example.org>'): Uint8Array {
  const { transportHeaders } = splitMessage(message(from));
  return assembleMessage(transportHeaders, buildPkcs7Mime(der, 'signed-data'));
}

describe('signed attributes', () => {
  test('the baseline built here verifies, at the CMS and the message level', () => {
    assert.equal(verifyOne(signedData()).status, 'valid');
    assert.equal(verifyMessage(opaqueMessage(signedData()), verifyOptions()).status, 'signed');
  });

  const refused: [string, Build, string, RegExp][] = [
    [
      'contentType twice',
      { attrs: [...standardAttrs(), contentType()] },
      'message-digest',
      /contentType appears more than once/,
    ],
    [
      'contentType with two values',
      { attrs: [attribute(OID.contentType, oid(OID.data), oid(OID.data)), signingTime(), messageDigest()] },
      'message-digest',
      /exactly one value/,
    ],
    [
      'messageDigest twice (the second one right)',
      { attrs: [contentType(), attribute(OID.messageDigest, octets(Buffer.alloc(32))), messageDigest()] },
      'message-digest',
      /messageDigest appears more than once/,
    ],
    [
      'SMIMECapabilities twice',
      { attrs: [...standardAttrs(), attribute(OID.smimeCapabilities, seq(seq(oid(OID.aes128CBC))))] },
      'message-digest',
      /smimeCapabilities appears more than once|more than once/,
    ],
    [
      'no contentType',
      { attrs: [signingTime(), messageDigest()] },
      'message-digest',
      /contentType signed attribute is missing/,
    ],
    [
      'no messageDigest',
      { attrs: [contentType(), signingTime()] },
      'message-digest',
      /messageDigest signed attribute is missing/,
    ],
    [
      'a malformed signingTime (month 13)',
      { attrs: [contentType(), messageDigest(), attribute(OID.signingTime, tlv(0x17, Buffer.from('261320000000Z')))] },
      'message-digest',
      /cannot be read/,
    ],
    [
      'contentType ≠ eContentType',
      { attrs: [contentType(OID.envelopedData), signingTime(), messageDigest()] },
      'content-type',
      /differs from the encapsulated/,
    ],
    [
      'a messageDigest of other content',
      { attrs: [contentType(), signingTime(), messageDigest(Buffer.from('other'))] },
      'message-digest',
      /changed after signing/,
    ],
  ];
  for (const [label, build, check, detail] of refused) {
    test(`${label}: the signer is invalid though its signature is correct`, () => {
      const r = verifyOne(signedData(build));
      assert.equal(r.status, 'invalid');
      assert.deepEqual(failed(r), [check]);
      assert.match(r.checks.find((c) => !c.ok)!.detail, detail);
      assert.equal(verifyMessage(opaqueMessage(signedData(build)), verifyOptions()).status, 'bad-signature');
    });
  }

  test('the signature is over the DER SET OF (tag 0x31), not the [0] IMPLICIT encoding that travels', () => {
    const overImplicit = verifyOne(signedData({ signedBytes: (set) => retag(set, 0xa0) }));
    assert.equal(overImplicit.status, 'invalid');
    assert.deepEqual(failed(overImplicit), ['signature']);
    assert.equal(verifyOne(signedData({ signedBytes: (set) => retag(set, 0x31) })).status, 'valid');
  });

  test('signed attributes must be DER: a long-form length, signed as sent, is refused', () => {
    const der = setOf(standardAttrs());
    // 0x31 0x81 LL becomes 0x31 0x82 00 LL: the same content with a non-minimal length (X.690 §10.1).
    assert.equal(der[1], 0x81);
    const ber = Buffer.concat([Buffer.from([0x31, 0x82, 0x00]), der.subarray(2)]);
    const r = verifyOne(signedData({ rawAttrs: ber }));
    assert.equal(r.status, 'invalid');
    assert.match(r.checks.find((c) => !c.ok)!.detail, /cannot be read/);
  });
});

describe('RSA PKCS#1 v1.5: encode-then-compare of the whole block (node-forge CVE-2022-24771/2/3)', () => {
  const digestInfo = (digest: Buffer, params: Buffer[] = [Buffer.from([5, 0])]) =>
    seq(seq(oid(OID.sha256), ...params), octets(digest));
  const raw = (block: Buffer) => privateEncrypt({ key: aliceKey, padding: constants.RSA_PKCS1_PADDING }, block);
  const lenient: [string, (d: Buffer) => Buffer][] = [
    ['trailing garbage after the DigestInfo', (d) => Buffer.concat([digestInfo(d), Buffer.from([0, 1, 2, 3])])],
    [
      'garbage inside the AlgorithmIdentifier',
      (d) => digestInfo(d, [Buffer.from([5, 0]), octets(Buffer.alloc(8, 0x41))]),
    ],
    [
      'a long-form length inside the DigestInfo',
      (d) => {
        const good = digestInfo(d);
        return Buffer.concat([Buffer.from([0x30, 0x81, good[1]!]), good.subarray(2)]);
      },
    ],
  ];

  test('the exact DigestInfo verifies, with and without signed attributes', () => {
    assert.equal(verifyOne(signedData({ signature: (b) => raw(digestInfo(sha256(b))) })).status, 'valid');
    const noAttrs = signedData({ attrs: null, signature: (b) => raw(digestInfo(sha256(b))) });
    assert.equal(verifyOne(noAttrs).status, 'valid');
  });

  for (const [label, block] of lenient) {
    test(`${label}: refused over signed attributes and, streaming, over a bare digest`, async () => {
      assert.deepEqual(failed(verifyOne(signedData({ signature: (b) => raw(block(sha256(b))) }))), ['signature']);
      const noAttrs = signedData({ attrs: null, signature: (b) => raw(block(sha256(b))) });
      assert.deepEqual(failed(verifyOne(noAttrs)), ['signature']);
      const s = await openSignedStream(chunked(noAttrs, 11));
      const info = await s.finish();
      assert.deepEqual(failed(verifySigners(info, { digests: info.digests })[0]!), ['signature']);
    });
  }
});

describe('several SignerInfos, none, or no certificate', () => {
  const rogueCert = Certificate.from(pki.rogue.cert);
  const rogueKey = createPrivateKey(pki.rogue.key);

  test('a trusted and an untrusted signer: each has a status, the message is untrusted', () => {
    const der = signedData({
      signerInfos: [signerInfo({}), signerInfo({}, rogueCert, rogueKey)],
      certificates: [alice.der, intermediate.der, rogueCert.der],
    });
    const report = verifyMessage(opaqueMessage(der), verifyOptions());
    const layer = report.layers[0]!;
    assert.ok('signers' in layer);
    assert.deepEqual(layer.signers.map((s) => s.status).sort(), ['untrusted', 'valid']);
    assert.equal(report.status, 'untrusted');
  });

  test('the same signer twice, once with a broken signature: bad-signature, not "one was fine"', () => {
    const der = signedData({ signerInfos: [signerInfo({}), signerInfo({ signature: () => Buffer.alloc(256, 1) })] });
    assert.equal(verifyMessage(opaqueMessage(der), verifyOptions()).status, 'bad-signature');
  });

  test('no SignerInfos: never signed', () => {
    const report = verifyMessage(opaqueMessage(signedData({ signerInfos: [] })), verifyOptions());
    assert.notEqual(report.status, 'signed');
    assert.equal(report.reason, 'the signature has no signers');
  });

  test('the signer certificate missing: not signed, and the reason says to treat it so', () => {
    const der = signedData({ certificates: null });
    const r = verifyOne(der);
    assert.deepEqual(failed(r), ['signer-certificate']);
    assert.match(r.checks[0]!.detail, /treat the content as not signed/);
    const report = verifyMessage(opaqueMessage(der), verifyOptions());
    assert.equal(report.status, 'bad-signature');
    assert.match(report.reason, /not signed/);
    // Given by the caller, the same certificate makes it verifiable (and then valid).
    const withCert = verifyMessage(opaqueMessage(der), verifyOptions({ intermediates: [intermediate, alice] }));
    assert.equal(withCert.status, 'signed');
  });
});

describe('the validation time is the caller’s, never the signingTime (Bouncy Castle fixed this)', () => {
  test('signingTime inside an expired certificate’s validity: still untrusted at the given time', () => {
    const expired = signer('expired');
    const msg = signMessage(message('expired@example.org'), {
      signers: [expired],
      signingTime: new Date('2020-06-01T00:00:00Z'),
    });
    const now = verifyMessage(msg, verifyOptions());
    assert.equal(now.status, 'untrusted');
    const layer = now.layers[0]!;
    assert.ok('signers' in layer);
    assert.equal(layer.signers[0]!.signingTime, '2020-06-01T00:00:00.000Z');
    assert.match(now.reason, /expired on 2021-01-01/);
    // At a time the caller gives inside the leaf's validity, the leaf passes and the (younger) CA fails:
    // the time checked is the caller's in both cases, never the signingTime.
    const then = verifyMessage(msg, verifyOptions({ time: new Date('2020-06-02T00:00:00Z') }));
    assert.equal(then.status, 'untrusted');
    assert.match(then.reason, /Intermediate" is valid only from 2025/);
  });

  test('a signingTime outside the certificate’s validity does not spoil a valid signature now', () => {
    for (const when of ['1999-01-01T00:00:00Z', '2049-12-31T00:00:00Z']) {
      const msg = signMessage(message('alice@example.org'), {
        signers: [signer('alice')],
        signingTime: new Date(when),
      });
      assert.equal(verifyMessage(msg, verifyOptions({ time: TEST_TIME })).status, 'signed', when);
    }
  });
});

describe('algorithms (RFC 8551 §2.2, §2.3)', () => {
  test('an RSA signer key under 2048 bits is legacy: refused unless reading old mail', async () => {
    const root = await makeRoot('rsa');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const { certificate } = await makeLeaf(root, 'weak@example.org', { key: 'rsa', publicKey: weak.publicKey });
    const der = signedData({
      signerInfos: [signerInfo({}, certificate, weak.privateKey)],
      certificates: [certificate.der],
    });
    const r = verifyOne(der);
    assert.equal(r.legacyAlgorithm, true);
    assert.equal(r.status, 'invalid');
  });
});

describe('degenerate SignedData never crashes (OpenSSL CVE-2026-45447 and friends)', () => {
  test('empty digestAlgorithms with a signer: a status from the buffer API and from the stream', async () => {
    const der = signedData({ digestAlgorithms: [] });
    const info = parseSignedData(der);
    assert.deepEqual(info.digestAlgorithms, []);
    assert.ok(['valid', 'invalid'].includes(verifySigners(info, info.content!)[0]!.status));
    const s = await openSignedStream(chunked(der, 13));
    const streamed = await s.finish();
    const r = verifySigners(streamed, { digests: streamed.digests })[0]!;
    assert.equal(r.status, 'invalid');
    assert.deepEqual(failed(r), ['message-digest']);
    assert.ok(['signed', 'bad-signature'].includes(verifyMessage(opaqueMessage(der), verifyOptions()).status));
  });

  test('empty digestAlgorithms, no certificates, no signers, detached: a report', () => {
    const der = signedData({ digestAlgorithms: [], certificates: null, signerInfos: [], detached: true });
    const info = parseSignedData(der);
    assert.equal(info.content, undefined);
    assert.deepEqual(verifySigners(info, ENTITY), []);
  });

  test('BER indefinite lengths everywhere outside the signed attributes: verifies like the DER form', async () => {
    const root = decode(signedData(), { mode: 'der' });
    // Every constructed element outside the SignerInfos becomes indefinite; eContent becomes segments.
    const indefinite = (el: ReturnType<typeof decode>, path: number[]): Buffer => {
      // The certificates (strict DER) and the SignerInfos stay as they are.
      if (path.length === 3 && (path[2] === 3 || path[2] === 4)) return Buffer.from(el.raw);
      if (!el.constructed) {
        if (el.tagNumber === 4 && path.length === 5 && path[2] === 2) {
          const v = el.value;
          return Buffer.concat([
            Buffer.from([0x24, 0x80]),
            octets(v.subarray(0, 5)),
            octets(v.subarray(5)),
            Buffer.from([0, 0]),
          ]);
        }
        return Buffer.from(el.raw);
      }
      return Buffer.concat([
        Buffer.from([el.tag, 0x80]),
        ...el.children.map((c, i) => indefinite(c, [...path, i])),
        Buffer.from([0, 0]),
      ]);
    };
    const ber = indefinite(root, []);
    assert.equal(ber[1], 0x80);
    assert.equal(verifyOne(ber).status, 'valid');
    const s = await openSignedStream(chunked(ber, 3));
    for await (const _ of s.content);
    const info = await s.finish();
    assert.equal(verifySigners(info, { digests: info.digests })[0]!.status, 'valid');
  });

  test('unsorted SET OF (certificates, digestAlgorithms, SignerInfos) still parses and verifies', () => {
    const unsorted = (items: Uint8Array[], tag = 0x31) => tlv(tag, ...[...items].sort(Buffer.compare).reverse());
    const si = signerInfo({});
    const sd = seq(
      integer(1),
      unsorted([algorithm(OID.sha256), algorithm(OID.sha512)]),
      seq(oid(OID.data), explicit(0, octets(ENTITY))),
      unsorted([alice.der, intermediate.der], 0xa0),
      unsorted([si, signerInfo({}, cert('signer'), createPrivateKey(pki.user('signer').key))]),
    );
    const der = seq(oid(OID.signedData), explicit(0, sd));
    const info = parseSignedData(der);
    assert.equal(info.digestAlgorithms.length, 2);
    const results = verifySigners(info, ENTITY, { extraCertificates: [cert('signer')] });
    assert.deepEqual(
      results.map((r) => r.status),
      ['valid', 'valid'],
    );
  });

  test('unsorted signed attributes: a status, never an exception', () => {
    const attrs = standardAttrs();
    const unsortedSet = tlv(0x31, ...[...attrs].sort(Buffer.compare).reverse());
    const r = verifyOne(signedData({ rawAttrs: unsortedSet }));
    assert.ok(['valid', 'invalid'].includes(r.status));
  });
});
