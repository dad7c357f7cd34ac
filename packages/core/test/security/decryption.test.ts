/**
 * Security checklist, "Decryption and confidentiality": the key-transport oracle (RFC 3218),
 * RecipientInfo selection by identifier (CVE-2019-1563), AES-GCM parameter bounds and tag
 * verification (RFC 5084), and ECDH/X25519 key agreement on receipt and on sending.
 */
import assert from 'node:assert/strict';
import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { decode } from '../../src/asn1/der.ts';
import { integer, octets, oid, seq, tlv } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import {
  type DecryptionKey,
  decryptContent,
  decryptStream,
  describeEnvelope,
  encryptContent,
} from '../../src/cms/enveloped-data.ts';
import type { SealpostError } from '../../src/errors.ts';
import { chooseCipher, encryptMessage } from '../../src/smime/encrypt.ts';
import { decryptMessageStream } from '../../src/smime/stream.ts';
import { cert, chunked, collect, key, opensslEncrypt } from '../cms/enveloped-data-support.ts';
import { message } from '../smime/support.ts';
import { at, observable, rejected, rewrite, samePath, thrown } from './support.ts';

const CONTENT = Buffer.from('Content-Type: text/plain\r\n\r\nthe secret\r\n');

/** The index in RecipientInfos of the recipient whose certificate has this serial. */
function recipientIndex(der: Uint8Array, name: Parameters<typeof cert>[0]): number {
  const r = describeEnvelope(der).recipients.find((x) => x.identifiers[0]?.serialHex === cert(name).serialHex);
  assert.ok(r, `${name} is a recipient`);
  return r.index;
}

/** Path of a RecipientInfo inside ContentInfo → [0] → (Auth)EnvelopedData → recipientInfos. */
const riPath = (i: number): number[] => [1, 0, 1, i];

function replaceAt(der: Uint8Array, path: readonly number[], bytes: Uint8Array): Buffer {
  return rewrite(decode(der, { mode: 'ber' }), (_, p) => (samePath(p, path) ? bytes : undefined));
}

/** Every failure goes through here, so equal stacks mean the same throw site. */
function decryptFailure(der: Uint8Array, keys: DecryptionKey[]): SealpostError {
  return thrown(() => decryptContent(der, keys));
}

async function streamFailure(der: Uint8Array, keys: DecryptionKey[]): Promise<SealpostError> {
  // The promise resolves whatever the key transport did: the failure comes from the content stage.
  const { content } = await decryptStream(chunked(der, 7), keys);
  return rejected(() => collect(content));
}

describe('RSA PKCS#1 v1.5 key transport: one generic failure (RFC 3218 §2.3, Bleichenbacher/Marvin)', () => {
  const alice = key('alice');
  const der = encryptContent(CONTENT, { recipients: [{ certificate: cert('alice') }], cipher: 'aes-256-cbc' });
  const ekPath = [...riPath(0), 3];
  const encryptedKey = Buffer.from(at(decode(der), ekPath).value);
  const variants: [string, Uint8Array][] = [
    ['a flipped byte (bad padding)', Buffer.from(encryptedKey.map((b, i) => (i === 40 ? b ^ 0x5a : b)))],
    ['random bytes of the modulus size', randomBytes(encryptedKey.length)],
    ['one byte short', encryptedKey.subarray(1)],
    ['empty', Buffer.alloc(0)],
    ['larger than the modulus', Buffer.alloc(encryptedKey.length, 0xff)],
    [
      'encrypted to another key (wrong recipient)',
      publicEncrypt({ key: cert('encrypter').publicKey, padding: constants.RSA_PKCS1_PADDING }, randomBytes(32)),
    ],
    [
      'well padded, but a 16-octet key for AES-256 (wrong key length)',
      publicEncrypt({ key: cert('alice').publicKey, padding: constants.RSA_PKCS1_PADDING }, randomBytes(16)),
    ],
  ];

  test('the untouched envelope decrypts', () => {
    assert.deepEqual(decryptContent(der, [alice]).content, CONTENT);
  });

  test('every corruption of encryptedKey: the same code, message and throw site (buffer API)', () => {
    const errors = variants.map(([, ek]) => observable(decryptFailure(replaceAt(der, ekPath, octets(ek)), [alice])));
    for (const [i, e] of errors.entries()) {
      assert.equal(e.code, 'DECRYPTION_FAILED', variants[i]![0]);
      assert.deepEqual(e, errors[0], variants[i]![0]);
    }
    assert.match(errors[0]!.message, /could not be decrypted/);
    assert.doesNotMatch(errors[0]!.message, /padding|key|length/i, 'the message names no cause');
  });

  test('a wrong private key for the named certificate is not an oracle: refused before any decryption', () => {
    const wrong = { certificate: cert('alice'), privateKey: key('encrypter').privateKey };
    assert.equal(thrown(() => decryptContent(der, [wrong])).code, 'KEY_MISMATCH');
  });

  test('the stream API: the key stage always succeeds, the same error ends the content', async () => {
    // The last envelope has a good key and a bad CBC padding: the content stage's own failure.
    const ecPath = [1, 0, 2, 2];
    const ec = Buffer.from(at(decode(der), ecPath).value);
    ec[ec.length - 1]! ^= 1;
    const envelopes = [
      ...variants.map(([, ek]) => replaceAt(der, ekPath, octets(ek))),
      replaceAt(der, ecPath, tlv(0x80, ec)),
    ];
    const errors: ReturnType<typeof observable>[] = [];
    for (const env of envelopes) errors.push(observable(await streamFailure(env, [alice])));
    for (const e of errors) assert.deepEqual(e, errors[0]);
    assert.equal(errors[0]!.code, 'DECRYPTION_FAILED');
  });
});

