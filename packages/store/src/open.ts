import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreDatabase } from './database.ts';
import { messageOf, StoreError } from './errors.ts';
import { migrate } from './migrate.ts';
import { openPostgres } from './postgres.ts';
import { openSqlite } from './sqlite.ts';

export interface OpenOptions {
  /** A `postgres://` or `postgresql://` URL; without one, SQLite in dataDir. */
  readonly url?: string;
  /** The directory for `sealpost.db` (created, mode 0700, if missing). */
  readonly dataDir?: string;
}

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(options: OpenOptions): Promise<StoreDatabase> {
  const db = openConfigured(options);
  try {
    await migrate(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}

function openConfigured({ url, dataDir }: OpenOptions): StoreDatabase {
  if (url !== undefined) {
    if (/^postgres(ql)?:\/\//i.test(url)) return openPostgres(url);
    throw new StoreError('INVALID_CONFIG', 'the database URL must start with postgres:// or postgresql://');
  }
  if (dataDir === undefined)
    throw new StoreError('INVALID_CONFIG', 'either a database URL or a data directory is needed');
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new StoreError('UNAVAILABLE', `cannot create the data directory ${dataDir}: ${messageOf(e)}`, { cause: e });
  }
  return openSqlite(join(dataDir, 'sealpost.db'));
}
