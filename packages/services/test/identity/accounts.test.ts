import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuditLog, verifyChain } from '../../src/audit/log.ts';
import { isServiceError } from '../../src/errors.ts';
import { Accounts } from '../../src/identity/accounts.ts';
import { DEFAULT_SCRYPT, hashPassword, verifyPassword } from '../../src/identity/passwords.ts';
import { UserDirectory } from '../../src/identity/users.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { Database } from '../../src/ports/database.ts';
import { type TestDatabase, targets } from '../secrets/databases.ts';

/** A clock the tests move forward. */
function movableClock(start: string): Clock & { advance(ms: number): void } {
  let now = Date.parse(start);
  return {
    now: () => new Date(now),
    advance: (ms) => {
      now += ms;
    },
  };
}

/** Cheap parameters for the many logins below; the default cost is checked on its own. */
const FAST = { N: 2 ** 10, r: 8, p: 1 };
const PASSWORD = 'correct horse battery staple';

/** The text with its last character changed (always to a different one). */
function altered(text: string): string {
  return text.slice(0, -1) + (text.endsWith('A') ? 'B' : 'A');
}

describe('password hashing', () => {
  it('writes self-describing scrypt hashes with N=2^15 r=8 p=1 and a 16-byte salt by default', async () => {
    const stored = await hashPassword(PASSWORD);
    const [scheme, N, r, p, salt, hash] = stored.split('$');
    assert.deepEqual([scheme, N, r, p], ['scrypt', '32768', '8', '1']);
    assert.equal(Buffer.from(salt!, 'base64url').length, 16);
    assert.equal(Buffer.from(hash!, 'base64url').length, 32);
    assert.notEqual(await hashPassword(PASSWORD), stored, 'a fresh salt every time');
    assert.deepEqual(await verifyPassword(PASSWORD, stored), { ok: true, needsRehash: false });
    assert.deepEqual(await verifyPassword(`${PASSWORD}!`, stored), { ok: false, needsRehash: false });
  });

  it('asks for a rehash when the stored parameters differ from the current ones', async () => {
    const old = await hashPassword(PASSWORD, FAST);
    assert.deepEqual(await verifyPassword(PASSWORD, old, DEFAULT_SCRYPT), { ok: true, needsRehash: true });
    assert.deepEqual(await verifyPassword('wrong password!', old, DEFAULT_SCRYPT), { ok: false, needsRehash: false });
    assert.deepEqual(await verifyPassword(PASSWORD, old, FAST), { ok: true, needsRehash: false });
  });

  it('verifies anything that is not a well-formed hash as false, without costly parameters', async () => {
    const good = await hashPassword(PASSWORD, FAST);
    const parts = good.split('$');
    for (const bad of [
      '',
      'plain',
      good.replace('scrypt', 'bcrypt'),
      [...parts.slice(0, 1), String(2 ** 24), ...parts.slice(2)].join('$'),
      [...parts.slice(0, 1), '1000', ...parts.slice(2)].join('$'),
      [...parts.slice(0, 5), 'AAAA'].join('$'),
    ]) {
      assert.deepEqual(await verifyPassword(PASSWORD, bad), { ok: false, needsRehash: false }, bad);
    }
  });
});

