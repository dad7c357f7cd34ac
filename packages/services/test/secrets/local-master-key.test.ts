import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isServiceError } from '../../src/errors.ts';
import { createLocalMasterKey, masterKeyId } from '../../src/secrets/local-master-key.ts';

describe('createLocalMasterKey', () => {
  it('wraps and unwraps data keys with AES-256 key wrap with padding (RFC 5649)', async () => {
    const raw = randomBytes(32);
    const key = createLocalMasterKey(raw);
    assert.equal(key.id, createHash('sha256').update(raw).digest('hex').slice(0, 16));
    assert.equal(masterKeyId(raw), key.id);
    const dataKey = randomBytes(32);
    const wrapped = await key.wrap(dataKey);
    assert.equal(wrapped.length, 40);
    // Key wrap is deterministic: no nonce to manage.
    assert.deepEqual(await key.wrap(dataKey), wrapped);
    assert.deepEqual(await key.unwrap(wrapped), dataKey);
    // The caller's buffer may be zeroed afterwards without harm.
    raw.fill(0);
    assert.deepEqual(await key.unwrap(wrapped), dataKey);
  });

  it('is exactly the RFC 5649 algorithm, as an independent AES-ECB construction computes it', async () => {
    const raw = randomBytes(32);
    const key = createLocalMasterKey(raw);
    for (const length of [8, 20, 32]) {
      const dataKey = randomBytes(length);
      assert.deepEqual(Buffer.from(await key.wrap(dataKey)), rfc5649Wrap(raw, dataKey), `${length}-octet key`);
    }
  });

  it('detects a damaged wrapped key and a wrong master key', async () => {
    const key = createLocalMasterKey(randomBytes(32));
    const wrapped = Buffer.from(await key.wrap(randomBytes(32)));
    for (let i = 0; i < wrapped.length; i += 7) {
      const damaged = Buffer.from(wrapped);
      damaged[i]! ^= 0x80;
      await assert.rejects(key.unwrap(damaged), (e) => isServiceError(e, 'SECRET_TAMPERED'));
    }
    await assert.rejects(key.unwrap(wrapped.subarray(0, 36)), (e) => isServiceError(e, 'SECRET_TAMPERED'));
    await assert.rejects(createLocalMasterKey(randomBytes(32)).unwrap(wrapped), (e) =>
      isServiceError(e, 'SECRET_TAMPERED'),
    );
  });

  it('accepts only 32-byte keys', () => {
    for (const n of [0, 16, 31, 33]) {
      assert.throws(
        () => createLocalMasterKey(randomBytes(n)),
        (e) => isServiceError(e, 'MASTER_KEY_INVALID'),
      );
    }
  });
});

/** RFC 5649 §4.1, written out over raw AES blocks (the RFC 3394 §2.2.1 wrap with the alternative initial value). */
function rfc5649Wrap(kek: Buffer, plaintext: Buffer): Buffer {
  const aes = (block: Buffer) => {
    const c = createCipheriv('aes-256-ecb', kek, null).setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]);
  };
  const aiv = Buffer.alloc(8);
  aiv.write('a65959a6', 'hex');
  aiv.writeUInt32BE(plaintext.length, 4);
  const padded = Buffer.concat([plaintext, Buffer.alloc((8 - (plaintext.length % 8)) % 8)]);
  const n = padded.length / 8;
  if (n === 1) return aes(Buffer.concat([aiv, padded]));
  let a = aiv;
  const r = Array.from({ length: n }, (_, i) => padded.subarray(i * 8, i * 8 + 8));
  for (let j = 0; j <= 5; j++) {
    for (let i = 0; i < n; i++) {
      const b = aes(Buffer.concat([a, r[i]!]));
      a = b.subarray(0, 8);
      a.writeBigUInt64BE(a.readBigUInt64BE() ^ BigInt(n * j + i + 1));
      r[i] = b.subarray(8);
    }
  }
  return Buffer.concat([a, ...r]);
}
