import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { readPkcs12 } from '@sealpost/core';
import { archivedKeyAad, KeyArchive } from '../../src/archive/key-archive.ts';
import { KeyRecovery } from '../../src/archive/recovery.ts';
import { AuditLog, verifyChain } from '../../src/audit/log.ts';
import { isServiceError } from '../../src/errors.ts';
import { Accounts } from '../../src/identity/accounts.ts';
import type { Role } from '../../src/identity/permissions.ts';
import { UserDirectory } from '../../src/identity/users.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { Database } from '../../src/ports/database.ts';
import { createLocalMasterKey } from '../../src/secrets/local-master-key.ts';
import { Vault } from '../../src/secrets/vault.ts';
import { type Issued, opensslIdentity, storeCertificate, twoNodes } from './fixtures.ts';

const clock: Clock = { now: () => new Date('2026-12-03T06:55:00.000Z') };
const PASSWORD = 'correct horse battery staple';
const issued: Issued = opensslIdentity('kim@example.org');

function services(db: Database, masterKey: Uint8Array) {
  const audit = new AuditLog(clock);
  const vault = new Vault({ masterKey: createLocalMasterKey(masterKey), clock });
  const archive = new KeyArchive({ vault, audit, clock });
  return {
    vault,
    archive,
    users: new UserDirectory({ db, audit, clock }),
    accounts: new Accounts({ db, audit, clock, csrfKey: randomBytes(32), scrypt: { N: 1024, r: 8, p: 1 } }),
    recovery: new KeyRecovery({ db, archive, audit, clock, pkcs12Iterations: 2048 }),
  };
}

