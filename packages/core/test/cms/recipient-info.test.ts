import assert from 'node:assert/strict';
import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decode } from '../../src/asn1/der.ts';
import { algorithm, explicit, integer, octets, oid, seq, set, tlv, unsignedInteger } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import {
  buildRecipientInfo,
  parseRecipientInfos,
  prepareUnwrap,
  recoverContentKey,
  selectRecipient,
} from '../../src/cms/recipient-info.ts';
import { isSealpostError } from '../../src/errors.ts';
import { cert, key } from './enveloped-data-support.ts';

const CEK = randomBytes(32);

function parsed(...infos: Buffer[]) {
  return parseRecipientInfos(decode(set(...infos), { mode: 'ber' }));
}

test('KeyTransRecipientInfo: version 0 by issuer and serial, 2 by subjectKeyIdentifier; the key comes back', () => {
  const bySerial = buildRecipientInfo({ certificate: cert('alice') }, CEK);
  const bySki = buildRecipientInfo(
    { certificate: cert('alice'), identifier: 'subjectKeyIdentifier', rsaPadding: 'oaep' },
    CEK,
  );
  assert.equal(bySerial.version, 0);
  assert.equal(bySki.version, 2);
  const rs = parsed(bySerial.der, bySki.der);
  assert.equal(rs[0]!.summary.keyEncryptionAlgorithm, 'rsaEncryption');
  assert.equal(rs[1]!.summary.keyEncryptionAlgorithm, 'rsaesOaep');
  assert.equal(
    rs[1]!.summary.identifiers[0]!.subjectKeyIdentifierHex,
    Buffer.from(cert('alice').subjectKeyIdentifier!).toString('hex'),
  );
  for (const r of rs) {
    const match = selectRecipient([r], [key('alice')])!;
    const { cek, ok } = recoverContentKey(prepareUnwrap(r, match, key('alice')), 32);
    assert.ok(ok);
    assert.deepEqual(cek, CEK);
  }
});

test('KeyAgreeRecipientInfo for P-256, P-384 and X25519 recovers the key', () => {
  for (const name of ['carol', 'dave', 'frank'] as const) {
    for (const identifier of ['issuerAndSerialNumber', 'subjectKeyIdentifier'] as const) {
      const ri = buildRecipientInfo({ certificate: cert(name), identifier }, CEK);
      assert.equal(ri.version, 3);
      const [r] = parsed(ri.der);
      const match = selectRecipient([r!], [key(name)])!;
      assert.deepEqual(recoverContentKey(prepareUnwrap(r!, match, key(name)), 32), { cek: CEK, ok: true });
    }
  }
});

test('recoverContentKey: a wrong-length or failing unwrap yields a random key of the right length, not an error', () => {
  const short = recoverContentKey(() => Buffer.alloc(5), 16);
  assert.equal(short.ok, false);
  assert.equal(short.cek.length, 16);
  const thrown = recoverContentKey(() => {
    throw new Error('bad padding');
  }, 24);
  assert.equal(thrown.ok, false);
  assert.equal(thrown.cek.length, 24);
});

test('selection is by identifier, in the order keys are offered, across ktri and kari', () => {
  const rs = parsed(
    buildRecipientInfo({ certificate: cert('carol') }, CEK).der,
    buildRecipientInfo({ certificate: cert('alice') }, CEK).der,
  );
  const aliceIndex = rs.findIndex((r) => r.summary.kind === 'ktri');
  assert.deepEqual(selectRecipient(rs, [key('bob'), key('alice'), key('carol')]), {
    recipientIndex: aliceIndex,
    keyIndex: 1,
    encryptedKeyIndex: 0,
  });
  assert.equal(selectRecipient(rs, [key('bob'), key('dave')]), undefined);
});

test('a kari with several recipientEncryptedKeys reports each and selects the matching one', () => {
  const c = cert('carol');
  const ris = (s: Uint8Array) => seq(c.issuer.der, unsignedInteger(s));
  const kari = tlv(
    0xa1,
    integer(3),
    explicit(0, tlv(0xa1, algorithm(OID.ecPublicKey), tlv(0x03, Buffer.from([0, 4, ...randomBytes(64)])))),
    algorithm(OID.dhSinglePassStdDHSha256kdf, algorithm(OID.aes256Wrap)),
    seq(
      seq(ris(Buffer.from([0x7f, 0x01])), octets(randomBytes(40))),
      seq(tlv(0xa0, octets(c.subjectKeyIdentifier!)), octets(randomBytes(40))),
    ),
  );
  const [r] = parsed(kari);
  assert.equal(r!.summary.identifiers.length, 2);
  assert.equal(r!.summary.identifiers[0]!.serialHex, '7f01');
  assert.deepEqual(selectRecipient([r!], [key('carol')]), { recipientIndex: 0, keyIndex: 0, encryptedKeyIndex: 1 });
});