describe('the content cipher follows the recipients’ SMIMECapabilities (RFC 8551 §2.7)', () => {
  const gcm256 = [{ oid: OID.aes256GCM }];
  const cbc = [{ oid: OID.aes256CBC }];
  const recipients = [{ certificate: cert('alice') }, { certificate: cert('bob') }];

  test('AES-GCM only when every recipient announced it; else AES-256-CBC, with the reason', () => {
    assert.equal(chooseCipher({ recipients, capabilities: [gcm256, gcm256] }).cipher, 'aes-256-gcm');
    const mixed = chooseCipher({ recipients, capabilities: [gcm256, cbc] });
    assert.deepEqual(mixed, { cipher: 'aes-256-cbc', reason: 'not every recipient announced AES-GCM' });
    const unknown = chooseCipher({ recipients, capabilities: [gcm256] });
    assert.equal(unknown.cipher, 'aes-256-cbc');
    assert.match(unknown.reason, /no SMIMECapabilities seen for 1 recipient/);
    assert.deepEqual(chooseCipher({ recipients, cipher: 'aes-128-gcm' }), {
      cipher: 'aes-128-gcm',
      reason: 'chosen explicitly',
    });
  });

  test('encryptMessage records the choice: AuthEnvelopedData only for GCM', () => {
    const out = encryptMessage(message('Alice <alice@example.org>'), { recipients, capabilities: [gcm256, undefined] });
    assert.equal(out.cipher, 'aes-256-cbc');
    assert.match(out.message.toString('latin1'), /smime-type=enveloped-data/);
  });
});

describe('the RecipientInfo is selected by identifier, never by trying (OpenSSL CVE-2019-1563)', () => {
  const der = encryptContent(CONTENT, {
    recipients: ['encrypter', 'alice', 'carol'].map((n) => ({ certificate: cert(n as 'alice') })),
    cipher: 'aes-128-gcm',
  });
  const mine = recipientIndex(der, 'alice');
  const others = [recipientIndex(der, 'encrypter'), recipientIndex(der, 'carol')];
  // The other recipients' RecipientInfos: an unknown key transport algorithm and garbage keys.
  const root = decode(der);
  const damaged = rewrite(root, (_, p) => {
    const ktri = riPath(others[0]!);
    if (samePath(p, [...ktri, 2])) return seq(oid('1.2.3.4.5'));
    if (samePath(p, [...ktri, 3])) return octets(randomBytes(300));
    const kari = riPath(others[1]!);
    if (samePath(p, [...kari, 3, 0, 1])) return octets(randomBytes(40));
    return undefined;
  });

  test('damaged RecipientInfos of others change nothing for the one that names our certificate', () => {
    const clean = decryptContent(der, [key('alice')]);
    const out = decryptContent(damaged, [key('alice')]);
    assert.deepEqual(out.content, CONTENT);
    assert.deepEqual(out.info.matched, { recipientIndex: mine, keyIndex: 0 });
    assert.deepEqual(out.info.matched, clean.info.matched);
  });

  test('the damage is only met when that RecipientInfo is the one selected', () => {
    assert.equal(thrown(() => decryptContent(damaged, [key('encrypter')])).code, 'UNSUPPORTED_ALGORITHM');
    assert.equal(thrown(() => decryptContent(damaged, [key('carol')])).code, 'DECRYPTION_FAILED');
  });

  test('a key no RecipientInfo names is NO_RECIPIENT, even when the others are damaged', () => {
    const e = thrown(() => decryptContent(damaged, [key('bob')]));
    assert.equal(e.code, 'NO_RECIPIENT');
  });

  test('keys offered in order: an unnamed key is skipped, the named one opens it', async () => {
    const out = decryptContent(damaged, [key('bob'), key('dave'), key('alice')]);
    assert.deepEqual(out.info.matched, { recipientIndex: mine, keyIndex: 2 });
    const s = await decryptStream(chunked(damaged, 3), [key('bob'), key('alice')]);
    assert.deepEqual(await collect(s.content), CONTENT);
  });
});

