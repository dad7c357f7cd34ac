import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decode, readBitString } from '../../src/asn1/der.ts';
import { OID } from '../../src/asn1/oids.ts';
import {
  aesUnwrap,
  aesWrap,
  deriveKek,
  eccCmsSharedInfo,
  ephemeralAgreement,
  KDF_SCHEMES,
  keyWrapFor,
  recipientAgreement,
  x963Kdf,
} from '../../src/cms/key-agreement.ts';
import { cert, key } from './enveloped-data-support.ts';

const hex = (s: string) => Buffer.from(s.replace(/[\s:]/g, ''), 'hex');

function opensslKdf(kdf: 'X963KDF' | 'HKDF', digest: string, secret: Buffer, info: Buffer, length: number): Buffer {
  const out = execFileSync(
    'openssl',
    [
      'kdf',
      '-keylen',
      String(length),
      '-kdfopt',
      `digest:${digest}`,
      '-kdfopt',
      `${kdf === 'HKDF' ? 'hexkey' : 'hexsecret'}:${secret.toString('hex')}`,
      '-kdfopt',
      `hexinfo:${info.toString('hex')}`,
      kdf,
    ],
    { encoding: 'latin1' },
  );
  return hex(out.trim());
}

test('AES key wrap: RFC 3394 §4.1 and §4.6 test vectors, and the integrity check on unwrap', () => {
  const kek128 = hex('000102030405060708090A0B0C0D0E0F');
  const key128 = hex('00112233445566778899AABBCCDDEEFF');
  const wrapped128 = hex('1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5');
  assert.deepEqual(aesWrap(OID.aes128Wrap, kek128, key128), wrapped128);
  assert.deepEqual(aesUnwrap(OID.aes128Wrap, kek128, wrapped128), key128);
  const kek256 = hex('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F');
  const key256 = hex('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F');
  const wrapped256 = hex('28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21');
  assert.deepEqual(aesWrap(OID.aes256Wrap, kek256, key256), wrapped256);
  const bad = Buffer.from(wrapped256);
  bad[9]! ^= 1;
  assert.throws(() => aesUnwrap(OID.aes256Wrap, kek256, bad));
  assert.throws(() => aesUnwrap(OID.aes256Wrap, randomBytes(32), wrapped256));
});

test('key wrap strength follows the content key', () => {
  assert.equal(keyWrapFor(16), OID.aes128Wrap);
  assert.equal(keyWrapFor(24), OID.aes192Wrap);
  assert.equal(keyWrapFor(32), OID.aes256Wrap);
});

test('ECC-CMS-SharedInfo (RFC 5753 §7.2): key wrap without parameters, optional ukm, KEK bits', () => {
  // SEQUENCE { SEQUENCE { aes128-wrap }, [2] { OCTET STRING 00000080 } }
  assert.deepEqual(eccCmsSharedInfo(OID.aes128Wrap, 16), hex('3015 300b 0609608648016503040105 a206 0404 00000080'));
  assert.deepEqual(
    eccCmsSharedInfo(OID.aes256Wrap, 32, hex('0102')),
    hex('301b 300b 060960864801650304012d a004 0402 0102 a206 0404 00000100'),
  );
});

test('X9.63 KDF and HKDF agree with openssl kdf for every accepted scheme', () => {
  const z = randomBytes(48);
  const info = eccCmsSharedInfo(OID.aes256Wrap, 32);
  for (const scheme of KDF_SCHEMES.values()) {
    for (const length of [16, 32, 40]) {
      const ours = deriveKek(scheme, z, info, length);
      const theirs = opensslKdf(scheme.kdf === 'hkdf' ? 'HKDF' : 'X963KDF', scheme.hash.toUpperCase(), z, info, length);
      assert.deepEqual(ours, theirs, `${scheme.name} ${length}`);
    }
  }
  assert.deepEqual(
    x963Kdf('sha256', hex('00112233'), hex('aabb'), 40),
    opensslKdf('X963KDF', 'SHA256', hex('00112233'), hex('aabb'), 40),
  );
});

test('ephemeral-static agreement: both sides get the same secret on every curve', () => {
  for (const name of ['carol', 'dave', 'frank'] as const) {
    const c = cert(name);
    const curve = c.publicKeyInfo.kind === 'x25519' ? 'x25519' : c.publicKeyInfo.bits === 256 ? 'P-256' : 'P-384';
    const { originatorKey, sharedSecret } = ephemeralAgreement(curve, c.publicKey);
    const point = readBitString(decode(originatorKey).child(1)).bytes;
    assert.deepEqual(recipientAgreement(curve, key(name).privateKey, point), sharedSecret);
  }
  for (const [type, curve] of [
    ['x448', 'x448'],
    ['ec', 'P-521'],
  ] as const) {
    const pair = type === 'x448' ? generateKeyPairSync('x448') : generateKeyPairSync('ec', { namedCurve: 'secp521r1' });
    const { originatorKey, sharedSecret } = ephemeralAgreement(curve, pair.publicKey);
    const point = readBitString(decode(originatorKey).child(1)).bytes;
    assert.deepEqual(recipientAgreement(curve, pair.privateKey, point), sharedSecret);
  }
});

test('originator points off the curve, of the wrong size, or of low order are rejected', () => {
  const carol = key('carol').privateKey;
  const { originatorKey } = ephemeralAgreement('P-256', cert('carol').publicKey);
  const point = Buffer.from(readBitString(decode(originatorKey).child(1)).bytes);
  point[64]! ^= 1;
  assert.throws(() => recipientAgreement('P-256', carol, point));
  assert.throws(() =>
    recipientAgreement('P-384', key('dave').privateKey, readBitString(decode(originatorKey).child(1)).bytes),
  );
  // The all-zero X25519 point gives an all-zero shared secret, which OpenSSL refuses.
  assert.throws(() => recipientAgreement('x25519', key('frank').privateKey, Buffer.alloc(32)));
});
