import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AuditLog,
  type Database,
  DirectoryImport,
  type DirectoryImportReport,
  isServiceError,
  UserDirectory,
} from '@sealpost/services';
import { LdapDirectory } from '../src/external.ts';
import { ADMIN, TestClock, type TestDatabase, targets } from './support/services.ts';
import { Slapd } from './support/slapd.ts';

const PEOPLE = 'ou=people,dc=example,dc=org';
const GROUPS = 'ou=groups,dc=example,dc=org';

function person(uid: string, given: string, sn: string, mail = `${uid}@example.org`): string {
  return [
    `dn: uid=${uid},${PEOPLE}`,
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${given} ${sn}`,
    `displayName: ${given} ${sn}`,
    `givenName: ${given}`,
    `sn: ${sn}`,
    `mail: ${mail}`,
    '',
  ].join('\n');
}

function group(cn: string, members: readonly string[]): string {
  return [
    `dn: cn=${cn},${GROUPS}`,
    'objectClass: groupOfNames',
    `cn: ${cn}`,
    ...members.map((m) => `member: ${m}`),
    '',
  ].join('\n');
}

const uidDn = (uid: string) => `uid=${uid},${PEOPLE}`;

/** The report without the counts of what was read, for compact comparisons. */
function changes(report: DirectoryImportReport) {
  const { created, updated, disabled, enabled, joined, left } = report;
  return { created, updated, disabled, enabled, joined, left };
}

const NOTHING = { created: 0, updated: 0, disabled: 0, enabled: 0, joined: 0, left: 0 };

for (const target of targets) {
  describe(`importing people and groups from OpenLDAP (${target.dialect})`, () => {
    let fresh: TestDatabase;
    let db: Database;
    let slapd: Slapd;
    let source: LdapDirectory;
    let users: UserDirectory;
    let importer: DirectoryImport;
    const clock = new TestClock();

    async function members(name: string): Promise<string[]> {
      const rows = await db.all<{ email: string }>(
        'SELECT u.email FROM group_members m JOIN groups g ON g.id = m.group_id JOIN users u ON u.id = m.user_id WHERE g.name = ? ORDER BY u.email',
        [name],
      );
      return rows.map((r) => r.email);
    }

    before(async () => {
      slapd = await Slapd.start({
        load: [
          [
            `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`,
            `dn: ${GROUPS}\nobjectClass: organizationalUnit\nou: groups\n`,
            person('alice', 'Alice', 'Liddell'),
            person('bob', 'Bob', 'Builder'),
            person('carol', 'Carol', 'Danvers'),
            // Skipped: an address Alice has already, and no address at all.
            person('alice2', 'Alice', 'Again', 'alice@example.org'),
            person('broken', 'Broken', 'Entry', 'not-an-address'),
            group('staff', [uidDn('alice'), uidDn('bob')]),
            // A nested group: everyone = staff's members and Carol.
            group('everyone', [`cn=staff,${GROUPS}`, uidDn('carol')]),
          ].join('\n'),
        ],
      });
      fresh = await target.fresh();
      db = fresh.db;
      const audit = new AuditLog(clock);
      users = new UserDirectory({ db, audit, clock });
      importer = new DirectoryImport({ db, users, audit, clock });
      source = new LdapDirectory({
        name: 'corp',
        url: slapd.url,
        baseDn: slapd.suffix,
        groupsBaseDn: GROUPS,
        bindDn: slapd.rootDn,
        bindPassword: slapd.rootPassword,
        // Small pages, so that the import goes through several.
        pageSize: 2,
      });
    });
    after(async () => {
      await source.close();
      await slapd.stop();
      await fresh.dispose();
    });

    it('creates the users, their groups and memberships, and skips what it cannot import', async () => {
      const report = await importer.importFrom(ADMIN, source);
      assert.deepEqual(changes(report), { ...NOTHING, created: 3, joined: 5 });
      assert.equal(report.people, 3);
      assert.equal(report.groups, 2);
      assert.deepEqual(report.skipped.map((s) => s.entry).sort(), [uidDn('alice2'), uidDn('broken')]);

      const alice = await users.findByEmail('alice@example.org');
      assert.equal(alice?.displayName, 'Alice Liddell');
      assert.equal(alice?.givenName, 'Alice');
      assert.equal(alice?.surname, 'Liddell');
      assert.equal(alice?.uid, 'alice');
      assert.deepEqual(await members('staff'), ['alice@example.org', 'bob@example.org']);
      assert.deepEqual(await members('everyone'), ['alice@example.org', 'bob@example.org', 'carol@example.org']);

      const audit = await db.all<{ action: string; details: string }>(
        "SELECT action, details FROM audit_log WHERE action = 'directory.import'",
      );
      assert.equal(audit.length, 1);
      assert.equal(JSON.parse(audit[0]!.details).created, 3);
    });

    it('changes nothing when run again', async () => {
      assert.deepEqual(changes(await importer.importFrom(ADMIN, source)), NOTHING);
    });

    it('follows renames, memberships and people leaving, and leaves local members alone', async () => {
      const dave = await users.create(ADMIN, { email: 'dave@example.org', displayName: 'Dave', groups: ['staff'] });
      await slapd.ldapmodify(
        [
          `dn: ${uidDn('bob')}`,
          'changetype: modify',
          'replace: displayName',
          'displayName: Robert Builder',
          '-',
          '',
          `dn: cn=staff,${GROUPS}`,
          'changetype: modify',
          'delete: member',
          `member: ${uidDn('alice')}`,
          '-',
          '',
          `dn: ${uidDn('carol')}`,
          'changetype: delete',
          '',
        ].join('\n'),
      );
      const report = await importer.importFrom(ADMIN, source);
      // Alice left staff and (through it) everyone; Carol left everyone.
      assert.deepEqual(changes(report), { ...NOTHING, updated: 1, disabled: 1, left: 3 });
      assert.equal((await users.findByEmail('bob@example.org'))?.displayName, 'Robert Builder');
      const carol = await users.findByEmail('carol@example.org');
      assert.equal(carol?.status, 'disabled', 'disabled, not deleted');
      assert.deepEqual(await members('staff'), ['bob@example.org', 'dave@example.org']);
      assert.deepEqual(await members('everyone'), ['bob@example.org']);
      assert.equal((await users.get(dave.id))?.status, 'active');
      assert.deepEqual(changes(await importer.importFrom(ADMIN, source)), NOTHING);
    });

    it('enables a user again whose person came back', async () => {
      await slapd.ldapadd(person('carol', 'Carol', 'Danvers'));
      const report = await importer.importFrom(ADMIN, source);
      assert.deepEqual(changes(report), { ...NOTHING, enabled: 1, joined: 1 });
      assert.equal((await users.findByEmail('carol@example.org'))?.status, 'active');
      assert.deepEqual(await members('everyone'), ['bob@example.org', 'carol@example.org']);
    });

    it('changes nothing when the directory fails or suddenly lists nobody', async () => {
      const before = await db.all('SELECT id, status FROM users ORDER BY id');
      await slapd.halt();
      try {
        await assert.rejects(importer.importFrom(ADMIN, source), (e: unknown) =>
          isServiceError(e, 'DIRECTORY_UNAVAILABLE'),
        );
      } finally {
        await slapd.resume();
      }
      const emptied = new LdapDirectory({
        name: 'corp',
        url: slapd.url,
        baseDn: slapd.suffix,
        peopleFilter: '(uid=nobody-matches-this)',
      });
      try {
        await assert.rejects(importer.importFrom(ADMIN, emptied), (e: unknown) => isServiceError(e, 'INVALID_STATE'));
      } finally {
        await emptied.close();
      }
      assert.deepEqual(await db.all('SELECT id, status FROM users ORDER BY id'), before);
    });
  });
}