describe('AES-GCM parameters (RFC 5084 §3.2) and the tag', () => {
  const der = encryptContent(CONTENT, { recipients: [{ certificate: cert('alice') }], cipher: 'aes-256-gcm' });
  const alice = key('alice');
  const paramsPath = [1, 0, 2, 1, 1];
  const nonce = Buffer.from(at(decode(der), [...paramsPath, 0]).value);
  const withParams = (params: Uint8Array) => replaceAt(der, paramsPath, params);

  test('what we send: a 12-octet nonce and a 16-octet tag', () => {
    assert.equal(nonce.length, 12);
    assert.equal(at(decode(der), [1, 0, 3]).value.length, 16);
  });

  for (const n of [0, 1, 7, 17, 64]) {
    test(`a ${n}-octet nonce is CMS_MALFORMED before any key is used (buffer and stream)`, async () => {
      const bad = withParams(seq(octets(Buffer.alloc(n, 1)), integer(16)));
      const e = thrown(() => decryptContent(bad, [alice]));
      assert.equal(e.code, 'CMS_MALFORMED');
      assert.match(e.message, /nonce/);
      assert.equal((await rejected(() => decryptStream(chunked(bad, 5), [alice]))).code, 'CMS_MALFORMED');
    });
  }

  for (const icv of [0, 4, 11, 17, 255]) {
    test(`aes-ICVlen ${icv} is CMS_MALFORMED (12..16 only)`, () => {
      const e = thrown(() => decryptContent(withParams(seq(octets(nonce), integer(icv))), [alice]));
      assert.equal(e.code, 'CMS_MALFORMED');
      assert.match(e.message, /ICV/);
    });
  }

  test('a mac whose length differs from aes-ICVlen, or a changed tag or ciphertext: DECRYPTION_FAILED, no content', () => {
    const root = decode(der);
    const mac = Buffer.from(at(root, [1, 0, 3]).value);
    const ec = Buffer.from(at(root, [1, 0, 2, 2]).value);
    const failures = [
      withParams(seq(octets(nonce))), // default ICVlen 12, but the mac has 16 octets
      replaceAt(der, [1, 0, 3], octets(mac.subarray(0, 12))),
      replaceAt(der, [1, 0, 3], octets(Buffer.from(mac.map((b, i) => (i === 0 ? b ^ 1 : b))))),
      replaceAt(der, [1, 0, 2, 2], tlv(0x80, Buffer.from(ec.map((b, i) => (i === 3 ? b ^ 1 : b))))),
    ].map((bad) => observable(decryptFailure(bad, [alice])));
    for (const f of failures) assert.deepEqual(f, failures[0]);
    assert.equal(failures[0]!.code, 'DECRYPTION_FAILED');
  });

  test('streaming: output is uncommitted until the tag verifies; a bad tag never completes the stream', async () => {
    const big = Buffer.alloc(600 * 1024, 0x61);
    const env = encryptContent(big, { recipients: [{ certificate: cert('alice') }], cipher: 'aes-128-gcm' });
    const mac = Buffer.from(at(decode(env), [1, 0, 3]).value);
    mac[5]! ^= 0x80;
    const bad = replaceAt(env, [1, 0, 3], octets(mac));
    const { content } = await decryptStream(chunked(bad, 65536), [alice]);
    let completed = false;
    const e = await rejected(async () => {
      for await (const _ of content);
      completed = true;
    });
    assert.equal(e.code, 'DECRYPTION_FAILED');
    assert.equal(completed, false);
  });

  test('message-level stream: the same DECRYPTION_FAILED at the end, for a wrong tag', async () => {
    const msg = encryptMessage(message('Alice <alice@example.org>'), {
      recipients: [{ certificate: cert('alice') }],
      cipher: 'aes-256-gcm',
    }).message;
    // Flip a bit of the base64 body's last quarter, where the tag travels.
    const text = msg.toString('latin1');
    const bodyEnd = text.trimEnd().length;
    const pos = bodyEnd - 12;
    const flipped = Buffer.from(msg);
    flipped[pos] = flipped[pos] === 0x41 ? 0x42 : 0x41;
    const out = await decryptMessageStream(chunked(flipped, 97), [alice]);
    assert.equal((await rejected(() => collect(out.message))).code, 'DECRYPTION_FAILED');
  });
});