test('kekri, pwri and ori are reported but never selected', () => {
  const kekri = tlv(
    0xa2,
    integer(4),
    seq(octets(Buffer.from('kek-1'))),
    algorithm(OID.aes256Wrap),
    octets(randomBytes(40)),
  );
  const pwri = tlv(
    0xa3,
    integer(0),
    tlv(0xa0, oid('1.2.840.113549.1.5.12')),
    algorithm('1.2.840.113549.1.9.16.3.9', algorithm(OID.aes256CBC, octets(randomBytes(16)))),
    octets(randomBytes(48)),
  );
  const ori = tlv(0xa4, oid('1.2.3.4'), octets(Buffer.from('x')));
  const rs = parsed(kekri, pwri, ori);
  assert.deepEqual(
    rs.map((r) => [r.summary.kind, r.summary.keyEncryptionAlgorithm, r.summary.identifiers.length]),
    [
      ['kekri', 'aes256Wrap', 0],
      ['pwri', '1.2.840.113549.1.9.16.3.9', 0],
      ['ori', '1.2.3.4', 0],
    ],
  );
  assert.equal(selectRecipient(rs, [key('alice')]), undefined);
});

test('RSAES-OAEP parameters: absent means SHA-1; a different MGF1 hash is UNSUPPORTED_ALGORITHM', () => {
  const c = cert('alice');
  const ktri = (params: Buffer | undefined, ek: Buffer) =>
    seq(integer(0), seq(c.issuer.der, unsignedInteger(c.serialNumber)), algorithm(OID.rsaesOaep, params), octets(ek));
  const sha1Key = publicEncrypt({ key: c.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, CEK);
  const [r] = parsed(ktri(undefined, sha1Key));
  const match = selectRecipient([r!], [key('alice')])!;
  assert.deepEqual(recoverContentKey(prepareUnwrap(r!, match, key('alice')), 32), { cek: CEK, ok: true });
  const mixed = seq(
    explicit(0, algorithm(OID.sha256, null)),
    explicit(1, algorithm(OID.mgf1, algorithm(OID.sha1, null))),
  );
  const [m] = parsed(ktri(mixed, sha1Key));
  assert.throws(
    () => prepareUnwrap(m!, match, key('alice')),
    (e) => isSealpostError(e, 'UNSUPPORTED_ALGORITHM'),
  );
});

test('a key of the wrong type for its RecipientInfo is KEY_UNSUITABLE', () => {
  // Carol's certificate named in a ktri: an EC key cannot undo RSA key transport.
  const c = cert('carol');
  const ktri = seq(
    integer(0),
    seq(c.issuer.der, unsignedInteger(c.serialNumber)),
    algorithm(OID.rsaEncryption, null),
    octets(randomBytes(256)),
  );
  const [r] = parsed(ktri);
  const match = selectRecipient([r!], [key('carol')])!;
  assert.throws(
    () => prepareUnwrap(r!, match, key('carol')),
    (e) => isSealpostError(e, 'KEY_UNSUITABLE'),
  );
});

test('malformed RecipientInfos are CMS_MALFORMED; too many are CMS_LIMIT', () => {
  assert.throws(
    () => parsed(seq(integer(0))),
    (e) => isSealpostError(e, 'CMS_MALFORMED'),
  );
  assert.throws(
    () => parsed(tlv(0xa7, integer(0))),
    (e) => isSealpostError(e, 'CMS_MALFORMED'),
  );
  assert.throws(
    () => parseRecipientInfos(decode(set())),
    (e) => isSealpostError(e, 'CMS_MALFORMED'),
  );
  const one = buildRecipientInfo({ certificate: cert('alice') }, CEK).der;
  assert.throws(
    () => parsed(...Array.from({ length: 1001 }, () => one)),
    (e) => isSealpostError(e, 'CMS_LIMIT'),
  );
});
