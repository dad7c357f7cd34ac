import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditLog, verifyChain } from '../../src/audit/log.ts';
import { isServiceError } from '../../src/errors.ts';
import { normalizeEmail } from '../../src/identity/email.ts';
import { type MembershipChange, UserDirectory } from '../../src/identity/users.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { Database } from '../../src/ports/database.ts';
import { type TestDatabase, targets } from '../secrets/databases.ts';

const clock: Clock = { now: () => new Date('2026-12-03T06:55:00.000Z') };

describe('normalizeEmail', () => {
  it('lower-cases the domain and keeps the local part exactly', () => {
    assert.equal(normalizeEmail('  Alice.Smith@Example.ORG '), 'Alice.Smith@example.org');
    assert.equal(normalizeEmail('"a b"@example.org'), '"a b"@example.org');
    assert.equal(normalizeEmail('user@Bücher.example'), 'user@xn--bcher-kva.example');
  });
  it('refuses what is not a mailbox address', () => {
    for (const bad of [
      '',
      'alice',
      '@example.org',
      'alice@',
      'a b@example.org',
      'a..b@example.org',
      'alice@localhost',
      `${'x'.repeat(65)}@example.org`,
      'alice@exa_mple.org',
    ]) {
      assert.throws(
        () => normalizeEmail(bad),
        (e) => isServiceError(e, 'INVALID_ARGUMENT'),
        bad,
      );
    }
  });
});

