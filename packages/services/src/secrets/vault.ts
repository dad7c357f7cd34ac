import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
  randomBytes,
  randomUUID,
} from 'node:crypto';
import { ServiceError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Database, Row, Sql } from '../ports/database.ts';
import type { MasterKey } from '../ports/master-key.ts';

/**
 * Secrets at rest, by envelope encryption:
 *   - each secret is encrypted with AES-256-GCM under a data key, with a fresh random 96-bit nonce
 *     (NIST SP 800-38D §8.2.2) and the caller's context string (e.g. "ca-key:<id>") as additional
 *     authenticated data, so a ciphertext copied onto another row no longer opens;
 *   - data keys are 32 random bytes, created lazily on the first seal, stored only wrapped by the
 *     master key (see MasterKey), with the id of that master key beside them;
 *   - rotating the master key re-wraps the few data keys, never the secrets (`rotateMasterKey`);
 *     rotating the data key re-encrypts the secrets (`Vault.rekeyData`).
 * Stored layout (secrets table): nonce (12 bytes), ciphertext || 16-byte GCM tag, aad (the UTF-8
 * context string, kept so that rekeyData can re-encrypt without knowing every caller).
 * Random nonces keep a data key safe for 2^32 seals (SP 800-38D §8.3); rekeyData starts a new one.
 * Unwrapped data keys live only in KeyObjects (native memory, never handed out); the transient buffers
 * that held them are zeroed at once. Decrypted secrets belong to the caller, who should zero them.
 */

const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const DATA_KEY_LENGTH = 32;
/** Domain separation: these GCM inputs can never be confused with another use of the same key. */
const AAD_PREFIX = 'sealpost/secret/v1\0';
/** Unwrapped data keys kept in memory; there are few data keys, this only bounds growth across rotations. */
const CACHE_LIMIT = 64;

export interface VaultOptions {
  /** Wraps new data keys, and is preferred for sealing. */
  readonly masterKey: MasterKey;
  /** Master keys still accepted for unwrapping, e.g. the old key while `rotateMasterKey` runs. */
  readonly previousMasterKeys?: readonly MasterKey[];
  readonly clock: Clock;
}

interface DataKeyRow extends Row {
  id: string;
  wrapped_key: Uint8Array;
  master_key_id: string;
}

interface DataKey {
  readonly id: string;
  readonly key: KeyObject;
}

export class Vault {
  readonly #masterKey: MasterKey;
  readonly #keyring: ReadonlyMap<string, MasterKey>;
  readonly #clock: Clock;
  readonly #cache = new Map<string, KeyObject>();

  constructor(options: VaultOptions) {
    this.#masterKey = options.masterKey;
    this.#keyring = new Map([...(options.previousMasterKeys ?? []), options.masterKey].map((k) => [k.id, k]));
    this.#clock = options.clock;
  }

  /** Encrypts `plaintext` bound to `aad` and stores it in the caller's transaction; returns the secret's id. */
  async seal(tx: Sql, plaintext: Uint8Array, aad: string): Promise<string> {
    checkAad(aad);
    const dataKey = await this.#currentDataKey(tx);
    const { nonce, ciphertext } = encrypt(dataKey.key, plaintext, aad);
    const id = randomUUID();
    await tx.run(
      'INSERT INTO secrets (id, data_key_id, nonce, ciphertext, aad, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [id, dataKey.id, nonce, ciphertext, Buffer.from(aad, 'utf8'), this.#clock.now().toISOString()],
    );
    return id;
  }

