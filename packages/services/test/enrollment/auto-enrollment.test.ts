import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pemEncode } from '@sealpost/core';
import { AuditLog } from '../../src/audit/log.ts';
import type { CaService } from '../../src/ca/ca-service.ts';
import { AutoEnrollment, type EnrollmentFailure } from '../../src/enrollment/auto-enrollment.ts';
import { certificateBySerial, listCertificates } from '../../src/enrollment/certificate-list.ts';
import { isServiceError } from '../../src/errors.ts';
import { UserDirectory } from '../../src/identity/users.ts';
import type { Database } from '../../src/ports/database.ts';
import { node as caNode, newMasterKey, Scratch, secondPostgresNode, TestClock } from '../ca/support.ts';
import { type TestDatabase, targets } from '../secrets/databases.ts';

const DAY = 86_400_000;
const ADMIN = 'user:admin';

function code(c: string) {
  return (e: unknown) => isServiceError(e) && e.code === c;
}

/** Valid certificates per (user, template): auto-enrollment must never issue two. */
async function validPairs(db: Database, now: Date, template: string): Promise<Map<string, number>> {
  const rows = await db.all<{ user_id: string; template: string }>(
    "SELECT user_id, template FROM certificates WHERE status = 'valid' AND not_after > ? AND template = ?",
    [now.toISOString(), template],
  );
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(`${r.user_id}/${r.template}`, (counts.get(`${r.user_id}/${r.template}`) ?? 0) + 1);
  return counts;
}

