import { type Migration, migrations } from '@sealpost/services';
import type { StoreDatabase } from './database.ts';
import { StoreError } from './errors.ts';
import { splitStatements, translateTokens } from './sql.ts';

export interface MigrationResult {
  /** The versions this call applied, in order (empty when the schema was already current). */
  readonly applied: readonly number[];
  /** The schema version after the call. */
  readonly version: number;
}

/**
 * Brings the schema up to date: applies the pending migrations, in order, in one transaction that
 * holds the migration lock — nodes starting together queue on it, and those that come after the
 * first find nothing pending. Refuses a database whose schema is newer than this code knows.
 */
export async function migrate(db: StoreDatabase, list: readonly Migration[] = migrations): Promise<MigrationResult> {
  list.forEach((m, i) => {
    if (!Number.isSafeInteger(m.version) || m.version < 1 || (i > 0 && m.version <= list[i - 1]!.version)) {
      throw new StoreError('INVALID_CONFIG', `migration "${m.name}" is out of order (version ${m.version})`);
    }
  });
  const known = list.at(-1)?.version ?? 0;
  return db.migrationTransaction(async (tx) => {
    await tx.run(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const done = new Set(
      (await tx.all<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version),
    );
    const newest = Math.max(0, ...done);
    if (newest > known) {
      throw new StoreError(
        'INVALID_CONFIG',
        `the database schema is at version ${newest}, newer than this Sealpost knows (${known}); upgrade Sealpost`,
      );
    }
    const applied: number[] = [];
    for (const m of list) {
      if (done.has(m.version)) continue;
      for (const statement of splitStatements(translateTokens(m.up, db.dialect))) await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
      applied.push(m.version);
    }
    return { applied, version: Math.max(newest, ...applied) };
  });
}
