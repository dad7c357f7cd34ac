// The behaviour every Database adapter must share, run against SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Migration, migrations, type Sql } from '@sealpost/services';
import { isStoreError, migrate, type StoreDatabase, type StoreErrorCode } from '@sealpost/store';

/** Every migration version the schema has, in order. */
const ALL_VERSIONS = migrations.map((m) => ({ version: m.version }));
const VERSIONS = migrations.map((m) => m.version);
const LATEST = VERSIONS.at(-1);

/** An empty store of its own; every `open()` is another node (connection pool, file handle) on it. */
export interface StoreFixture {
  open(): StoreDatabase;
  /** Closes what open() returned and removes the store. */
  dispose(): Promise<void>;
}

export type FixtureFactory = () => Promise<StoreFixture>;

async function withStore(factory: FixtureFactory, body: (f: StoreFixture) => Promise<void>): Promise<void> {
  const fixture = await factory();
  try {
    await body(fixture);
  } finally {
    await fixture.dispose();
  }
}

async function rejectsWith(p: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isStoreError(e, code), `expected StoreError ${code}, got ${String(e)}`);
    return true;
  });
}

const VALUES_TABLE = `CREATE TABLE vals (
  id {{id}},
  s TEXT,
  i INTEGER,
  big BIGINT,
  f DOUBLE PRECISION,
  b {{bytes}}
)`;

const COUNTER = [
  { version: 1, name: 'counter', up: 'CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)' },
];

async function withTable(db: StoreDatabase, ...extra: Migration[]): Promise<void> {
  await migrate(db, [{ version: 1, name: 'vals', up: VALUES_TABLE }, ...extra]);
}