for (const target of targets) {
  describe(`accounts on ${target.dialect}`, () => {
    let fresh: TestDatabase;
    let db: Database;
    const clock = movableClock('2026-12-03T06:55:00.000Z');
    let users: UserDirectory;
    let accounts: Accounts;
    let adminId: string;
    before(async () => {
      fresh = await target.fresh();
      db = fresh.db;
      const audit = new AuditLog(clock);
      users = new UserDirectory({ db, audit, clock });
      accounts = new Accounts({ db, audit, clock, csrfKey: randomBytes(32), scrypt: FAST });
    });
    after(() => fresh.dispose());

    async function lastAudit(): Promise<{ action: string; subject: string | null; details: string }> {
      const row = await db.get<{ action: string; subject: string | null; details: string }>(
        'SELECT action, subject, details FROM audit_log ORDER BY seq DESC LIMIT 1',
      );
      return row!;
    }

    it('creates the first administrator once', async () => {
      const admin = await accounts.createAdmin('Root@Example.org', PASSWORD, 'Root');
      adminId = admin.userId;
      assert.equal(admin.role, 'admin');
      assert.equal(admin.email, 'Root@example.org');
      await assert.rejects(accounts.createAdmin('other@example.org', PASSWORD), (e) => isServiceError(e, 'CONFLICT'));
      await assert.rejects(accounts.createAdmin('x@example.org', 'short'), (e) =>
        isServiceError(e, 'INVALID_ARGUMENT'),
      );
    });

    it('logs in, authenticates the session, derives CSRF tokens and logs out', async () => {
      const login = await accounts.login('Root@EXAMPLE.org', PASSWORD, '192.0.2.1');
      assert.match(login.token, /^[A-Za-z0-9_-]{43}$/);
      assert.equal((await lastAudit()).action, 'auth.login');
      const stored = await db.all<{ token_hash: string }>('SELECT token_hash FROM sessions');
      assert.equal(stored.length, 1);
      assert.notEqual(stored[0]!.token_hash, login.token, 'only the hash is stored');
      const principal = await accounts.authenticateSession(login.token);
      assert.deepEqual(principal, { userId: adminId, role: 'admin', via: 'session', credentialId: login.sessionId });
      assert.equal(accounts.verifyCsrf(login.sessionId, login.csrfToken), true);
      assert.equal(accounts.verifyCsrf(login.sessionId, altered(login.csrfToken)), false);
      assert.equal(accounts.verifyCsrf('another-session', login.csrfToken), false);
      assert.equal(await accounts.authenticateSession(altered(login.token)), null);
      assert.equal(await accounts.logout(login.token), true);
      assert.equal((await lastAudit()).action, 'auth.logout');
      assert.equal(await accounts.authenticateSession(login.token), null);
      assert.equal(await accounts.logout(login.token), false);
    });

    it('expires sessions, and refuses disabled users', async () => {
      const login = await accounts.login('Root@example.org', PASSWORD, '192.0.2.1');
      clock.advance(8 * 3_600_000 + 1);
      assert.equal(await accounts.authenticateSession(login.token), null);
      assert.equal(await accounts.purgeExpired(), 1);
      const u = await users.create(`user:${adminId}`, { email: 'ulla@example.org', displayName: 'Ulla' });
      await accounts.createAccount(`user:${adminId}`, u.id, PASSWORD, 'user');
      const session = await accounts.login('ulla@example.org', PASSWORD, '192.0.2.9');
      await users.setStatus(`user:${adminId}`, u.id, 'disabled');
      assert.equal(await accounts.authenticateSession(session.token), null);
      await assert.rejects(accounts.login('ulla@example.org', PASSWORD, '192.0.2.9'), (e) =>
        isServiceError(e, 'UNAUTHENTICATED'),
      );
      await users.setStatus(`user:${adminId}`, u.id, 'active');
      assert.ok(await accounts.authenticateSession(session.token));
      assert.equal(await accounts.revokeSessions(`user:${adminId}`, u.id), 1);
      assert.equal(await accounts.authenticateSession(session.token), null);
    });

    it('rehashes a password stored with old parameters at the next login', async () => {
      const u = await users.create(`user:${adminId}`, { email: 'olga@example.org', displayName: 'Olga' });
      await accounts.createAccount(`user:${adminId}`, u.id, PASSWORD, 'user');
      const old = await hashPassword(PASSWORD, { N: 2 ** 11, r: 8, p: 1 });
      await db.run('UPDATE accounts SET password_hash = ? WHERE user_id = ?', [old, u.id]);
      await accounts.login('olga@example.org', PASSWORD, '192.0.2.2');
      const row = await db.get<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE user_id = ?', [
        u.id,
      ]);
      assert.match(row!.password_hash, /^scrypt\$1024\$8\$1\$/);
      assert.match((await lastAudit()).details, /"rehashed":true/);
    });

    it('locks an account after 5 failures in 15 minutes, with a clear message, then unlocks', async () => {
      const u = await users.create(`user:${adminId}`, { email: 'lock@example.org', displayName: 'Lock' });
      await accounts.createAccount(`user:${adminId}`, u.id, PASSWORD, 'user');
      for (let i = 0; i < 5; i++) {
        await assert.rejects(accounts.login('lock@example.org', 'wrong password 1', `198.51.100.${i}`), (e) =>
          isServiceError(e, 'UNAUTHENTICATED'),
        );
        clock.advance(1000);
      }
      assert.equal((await lastAudit()).action, 'auth.login.fail');
      // Even the right password is refused while locked, and the attempt is not counted.
      await assert.rejects(
        accounts.login('lock@example.org', PASSWORD, '198.51.100.99'),
        (e) =>
          isServiceError(e, 'ACCOUNT_LOCKED') && /Too many failed logins.*try again after 2026-12-03T/.test(e.message),
      );
      assert.match((await lastAudit()).details, /"reason":"locked"/);
      clock.advance(15 * 60_000);
      const ok = await accounts.login('lock@example.org', PASSWORD, '198.51.100.99');
      assert.ok(ok.token);
      // Success clears the account's failures.
      await assert.rejects(accounts.login('lock@example.org', 'wrong password 2', '198.51.100.1'), (e) =>
        isServiceError(e, 'UNAUTHENTICATED'),
      );
      assert.ok(await accounts.login('lock@example.org', PASSWORD, '198.51.100.1'));
    });

    it('locks a source guessing across accounts, and answers unknown addresses like wrong passwords', async () => {
      const source = '203.0.113.7';
      for (let i = 0; i < 20; i++) {
        await assert.rejects(
          accounts.login(`nobody${i}@example.org`, 'guess guess guess', source),
          (e) =>
            isServiceError(e, 'UNAUTHENTICATED') &&
            e.message === 'The address or password is wrong, or the account is disabled.',
        );
      }
      await assert.rejects(accounts.login('Root@example.org', PASSWORD, source), (e) =>
        isServiceError(e, 'ACCOUNT_LOCKED'),
      );
      assert.ok(await accounts.login('Root@example.org', PASSWORD, '203.0.113.8'));
    });

    it('creates scoped API tokens shown once, authenticates and revokes them', async () => {
      const u = await users.create(`user:${adminId}`, { email: 'tom@example.org', displayName: 'Tom' });
      await accounts.createAccount(`user:${adminId}`, u.id, PASSWORD, 'operator');
      const created = await accounts.createToken(`user:${u.id}`, u.id, 'ci', ['certificate.issue', 'self.read']);
      assert.match(created.token, /^spk_[A-Za-z0-9_-]{43}$/);
      assert.equal((await lastAudit()).action, 'token.create');
      assert.doesNotMatch((await lastAudit()).details, /spk_/);
      const stored = await db.get<{ token_hash: string }>('SELECT token_hash FROM api_tokens WHERE id = ?', [
        created.id,
      ]);
      assert.equal(stored!.token_hash.includes(created.token), false);
      const principal = await accounts.authenticateToken(`Bearer ${created.token}`);
      assert.deepEqual(principal, {
        userId: u.id,
        role: 'operator',
        scopes: ['certificate.issue', 'self.read'],
        via: 'token',
        credentialId: created.id,
      });
      assert.ok((await accounts.listTokens(u.id))[0]!.lastUsedAt);
      assert.equal(await accounts.authenticateToken(`spk_${'A'.repeat(43)}`), null);
      assert.equal(await accounts.authenticateToken('garbage'), null);
      // A token never holds more than its owner's role.
      await assert.rejects(accounts.createToken(`user:${u.id}`, u.id, 'too much', ['user.manage']), (e) =>
        isServiceError(e, 'FORBIDDEN'),
      );
      await assert.rejects(accounts.createToken(`user:${u.id}`, u.id, 'bad', ['no.such' as 'self.read']), (e) =>
        isServiceError(e, 'INVALID_ARGUMENT'),
      );
      assert.equal(await accounts.revokeToken(`user:${u.id}`, created.id), true);
      assert.equal((await lastAudit()).action, 'token.revoke');
      assert.equal(await accounts.revokeToken(`user:${u.id}`, created.id), false);
      assert.equal(await accounts.authenticateToken(created.token), null);

      const expiring = await accounts.createToken(
        `user:${u.id}`,
        u.id,
        'short',
        ['self.read'],
        new Date(clock.now().getTime() + 60_000),
      );
      assert.ok(await accounts.authenticateToken(expiring.token));
      clock.advance(60_000);
      assert.equal(await accounts.authenticateToken(expiring.token), null);
      await assert.rejects(
        accounts.createToken(`user:${u.id}`, u.id, 'past', ['self.read'], new Date(clock.now().getTime() - 1)),
        (e) => isServiceError(e, 'INVALID_ARGUMENT'),
      );
    });

    it('changes roles with an audit entry, never demoting the last administrator', async () => {
      await assert.rejects(accounts.setRole(`user:${adminId}`, adminId, 'user'), (e) => isServiceError(e, 'CONFLICT'));
      const u = await users.create(`user:${adminId}`, { email: 'rita@example.org', displayName: 'Rita' });
      await accounts.createAccount(`user:${adminId}`, u.id, PASSWORD, 'user');
      assert.equal((await accounts.setRole(`user:${adminId}`, u.id, 'auditor')).role, 'auditor');
      const entry = await lastAudit();
      assert.equal(entry.action, 'user.role.change');
      assert.deepEqual(JSON.parse(entry.details), { from: 'user', to: 'auditor' });
      await assert.rejects(accounts.setRole(`user:${adminId}`, u.id, 'root' as 'admin'), (e) =>
        isServiceError(e, 'INVALID_ARGUMENT'),
      );
      await accounts.setPassword(`user:${adminId}`, u.id, 'another long password');
      await assert.rejects(accounts.login('rita@example.org', PASSWORD, '192.0.2.3'), (e) =>
        isServiceError(e, 'UNAUTHENTICATED'),
      );
      assert.equal(
        (await accounts.login('rita@example.org', 'another long password', '192.0.2.3')).principal.role,
        'auditor',
      );
      assert.equal((await verifyChain(db)).ok, true);
    });
  });
}
