// Two server processes on one PostgreSQL schema: one migration, one audit chain, one set of serials,
// revocations seen by both, each background job run by one of them, and one node outliving the other.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { migrations } from '@sealpost/services';
import { createRoot, Scratch, useTemplate } from '../api/pki-support.ts';
import { ADMIN_EMAIL, ApiClient, PASSWORD } from '../api/support.ts';
import { postgresSchema, request, tempDir } from '../support/harness.ts';
import { bootstrap, type Node, openssl, openTarget, spawnNode, type Target } from './support.ts';

const PER_NODE = 8;
const JOBS = ['auto-enrollment', 'crl-refresh', 'renewal'];
const TICK_MS = 100;

describe('two nodes on one PostgreSQL database', () => {
  const scratch = new Scratch();
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    scratch.dispose();
    for (const c of cleanups.reverse()) await c();
  });

  it('share migrations, serials, the audit chain, revocations and jobs; B serves on when A stops', async () => {
    const schema = await postgresSchema();
    cleanups.push(() => schema.dispose());
    const dirs = [await tempDir(), await tempDir()];
    cleanups.push(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))).then(() => undefined));
    const targets: Target[] = dirs.map((dataDir) => ({ dataDir, databaseUrl: schema.url() }));
    // The nodes start together on an empty schema: both race to migrate it.
    const env = { SEALPOST_TEST_JOB_TICK_MS: String(TICK_MS) };
    const [a, b] = (await Promise.all(targets.map((t) => spawnNode(t, env)))) as [Node, Node];
    for (const node of [a, b]) cleanups.push(async () => void (await node.stop('SIGKILL')));
    assert.notEqual(a.url, b.url);

    const db = await openTarget(targets[0]!);
    cleanups.push(() => db.close());
    const versions = await db.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      versions.map((v) => Number(v.version)),
      migrations.map((m) => m.version),
    );
    await bootstrap(targets[0]!);

    // Both nodes look for due jobs several times before the work starts (so that no job's audit entries
    // land between the two verifications below), and many more times before the runs are counted.
    const tick = (r: Record<string, unknown>) => r['msg'] === 'test: jobs tick';
    await Promise.all([a.waitFor(tick, 3), b.waitFor(tick, 3)]);

    const onA = new ApiClient(a.url);
    await onA.login(ADMIN_EMAIL, PASSWORD);
    // A session made on A is good on B, CSRF token included (one CSRF key for the cluster).
    const onB = new ApiClient(b.url);
    onB.cookie = onA.cookie;
    onB.csrfToken = onA.csrfToken;
    assert.equal((await onB.get('/api/v1/whoami')).status, 200);

    const caId = await createRoot(onA, scratch);
    await useTemplate(onB, 'encryption-only', caId);
    for (const name of ['alice', 'bob']) {
      const res = await onB.post('/api/v1/users', { email: `${name}@example.org`, displayName: name });
      assert.equal(res.status, 201, res.text);
    }

    const issued = await Promise.all(
      Array.from({ length: 2 * PER_NODE }, async (_, i) => {
        const res = await (i % 2 === 0 ? onA : onB).post('/api/v1/certificates', {
          userEmail: i % 4 < 2 ? 'alice@example.org' : 'bob@example.org',
          template: 'encryption-only',
        });
        assert.equal(res.status, 201, res.text);
        return res.json() as { serial: string; certificatePem: string };
      }),
    );
    assert.equal(new Set(issued.map((c) => c.serial)).size, issued.length, 'no serial twice');
    const listed = (await onB.get('/api/v1/certificates?limit=100')).json() as { items: { serial: string }[] };
    assert.deepEqual(listed.items.map((c) => c.serial).sort(), issued.map((c) => c.serial).sort());
    const verified = await Promise.all([onA, onB].map(async (c) => (await c.get('/api/v1/audit/verify')).json()));
    assert.equal(verified[0]!['ok'], true, JSON.stringify(verified[0]));
    assert.deepEqual(verified[1], verified[0]);

    // Revoked on A: B's CRL and OCSP responder say so.
    const victim = issued[1]!;
    assert.equal(
      (await onA.post(`/api/v1/certificates/${victim.serial}/revoke`, { reason: 'keyCompromise' })).status,
      200,
    );
    const crl = await fetch(`${b.url}/pki/crl/${caId}.crl`);
    assert.equal(crl.status, 200);
    scratch.write('b.crl', new Uint8Array(await crl.arrayBuffer()));
    const text = await openssl(scratch.dir, 'crl', '-inform', 'DER', '-in', 'b.crl', '-noout', '-text');
    assert.equal(text.status, 0, text.output);
    const serialHex = victim.serial.replaceAll(':', '').toUpperCase().replace(/^0+/, '');
    assert.match(text.output, new RegExp(`Serial Number: 0*${serialHex}\\b`));
    assert.match(text.output, /Key Compromise/);
    scratch.write('leaf.pem', victim.certificatePem);
    const ocsp = await openssl(
      scratch.dir,
      'ocsp',
      '-url',
      `${b.url}/pki/ocsp`,
      '-issuer',
      'ca.pem',
      '-cert',
      'leaf.pem',
      '-CAfile',
      'ca.pem',
    );
    assert.equal(ocsp.status, 0, ocsp.output);
    assert.match(ocsp.output, /Response verify OK/);
    assert.match(ocsp.output, /leaf\.pem: revoked/);

    // Each job ran once, on one of the nodes, however often both looked for due jobs since.
    await Promise.all([a.waitFor(tick, 10), b.waitFor(tick, 10)]);
    const finished = [...a.records(), ...b.records()].filter((r) => r['msg'] === 'job finished');
    assert.deepEqual(finished.map((r) => String(r['job'])).sort(), JOBS);
    const ran = [...a.records(), ...b.records()].filter(tick).flatMap((r) => r['ran'] as string[]);
    assert.deepEqual(ran.sort(), JOBS);
    const rows = await db.all<{ name: string; holder: string }>('SELECT name, holder FROM jobs ORDER BY name');
    assert.deepEqual(
      rows.map((r) => r.name),
      JOBS,
    );
    assert.deepEqual(
      rows.map((r) => r.holder),
      JOBS.map((job) => finished.find((r) => r['job'] === job)?.['node']),
    );

    // A stops; B serves on.
    assert.equal(await a.stop('SIGTERM'), 0);
    assert.equal((await request(`${b.url}/readyz`)).status, 200);
    assert.equal((await onB.get('/api/v1/whoami')).status, 200);
    const more = await onB.post('/api/v1/certificates', { userEmail: 'bob@example.org', template: 'encryption-only' });
    assert.equal(more.status, 201, more.text);
    const final = (await onB.get('/api/v1/audit/verify')).json();
    assert.equal(final['ok'], true, JSON.stringify(final));
    assert.ok(Number(final['entries']) > Number(verified[0]!['entries']));
    assert.equal(await b.stop('SIGTERM'), 0);
  });
});