for (const target of targets) {
  describe(`auto-enrollment on ${target.dialect}`, () => {
    let fresh: TestDatabase;
    let db: Database;
    let ca: CaService;
    let users: UserDirectory;
    let enrollment: AutoEnrollment;
    const clock = new TestClock();
    const masterKey = newMasterKey();
    const scratch = new Scratch();
    const failures: EnrollmentFailure[] = [];
    let detach: () => void;

    before(async () => {
      fresh = await target.fresh();
      db = fresh.db;
      ca = caNode(db, clock, masterKey).ca;
      const root = await ca.createRoot(ADMIN, {
        name: 'Root',
        subject: [{ type: 'CN', value: 'Enrollment Test Root' }],
        keyAlgorithm: 'p-256',
        validityDays: 3650,
        crlUrl: 'http://crl.example.test/root.crl',
      });
      scratch.write('root.pem', pemEncode('CERTIFICATE', root.certificate!.der));
      await ca.installDefaultTemplates(ADMIN);
      for (const name of ['dual-use', 'encryption-only', 'signing-only']) {
        // P-256 keeps key generation fast.
        await ca.updateTemplate(ADMIN, name, { caId: root.id, defaultKeyAlgorithm: 'p-256' });
      }
      await ca.updateTemplate(ADMIN, 'dual-use', { exportable: false });
      const audit = new AuditLog(clock);
      users = new UserDirectory({ db, audit, clock });
      enrollment = new AutoEnrollment({ db, ca, users, audit, clock });
      detach = enrollment.attach((f) => failures.push(f));
    });
    after(async () => {
      detach();
      scratch.dispose();
      await fresh.dispose();
    });

    it('refuses assignments it could not honour', async () => {
      await users.createGroup(ADMIN, 'staff');
      await assert.rejects(enrollment.assign(ADMIN, 'nobody', 'encryption-only'), code('NOT_FOUND'));
      await assert.rejects(enrollment.assign(ADMIN, 'staff', 'no-such-template'), code('NOT_FOUND'));
      // dual-use was made CSR-only above: the server cannot generate keys for members.
      await assert.rejects(enrollment.assign(ADMIN, 'staff', 'dual-use'), code('INVALID_ARGUMENT'));
      assert.deepEqual(await enrollment.list('staff'), []);
    });

    it('enrolls the members of a group once a template is assigned, and only once', async () => {
      const alice = await users.create(ADMIN, { email: 'alice@example.org', displayName: 'Alice', groups: ['staff'] });
      await users.create(ADMIN, { email: 'bob@example.org', displayName: 'Bob', groups: ['staff'] });
      assert.deepEqual(failures, []);
      const { groupId, added } = await enrollment.assign(ADMIN, 'staff', 'encryption-only');
      assert.equal(added, true);
      assert.equal((await enrollment.assign(ADMIN, 'staff', 'encryption-only')).added, false);
      assert.deepEqual(await enrollment.list('staff'), ['encryption-only']);
      const report = await enrollment.enrollMissing({ groupId });
      assert.deepEqual(report.failed, []);
      assert.deepEqual(report.issued.map((i) => i.email).sort(), ['alice@example.org', 'bob@example.org']);
      assert.deepEqual((await enrollment.enrollMissing()).issued, []);
      // encryption-only escrows keys: the key archive holds them; nothing else about the key is stored.
      const archived = await db.get<{ n: number | bigint }>('SELECT COUNT(*) AS n FROM archived_keys');
      assert.equal(Number(archived!.n), 2);
      const aliceCert = report.issued.find((i) => i.userId === alice.id)!;
      const stored = await certificateBySerial(db, aliceCert.serial);
      assert.equal(stored.template, 'encryption-only');
      assert.deepEqual(stored.certificate.emailAddresses, ['alice@example.org']);
      scratch.write('alice.pem', stored.pem);
      scratch.must('verify', '-CAfile', 'root.pem', 'alice.pem');
    });

    it('enrolls a user as they join (the membership hook), but not a disabled one', async () => {
      const carol = await users.create(ADMIN, { email: 'carol@example.org', displayName: 'Carol', groups: ['staff'] });
      const page = await listCertificates(db, clock.now(), { userId: carol.id });
      assert.equal(page.certificates.length, 1);
      const dave = await users.create(ADMIN, { email: 'dave@example.org', displayName: 'Dave' });
      await users.setStatus(ADMIN, dave.id, 'disabled');
      await users.addToGroup(ADMIN, dave.id, 'staff');
      assert.equal((await listCertificates(db, clock.now(), { userId: dave.id })).certificates.length, 0);
      assert.deepEqual(failures, []);
    });

    it('issues again when the certificate was revoked, and once for a member of two groups', async () => {
      const alice = (await users.findByEmail('alice@example.org'))!;
      const [current] = (await listCertificates(db, clock.now(), { userId: alice.id, status: 'valid' })).certificates;
      await ca.revoke(ADMIN, current!.serial, 'keyCompromise');
      await users.createGroup(ADMIN, 'managers');
      await enrollment.assign(ADMIN, 'managers', 'encryption-only');
      await users.addToGroup(ADMIN, alice.id, 'managers');
      assert.equal(
        (await listCertificates(db, clock.now(), { userId: alice.id, status: 'valid' })).certificates.length,
        1,
      );
      assert.deepEqual((await enrollment.enrollMissing()).issued, []);
      for (const count of (await validPairs(db, clock.now(), 'encryption-only')).values()) assert.equal(count, 1);
      assert.equal((await listCertificates(db, clock.now(), { status: 'revoked' })).certificates.length, 1);
    });

    it('lists certificates a page at a time', async () => {
      const first = await listCertificates(db, clock.now(), { limit: 2 });
      assert.equal(first.certificates.length, 2);
      const rest = await listCertificates(db, clock.now(), { limit: 500, cursor: first.nextCursor! });
      const all = await listCertificates(db, clock.now(), { limit: 500 });
      assert.deepEqual(
        [...first.certificates, ...rest.certificates].map((c) => c.id),
        all.certificates.map((c) => c.id),
      );
      await assert.rejects(listCertificates(db, clock.now(), { cursor: 'bogus' }), code('INVALID_ARGUMENT'));
      await assert.rejects(certificateBySerial(db, 'abcdef'), code('NOT_FOUND'));
    });

    it('unassigning stops enrollment of new members', async () => {
      assert.equal(await enrollment.unassign(ADMIN, 'managers', 'encryption-only'), true);
      assert.equal(await enrollment.unassign(ADMIN, 'managers', 'encryption-only'), false);
      const erin = await users.create(ADMIN, { email: 'erin@example.org', displayName: 'Erin', groups: ['managers'] });
      assert.equal((await listCertificates(db, clock.now(), { userId: erin.id })).certificates.length, 0);
    });

    it('renews certificates inside the renewal window, once', async () => {
      assert.deepEqual((await enrollment.renewDue()).renewed, []);
      const valid = (await listCertificates(db, clock.now(), { status: 'valid', limit: 500 })).certificates;
      const saved = clock.current;
      try {
        // encryption-only: 365 days with a 42-day window.
        clock.current = new Date(saved.getTime() + 330 * DAY);
        const report = await enrollment.renewDue();
        assert.deepEqual(report.failed, []);
        assert.deepEqual(report.renewed.map((r) => r.previousSerial).sort(), valid.map((c) => c.serial).sort());
        const renewed = await certificateBySerial(db, report.renewed[0]!.serial);
        const previous = await certificateBySerial(db, report.renewed[0]!.previousSerial);
        // Same key, certified again.
        assert.deepEqual(renewed.certificate.publicKeyInfo.spki, previous.certificate.publicKeyInfo.spki);
        assert.deepEqual((await enrollment.renewDue()).renewed, []);
      } finally {
        clock.current = saved;
      }
    });

    if (target.dialect === 'postgres') {
      it('two nodes enrolling at once issue each missing certificate once', async () => {
        const other = await secondPostgresNode(db);
        try {
          const otherCa = caNode(other, clock, masterKey).ca;
          const otherAudit = new AuditLog(clock);
          const otherUsers = new UserDirectory({ db: other, audit: otherAudit, clock });
          const otherEnrollment = new AutoEnrollment({
            db: other,
            ca: otherCa,
            users: otherUsers,
            audit: otherAudit,
            clock,
          });
          await users.createGroup(ADMIN, 'racers');
          // Members join before the assignment, so that only the two concurrent runs enroll them.
          for (const name of ['frank', 'grace', 'heidi', 'ivan']) {
            await users.create(ADMIN, { email: `${name}@example.org`, displayName: name, groups: ['racers'] });
          }
          await enrollment.assign(ADMIN, 'racers', 'signing-only');
          const [a, b] = await Promise.all([enrollment.enrollMissing(), otherEnrollment.enrollMissing()]);
          assert.deepEqual([...a.failed, ...b.failed], []);
          assert.equal(a.issued.length + b.issued.length, 4);
          const pairs = await validPairs(db, clock.now(), 'signing-only');
          assert.equal(pairs.size, 4);
          for (const count of pairs.values()) assert.equal(count, 1);
        } finally {
          await other.close();
        }
      });
    }
  });
}