describe('ECDH and X25519 key agreement', () => {
  test('received: OpenSSL 3.0 sends dhSinglePassStdDHSha1kdf by default, and it opens', () => {
    const env = opensslEncrypt(CONTENT, ['carol'], ['-aes-128-cbc']);
    assert.equal(describeEnvelope(env).recipients[0]!.keyEncryptionAlgorithm, 'dhSinglePassStdDHSha1kdf');
    assert.deepEqual(decryptContent(env, [key('carol')]).content, CONTENT);
  });

  test('sent: SHA-256 or stronger KDFs, HKDF for X25519, a key wrap as strong as the content cipher', () => {
    const cases = [
      ['carol', 'aes-128-gcm', 'dhSinglePassStdDHSha256kdf', 'aes128Wrap'],
      ['dave', 'aes-256-cbc', 'dhSinglePassStdDHSha384kdf', 'aes256Wrap'],
      ['frank', 'aes-256-gcm', 'dhSinglePassStdDHHkdfSha256', 'aes256Wrap'],
      ['frank', 'aes-192-cbc', 'dhSinglePassStdDHHkdfSha256', 'aes192Wrap'],
    ] as const;
    for (const [name, cipher, kdf, wrap] of cases) {
      const env = encryptContent(CONTENT, { recipients: [{ certificate: cert(name) }], cipher });
      const r = describeEnvelope(env).recipients[0]!;
      assert.equal(r.keyEncryptionAlgorithm, kdf, `${name} ${cipher}`);
      assert.equal(r.keyWrapAlgorithm, wrap, `${name} ${cipher}`);
      assert.deepEqual(decryptContent(env, [key(name)]).content, CONTENT);
    }
  });

  /** Path of the originator public key BIT STRING in the first (kari) RecipientInfo. */
  const pointPath = [...riPath(0), 1, 0, 1];

  test('invalid peer public keys are rejected cleanly, with the generic failure', () => {
    const p256 = encryptContent(CONTENT, { recipients: [{ certificate: cert('carol') }], cipher: 'aes-128-cbc' });
    const point = Buffer.from(at(decode(p256), pointPath).value);
    const offCurve = Buffer.from(point);
    offCurve[offCurve.length - 1]! ^= 1;
    const x25519 = encryptContent(CONTENT, { recipients: [{ certificate: cert('frank') }], cipher: 'aes-128-cbc' });
    const lowOrder = Buffer.alloc(33);
    lowOrder[1] = 1; // u = 1 has order 4: the shared secret is all zero
    const cases: [string, Uint8Array, Uint8Array, DecryptionKey][] = [
      ['P-256 point off the curve', p256, tlv(0x03, offCurve), key('carol')],
      ['P-256 point at infinity', p256, tlv(0x03, Buffer.from([0, 0])), key('carol')],
      ['P-256 truncated point', p256, tlv(0x03, point.subarray(0, 40)), key('carol')],
      ['X25519 all-zero key', x25519, tlv(0x03, Buffer.alloc(33)), key('frank')],
      ['X25519 low-order point', x25519, tlv(0x03, lowOrder), key('frank')],
      ['X25519 key of 31 octets', x25519, tlv(0x03, Buffer.alloc(32, 0)), key('frank')],
    ];
    for (const [label, env, bits, k] of cases) {
      const e = decryptFailure(replaceAt(env, pointPath, bits), [k]);
      assert.equal(e.code, 'DECRYPTION_FAILED', label);
      assert.equal(e.message, 'the message could not be decrypted', label);
    }
    // A BIT STRING with unused bits is malformed structure, not a secret: a typed error before decryption.
    const unused = thrown(() =>
      decryptContent(replaceAt(x25519, pointPath, tlv(0x03, Buffer.alloc(33, 1))), [key('frank')]),
    );
    assert.match(unused.code, /MALFORMED$/);
  });
});
