import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isServiceError } from '../../src/errors.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { Database } from '../../src/ports/database.ts';
import type { MasterKey } from '../../src/ports/master-key.ts';
import { createLocalMasterKey } from '../../src/secrets/local-master-key.ts';
import { rotateMasterKey, Vault } from '../../src/secrets/vault.ts';
import { type TestDatabase, targets } from './databases.ts';

const clock: Clock = { now: () => new Date('2026-12-03T06:55:00.000Z') };

function newMasterKey(): MasterKey {
  return createLocalMasterKey(randomBytes(32));
}

const tampered = (e: unknown) => isServiceError(e, 'SECRET_TAMPERED');

for (const target of targets) {
  describe(`vault on ${target.dialect}`, () => {
    let fresh: TestDatabase;
    let db: Database;
    before(async () => {
      fresh = await target.fresh();
      db = fresh.db;
    });
    after(() => fresh.dispose());

    async function seal(vault: Vault, plaintext: Uint8Array, aad: string): Promise<string> {
      return db.transaction((tx) => vault.seal(tx, plaintext, aad));
    }
    async function open(vault: Vault, id: string, aad: string): Promise<Buffer> {
      return Buffer.from(await db.transaction((tx) => vault.open(tx, id, aad)));
    }
    async function flip(column: string, table: 'secrets' | 'data_keys', id: string, index = 0): Promise<void> {
      const row = await db.get<{ v: Uint8Array }>(`SELECT ${column} AS v FROM ${table} WHERE id = ?`, [id]);
      assert.ok(row);
      const bytes = Buffer.from(row.v);
      bytes[index < 0 ? bytes.length + index : index]! ^= 0x01;
      await db.run(`UPDATE ${table} SET ${column} = ? WHERE id = ?`, [bytes, id]);
    }
    async function dataKeyOf(secretId: string): Promise<string> {
      const row = await db.get<{ data_key_id: string }>('SELECT data_key_id FROM secrets WHERE id = ?', [secretId]);
      return row!.data_key_id;
    }

    it('seals and opens secrets of any size under one lazily created data key', async () => {
      const raw = randomBytes(32);
      const vault = new Vault({ masterKey: createLocalMasterKey(raw), clock });
      const keysBefore = (await db.all('SELECT id FROM data_keys')).length;
      const samples = [new Uint8Array(0), Buffer.from('x'), randomBytes(32), randomBytes(5000)];
      const ids: string[] = [];
      for (const [i, plaintext] of samples.entries()) ids.push(await seal(vault, plaintext, `ca-key:${i}`));
      assert.equal((await db.all('SELECT id FROM data_keys')).length, keysBefore + 1);
      for (const [i, plaintext] of samples.entries()) {
        assert.deepEqual(await open(vault, ids[i]!, `ca-key:${i}`), Buffer.from(plaintext));
        // A second vault with the same master key (another node, or after a restart) reads it too.
        const other = new Vault({ masterKey: createLocalMasterKey(raw), clock });
        assert.deepEqual(await open(other, ids[i]!, `ca-key:${i}`), Buffer.from(plaintext));
      }
      const row = await db.get<{ nonce: Uint8Array; ciphertext: Uint8Array; aad: Uint8Array }>(
        'SELECT nonce, ciphertext, aad FROM secrets WHERE id = ?',
        [ids[3]!],
      );
      assert.equal(row?.nonce.length, 12);
      assert.equal(row?.ciphertext.length, 5000 + 16);
      assert.equal(Buffer.from(row!.aad).toString(), 'ca-key:3');
      assert.equal(Buffer.from(row!.ciphertext).includes(Buffer.from(samples[3]!).subarray(0, 32)), false);
    });

    it('binds a secret to its context: another aad, or the row moved elsewhere, does not open', async () => {
      const vault = new Vault({ masterKey: newMasterKey(), clock });
      const a = await seal(vault, Buffer.from('key of CA a'), 'ca-key:a');
      const b = await seal(vault, Buffer.from('key of CA b'), 'ca-key:b');
      await assert.rejects(open(vault, a, 'ca-key:b'), tampered);
      // Swap the encrypted contents of the two rows: each still decrypts only under its original context.
      const rowA = await db.get<{ nonce: Uint8Array; ciphertext: Uint8Array }>(
        'SELECT nonce, ciphertext FROM secrets WHERE id = ?',
        [a],
      );
      await db.run('UPDATE secrets SET nonce = ?, ciphertext = ? WHERE id = ?', [rowA!.nonce, rowA!.ciphertext, b]);
      await assert.rejects(open(vault, b, 'ca-key:b'), tampered);
      assert.deepEqual(await open(vault, b, 'ca-key:a'), Buffer.from('key of CA a'));
    });

    it('detects a flipped bit in the ciphertext, the tag, the nonce or the wrapped data key', async () => {
      const raw = randomBytes(32);
      const vault = new Vault({ masterKey: createLocalMasterKey(raw), clock });
      for (const [column, index] of [
        ['ciphertext', 0],
        ['ciphertext', -1],
        ['nonce', 5],
      ] as const) {
        const id = await seal(vault, Buffer.from('archived private key'), 'archived-key:1');
        await flip(column, 'secrets', id, index);
        await assert.rejects(open(vault, id, 'archived-key:1'), tampered, column);
      }
      const id = await seal(vault, Buffer.from('archived private key'), 'archived-key:2');
      await db.run('UPDATE secrets SET ciphertext = ? WHERE id = ?', [new Uint8Array(3), id]);
      await assert.rejects(open(vault, id, 'archived-key:2'), tampered, 'truncated');
      // The wrapped data key: the same vault must notice too, not serve its cached copy.
      const victim = await seal(vault, Buffer.from('archived private key'), 'archived-key:3');
      await flip('wrapped_key', 'data_keys', await dataKeyOf(victim), 7);
      await assert.rejects(open(vault, victim, 'archived-key:3'), tampered);
      await assert.rejects(
        open(new Vault({ masterKey: createLocalMasterKey(raw), clock }), victim, 'archived-key:3'),
        tampered,
      );
    });

    it('reports a missing secret, and destroys secrets', async () => {
      const vault = new Vault({ masterKey: newMasterKey(), clock });
      await assert.rejects(open(vault, 'no-such-id', 'x'), (e) => isServiceError(e, 'SECRET_NOT_FOUND'));
      const id = await seal(vault, Buffer.from('short-lived'), 'x');
      assert.equal(await db.transaction((tx) => vault.destroy(tx, id)), true);
      assert.equal(await db.transaction((tx) => vault.destroy(tx, id)), false);
      await assert.rejects(open(vault, id, 'x'), (e) => isServiceError(e, 'SECRET_NOT_FOUND'));
      await assert.rejects(seal(vault, Buffer.from('x'), ''), (e) => isServiceError(e, 'INVALID_ARGUMENT'));
    });

    it('refuses to open with another master key: MASTER_KEY_MISMATCH', async () => {
      const id = await seal(new Vault({ masterKey: newMasterKey(), clock }), Buffer.from('s'), 'x');
      await assert.rejects(
        open(new Vault({ masterKey: newMasterKey(), clock }), id, 'x'),
        (e) => isServiceError(e, 'MASTER_KEY_MISMATCH') && /master key [0-9a-f]{16}/.test(e.message),
      );
    });

    it('rotates the master key in small transactions while other nodes keep reading', async () => {
      const oldKey = newMasterKey();
      const newKey = newMasterKey();
      const sealed: { id: string; aad: string; plaintext: Buffer }[] = [];
      const sealWith = async (masterKey: MasterKey, n: number) => {
        const vault = new Vault({ masterKey, clock });
        for (let i = 0; i < n; i++) {
          const plaintext = randomBytes(48);
          const aad = `ca-key:${sealed.length}`;
          sealed.push({ id: await seal(vault, plaintext, aad), aad, plaintext });
        }
      };
      // Three data keys under oldKey: one made by it, two moved to it from other master keys.
      await sealWith(oldKey, 4);
      for (const other of [newMasterKey(), newMasterKey()]) {
        await sealWith(other, 3);
        assert.equal(await rotateMasterKey(db, other, oldKey), 1);
      }
      const countUnder = async (key: MasterKey) =>
        (await db.all('SELECT id FROM data_keys WHERE master_key_id = ?', [key.id])).length;
      assert.equal(await countUnder(oldKey), 3);

      // Readers hold both keys, as nodes do during a rotation; they read until the rotation is over.
      let rotating = true;
      const reader = async () => {
        const vault = new Vault({ masterKey: newKey, previousMasterKeys: [oldKey], clock });
        let passes = 0;
        while (rotating || passes === 0) {
          for (const s of sealed) assert.deepEqual(await open(vault, s.id, s.aad), s.plaintext);
          passes++;
        }
      };
      const readers = [reader(), reader(), reader()];
      const rotation = rotateMasterKey(db, oldKey, newKey, { batchSize: 2 }).finally(() => {
        rotating = false;
      });
      const [rewrapped] = await Promise.all([rotation, ...readers]);
      assert.equal(rewrapped, 3);
      assert.equal(await countUnder(oldKey), 0);
      assert.equal(await rotateMasterKey(db, oldKey, newKey), 0, 'a second run finds nothing left');

      // The new key alone now opens everything; the old key alone opens nothing.
      const after = new Vault({ masterKey: newKey, clock });
      for (const s of sealed) assert.deepEqual(await open(after, s.id, s.aad), s.plaintext);
      await assert.rejects(open(new Vault({ masterKey: oldKey, clock }), sealed[0]!.id, sealed[0]!.aad), (e) =>
        isServiceError(e, 'MASTER_KEY_MISMATCH'),
      );
    });

    it('leaves the data keys alone when the new master key does not give back what it wraps', async () => {
      const oldKey = newMasterKey();
      const id = await seal(new Vault({ masterKey: oldKey, clock }), Buffer.from('s'), 'x');
      const broken: MasterKey = { ...newMasterKey(), id: 'broken', unwrap: async () => randomBytes(32) };
      await assert.rejects(rotateMasterKey(db, oldKey, broken), (e) => isServiceError(e, 'MASTER_KEY_MISMATCH'));
      assert.deepEqual(await open(new Vault({ masterKey: oldKey, clock }), id, 'x'), Buffer.from('s'));
      await assert.rejects(rotateMasterKey(db, oldKey, oldKey), (e) => isServiceError(e, 'INVALID_ARGUMENT'));
    });

    it('re-encrypts every secret under a new data key and drops the unused ones', async () => {
      // rekeyData covers the whole table: start from an empty one.
      await db.run('DELETE FROM secrets');
      await db.run('DELETE FROM data_keys');
      const masterKey = newMasterKey();
      const previous = newMasterKey();
      const sealed: { id: string; plaintext: Buffer }[] = [];
      for (const key of [previous, masterKey]) {
        const vault = new Vault({ masterKey: key, clock });
        for (let i = 0; i < 3; i++) {
          const plaintext = randomBytes(20);
          sealed.push({ id: await seal(vault, plaintext, `k:${sealed.length}`), plaintext });
        }
      }
      const vault = new Vault({ masterKey, previousMasterKeys: [previous], clock });
      const total = (await db.all('SELECT id FROM secrets')).length;
      assert.equal(await vault.rekeyData(db, { batchSize: 4 }), total);
      const keys = await db.all<{ id: string; master_key_id: string }>('SELECT id, master_key_id FROM data_keys');
      assert.equal(keys.length, 1);
      assert.equal(keys[0]!.master_key_id, masterKey.id);
      vault.forget();
      for (const [i, s] of sealed.entries()) assert.deepEqual(await open(vault, s.id, `k:${i}`), s.plaintext);
      // While another node holds the re-key lock, a second re-key steps aside.
      assert.equal(await db.exclusive('sealpost.vault.rekey', () => vault.rekeyData(db)), undefined);
      // New seals use the fresh data key.
      const next = await seal(vault, Buffer.from('n'), 'n');
      assert.equal(await dataKeyOf(next), keys[0]!.id);
    });
  });
}
