/**
 * @sealpost/store — storage adapters for the Sealpost server: SQLite (node:sqlite) and PostgreSQL (pg)
 * implementing the database port of @sealpost/services, and the schema migrations runner.
 */
export type { StoreDatabase } from './database.ts';
export { isStoreError, STORE_ERROR_CODES, StoreError, type StoreErrorCode } from './errors.ts';
export { loadMasterKey, type MasterKeySource } from './master-key-file.ts';
export { type MigrationResult, migrate } from './migrate.ts';
export { type OpenOptions, openDatabase } from './open.ts';
export { openPostgres } from './postgres.ts';
export { openSqlite } from './sqlite.ts';
