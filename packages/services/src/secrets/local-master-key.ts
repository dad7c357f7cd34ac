import { createCipheriv, createDecipheriv, createHash, createSecretKey } from 'node:crypto';
import { ServiceError } from '../errors.ts';
import type { MasterKey } from '../ports/master-key.ts';

export const MASTER_KEY_LENGTH = 32;

/** RFC 5649 §3: the alternative initial value's fixed half; the other half is the length, added by OpenSSL. */
const KW_PAD_IV = Buffer.from('a65959a6', 'hex');

/** The key id: the first 16 hex digits of SHA-256(key). It identifies the key without revealing it. */
export function masterKeyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * A master key held in process memory, wrapping data keys with AES-256 Key Wrap with Padding
 * (RFC 5649, NIST SP 800-38F KWP; OpenSSL `id-aes256-wrap-pad`). Key wrap suits this job better than
 * GCM: it is deterministic (no nonce to manage under a long-lived key) and carries its own integrity
 * check, so a flipped bit in a stored data key is detected. The key bytes are copied into a KeyObject
 * (native memory); the caller should zero its own buffer afterwards.
 */
export function createLocalMasterKey(key: Uint8Array): MasterKey {
  if (key.length !== MASTER_KEY_LENGTH) {
    throw new ServiceError('MASTER_KEY_INVALID', `A master key is ${MASTER_KEY_LENGTH} bytes, not ${key.length}.`);
  }
  const kek = createSecretKey(key);
  const id = masterKeyId(key);
  return {
    id,
    async wrap(dataKey: Uint8Array): Promise<Uint8Array> {
      const cipher = createCipheriv('id-aes256-wrap-pad', kek, KW_PAD_IV);
      return Buffer.concat([cipher.update(dataKey), cipher.final()]);
    },
    async unwrap(wrapped: Uint8Array): Promise<Uint8Array> {
      // KWP output is a multiple of 8 bytes and at least 16 (RFC 5649 §4.1); anything else is damage.
      if (wrapped.length < 16 || wrapped.length % 8 !== 0) throw tampered(id);
      const decipher = createDecipheriv('id-aes256-wrap-pad', kek, KW_PAD_IV);
      try {
        return Buffer.concat([decipher.update(wrapped), decipher.final()]);
      } catch (cause) {
        throw tampered(id, cause);
      }
    },
  };
}

function tampered(id: string, cause?: unknown): ServiceError {
  return new ServiceError(
    'SECRET_TAMPERED',
    `A data key wrapped by master key ${id} failed its integrity check (RFC 5649): the stored wrapped key was altered.`,
    { cause },
  );
}
