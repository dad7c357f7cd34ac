// The databases the DB-backed service tests run on: SQLite in a temporary directory, and PostgreSQL
// (SEALPOST_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test) in a fresh schema.
// An unreachable PostgreSQL fails the tests rather than skipping them, as the store's own tests do.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../src/ports/database.ts';

interface StoreModule {
  openDatabase(options: { url?: string; dataDir?: string }): Promise<Database>;
  openPostgres(url: string): Database;
}

// Loaded by a computed specifier so that this project's typecheck does not pull in the store's
// sources (the store is a higher layer, built as its own project).
const storeEntry: string = new URL('../../../store/src/index.ts', import.meta.url).href;
const store = (await import(storeEntry)) as StoreModule;

const postgresUrl = process.env['SEALPOST_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  readonly db: Database;
  /** Closes the database and deletes everything it created. */
  dispose(): Promise<void>;
}

export interface TestTarget {
  readonly dialect: 'sqlite' | 'postgres';
  /** A new, migrated, empty database. */
  fresh(): Promise<TestDatabase>;
}

async function freshSqlite(): Promise<TestDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'sealpost-services-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const db = await store.openDatabase({ dataDir: dir }).catch(async (e: unknown) => {
    await cleanup();
    throw e;
  });
  return {
    db,
    dispose: async () => {
      await db.close();
      await cleanup();
    },
  };
}

async function freshPostgres(): Promise<TestDatabase> {
  const schema = `sealpost_test_${randomUUID().replaceAll('-', '')}`;
  const admin = store.openPostgres(postgresUrl);
  const cleanup = async () => {
    try {
      await admin.run(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await admin.close();
    }
  };
  let db: Database;
  try {
    await admin.run(`CREATE SCHEMA ${schema}`);
    const url = `${postgresUrl}${postgresUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    db = await store.openDatabase({ url });
  } catch (e) {
    await cleanup().catch(() => {});
    throw new Error(
      `PostgreSQL at ${postgresUrl} is not usable (set SEALPOST_TEST_DATABASE_URL to a server with trust auth): ${String(e)}`,
      { cause: e },
    );
  }
  return {
    db,
    dispose: async () => {
      await db.close();
      await cleanup();
    },
  };
}

export const targets: readonly TestTarget[] = [
  { dialect: 'sqlite', fresh: freshSqlite },
  { dialect: 'postgres', fresh: freshPostgres },
];