  /**
   * Decrypts a secret. The caller owns the returned buffer and should zero it after use.
   * Throws SECRET_NOT_FOUND, SECRET_TAMPERED (altered row, moved row, wrong `aad`) or
   * MASTER_KEY_MISMATCH (its data key is wrapped by a master key this vault does not hold).
   */
  async open(tx: Sql, secretId: string, aad: string): Promise<Uint8Array> {
    checkAad(aad);
    const row = await tx.get<SecretRow>(
      `SELECT s.nonce, s.ciphertext, s.data_key_id, d.id AS dk_id, d.wrapped_key, d.master_key_id
         FROM secrets s LEFT JOIN data_keys d ON d.id = s.data_key_id WHERE s.id = ?`,
      [secretId],
    );
    if (row === undefined) throw new ServiceError('SECRET_NOT_FOUND', `No secret has id ${secretId}.`);
    return decrypt(await this.#dataKeyOf(row, secretId), row, aad, secretId);
  }

  /** Deletes a secret; returns whether it existed. */
  async destroy(tx: Sql, secretId: string): Promise<boolean> {
    const { changes } = await tx.run('DELETE FROM secrets WHERE id = ?', [secretId]);
    return changes > 0;
  }

  /**
   * Re-encrypts every secret under a new data key, in transactions of `batchSize` secrets (other
   * nodes keep reading throughout: each secret row switches atomically), then deletes the data keys
   * no secret uses any more. Resumable: run it again after an interruption; it stops at the first
   * secret that fails its check. Returns the count re-encrypted, or undefined when another node is
   * already re-keying (two at once would keep moving each other's secrets).
   */
  async rekeyData(db: Database, options: { batchSize?: number } = {}): Promise<number | undefined> {
    const batchSize = positiveBatch(options.batchSize);
    return db.exclusive('sealpost.vault.rekey', () => this.#rekey(db, batchSize));
  }

  async #rekey(db: Database, batchSize: number): Promise<number> {
    const fresh = await db.transaction((tx) => this.#createDataKey(tx));
    let total = 0;
    for (;;) {
      const done = await db.transaction(async (tx) => {
        const rows = await tx.all<SecretRow & { id: string; aad: Uint8Array }>(
          `SELECT s.id, s.nonce, s.ciphertext, s.aad, s.data_key_id, d.id AS dk_id, d.wrapped_key, d.master_key_id
             FROM secrets s LEFT JOIN data_keys d ON d.id = s.data_key_id
            WHERE s.data_key_id <> ? ORDER BY s.id LIMIT ?`,
          [fresh.id, batchSize],
        );
        for (const row of rows) {
          const aad = Buffer.from(row.aad).toString('utf8');
          const plaintext = decrypt(await this.#dataKeyOf(row, row.id), row, aad, row.id);
          const { nonce, ciphertext } = encrypt(fresh.key, plaintext, aad);
          plaintext.fill(0);
          await tx.run(
            'UPDATE secrets SET data_key_id = ?, nonce = ?, ciphertext = ? WHERE id = ? AND data_key_id = ?',
            [fresh.id, nonce, ciphertext, row.id, row.data_key_id],
          );
        }
        return rows.length;
      });
      total += done;
      if (done < batchSize) break;
    }
    await db.transaction((tx) =>
      tx.run(
        // A seal writes its data key and its secret in one transaction, so an unreferenced data key
        // other than the fresh one is garbage (and the foreign key stops a racing insert).
        'DELETE FROM data_keys WHERE id <> ? AND NOT EXISTS (SELECT 1 FROM secrets WHERE secrets.data_key_id = data_keys.id)',
        [fresh.id],
      ),
    );
    return total;
  }

  /** Drops the unwrapped data keys held in memory (they are unwrapped again on demand). */
  forget(): void {
    this.#cache.clear();
  }

  /** The newest data key wrapped by the current master key, created on first use. */
  async #currentDataKey(tx: Sql): Promise<DataKey> {
    const row = await tx.get<DataKeyRow>(
      'SELECT id, wrapped_key, master_key_id FROM data_keys WHERE master_key_id = ? ORDER BY created_at DESC, id DESC LIMIT 1',
      [this.#masterKey.id],
    );
    if (row === undefined) return this.#createDataKey(tx);
    return { id: row.id, key: await this.#unwrap(row) };
  }

  async #createDataKey(tx: Sql): Promise<DataKey> {
    const raw = randomBytes(DATA_KEY_LENGTH);
    const key = createSecretKey(raw);
    let wrapped: Uint8Array;
    try {
      wrapped = await this.#masterKey.wrap(raw);
    } finally {
      raw.fill(0);
    }
    const id = randomUUID();
    await tx.run('INSERT INTO data_keys (id, wrapped_key, master_key_id, created_at) VALUES (?, ?, ?, ?)', [
      id,
      wrapped,
      this.#masterKey.id,
      this.#clock.now().toISOString(),
    ]);
    this.#remember(cacheKey(id, this.#masterKey.id, wrapped), key);
    return { id, key };
  }

  async #dataKeyOf(row: SecretRow, secretId: string): Promise<KeyObject> {
    if (row.dk_id === null || row.wrapped_key === null || row.master_key_id === null) {
      throw new ServiceError(
        'SECRET_TAMPERED',
        `Secret ${secretId} refers to data key ${row.data_key_id}, which is gone.`,
      );
    }
    return this.#unwrap({ id: row.dk_id, wrapped_key: row.wrapped_key, master_key_id: row.master_key_id });
  }

  async #unwrap(row: DataKeyRow): Promise<KeyObject> {
    const masterKey = this.#keyring.get(row.master_key_id);
    if (masterKey === undefined) {
      throw new ServiceError(
        'MASTER_KEY_MISMATCH',
        `Data key ${row.id} is wrapped by master key ${row.master_key_id}, but this server holds ${[...this.#keyring.keys()].join(', ')}.`,
      );
    }
    // Keyed by the wrapped bytes too, so any change to the stored data key is unwrapped (and checked) afresh.
    const slot = cacheKey(row.id, row.master_key_id, row.wrapped_key);
    const cached = this.#cache.get(slot);
    if (cached !== undefined) return cached;
    const raw = await masterKey.unwrap(row.wrapped_key);
    try {
      if (raw.length !== DATA_KEY_LENGTH) {
        throw new ServiceError(
          'SECRET_TAMPERED',
          `Data key ${row.id} unwraps to ${raw.length} bytes, not ${DATA_KEY_LENGTH}.`,
        );
      }
      const key = createSecretKey(raw);
      this.#remember(slot, key);
      return key;
    } finally {
      raw.fill(0);
    }
  }

  #remember(slot: string, key: KeyObject): void {
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(slot, key);
  }
}

