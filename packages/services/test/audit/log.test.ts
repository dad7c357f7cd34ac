import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type AuditDetails,
  type AuditHead,
  AuditLog,
  entryHash,
  GENESIS_HASH,
  verifyChain,
} from '../../src/audit/log.ts';
import { isServiceError } from '../../src/errors.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { Database } from '../../src/ports/database.ts';
import { type TestDatabase, targets } from '../secrets/databases.ts';

/** A clock that ticks one second per reading, so entries get distinct times. */
function tickingClock(): Clock {
  let t = Date.parse('2026-12-03T06:55:00.000Z');
  return {
    now: () => {
      t += 1000;
      return new Date(t);
    },
  };
}

for (const target of targets) {
  describe(`audit log on ${target.dialect}`, () => {
    let fresh: TestDatabase;
    let db: Database;
    let log: AuditLog;
    before(async () => {
      fresh = await target.fresh();
      db = fresh.db;
    });
    after(() => fresh.dispose());
    beforeEach(async () => {
      await db.run('DELETE FROM audit_log');
      log = new AuditLog(tickingClock());
    });

    async function appendMany(n: number): Promise<void> {
      for (let i = 1; i <= n; i++) {
        await db.transaction((tx) =>
          log.append(tx, {
            actor: `user:${i}`,
            action: 'certificate.issue',
            subject: `certificate:${i}`,
            details: { n: i, tags: ['a', i] },
          }),
        );
      }
    }

    async function headOf(): Promise<AuditHead> {
      const result = await verifyChain(db);
      assert.ok(result.ok);
      return result.head;
    }

    it('appends a linked chain and verifies it in batches', async () => {
      const first = await db.transaction((tx) =>
        log.append(tx, {
          actor: 'system',
          action: 'ca.create',
          subject: 'ca:root',
          details: { name: 'Root', z: 1, a: [true, null] },
        }),
      );
      assert.equal(first.seq, 1);
      assert.equal(first.prevHash, GENESIS_HASH);
      assert.equal(first.at, '2026-12-03T06:55:01.000Z');
      assert.equal(first.hash, entryHash(GENESIS_HASH, { ...first }));
      await appendMany(9);
      const stored = await db.get<{ details: string; subject: string | null }>(
        'SELECT details, subject FROM audit_log WHERE seq = 1',
      );
      assert.equal(stored?.details, '{"a":[true,null],"name":"Root","z":1}');
      for (const batch of [1, 3, 10, 500]) {
        const result = await verifyChain(db, { batch });
        assert.ok(result.ok, JSON.stringify(result));
        assert.equal(result.entries, 10);
        assert.equal(result.head.seq, 10);
      }
    });

    it('verifies an empty log, and continues from a verified head', async () => {
      assert.deepEqual(await verifyChain(db), { ok: true, entries: 0, head: { seq: 0, hash: GENESIS_HASH } });
      await appendMany(4);
      const head = await headOf();
      await appendMany(3);
      const more = await verifyChain(db, { from: head, batch: 2 });
      assert.ok(more.ok);
      assert.equal(more.entries, 3);
      assert.equal(more.head.seq, 7);
    });

    it('records nothing when the transaction rolls back', async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          await log.append(tx, { actor: 'user:1', action: 'certificate.revoke', subject: 'certificate:9' });
          throw new Error('the revocation failed');
        }),
        /the revocation failed/,
      );
      assert.deepEqual(await verifyChain(db), { ok: true, entries: 0, head: { seq: 0, hash: GENESIS_HASH } });
    });

    it('keeps one unbroken chain under 20 concurrent appends', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          db.transaction((tx) =>
            log.append(tx, { actor: `node:${i % 2}`, action: 'auth.login', subject: `user:${i}` }),
          ),
        ),
      );
      const result = await verifyChain(db, { batch: 7 });
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.entries, 20);
      const subjects = await db.all<{ subject: string }>('SELECT subject FROM audit_log ORDER BY seq');
      assert.equal(new Set(subjects.map((r) => r.subject)).size, 20);
    });

    it('detects an edited entry', async () => {
      await appendMany(5);
      await db.run("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 3");
      assert.deepEqual(pick(await verifyChain(db)), { brokenAt: 3, reason: 'edited' });
    });

    it('detects details rewritten in a non-canonical form, even with the same meaning', async () => {
      await appendMany(3);
      await db.run(`UPDATE audit_log SET details = '{"n": 2, "tags": ["a", 2]}' WHERE seq = 2`);
      assert.deepEqual(pick(await verifyChain(db)), { brokenAt: 2, reason: 'edited' });
      await db.run(`UPDATE audit_log SET details = 'not json' WHERE seq = 2`);
      assert.deepEqual(pick(await verifyChain(db)), { brokenAt: 2, reason: 'edited' });
    });

    it('detects a deleted entry in the middle and at the start', async () => {
      await appendMany(5);
      await db.run('DELETE FROM audit_log WHERE seq = 4');
      assert.deepEqual(pick(await verifyChain(db, { batch: 2 })), { brokenAt: 4, reason: 'gap' });
      await db.run('DELETE FROM audit_log WHERE seq = 1');
      assert.deepEqual(pick(await verifyChain(db)), { brokenAt: 1, reason: 'gap' });
    });

    it('detects reordered entries', async () => {
      await appendMany(5);
      await db.run('UPDATE audit_log SET seq = 100 WHERE seq = 2');
      await db.run('UPDATE audit_log SET seq = 2 WHERE seq = 3');
      await db.run('UPDATE audit_log SET seq = 3 WHERE seq = 100');
      assert.deepEqual(pick(await verifyChain(db)), { brokenAt: 2, reason: 'link' });
    });

    it('detects a forged entry whose hash was recomputed', async () => {
      await appendMany(5);
      const row = await db.get<{ at: string; prev_hash: string }>('SELECT at, prev_hash FROM audit_log WHERE seq = 3');
      assert.ok(row);
      const forged = {
        seq: 3,
        at: row.at,
        actor: 'user:3',
        action: 'certificate.issue',
        subject: 'certificate:3',
        details: { n: 333 },
      };
      await db.run('UPDATE audit_log SET details = ?, hash = ? WHERE seq = 3', [
        '{"n":333}',
        entryHash(row.prev_hash, forged),
      ]);
      assert.deepEqual(pick(await verifyChain(db)), { brokenAt: 4, reason: 'link' });
    });

    it('detects a truncated tail against a head verified earlier', async () => {
      await appendMany(5);
      const head = await headOf();
      await db.run('DELETE FROM audit_log WHERE seq >= 4');
      // The shortened chain is internally consistent; only the kept head reveals the loss.
      assert.equal((await verifyChain(db)).ok, true);
      assert.deepEqual(pick(await verifyChain(db, { from: head })), { brokenAt: 5, reason: 'checkpoint' });
    });

    it('refuses details that name or hold secrets, and appends nothing', async () => {
      const pem = '-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n';
      const cases: AuditDetails[] = [
        { password: 'hunter2' },
        { newPassword: 'x' },
        { client_secret: 'x' },
        { privateKey: 'x' },
        { 'private-key': 'x' },
        { nested: { accessToken: 'x' } },
        { list: [{ apiKey: 'x' }] },
        { pkcs12: 'x' },
        { note: pem },
        { list: ['fine', pem] },
      ];
      for (const details of cases) {
        await assert.rejects(
          db.transaction((tx) =>
            log.append(tx, { actor: 'user:1', action: 'token.create', subject: 'token:1', details }),
          ),
          (e) =>
            isServiceError(e, 'AUDIT_SECRET_IN_DETAILS') &&
            !e.message.includes('hunter2') &&
            !e.message.includes('MIIE'),
          JSON.stringify(details),
        );
      }
      assert.deepEqual(pick(await verifyChain(db)), {});
      // References to secrets are fine.
      await db.transaction((tx) =>
        log.append(tx, {
          actor: 'user:1',
          action: 'key.recovery.release',
          subject: 'certificate:7',
          details: { secretId: 'a1', tokenName: 'ci', tokenIds: ['t1'], passwordChangedAt: '2026-12-03T06:55:00.000Z' },
        }),
      );
      assert.equal((await verifyChain(db)).ok, true);
    });

    it('refuses unknown actions, empty actors and non-JSON details', async () => {
      const bad: unknown[] = [
        { actor: 'user:1', action: 'certificate.steal', subject: null },
        { actor: '', action: 'auth.login', subject: null },
        { actor: 'user:1', action: 'auth.login', subject: 42 },
        { actor: 'user:1', action: 'auth.login', subject: null, details: { at: new Date(0) } },
        { actor: 'user:1', action: 'auth.login', subject: null, details: { n: Number.NaN } },
        { actor: 'user:1', action: 'auth.login', subject: null, details: ['not', 'an', 'object'] },
      ];
      for (const event of bad) {
        await assert.rejects(
          db.transaction((tx) => log.append(tx, event as Parameters<AuditLog['append']>[1])),
          (e) => isServiceError(e, 'INVALID_ARGUMENT') || isServiceError(e, 'AUDIT_DETAILS_INVALID'),
        );
      }
    });
  });
}

function pick(result: Awaited<ReturnType<typeof verifyChain>>): { brokenAt?: number; reason?: string } {
  return result.ok ? {} : { brokenAt: result.brokenAt, reason: result.reason };
}
