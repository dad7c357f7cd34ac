// SIGKILL in the middle of concurrent issuance: whatever a caller was told was issued survives with
// its escrowed key, and nothing exists by halves.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { createRoot, Scratch, useTemplate } from '../api/pki-support.ts';
import { ADMIN_EMAIL, ApiClient, DIALECTS, PASSWORD } from '../api/support.ts';
import { postgresSchema, request, tempDir } from '../support/harness.ts';
import { bootstrap, consistencyProblems, openTarget, spawnNode, type Target } from './support.ts';

const REQUESTS = 40;
/** Killed once this many certificates were handed out, with the rest still in flight. */
const KILL_AFTER = 5;
const USERS = 4;

interface Issued {
  serial: string;
  certificate: { id: string; userId: string };
}

for (const dialect of DIALECTS) {
  describe(`SIGKILL during issuance on ${dialect}`, () => {
    const scratch = new Scratch();
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      scratch.dispose();
      for (const c of cleanups.reverse()) await c();
    });

    it('keeps every certificate a caller received, with its archived key, and nothing half-made', async () => {
      const dataDir = await tempDir();
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      let target: Target = { dataDir };
      if (dialect === 'postgres') {
        const schema = await postgresSchema();
        cleanups.push(() => schema.dispose());
        target = { dataDir, databaseUrl: schema.url() };
      }
      await bootstrap(target);

      const first = await spawnNode(target);
      cleanups.push(async () => void (await first.stop('SIGKILL')));
      const admin = new ApiClient(first.url);
      await admin.login(ADMIN_EMAIL, PASSWORD);
      const caId = await createRoot(admin, scratch);
      await useTemplate(admin, 'encryption-only', caId);
      for (let i = 0; i < USERS; i++) {
        const res = await admin.post('/api/v1/users', { email: `user${i}@example.org`, displayName: `User ${i}` });
        assert.equal(res.status, 201, res.text);
      }

      const received: Issued[] = [];
      let cut = 0;
      let refused = 0;
      await Promise.all(
        Array.from({ length: REQUESTS }, async (_, i) => {
          try {
            const res = await admin.post('/api/v1/certificates', {
              userEmail: `user${i % USERS}@example.org`,
              template: 'encryption-only',
            });
            // An overloaded node may answer 503 (no pooled connection in time): nothing was handed out then.
            if (res.status === 503) {
              refused++;
              return;
            }
            assert.equal(res.status, 201, res.text);
            received.push(res.json() as unknown as Issued);
            if (received.length === KILL_AFTER) first.child.kill('SIGKILL');
          } catch (e) {
            if (e instanceof assert.AssertionError) throw e;
            cut++;
          }
        }),
      );
      assert.equal(await first.stop('SIGKILL'), null, 'killed, not exited');
      assert.ok(received.length >= KILL_AFTER);
      assert.ok(
        cut > 0,
        `the kill came while requests were in flight (${received.length} issued, ${refused} refused with 503)`,
      );

      const second = await spawnNode(target);
      cleanups.push(async () => void (await second.stop('SIGKILL')));
      const again = new ApiClient(second.url);
      await again.login(ADMIN_EMAIL, PASSWORD);
      for (const issued of received) {
        const res = await again.get(`/api/v1/certificates/${issued.serial}`);
        assert.equal(res.status, 200, `${issued.serial}: ${res.text}`);
        assert.equal(res.json()['status'], 'valid');
        const keys = (await again.get(`/api/v1/users/${issued.certificate.userId}/keys`)).json() as {
          items: { archivedKeyId: string; serial: string }[];
        };
        assert.ok(
          keys.items.some((k) => k.archivedKeyId === issued.certificate.id && k.serial === issued.serial),
          `the key of ${issued.serial} is in the key history`,
        );
      }
      const verify = await again.get('/api/v1/audit/verify');
      assert.equal(verify.status, 200);
      assert.equal(verify.json()['ok'], true, verify.text);

      const db = await openTarget(target);
      try {
        assert.deepEqual(await consistencyProblems(db, ['encryption-only']), []);
        const stored = await db.get<{ n: number | bigint | string }>('SELECT COUNT(*) AS n FROM certificates');
        assert.ok(Number(stored?.n) >= received.length);
      } finally {
        await db.close();
      }

      // The restarted server issues as before (no stuck lock or transaction left behind).
      const after = await again.post('/api/v1/certificates', {
        userEmail: 'user0@example.org',
        template: 'encryption-only',
      });
      assert.equal(after.status, 201, after.text);
      assert.equal((await request(`${second.url}/readyz`)).status, 200);
      assert.equal(await second.stop('SIGTERM'), 0);
    });
  });
}
