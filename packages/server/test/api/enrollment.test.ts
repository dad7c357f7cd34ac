import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditLog, CaService, type Clock, type Database, UserDirectory } from '@sealpost/services';
import { openDatabase } from '@sealpost/store';
import { type Job, standardJobs, startJobs } from '../../src/jobs.ts';
import type { Services } from '../../src/services.ts';
import { BASE_URL } from '../support/harness.ts';
import { createRoot, Scratch, useTemplate } from './pki-support.ts';
import { type ApiServer, DIALECTS, startApi } from './support.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** The test's services with another clock: what a node sees `days` from now. */
function later(services: Services, days: number, db: Database = services.db): Services {
  const at = Date.now() + days * DAY;
  const clock: Clock = { now: () => new Date(at) };
  const audit = new AuditLog(clock);
  return {
    ...services,
    db,
    clock,
    audit,
    users: new UserDirectory({ db, audit, clock }),
    ca: new CaService({ db, vault: services.vault, audit, clock }),
  };
}

for (const dialect of DIALECTS) {
  describe(`auto-enrollment API and jobs on ${dialect}`, () => {
    let api: ApiServer;
    const scratch = new Scratch();
    const ids = new Map<string, string>();

    const createUser = async (name: string, groups?: string[]) => {
      const res = await api.admin.post('/api/v1/users', {
        email: `${name}@example.org`,
        displayName: name,
        ...(groups === undefined ? {} : { groups }),
      });
      assert.equal(res.status, 201, res.text);
      ids.set(name, (res.json() as { id: string }).id);
    };
    const certificatesOf = async (name: string) => {
      const res = await api.admin.get(`/api/v1/certificates?user=${ids.get(name)}&status=valid`);
      return (res.json() as { items: { template: string; serial: string }[] }).items;
    };

    before(async () => {
      api = await startApi(dialect);
      const caId = await createRoot(api.admin, scratch);
      await useTemplate(api.admin, 'encryption-only', caId);
      await useTemplate(api.admin, 'dual-use', caId, { exportable: false });
    });
    after(async () => {
      scratch.dispose();
      await api.stop();
    });

    it('assigning a template enrolls the current members', async () => {
      assert.equal((await api.admin.post('/api/v1/groups', { name: 'staff' })).status, 201);
      await createUser('alice', ['staff']);
      assert.deepEqual(await certificatesOf('alice'), []);
      const csrOnly = await api.admin.put('/api/v1/groups/staff/templates/dual-use');
      assert.equal(csrOnly.status, 422);
      assert.equal((await api.admin.put('/api/v1/groups/nobody/templates/encryption-only')).status, 404);
      const operator = await api.login('operator@example.test', 'operator');
      const auditor = await api.login('auditor@example.test', 'auditor');
      assert.equal((await auditor.put('/api/v1/groups/staff/templates/encryption-only')).status, 403);

      assert.equal((await operator.put('/api/v1/groups/staff/templates/encryption-only')).status, 204);
      assert.deepEqual((await auditor.get('/api/v1/groups/staff/templates')).json(), { items: ['encryption-only'] });
      const alice = await certificatesOf('alice');
      assert.deepEqual(
        alice.map((c) => c.template),
        ['encryption-only'],
      );
      // Idempotent: no second certificate.
      assert.equal((await api.admin.put('/api/v1/groups/staff/templates/encryption-only')).status, 204);
      assert.equal((await certificatesOf('alice')).length, 1);
    });

    it('a member who joins is enrolled at once (the membership hook)', async () => {
      await createUser('bob');
      assert.equal((await api.admin.put(`/api/v1/groups/staff/members/${ids.get('bob')}`)).status, 204);
      assert.equal((await certificatesOf('bob')).length, 1);
      await createUser('carol', ['staff']);
      assert.equal((await certificatesOf('carol')).length, 1);
    });

    it('the periodic job enrolls members whose join event was missed', async () => {
      // Joined through another UserDirectory (as on a node that crashed before delivering the event).
      await createUser('dave');
      const elsewhere = new UserDirectory({
        db: api.services.db,
        audit: api.services.audit,
        clock: api.services.clock,
      });
      await elsewhere.addToGroup('system', ids.get('dave')!, 'staff');
      assert.deepEqual(await certificatesOf('dave'), []);
      const runner = startJobs(api.services, { nodeId: 'node-a', tickMs: HOUR });
      try {
        assert.deepEqual((await runner.runDue()).sort(), ['auto-enrollment', 'crl-refresh', 'renewal']);
        // Within their intervals: not again.
        assert.deepEqual(await runner.runDue(), []);
      } finally {
        await runner.stop();
      }
      assert.equal((await certificatesOf('dave')).length, 1);
      const rows = await api.services.db.all<{ name: string; holder: string }>(
        'SELECT name, holder FROM jobs ORDER BY name',
      );
      assert.deepEqual(
        rows.map((r) => [r.name, r.holder]),
        [
          ['auto-enrollment', 'node-a'],
          ['crl-refresh', 'node-a'],
          ['renewal', 'node-a'],
        ],
      );
    });

    it('the renewal job renews certificates inside their renewal window (injected clock)', async () => {
      const before = (await api.admin.get('/api/v1/certificates?status=valid&limit=500')).json() as {
        items: { serial: string }[];
      };
      assert.equal(before.items.length, 4);
      // encryption-only: 365 days, renewal window 42 days.
      const node = later(api.services, 330);
      const runner = startJobs(node, { nodeId: 'node-b', tickMs: HOUR });
      try {
        assert.ok((await runner.runDue()).includes('renewal'));
      } finally {
        await runner.stop();
      }
      const renewals = await api.services.db.all<{ details: string }>(
        "SELECT details FROM audit_log WHERE action = 'certificate.renew'",
      );
      const previous = renewals.map((r) => (JSON.parse(r.details) as { previousSerial: string }).previousSerial);
      assert.deepEqual(previous.sort(), before.items.map((c) => c.serial).sort());
      const after = (await api.admin.get('/api/v1/certificates?status=valid&limit=500')).json() as { items: unknown[] };
      assert.equal(after.items.length, 8);
    });

    it('unassigning stops enrollment; a later member gets nothing', async () => {
      assert.equal((await api.admin.delete('/api/v1/groups/staff/templates/encryption-only')).status, 204);
      assert.equal((await api.admin.delete('/api/v1/groups/staff/templates/encryption-only')).status, 404);
      assert.deepEqual((await api.admin.get('/api/v1/groups/staff/templates')).json(), { items: [] });
      await createUser('erin', ['staff']);
      assert.deepEqual(await certificatesOf('erin'), []);
    });

    if (dialect === 'postgres') {
      it('runs each job once across two nodes on one database', async () => {
        const schema = await api.services.db.get<{ s: string }>('SELECT current_schema() AS s');
        const url = `${BASE_URL}${BASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema!.s}`)}`;
        const second = await openDatabase({ url });
        try {
          const runs: string[] = [];
          const probe = (node: string): Job[] => [
            {
              name: 'probe',
              intervalMs: HOUR,
              run: async () => {
                runs.push(node);
                // Long enough that the other node tries while this one holds the lock.
                await new Promise((resolve) => setTimeout(resolve, 50));
                return {};
              },
            },
          ];
          const a = startJobs(api.services, { nodeId: 'pg-a', tickMs: HOUR, jobs: probe('pg-a') });
          const b = startJobs({ ...api.services, db: second }, { nodeId: 'pg-b', tickMs: HOUR, jobs: probe('pg-b') });
          try {
            const [ranA, ranB] = await Promise.all([a.runDue(), b.runDue()]);
            assert.equal(ranA.length + ranB.length, 1);
            assert.equal(runs.length, 1);
            const [againA, againB] = await Promise.all([a.runDue(), b.runDue()]);
            assert.deepEqual([...againA, ...againB], []);
            const row = await second.get<{ holder: string }>("SELECT holder FROM jobs WHERE name = 'probe'");
            assert.equal(row!.holder, runs[0]);
          } finally {
            await Promise.all([a.stop(), b.stop()]);
          }
          // The standard jobs too: two nodes far in the future run the auto-enrollment job once.
          const nodeA = later(api.services, 400);
          const nodeB = later(api.services, 400, second);
          const runnerA = startJobs(nodeA, { nodeId: 'pg-a', tickMs: HOUR, jobs: standardJobs(nodeA) });
          const runnerB = startJobs(nodeB, { nodeId: 'pg-b', tickMs: HOUR, jobs: standardJobs(nodeB) });
          try {
            const [x, y] = await Promise.all([runnerA.runDue(), runnerB.runDue()]);
            assert.equal([...x, ...y].filter((n) => n === 'auto-enrollment').length, 1);
          } finally {
            await Promise.all([runnerA.stop(), runnerB.stop()]);
          }
        } finally {
          await second.close();
        }
      });
    }
  });
}
