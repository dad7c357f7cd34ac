import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { migrations } from '@sealpost/services';
import { isStoreError, migrate, openDatabase, openPostgres, type StoreDatabase } from '@sealpost/store';
import { databaseContract, type StoreFixture } from './contract.ts';
import { Relay } from './support/relay.ts';

/** Every migration version the schema has, in order. */
const ALL_VERSIONS = migrations.map((m) => ({ version: m.version }));

const BASE_URL = process.env['SEALPOST_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = openPostgres(BASE_URL);

before(async () => {
  try {
    await admin.ping();
  } catch (e) {
    // Not a skip: CI provides PostgreSQL, and an adapter nobody tested must not pass as green.
    throw new Error(
      `PostgreSQL is not reachable at ${BASE_URL} (set SEALPOST_TEST_DATABASE_URL to a server with trust auth): ${String(e)}`,
    );
  }
});
after(() => admin.close());

/** The URL of `base` with its host moved and its search_path set to `schema`. */
function urlFor(schema: string, host?: string): string {
  const url = new URL(BASE_URL);
  if (host !== undefined) url.host = host;
  const options = `options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return `${url.toString()}${url.search === '' ? '?' : '&'}${options}`;
}

/** Each fixture is a schema of its own, so test files and runs sharing the server do not collide. */
async function postgresFixture(host?: string): Promise<StoreFixture & { schema: string }> {
  const schema = `sp_test_${randomBytes(6).toString('hex')}`;
  await admin.run(`CREATE SCHEMA ${schema}`);
  const opened: StoreDatabase[] = [];
  return {
    schema,
    open: () => {
      const db = openPostgres(urlFor(schema, host));
      opened.push(db);
      return db;
    },
    dispose: async () => {
      await Promise.all(opened.map((db) => db.close()));
      await admin.run(`DROP SCHEMA ${schema} CASCADE`);
    },
  };
}

describe('PostgreSQL adapter', () => {
  databaseContract(() => postgresFixture());

  it('reports UNAVAILABLE while the server is unreachable, and recovers when it is back', async () => {
    const relay = new Relay(BASE_URL);
    await relay.start();
    const f = await postgresFixture(`127.0.0.1:${relay.port}`);
    try {
      const db = f.open();
      await migrate(db, [{ version: 1, name: 't', up: 'CREATE TABLE t (k TEXT)' }]);
      await db.run("INSERT INTO t (k) VALUES ('before')");
      await relay.stop();
      const unavailable = (e: unknown) => isStoreError(e, 'UNAVAILABLE');
      await assert.rejects(db.ping(), unavailable);
      await assert.rejects(db.all('SELECT k FROM t'), unavailable);
      await assert.rejects(
        db.transaction((tx) => tx.run("INSERT INTO t (k) VALUES ('during')")),
        unavailable,
      );
      await assert.rejects(
        db.exclusive('job', async () => 1),
        unavailable,
      );
      await relay.start();
      await db.ping();
      assert.deepEqual(await db.all('SELECT k FROM t'), [{ k: 'before' }]);
    } finally {
      await f.dispose();
      await relay.stop();
    }
  });

  it('reports UNAVAILABLE when its connection is terminated mid-transaction, then reconnects', async () => {
    const f = await postgresFixture();
    try {
      const db = f.open();
      await migrate(db, [{ version: 1, name: 't', up: 'CREATE TABLE t (k TEXT)' }]);
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run("INSERT INTO t (k) VALUES ('lost')");
          const me = await tx.get<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          // The second argument makes the call wait until the backend is gone.
          await admin.get('SELECT pg_terminate_backend(?, 5000) AS done', [me!.pid]);
          await tx.get('SELECT 1 AS one');
        }),
        (e) => isStoreError(e, 'UNAVAILABLE'),
      );
      assert.deepEqual(await db.all('SELECT k FROM t'), []);
    } finally {
      await f.dispose();
    }
  });

  it('releases an exclusive lock when the holding node goes away', async () => {
    const f = await postgresFixture();
    try {
      const [a, b] = [f.open(), f.open()];
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let acquired!: () => void;
      const holds = new Promise<void>((r) => {
        acquired = r;
      });
      const holding = a.exclusive('job', async () => {
        acquired();
        await held;
        return 'finished';
      });
      await holds;
      assert.equal(await b.exclusive('job', async () => 'taken'), undefined);
      // End a's session under it: the lock is this fixture's (schema-scoped key), nobody else's.
      await admin.run(
        `SELECT pg_terminate_backend(pid, 5000) FROM pg_locks
         WHERE locktype = 'advisory' AND classid = 24225 AND objid::bigint = (hashtext(? || ':job')::bigint & 4294967295)`,
        [f.schema],
      );
      assert.equal(await b.exclusive('job', async () => 'taken'), 'taken');
      release();
      assert.equal(await holding, 'finished');
    } finally {
      await f.dispose();
    }
  });
});

describe('openDatabase (PostgreSQL)', () => {
  it('opens a postgres:// URL and brings the schema up to date', async () => {
    const schema = `sp_test_${randomBytes(6).toString('hex')}`;
    await admin.run(`CREATE SCHEMA ${schema}`);
    try {
      const db = await openDatabase({ url: urlFor(schema) });
      try {
        assert.equal(db.dialect, 'postgres');
        assert.deepEqual(await db.all('SELECT version FROM schema_migrations ORDER BY version'), ALL_VERSIONS);
        assert.deepEqual(await db.get('SELECT COUNT(*) AS n FROM certificates'), { n: 0 });
      } finally {
        await db.close();
      }
    } finally {
      await admin.run(`DROP SCHEMA ${schema} CASCADE`);
    }
  });
});