/** The key and certificate inside a PKCS#12, as OpenSSL reads them. */
function opensslOpen(pkcs12: Uint8Array, password: string): string {
  return execFileSync('openssl', ['pkcs12', '-nodes', '-passin', `pass:${password}`], { input: pkcs12 }).toString();
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`key archive and four-eyes recovery on ${dialect}`, () => {
    let nodes: Awaited<ReturnType<typeof twoNodes>>;
    let db: Database;
    let s: ReturnType<typeof services>;
    const masterKey = randomBytes(32);
    const ids: Record<string, string> = {};
    let older: string;
    let newer: string;

    before(async () => {
      nodes = await twoNodes(dialect);
      db = nodes.a;
      s = services(db, masterKey);
      const first = await s.accounts.createAdmin('ada@example.org', PASSWORD);
      ids['ada'] = first.userId;
      const people: [string, Role][] = [
        ['bea', 'admin'],
        ['kim', 'user'],
        ['otto', 'operator'],
        ['aud', 'auditor'],
      ];
      for (const [name, role] of people) {
        const u = await s.users.create('system', { email: `${name}@example.org`, displayName: name });
        await s.accounts.createAccount('system', u.id, PASSWORD, role);
        ids[name] = u.id;
      }
      [older, newer] = await db.transaction(async (tx) => {
        const a = await storeCertificate(tx, s.vault, ids['kim']!, issued, '2025-01-01T00:00:00.000Z');
        const b = await storeCertificate(tx, s.vault, ids['kim']!, issued, '2026-01-01T00:00:00.000Z');
        return [a, b];
      });
    });
    after(() => nodes.dispose());

    it('archives a key in the issuing transaction, sealed to its certificate', async () => {
      for (const certificateId of [older, newer]) {
        const archivedKeyId = await db.transaction((tx) =>
          s.archive.archive(tx, {
            certificateId,
            userId: ids['kim']!,
            privateKeyPkcs8: issued.keyPkcs8,
            actor: `user:${ids['ada']}`,
          }),
        );
        assert.equal(archivedKeyId, certificateId);
      }
      const row = await db.get<{ secret_id: string }>('SELECT secret_id FROM archived_keys WHERE certificate_id = ?', [
        older,
      ]);
      const opened = await db.transaction((tx) => s.vault.open(tx, row!.secret_id, archivedKeyAad(older)));
      assert.deepEqual(Buffer.from(opened), issued.keyPkcs8);
      await assert.rejects(
        db.transaction((tx) => s.vault.open(tx, row!.secret_id, archivedKeyAad(newer))),
        (e) => isServiceError(e, 'SECRET_TAMPERED'),
      );
      await assert.rejects(
        db.transaction((tx) =>
          s.archive.archive(tx, { certificateId: older, userId: ids['kim']!, privateKeyPkcs8: issued.keyPkcs8 }),
        ),
        (e) => isServiceError(e, 'CONFLICT'),
      );
      await assert.rejects(
        db.transaction((tx) =>
          s.archive.archive(tx, { certificateId: older, userId: ids['bea']!, privateKeyPkcs8: issued.keyPkcs8 }),
        ),
        (e) => isServiceError(e, 'INVALID_ARGUMENT'),
      );
      const actors = await db.all<{ actor: string }>("SELECT actor FROM audit_log WHERE action = 'key.archive'");
      assert.deepEqual(
        actors.map((a) => a.actor),
        [`user:${ids['ada']}`, `user:${ids['ada']}`],
      );
    });

    it("lists a user's key history newest first", async () => {
      const history = await s.recovery.history(ids['kim']!);
      assert.deepEqual(
        history.map((h) => h.archivedKeyId),
        [newer, older],
      );
      assert.equal(history[0]!.notBefore, '2026-01-01T00:00:00.000Z');
      assert.deepEqual(await s.recovery.history(ids['bea']!), []);
    });

    it('refuses the requester as approver (FOUR_EYES) and non-administrators at every step', async () => {
      await assert.rejects(s.recovery.request(ids['ada']!, older, '  '), (e) => isServiceError(e, 'INVALID_ARGUMENT'));
      await assert.rejects(s.recovery.request(ids['ada']!, 'missing', 'lost laptop'), (e) =>
        isServiceError(e, 'NOT_FOUND'),
      );
      for (const who of ['kim', 'otto', 'aud']) {
        await assert.rejects(
          s.recovery.request(ids[who]!, older, 'curious'),
          (e) => isServiceError(e, 'FORBIDDEN'),
          who,
        );
      }
      const request = await s.recovery.request(ids['ada']!, older, 'Kim left; legal hold on her mail');
      assert.equal(request.status, 'pending');
      await assert.rejects(s.recovery.approve(ids['ada']!, request.id), (e) => isServiceError(e, 'FOUR_EYES'));
      for (const who of ['kim', 'otto', 'aud']) {
        await assert.rejects(s.recovery.approve(ids[who]!, request.id), (e) => isServiceError(e, 'FORBIDDEN'), who);
      }
      await assert.rejects(s.recovery.release(ids['ada']!, request.id), (e) => isServiceError(e, 'INVALID_STATE'));
      assert.equal((await s.recovery.get(request.id)).status, 'pending');
    });

    it('releases an approved request once, to its requester, as a PKCS#12 OpenSSL opens', async () => {
      const request = await s.recovery.request(ids['ada']!, older, 'Mailbox audit, ticket 4711');
      const approved = await s.recovery.approve(ids['bea']!, request.id);
      assert.equal(approved.status, 'approved');
      assert.equal(approved.approvedBy, ids['bea']);
      await assert.rejects(s.recovery.approve(ids['bea']!, request.id), (e) => isServiceError(e, 'INVALID_STATE'));
      await assert.rejects(s.recovery.release(ids['bea']!, request.id), (e) => isServiceError(e, 'FORBIDDEN'));
      const released = await s.recovery.release(ids['ada']!, request.id);
      assert.match(released.password, /^[A-Za-z2-9]{20}$/);
      const contents = readPkcs12(released.pkcs12, released.password);
      assert.equal(contents.identities.length, 1);
      assert.deepEqual(Buffer.from(contents.identities[0]!.certificate!.der), issued.certDer);
      const pem = opensslOpen(released.pkcs12, released.password);
      const key = createPrivateKey(pem.slice(pem.indexOf('-----BEGIN PRIVATE KEY-----')));
      assert.deepEqual(key.export({ type: 'pkcs8', format: 'der' }), issued.keyPkcs8);
      assert.match(pem, /CN ?= ?Archive Test CA/);
      await assert.rejects(
        s.recovery.release(ids['ada']!, request.id),
        (e) => isServiceError(e, 'INVALID_STATE') && /released already/.test(e.message),
      );
      const done = await s.recovery.get(request.id);
      assert.equal(done.status, 'completed');
      const entries = await db.all<{ action: string; details: string }>(
        "SELECT action, details FROM audit_log WHERE action LIKE 'key.recovery.%' ORDER BY seq",
      );
      assert.deepEqual(
        entries.map((e) => e.action),
        ['key.recovery.request', 'key.recovery.request', 'key.recovery.approve', 'key.recovery.release'],
      );
      for (const e of entries.slice(1)) assert.match(e.details, /Mailbox audit, ticket 4711/);
      assert.doesNotMatch(entries.map((e) => e.details).join(), new RegExp(released.password));
    });

    it('lets only one of two nodes releasing at once succeed', async () => {
      const request = await s.recovery.request(ids['ada']!, newer, 'Race test');
      await s.recovery.approve(ids['bea']!, request.id);
      const other = services(nodes.b, masterKey);
      const results = await Promise.allSettled([
        s.recovery.release(ids['ada']!, request.id),
        other.recovery.release(ids['ada']!, request.id),
        s.recovery.release(ids['ada']!, request.id),
        other.recovery.release(ids['ada']!, request.id),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1);
      for (const r of lost) assert.ok(isServiceError(r.reason, 'INVALID_STATE'), String(r.reason));
      const releases = await db.all<{ n: number }>(
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'key.recovery.release' AND subject = ?",
        [`recovery:${request.id}`],
      );
      assert.equal(Number(releases[0]!.n), 1);
    });

    it('rejects a request, after which it cannot be approved or released', async () => {
      const request = await s.recovery.request(ids['bea']!, older, 'Mistaken');
      assert.equal((await s.recovery.reject(ids['ada']!, request.id)).status, 'rejected');
      await assert.rejects(s.recovery.approve(ids['ada']!, request.id), (e) => isServiceError(e, 'INVALID_STATE'));
      await assert.rejects(s.recovery.release(ids['bea']!, request.id), (e) => isServiceError(e, 'INVALID_STATE'));
      assert.deepEqual(
        (await s.recovery.list('rejected')).map((r) => r.id),
        [request.id],
      );
    });

    it('lets a user recover their own keys without approval, and only their own', async () => {
      const mine = await s.recovery.selfRecover(ids['kim']!, newer);
      const pem = opensslOpen(mine.pkcs12, mine.password);
      assert.match(pem, /BEGIN PRIVATE KEY/);
      await assert.rejects(s.recovery.selfRecover(ids['bea']!, newer), (e) => isServiceError(e, 'NOT_FOUND'));
      await s.users.setStatus('system', ids['kim']!, 'disabled');
      await assert.rejects(s.recovery.selfRecover(ids['kim']!, newer), (e) => isServiceError(e, 'FORBIDDEN'));
      await s.users.setStatus('system', ids['kim']!, 'active');
      const entry = await db.get<{ actor: string; subject: string }>(
        "SELECT actor, subject FROM audit_log WHERE action = 'key.recovery.self'",
      );
      assert.deepEqual({ ...entry }, { actor: `user:${ids['kim']}`, subject: `certificate:${newer}` });
      assert.equal((await verifyChain(db)).ok, true);
    });
  });
}