/**
 * Re-wraps every data key held by `oldKey` under `newKey`, `batchSize` per transaction, and returns
 * how many it re-wrapped. No downtime: run the nodes with `newKey` as their master key and `oldKey`
 * among `previousMasterKeys` first; each data key row names its own master key, so reads succeed
 * before, during and after. Resumable and safe to run twice at once (each update is conditional on
 * the row still naming `oldKey`). Retire `oldKey` only after this returns.
 */
export async function rotateMasterKey(
  db: Database,
  oldKey: MasterKey,
  newKey: MasterKey,
  options: { batchSize?: number } = {},
): Promise<number> {
  if (oldKey.id === newKey.id)
    throw new ServiceError('INVALID_ARGUMENT', 'The old and new master keys are the same key.');
  const batchSize = positiveBatch(options.batchSize);
  let total = 0;
  for (;;) {
    const done = await db.transaction(async (tx) => {
      const rows = await tx.all<DataKeyRow>(
        'SELECT id, wrapped_key, master_key_id FROM data_keys WHERE master_key_id = ? ORDER BY id LIMIT ?',
        [oldKey.id, batchSize],
      );
      for (const row of rows) {
        const wrapped = await rewrap(row.wrapped_key, oldKey, newKey);
        await tx.run('UPDATE data_keys SET wrapped_key = ?, master_key_id = ? WHERE id = ? AND master_key_id = ?', [
          wrapped,
          newKey.id,
          row.id,
          oldKey.id,
        ]);
      }
      return rows.length;
    });
    total += done;
    if (done < batchSize) return total;
  }
}

/** Unwraps with one master key and wraps with the other, checking that the new key gives back what it wraps. */
async function rewrap(wrappedByOld: Uint8Array, oldKey: MasterKey, newKey: MasterKey): Promise<Uint8Array> {
  const key = await oldKey.unwrap(wrappedByOld);
  try {
    const wrapped = await newKey.wrap(key);
    // A new key that cannot give back what it wrapped (a misconfigured KMS) must not destroy the data key.
    let same = false;
    try {
      const check = await newKey.unwrap(wrapped);
      same = Buffer.compare(check, key) === 0;
      check.fill(0);
    } catch (cause) {
      throw new ServiceError('MASTER_KEY_MISMATCH', `Master key ${newKey.id} cannot unwrap what it wraps.`, { cause });
    }
    if (!same) throw new ServiceError('MASTER_KEY_MISMATCH', `Master key ${newKey.id} does not unwrap what it wraps.`);
    return wrapped;
  } finally {
    key.fill(0);
  }
}

interface SecretRow extends Row {
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  data_key_id: string;
  dk_id: string | null;
  wrapped_key: Uint8Array | null;
  master_key_id: string | null;
}

function encrypt(key: KeyObject, plaintext: Uint8Array, aad: string): { nonce: Buffer; ciphertext: Buffer } {
  const nonce = randomBytes(NONCE_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.from(AAD_PREFIX + aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { nonce, ciphertext };
}

function decrypt(key: KeyObject, row: SecretRow, aad: string, secretId: string): Buffer {
  const sealed = Buffer.from(row.ciphertext);
  if (row.nonce.length !== NONCE_LENGTH || sealed.length < TAG_LENGTH) throw tampered(secretId);
  const decipher = createDecipheriv('aes-256-gcm', key, row.nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(Buffer.from(AAD_PREFIX + aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
  try {
    const last = decipher.final();
    const plaintext = Buffer.concat([body, last]);
    body.fill(0);
    return plaintext;
  } catch (cause) {
    // GCM released unauthenticated plaintext from update(): it must not linger.
    body.fill(0);
    throw tampered(secretId, cause);
  }
}

function tampered(secretId: string, cause?: unknown): ServiceError {
  return new ServiceError(
    'SECRET_TAMPERED',
    `Secret ${secretId} failed its integrity check: it was altered, moved from another row, or opened with the wrong context.`,
    { cause },
  );
}

function cacheKey(id: string, masterKeyId: string, wrapped: Uint8Array): string {
  return `${id}/${masterKeyId}/${Buffer.from(wrapped).toString('hex')}`;
}

function checkAad(aad: string): void {
  if (typeof aad !== 'string' || aad.length === 0 || !aad.isWellFormed()) {
    throw new ServiceError('INVALID_ARGUMENT', 'A secret needs a non-empty context string (aad), e.g. "ca-key:<id>".');
  }
}

function positiveBatch(batchSize = 100): number {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new ServiceError('INVALID_ARGUMENT', `batchSize must be a positive integer, not ${batchSize}.`);
  }
  return batchSize;
}
