import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { migrations } from '@sealpost/services';
import { isStoreError, openDatabase, openSqlite, type StoreDatabase } from '@sealpost/store';
import { databaseContract, type StoreFixture } from './contract.ts';

/** Every migration version the schema has, in order. */
const ALL_VERSIONS = migrations.map((m) => ({ version: m.version }));

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sealpost-store-'));
  dirs.push(dir);
  return dir;
}

async function sqliteFixture(): Promise<StoreFixture & { path: string }> {
  const dir = await tempDir();
  const path = join(dir, 'test.db');
  const opened: StoreDatabase[] = [];
  return {
    path,
    open: () => {
      const db = openSqlite(path);
      opened.push(db);
      return db;
    },
    dispose: async () => {
      await Promise.all(opened.map((db) => db.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('SQLite adapter', () => {
  databaseContract(sqliteFixture);

  it('opens in WAL mode with foreign keys enforced', async () => {
    const f = await sqliteFixture();
    try {
      const db = f.open();
      assert.deepEqual(await db.get('PRAGMA journal_mode'), { journal_mode: 'wal' });
      assert.deepEqual(await db.get('PRAGMA foreign_keys'), { foreign_keys: 1 });
    } finally {
      await f.dispose();
    }
  });

  it('works in memory', async () => {
    const db = openSqlite(':memory:');
    try {
      assert.equal(db.dialect, 'sqlite');
      await db.run('CREATE TABLE t (k TEXT)');
      await db.transaction((tx) => tx.run("INSERT INTO t VALUES ('x')"));
      assert.deepEqual(await db.all('SELECT k FROM t'), [{ k: 'x' }]);
    } finally {
      await db.close();
    }
  });

  it('excludes another process using the same file', async () => {
    const f = await sqliteFixture();
    const child = () =>
      promisify(execFile)(process.execPath, [join(import.meta.dirname, 'support/exclusive-child.ts'), f.path, 'job']);
    try {
      const db = f.open();
      const inside = await db.exclusive('job', async () => (await child()).stdout);
      assert.equal(inside, 'skipped');
      assert.equal((await child()).stdout, 'ran');
    } finally {
      await f.dispose();
    }
  });

  it('takes over a lock whose holder crashed once its lease ran out', async () => {
    const f = await sqliteFixture();
    try {
      const db = f.open();
      const expired = '2000-01-01T00:00:00.000Z';
      const alive = '2999-01-01T00:00:00.000Z';
      await db.run('INSERT INTO sealpost_locks (name, holder, expires_at) VALUES (?, ?, ?), (?, ?, ?)', [
        'dead',
        'crashed',
        expired,
        'live',
        'elsewhere',
        alive,
      ]);
      assert.equal(await db.exclusive('dead', async () => 'taken over'), 'taken over');
      assert.equal(await db.exclusive('live', async () => 'taken over'), undefined);
      assert.deepEqual(await db.all('SELECT name FROM sealpost_locks'), [{ name: 'live' }]);
    } finally {
      await f.dispose();
    }
  });

  it('reports a file it cannot open as UNAVAILABLE', async () => {
    const dir = await tempDir();
    assert.throws(
      () => openSqlite(join(dir, 'missing', 'test.db')),
      (e) => isStoreError(e, 'UNAVAILABLE'),
    );
  });
});

describe('openDatabase (SQLite)', () => {
  it('creates the data directory (0700) and a migrated sealpost.db in it', async () => {
    const dataDir = join(await tempDir(), 'data');
    const db = await openDatabase({ dataDir });
    try {
      assert.equal(db.dialect, 'sqlite');
      assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
      assert.ok((await stat(join(dataDir, 'sealpost.db'))).isFile());
      assert.deepEqual(await db.all('SELECT version FROM schema_migrations ORDER BY version'), ALL_VERSIONS);
    } finally {
      await db.close();
    }
    // Reopening finds the schema current.
    const again = await openDatabase({ dataDir });
    await again.close();
  });

  it('rejects a URL that is not PostgreSQL, and a missing data directory', async () => {
    await assert.rejects(openDatabase({ url: 'mysql://localhost/x' }), (e) => isStoreError(e, 'INVALID_CONFIG'));
    await assert.rejects(openDatabase({}), (e) => isStoreError(e, 'INVALID_CONFIG'));
  });
});