for (const target of targets) {
  describe(`user directory on ${target.dialect}`, () => {
    let fresh: TestDatabase;
    let db: Database;
    let users: UserDirectory;
    before(async () => {
      fresh = await target.fresh();
      db = fresh.db;
      users = new UserDirectory({ db, audit: new AuditLog(clock), clock });
    });
    after(() => fresh.dispose());

    it('creates users, refuses duplicates, disables and renames them, with audit entries', async () => {
      const alice = await users.create('user:admin', { email: 'alice@EXAMPLE.org', displayName: ' Alice ' });
      assert.equal(alice.email, 'alice@example.org');
      assert.equal(alice.displayName, 'Alice');
      assert.equal(alice.status, 'active');
      await assert.rejects(users.create('user:admin', { email: 'alice@example.ORG', displayName: 'Again' }), (e) =>
        isServiceError(e, 'CONFLICT'),
      );
      // The local part is case-sensitive (RFC 5321 §2.4): this is another mailbox.
      const other = await users.create('user:admin', { email: 'Alice@example.org', displayName: 'Other Alice' });
      assert.notEqual(other.id, alice.id);
      assert.equal((await users.setStatus('user:admin', alice.id, 'disabled')).status, 'disabled');
      assert.equal((await users.rename('user:admin', alice.id, 'Alice Liddell')).displayName, 'Alice Liddell');
      assert.deepEqual(await users.findByEmail('alice@Example.org'), {
        ...alice,
        status: 'disabled',
        displayName: 'Alice Liddell',
      });
      await assert.rejects(users.setStatus('user:admin', 'nope', 'active'), (e) => isServiceError(e, 'NOT_FOUND'));
      const actions = (await db.all<{ action: string }>('SELECT action FROM audit_log ORDER BY seq')).map(
        (r) => r.action,
      );
      assert.deepEqual(actions, ['user.create', 'user.create', 'user.disable', 'user.update']);
    });

    it('manages groups and tells listeners who joined and left, after the commit', async () => {
      const seen: MembershipChange[] = [];
      const stop = users.onMembershipChange(async (change) => {
        // The change is visible to a listener: it runs after the commit.
        assert.ok(
          (await users.groupsOf(change.userId)).includes(change.groupName) === (change.type === 'UserJoinedGroup'),
        );
        seen.push(change);
      });
      const bob = await users.create('user:admin', { email: 'bob@example.org', displayName: 'Bob', groups: ['sales'] });
      assert.equal(await users.addToGroup('user:admin', bob.id, 'staff'), true);
      assert.equal(await users.addToGroup('user:admin', bob.id, 'staff'), false);
      assert.deepEqual(await users.groupsOf(bob.id), ['sales', 'staff']);
      assert.equal(await users.removeFromGroup('user:admin', bob.id, 'sales'), true);
      assert.equal(await users.removeFromGroup('user:admin', bob.id, 'sales'), false);
      stop();
      await users.addToGroup('user:admin', bob.id, 'unheard');
      assert.deepEqual(
        seen.map((c) => [c.type, c.email, c.groupName]),
        [
          ['UserJoinedGroup', 'bob@example.org', 'sales'],
          ['UserJoinedGroup', 'bob@example.org', 'staff'],
          ['UserLeftGroup', 'bob@example.org', 'sales'],
        ],
      );
      await assert.rejects(users.createGroup('user:admin', 'staff'), (e) => isServiceError(e, 'CONFLICT'));
      await assert.rejects(users.createGroup('user:admin', 'a;b'), (e) => isServiceError(e, 'INVALID_ARGUMENT'));
    });

    it('reports a failing listener without undoing the change or skipping other listeners', async () => {
      const carol = await users.create('user:admin', { email: 'carol@example.org', displayName: 'Carol' });
      let second = 0;
      const stopA = users.onMembershipChange(() => {
        throw new Error('enrollment down');
      });
      const stopB = users.onMembershipChange(() => {
        second++;
      });
      await assert.rejects(users.addToGroup('user:admin', carol.id, 'ops'), (e) => e instanceof AggregateError);
      stopA();
      stopB();
      assert.equal(second, 1);
      assert.deepEqual(await users.groupsOf(carol.id), ['ops']);
    });

    it('imports CSV: quoted fields, per-row errors with line numbers, updates of existing users', async () => {
      const csv = [
        'email,display_name,groups',
        'dora@example.org,"Dora, the Explorer",import;staff',
        'not-an-address,Nobody,',
        '"eve@example.org","Eve ""E"" Smith",',
        'dora@example.org,Dora Twice,',
        'frank@example.org,,staff',
        '"gina@example.org",Gina,"import;',
        'staff"',
        'bob@example.org,Robert,import',
        'hank@example.org,Hank',
        '',
      ].join('\r\n');
      const joined: string[] = [];
      const stop = users.onMembershipChange((c) => {
        joined.push(`${c.email}>${c.groupName}`);
      });
      const report = await users.importCsv('user:admin', csv);
      stop();
      assert.equal(report.committed, true);
      assert.equal(report.created, 3);
      assert.equal(report.updated, 1);
      assert.deepEqual(
        report.errors.map((e) => e.line),
        [3, 5, 6, 10],
      );
      assert.match(report.errors[0]!.message, /not a mailbox address/);
      assert.match(report.errors[1]!.message, /already appears on line 2/);
      assert.match(report.errors[2]!.message, /display name is required/);
      assert.match(report.errors[3]!.message, /expected 3 fields, found 2/);
      assert.equal((await users.findByEmail('eve@example.org'))?.displayName, 'Eve "E" Smith');
      const gina = await users.findByEmail('gina@example.org');
      assert.deepEqual(await users.groupsOf(gina!.id), ['import', 'staff']);
      const bob = await users.findByEmail('bob@example.org');
      assert.equal(bob?.displayName, 'Robert');
      assert.deepEqual(await users.groupsOf(bob!.id), ['import', 'staff', 'unheard']);
      assert.deepEqual(joined.sort(), [
        'bob@example.org>import',
        'dora@example.org>import',
        'dora@example.org>staff',
        'gina@example.org>import',
        'gina@example.org>staff',
      ]);
    });

    it('imports nothing when atomic and a row is bad, and refuses malformed or oversized files', async () => {
      const before = (await users.list({ limit: 500 })).users.length;
      const report = await users.importCsv(
        'user:admin',
        'email,display_name,groups\nivan@example.org,Ivan,\nbad,Bad,\n',
        { atomic: true },
      );
      assert.deepEqual(report, {
        committed: false,
        created: 0,
        updated: 0,
        errors: [{ line: 3, message: report.errors[0]!.message }],
      });
      assert.equal((await users.list({ limit: 500 })).users.length, before);
      await assert.rejects(users.importCsv('user:admin', 'mail,name\n'), (e) => isServiceError(e, 'IMPORT_INVALID'));
      await assert.rejects(
        users.importCsv('user:admin', 'email,display_name,groups\n"open@example.org,x,\n'),
        (e) => isServiceError(e, 'IMPORT_INVALID') && /line 2: a quoted field is not closed/.test(e.message),
      );
      await assert.rejects(
        users.importCsv('user:admin', 'email,display_name,groups\na"b@example.org,x,\n'),
        (e) => isServiceError(e, 'IMPORT_INVALID') && /line 2/.test(e.message),
      );
      await assert.rejects(
        users.importCsv('user:admin', `email,display_name,groups\n${'x'.repeat(100)}`, { maxBytes: 64 }),
        (e) => isServiceError(e, 'TOO_LARGE'),
      );
      await assert.rejects(
        users.importCsv('user:admin', 'email,display_name,groups\na@example.org,A,\nb@example.org,B,\n', {
          maxRows: 1,
        }),
        (e) => isServiceError(e, 'TOO_LARGE'),
      );
    });

    it('lists users a page at a time, filtered by prefix, group and status', async () => {
      const all: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await users.list({ limit: 2, ...(cursor ? { cursor } : {}) });
        assert.ok(page.users.length <= 2);
        all.push(...page.users.map((u) => u.email));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      assert.deepEqual(all, [...all].sort());
      assert.equal(new Set(all).size, all.length);
      assert.deepEqual(
        (await users.list({ limit: 500 })).users.map((u) => u.email),
        all,
      );
      // Prefixes compare exactly: neither case-folded nor wildcards.
      assert.deepEqual(
        (await users.list({ emailPrefix: 'A' })).users.map((u) => u.email),
        ['Alice@example.org'],
      );
      assert.deepEqual((await users.list({ emailPrefix: 'd%' })).users, []);
      assert.deepEqual(
        (await users.list({ group: 'staff' })).users.map((u) => u.email),
        ['bob@example.org', 'dora@example.org', 'gina@example.org'],
      );
      assert.deepEqual(
        (await users.list({ status: 'disabled' })).users.map((u) => u.email),
        ['alice@example.org'],
      );
      assert.deepEqual(
        (await users.list({ group: 'import', emailPrefix: 'g' })).users.map((u) => u.email),
        ['gina@example.org'],
      );
      await assert.rejects(users.list({ cursor: '!!' }), (e) => isServiceError(e, 'INVALID_ARGUMENT'));
      await assert.rejects(users.list({ limit: 0 }), (e) => isServiceError(e, 'INVALID_ARGUMENT'));
      assert.equal((await verifyChain(db)).ok, true);
    });
  });
}
