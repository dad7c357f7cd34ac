import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Database, DirectoryPublisher, type User } from '@sealpost/services';
import { LdapDirectory } from '../src/external.ts';
import {
  ADMIN,
  type Domain,
  domain,
  foreignCertificate,
  TestClock,
  type TestDatabase,
  targets,
} from './support/services.ts';
import { Slapd } from './support/slapd.ts';

const DAY = 86_400_000;
const ATTRIBUTE = 'userCertificate;binary';

function entry(uid: string, extra: readonly string[] = []): string {
  return [
    `dn: uid=${uid},ou=people,dc=example,dc=org`,
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${uid}`,
    `sn: ${uid}`,
    `mail: ${uid}@example.org`,
    ...extra,
    '',
  ].join('\n');
}

const dnOf = (uid: string) => `uid=${uid},ou=people,dc=example,dc=org`;
const hex = (values: readonly Uint8Array[]) => values.map((v) => Buffer.from(v).toString('hex')).sort();

for (const target of targets) {
  describe(`publishing certificates to OpenLDAP (${target.dialect})`, () => {
    let fresh: TestDatabase;
    let db: Database;
    let slapd: Slapd;
    let directory: LdapDirectory;
    let services: Domain;
    let publisher: DirectoryPublisher;
    let foreign: Buffer;
    const clock = new TestClock();

    /** Issues an encryption certificate for the user (server-generated key); returns its id, serial and DER. */
    async function issue(user: User) {
      const { certificate } = await services.ca.issue(ADMIN, { userEmail: user.email, template: 'encryption-only' });
      return { id: certificate.id, serial: certificate.serial, der: certificate.certificate.der };
    }

    before(async () => {
      foreign = await foreignCertificate('alice@example.org');
      slapd = await Slapd.start({
        load: [
          [
            'dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n',
            // Alice's entry already holds a certificate of another CA: it must survive everything below.
            entry('alice', [`${ATTRIBUTE}:: ${foreign.toString('base64')}`]),
            entry('bob'),
          ].join('\n'),
        ],
      });
      fresh = await target.fresh();
      db = fresh.db;
      services = await domain(db, clock);
      directory = new LdapDirectory({
        name: 'corp',
        url: slapd.url,
        baseDn: slapd.suffix,
        bindDn: slapd.rootDn,
        bindPassword: slapd.rootPassword,
        timeoutMs: 2000,
      });
      publisher = new DirectoryPublisher({ db, audit: services.audit, clock, targets: [directory] });
    });
    after(async () => {
      await directory.close();
      await slapd.stop();
      await fresh.dispose();
    });

    it('publishes a certificate beside the values others published, and takes it out on revocation', async () => {
      const alice = await services.users.create(ADMIN, { email: 'alice@example.org', displayName: 'Alice' });
      const cert = await issue(alice);
      const report = await publisher.syncUser(alice.id);
      assert.deepEqual(report, { published: 1, removed: 0, noEntry: 0, failed: [], unreachable: [] });
      // Read with ldapsearch, the OpenLDAP CLI.
      assert.deepEqual(hex(await slapd.values(dnOf('alice'), ATTRIBUTE)), hex([foreign, cert.der]));
      assert.deepEqual(await publisher.syncUser(alice.id), {
        published: 0,
        removed: 0,
        noEntry: 0,
        failed: [],
        unreachable: [],
      });

      await services.ca.revoke(ADMIN, cert.serial, 'keyCompromise');
      assert.equal((await publisher.syncUser(alice.id)).removed, 1);
      assert.deepEqual(hex(await slapd.values(dnOf('alice'), ATTRIBUTE)), hex([foreign]));

      const audited = await db.all<{ action: string; subject: string }>(
        "SELECT action, subject FROM audit_log WHERE action LIKE 'directory.%' ORDER BY seq",
      );
      assert.deepEqual(audited, [
        { action: 'directory.publish', subject: `certificate:${cert.id}` },
        { action: 'directory.unpublish', subject: `certificate:${cert.id}` },
      ]);
    });

    it('takes out certificates as they expire, in the periodic run', async () => {
      const bob = await services.users.create(ADMIN, { email: 'bob@example.org', displayName: 'Bob' });
      const cert = await issue(bob);
      // The first run publishes every valid certificate (here only Bob's is not yet published).
      assert.equal((await publisher.syncDue()).published, 1);
      assert.deepEqual(hex(await slapd.values(dnOf('bob'), ATTRIBUTE)), hex([cert.der]));
      assert.equal((await publisher.syncDue()).published, 0);

      const stored = await services.ca.certificate(cert.id);
      clock.current = new Date(stored.notAfter.getTime() + 1000);
      const report = await publisher.syncDue();
      assert.equal(report.removed, 1);
      assert.deepEqual(await slapd.values(dnOf('bob'), ATTRIBUTE), []);
      assert.deepEqual(hex(await slapd.values(dnOf('alice'), ATTRIBUTE)), hex([foreign]));
    });

    it('keeps what it could not do while the directory was down, and does it when it is back', async () => {
      const alice = (await services.users.findByEmail('alice@example.org'))!;
      const first = await issue(alice);
      await publisher.syncUser(alice.id);
      assert.deepEqual(hex(await slapd.values(dnOf('alice'), ATTRIBUTE)), hex([foreign, first.der]));

      await slapd.halt();
      const second = await issue(alice);
      await services.ca.revoke(ADMIN, first.serial, 'superseded');
      const report = await publisher.syncUser(alice.id);
      assert.deepEqual(report.unreachable, ['corp']);
      assert.equal(report.failed[0]?.code, 'DIRECTORY_UNAVAILABLE');
      const pending = await publisher.pending();
      assert.deepEqual(
        pending.map((p) => [p.certificateId, p.state]).sort(),
        [
          [first.id, 'removing'],
          [second.id, 'adding'],
        ].sort(),
      );
      assert.ok(pending.some((p) => p.attempts === 1 && /127\.0\.0\.1/.test(p.lastError ?? '')));
      // Still down: the periodic run changes nothing and loses nothing.
      assert.deepEqual((await publisher.syncDue()).unreachable, ['corp']);
      assert.equal((await publisher.pending()).length, 2);

      await slapd.resume();
      const caughtUp = await publisher.syncDue();
      assert.equal(caughtUp.published, 1);
      assert.equal(caughtUp.removed, 1);
      assert.deepEqual(await publisher.pending(), []);
      assert.deepEqual(hex(await slapd.values(dnOf('alice'), ATTRIBUTE)), hex([foreign, second.der]));
    });

    it('records a mailbox without an entry and publishes once the entry exists', async () => {
      const carol = await services.users.create(ADMIN, { email: 'carol@example.org', displayName: 'Carol' });
      const cert = await issue(carol);
      assert.equal((await publisher.syncUser(carol.id)).noEntry, 1);
      assert.deepEqual(
        (await publisher.pending()).map((p) => [p.address, p.state]),
        [['carol@example.org', 'no-entry']],
      );
      // The periodic runs whose period covers the issuance try again, in vain; later ones leave the
      // address alone until a day has passed (no search per run for every such address).
      const later = (ms: number) => {
        clock.current = new Date(clock.current.getTime() + ms);
      };
      later(11 * 60_000);
      assert.equal((await publisher.syncDue()).noEntry, 1);
      later(11 * 60_000);
      assert.deepEqual(await publisher.syncDue(), {
        published: 0,
        removed: 0,
        noEntry: 0,
        failed: [],
        unreachable: [],
      });
      await slapd.ldapadd(entry('carol'));
      later(DAY);
      assert.equal((await publisher.syncDue()).published, 1);
      assert.deepEqual(hex(await slapd.values(dnOf('carol'), ATTRIBUTE)), hex([cert.der]));
    });
  });
}
