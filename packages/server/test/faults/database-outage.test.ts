// PostgreSQL going away under a running server process, and coming back: 503 with Retry-After while
// it is gone, service again once it is back, with no restart.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { createRoot, Scratch, useTemplate } from '../api/pki-support.ts';
import { ADMIN_EMAIL, ApiClient, PASSWORD } from '../api/support.ts';
import { BASE_URL, postgresSchema, Relay, type Response, request, tempDir } from '../support/harness.ts';
import { bootstrap, spawnNode } from './support.ts';

/** How many times to look for the server to notice the database is back (each look is one request). */
const RECOVERY_POLLS = 100;

function assertUnavailable(res: Response, what: string): void {
  assert.equal(res.status, 503, `${what}: ${res.text}`);
  assert.equal(res.headers['content-type'], 'application/problem+json', what);
  assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/, what);
  const problem = res.json();
  assert.equal(problem['status'], 503, what);
  assert.equal(problem['code'], 'UNAVAILABLE', what);
}

describe('database outage (server process on PostgreSQL through a relay)', () => {
  const scratch = new Scratch();
  const relay = new Relay(BASE_URL);
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    scratch.dispose();
    for (const c of cleanups.reverse()) await c();
    await relay.stop();
  });

  it('answers 503 problem+json with Retry-After while the database is cut, and recovers by itself', async () => {
    const schema = await postgresSchema();
    cleanups.push(() => schema.dispose());
    const dataDir = await tempDir();
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    await bootstrap({ dataDir, databaseUrl: schema.url() });
    await relay.start();
    const node = await spawnNode({ dataDir, databaseUrl: schema.url(`127.0.0.1:${relay.port}`) });
    cleanups.push(async () => void (await node.stop('SIGKILL')));

    const admin = new ApiClient(node.url);
    await admin.login(ADMIN_EMAIL, PASSWORD);
    const caId = await createRoot(admin, scratch);
    await useTemplate(admin, 'encryption-only', caId);
    assert.equal((await admin.post('/api/v1/users', { email: 'erin@example.org', displayName: 'Erin' })).status, 201);

    await relay.stop();
    const ready = await request(`${node.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal((ready.json()['checks'] as Record<string, unknown>)['database'], 'unavailable');
    assert.equal((await request(`${node.url}/healthz`)).status, 200, 'alive, if not ready');
    assertUnavailable(await admin.get('/api/v1/users'), 'a read');
    assertUnavailable(
      await admin.post('/api/v1/certificates', { userEmail: 'erin@example.org', template: 'encryption-only' }),
      'an issuance',
    );
    assertUnavailable(
      await request(`${node.url}/api/v1/session`, {
        method: 'POST',
        body: { email: ADMIN_EMAIL, password: PASSWORD },
      }),
      'a login',
    );
    assertUnavailable(await request(`${node.url}/pki/crl/${caId}.crl`), 'a CRL');

    await relay.start();
    let polls = 0;
    while ((await request(`${node.url}/readyz`)).status !== 200) {
      assert.ok(++polls < RECOVERY_POLLS, 'the server never saw the database come back');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal((await admin.get('/api/v1/users?email=erin@example.org')).status, 200);
    const issued = await admin.post('/api/v1/certificates', {
      userEmail: 'erin@example.org',
      template: 'encryption-only',
    });
    assert.equal(issued.status, 201, issued.text);
    const verify = await admin.get('/api/v1/audit/verify');
    assert.equal(verify.json()['ok'], true, verify.text);
    assert.equal(await node.stop('SIGTERM'), 0);
  });
});
