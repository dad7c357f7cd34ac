import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { decode } from '../../src/asn1/der.ts';
import { decryptContent, decryptStream, encryptContent, encryptStream } from '../../src/cms/enveloped-data.ts';
import { isSealpostError } from '../../src/errors.ts';
import type { UserName } from '../support/pki.ts';
import { cert, chunked, collect, key, opensslDecrypt, opensslEncrypt } from './enveloped-data-support.ts';

const BIG = randomBytes(600 * 1024 + 13);
const SMALL = Buffer.from('streamed envelope\r\n'.repeat(50));

async function decryptAll(der: Uint8Array, seed: number, names: UserName[], max?: number) {
  const { info, content } = await decryptStream(chunked(der, seed, max), names.map(key));
  return { info, content: await collect(content) };
}

function isDecryptionFailed(e: unknown): boolean {
  return isSealpostError(e, 'DECRYPTION_FAILED') && (e as Error).message === 'the message could not be decrypted';
}

describe('encryptStream', () => {
  for (const cipher of ['aes-256-cbc', 'aes-128-gcm'] as const) {
    test(`${cipher}: indefinite-length BER that openssl decrypts, in 256 KiB pieces`, async () => {
      const der = await collect(
        encryptStream(chunked(BIG, 7, 70_000), {
          recipients: [{ certificate: cert('alice') }, { certificate: cert('carol') }],
          cipher,
        }),
      );
      assert.deepEqual(der.subarray(0, 2), Buffer.from([0x30, 0x80]));
      const root = decode(der, { mode: 'ber' });
      const body = root.child(1).child(0);
      const ec = body.child(2).child(2);
      assert.ok(ec.isContext(0) && ec.constructed);
      const pieces = ec.children.map((c) => c.value.length);
      assert.ok(
        pieces.slice(0, -1).every((n) => n >= 256 * 1024),
        `pieces ${pieces}`,
      );
      assert.deepEqual(opensslDecrypt(der, 'alice'), BIG);
      assert.deepEqual(opensslDecrypt(der, 'carol'), BIG);
      assert.deepEqual(decryptContent(der, [key('carol')]).content, BIG);
    });
  }

  test('small and empty content; bad options throw before any output', async () => {
    for (const content of [SMALL, Buffer.alloc(0)]) {
      const der = await collect(
        encryptStream(chunked(content, 3), { recipients: [{ certificate: cert('dave') }], cipher: 'aes-256-gcm' }),
      );
      assert.deepEqual(opensslDecrypt(der, 'dave'), content);
    }
    assert.throws(
      () => encryptStream(chunked(SMALL, 1), { recipients: [{ certificate: cert('signer') }], cipher: 'aes-256-cbc' }),
      (e) => isSealpostError(e, 'KEY_UNSUITABLE'),
    );
  });
});

describe('decryptStream', () => {
  const cases: [string, UserName[], string[]][] = [
    ['openssl -stream AES-256-GCM, RSA + EC', ['alice', 'dave'], ['-aes-256-gcm', '-stream']],
    ['openssl -stream AES-128-CBC, OAEP', ['bob'], ['-aes-128-cbc', '-stream', '-keyopt', 'rsa_padding_mode:oaep']],
    ['openssl DER AES-128-GCM -keyid', ['carol'], ['-aes-128-gcm', '-keyid']],
    ['openssl DER AES-256-CBC', ['alice', 'carol'], ['-aes-256-cbc']],
  ];
  for (const [label, names, args] of cases) {
    test(`${label}, random chunkings`, async () => {
      const der = opensslEncrypt(BIG, names, args);
      for (const [seed, max] of [
        [2, 100],
        [3, 70_000],
        [4, 1 << 20],
      ] as const) {
        const { info, content } = await decryptAll(der, seed, ['signer', ...names], max);
        assert.deepEqual(content, BIG);
        assert.equal(info.matched?.keyIndex, 1);
      }
    });
  }

  test('one-byte chunks through the whole structure', async () => {
    for (const cipher of ['aes-128-cbc', 'aes-256-gcm'] as const) {
      const der = encryptContent(SMALL, {
        recipients: [{ certificate: cert('frank') }, { certificate: cert('alice') }],
        cipher,
      });
      const { content, info } = await decryptAll(der, 9, ['frank'], 1);
      assert.deepEqual(content, SMALL);
      assert.equal(info.type, cipher.endsWith('gcm') ? 'authEnveloped-data' : 'enveloped-data');
    }
  });

  test('the header is read and the key selected before content flows: NO_RECIPIENT rejects the promise', async () => {
    const der = encryptContent(SMALL, { recipients: [{ certificate: cert('alice') }], cipher: 'aes-128-gcm' });
    await assert.rejects(decryptStream(chunked(der, 1), [key('carol')]), (e) => isSealpostError(e, 'NO_RECIPIENT'));
  });

  test('bad GCM tag, CBC padding and encryptedKey: the last iteration throws DECRYPTION_FAILED', async () => {
    const gcm = encryptContent(BIG, { recipients: [{ certificate: cert('alice') }], cipher: 'aes-256-gcm' });
    const badTag = Buffer.from(gcm);
    badTag[badTag.length - 1]! ^= 1;
    const cbc = encryptContent(BIG, { recipients: [{ certificate: cert('carol') }], cipher: 'aes-256-cbc' });
    const badPad = Buffer.from(cbc);
    badPad[badPad.length - 17]! ^= 0x20;
    const badKey = Buffer.from(gcm);
    const ek = decode(gcm).child(1).child(0).child(1).child(0).child(3);
    badKey[ek.valueStart + 5]! ^= 1;
    for (const [der, name] of [
      [badTag, 'alice'],
      [badPad, 'carol'],
      [badKey, 'alice'],
    ] as const) {
      const { content } = await decryptStream(chunked(der, 5, 100_000), [key(name)]);
      await assert.rejects(collect(content), isDecryptionFailed);
    }
  });
});