export function databaseContract(factory: FixtureFactory): void {
  describe('values', () => {
    it('round-trips every SqlValue type, NULLs and unicode', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        await withTable(db);
        const bytes = new Uint8Array(256).map((_, i) => i);
        const rows = [
          { s: 'Grüße, 世界 🔏 \'quoted\' "double" ? ;', i: 2147483647, big: 2n ** 63n - 1n, f: 1.5, b: bytes },
          { s: '', i: -2147483648, big: -(2n ** 63n), f: -0.25, b: new Uint8Array(0) },
          { s: 'safe', i: 0, big: Number.MAX_SAFE_INTEGER, f: 1e300, b: new Uint8Array([0]) },
          { s: null, i: null, big: null, f: null, b: null },
        ];
        for (const r of rows) {
          const inserted = await db.get<{ id: number }>(
            'INSERT INTO vals (s, i, big, f, b) VALUES (?, ?, ?, ?, ?) RETURNING id',
            [r.s, r.i, r.big, r.f, r.b],
          );
          assert.equal(typeof inserted?.id, 'number');
        }
        const back = await db.all('SELECT s, i, big, f, b FROM vals ORDER BY id');
        assert.deepEqual(back, rows);
        for (const row of back) if (row.b !== null) assert.ok(row.b instanceof Uint8Array);
        // 2^53 is the first integer a number cannot hold exactly: it must come back as a bigint.
        await db.run('UPDATE vals SET big = ? WHERE s = ?', [2n ** 53n, 'safe']);
        assert.deepEqual(await db.get('SELECT big FROM vals WHERE s = ?', ['safe']), { big: 2n ** 53n });
      }));

    it('get returns undefined for no row, run reports changes, aggregates are numbers', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        await withTable(db);
        assert.equal(await db.get('SELECT s FROM vals WHERE id = ?', [1]), undefined);
        assert.deepEqual(await db.all('SELECT s FROM vals'), []);
        await db.run("INSERT INTO vals (s) VALUES ('a'), ('b'), ('c')");
        assert.deepEqual(await db.run('UPDATE vals SET i = ? WHERE s <> ?', [7, 'a']), { changes: 2 });
        assert.deepEqual(await db.run('DELETE FROM vals WHERE s = ?', ['zzz']), { changes: 0 });
        assert.deepEqual(await db.get('SELECT COUNT(*) AS n, SUM(i) AS total FROM vals'), { n: 3, total: 14 });
      }));

    it('keeps ? inside string literals, identifiers and comments as text', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        await withTable(db);
        await db.run("INSERT INTO vals (s) VALUES ('what?') -- really?\n");
        const row = await db.get("SELECT s, \"i\" /* ? */ FROM vals WHERE s = ? OR s = 'it''s?'", ['what?']);
        assert.deepEqual(row, { s: 'what?', i: null });
      }));

    it('reports a wrong parameter count and invalid SQL as QUERY_FAILED', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        await withTable(db);
        await rejectsWith(db.get('SELECT s FROM vals WHERE id = ?'), 'QUERY_FAILED');
        await rejectsWith(db.get('SELECT s FROM vals WHERE id = ?', [1, 2]), 'QUERY_FAILED');
        await rejectsWith(db.run('SELEC nothing'), 'QUERY_FAILED');
        await rejectsWith(db.run('SELECT * FROM no_such_table'), 'QUERY_FAILED');
      }));
  });

  describe('constraint errors', () => {
    it('maps unique, foreign key, NOT NULL and CHECK violations of the real schema to typed codes', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        await migrate(db);
        const at = '2026-12-03T06:55:00.000Z';
        await db.run('INSERT INTO users (id, email, display_name, status, created_at) VALUES (?, ?, ?, ?, ?)', [
          'u1',
          'ada@example.org',
          'Ada',
          'active',
          at,
        ]);
        await rejectsWith(
          db.run('INSERT INTO users (id, email, display_name, status, created_at) VALUES (?, ?, ?, ?, ?)', [
            'u2',
            'ada@example.org',
            'Ada 2',
            'active',
            at,
          ]),
          'UNIQUE_VIOLATION',
        );
        await db.run('INSERT INTO data_keys (id, wrapped_key, master_key_id, created_at) VALUES (?, ?, ?, ?)', [
          'dk',
          new Uint8Array([1]),
          'mk',
          at,
        ]);
        await db.run(
          'INSERT INTO secrets (id, data_key_id, nonce, ciphertext, aad, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          ['s1', 'dk', new Uint8Array(12), new Uint8Array([9]), new Uint8Array(0), at],
        );
        await db.run(
          'INSERT INTO cas (id, name, certificate, key_secret_id, status, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          ['ca', 'Issuing CA', new Uint8Array([0x30]), 's1', 'active', at],
        );
        const issue = (id: string, serial: string, ca = 'ca') =>
          db.run(
            `INSERT INTO certificates (id, serial, ca_id, user_id, template, der, not_before, not_after, status, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [id, serial, ca, 'u1', 'smime', new Uint8Array([0x30]), at, at, 'valid', at],
          );
        await issue('c1', '01ab');
        // Serial uniqueness across nodes rests on this: a duplicate serial is a recognisable error.
        await rejectsWith(issue('c2', '01ab'), 'UNIQUE_VIOLATION');
        await rejectsWith(issue('c3', '02ab', 'no-such-ca'), 'FOREIGN_KEY_VIOLATION');
        await rejectsWith(
          db.run('INSERT INTO users (id, email, display_name, status, created_at) VALUES (?, ?, NULL, ?, ?)', [
            'u3',
            'b@example.org',
            'active',
            at,
          ]),
          'CONSTRAINT_VIOLATION',
        );
        await rejectsWith(
          db.run('INSERT INTO users (id, email, display_name, status, created_at) VALUES (?, ?, ?, ?, ?)', [
            'u4',
            'c@example.org',
            'C',
            'sleeping',
            at,
          ]),
          'CONSTRAINT_VIOLATION',
        );
      }));
  });

  describe('transactions', () => {
    it('commits, and rolls back everything (nested calls included) when the callback throws', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        await withTable(db);
        const result = await db.transaction(async (tx) => {
          await tx.run("INSERT INTO vals (s) VALUES ('kept')");
          return 'done';
        });
        assert.equal(result, 'done');
        const boom = new Error('boom');
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.run("INSERT INTO vals (s) VALUES ('outer')");
            await db.transaction(async (inner) => {
              await inner.run("INSERT INTO vals (s) VALUES ('inner')");
              // The nested call joined the outer transaction: it sees the outer's uncommitted row.
              assert.deepEqual(await inner.get("SELECT COUNT(*) AS n FROM vals WHERE s = 'outer'"), { n: 1 });
            });
            throw boom;
          }),
          (e) => e === boom,
        );
        assert.deepEqual(await db.all('SELECT s FROM vals ORDER BY id'), [{ s: 'kept' }]);
      }));

    it('routes db calls made inside the callback through the transaction', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        await withTable(db);
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.run("INSERT INTO vals (s) VALUES ('a')");
            assert.deepEqual(await db.get('SELECT s FROM vals'), { s: 'a' });
            await db.run("INSERT INTO vals (s) VALUES ('b')");
            throw new Error('undo');
          }),
          /undo/,
        );
        assert.deepEqual(await db.all('SELECT s FROM vals'), []);
      }));

    it('dooms the transaction once a statement failed, even if the callback swallowed the error', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        await migrate(db, [{ version: 1, name: 'u', up: 'CREATE TABLE u (k TEXT PRIMARY KEY)' }]);
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.run("INSERT INTO u (k) VALUES ('x')");
            await tx.run("INSERT INTO u (k) VALUES ('x')").catch(() => {});
            await rejectsWith(tx.run("INSERT INTO u (k) VALUES ('y')"), 'QUERY_FAILED');
          }),
          (e) => isStoreError(e, 'UNIQUE_VIOLATION'),
        );
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.run("INSERT INTO u (k) VALUES ('z')");
            await db.transaction(async () => Promise.reject(new Error('nested failed'))).catch(() => {});
          }),
          /nested failed/,
        );
        assert.deepEqual(await db.all('SELECT k FROM u'), []);
      }));

    it('refuses the transaction handle after the transaction ended', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        await withTable(db);
        let leaked: Sql | undefined;
        await db.transaction(async (tx) => {
          leaked = tx;
        });
        await rejectsWith(leaked!.run("INSERT INTO vals (s) VALUES ('late')"), 'QUERY_FAILED');
      }));

    it('loses no update when 20 read-modify-write transactions race on two nodes', () =>
      withStore(factory, async (f) => {
        const [a, b] = [f.open(), f.open()];
        await migrate(a, COUNTER);
        await a.run('INSERT INTO counter (id, n) VALUES (1, 0)');
        const increment = (db: StoreDatabase) =>
          db.transaction(async (tx) => {
            const row = await tx.get<{ n: number }>('SELECT n FROM counter WHERE id = 1');
            // Yield between read and write so the transactions really interleave.
            await new Promise((r) => setImmediate(r));
            await tx.run('UPDATE counter SET n = ? WHERE id = 1', [row!.n + 1]);
          });
        await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 === 0 ? a : b)));
        assert.deepEqual(await b.get('SELECT n FROM counter WHERE id = 1'), { n: 20 });
      }));
  });

  describe('exclusive', () => {
    it('runs fn for one holder at a time across nodes, and releases on return and on throw', () =>
      withStore(factory, async (f) => {
        const [a, b] = [f.open(), f.open()];
        await a.ping();
        let ran = 0;
        const result = await a.exclusive('crl', async () => {
          assert.equal(await b.exclusive('crl', async () => ran++), undefined);
          assert.equal(await a.exclusive('crl', async () => ran++), undefined);
          // Another name is another lock.
          assert.equal(await b.exclusive('ocsp', async () => 'other'), 'other');
          return 'held';
        });
        assert.equal(result, 'held');
        assert.equal(ran, 0);
        await assert.rejects(
          b.exclusive('crl', async () => {
            throw new Error('job failed');
          }),
          /job failed/,
        );
        assert.equal(await a.exclusive('crl', async () => 'again'), 'again');
      }));

    it('refuses to run inside a transaction', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        await assert.rejects(
          db.transaction(() => db.exclusive('x', async () => 1)),
          (e) => isStoreError(e, 'QUERY_FAILED'),
        );
      }));
  });

  describe('migrations', () => {
    it('applies the schema once and is idempotent', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        assert.deepEqual(await migrate(db), { applied: VERSIONS, version: LATEST });
        assert.deepEqual(await migrate(db), { applied: [], version: LATEST });
        const tables = ['users', 'certificates', 'secrets', 'audit_log', 'jobs', 'trust_anchors', 'recovery_requests'];
        for (const t of tables) assert.deepEqual(await db.get(`SELECT COUNT(*) AS n FROM ${t}`), { n: 0 });
        // {{id}} became an auto-increment key.
        const first = await db.get(
          'INSERT INTO audit_log (at, actor, action, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq',
          ['2026-12-03T06:55:00.000Z', 'system', 'init', '{}', '0', 'h1'],
        );
        assert.deepEqual(first, { seq: 1 });
      }));

    it('applies only what is pending, and refuses a schema newer than the code', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        const v1: Migration = {
          version: 1,
          name: 'one',
          up: 'CREATE TABLE one (k TEXT); CREATE INDEX one_k ON one (k);',
        };
        const v2: Migration = { version: 2, name: 'two', up: "CREATE TABLE two (k TEXT DEFAULT 'a;b')" };
        assert.deepEqual(await migrate(db, [v1]), { applied: [1], version: 1 });
        assert.deepEqual(await migrate(db, [v1, v2]), { applied: [2], version: 2 });
        await rejectsWith(migrate(db, [v1]), 'INVALID_CONFIG');
        await rejectsWith(migrate(db, [v2, v1]), 'INVALID_CONFIG');
      }));

    it('rolls back a failing migration entirely', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        const bad: Migration = {
          version: 1,
          name: 'bad',
          up: 'CREATE TABLE half (k TEXT); CREATE TABLE half (k TEXT)',
        };
        await rejectsWith(migrate(db, [bad]), 'QUERY_FAILED');
        await rejectsWith(db.get('SELECT COUNT(*) AS n FROM half'), 'QUERY_FAILED');
        assert.deepEqual(await migrate(db, [{ version: 1, name: 'good', up: 'CREATE TABLE half (k TEXT)' }]), {
          applied: [1],
          version: 1,
        });
      }));

    it('lets two nodes migrate at once: one applies, the other waits and finds nothing pending', () =>
      withStore(factory, async (f) => {
        const [a, b] = [f.open(), f.open()];
        await Promise.all([a.ping(), b.ping()]);
        const results = await Promise.all([migrate(a), migrate(b)]);
        assert.deepEqual(results.map((r) => r.applied).sort(), [[], VERSIONS]);
        assert.deepEqual(
          results.map((r) => r.version),
          [LATEST, LATEST],
        );
        assert.deepEqual(await a.all('SELECT version FROM schema_migrations ORDER BY version'), ALL_VERSIONS);
      }));
  });

  describe('lifecycle', () => {
    it('pings, and reports UNAVAILABLE once closed', () =>
      withStore(factory, async (f) => {
        const db = f.open();
        await db.ping();
        await db.close();
        await db.close();
        await rejectsWith(db.ping(), 'UNAVAILABLE');
        await rejectsWith(db.get('SELECT 1 AS one'), 'UNAVAILABLE');
        await rejectsWith(
          db.transaction(async () => 1),
          'UNAVAILABLE',
        );
      }));
  });
}
