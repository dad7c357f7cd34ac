import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { Row, Sql, SqlValue } from '@sealpost/services';
import {
  backoff,
  closedError,
  exclusiveInTransactionError,
  MAX_ATTEMPTS,
  type StoreDatabase,
  TxScope,
} from './database.ts';
import { messageOf, StoreError } from './errors.ts';
import { BoundedCache, checkParams, fromInt64, type PreparedText, sqliteText } from './sql.ts';

/** How long a writer waits for another process's write lock before SQLite reports SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;
/** An `exclusive` lease: renewed while fn runs, so a crashed holder blocks others for at most this long. */
const LEASE_MS = 60_000;

/** An async mutex: a chain of promises, each holder releasing the next. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  async acquire(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const previous = this.#tail;
    this.#tail = previous.then(() => mine);
    await previous;
    return release;
  }
}

/**
 * One connection runs one transaction at a time, and two connections to the same file in one process
 * must not wait for each other synchronously (SQLite's busy wait blocks the event loop, so the holder
 * could never finish): every connection to a file in this process shares one mutex.
 */
const fileMutexes = new Map<string, { mutex: Mutex; users: number }>();

function mutexFor(path: string): { mutex: Mutex; release: () => void } {
  if (path === ':memory:') return { mutex: new Mutex(), release: () => {} };
  const key = resolve(path);
  let entry = fileMutexes.get(key);
  if (entry === undefined) {
    entry = { mutex: new Mutex(), users: 0 };
    fileMutexes.set(key, entry);
  }
  entry.users++;
  const held = entry;
  return {
    mutex: held.mutex,
    release: () => {
      if (--held.users === 0) fileMutexes.delete(key);
    },
  };
}

// SQLite primary result codes (the low byte of an extended code) and the constraint subcodes.
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_CONSTRAINT = 19;
const UNAVAILABLE_CODES = new Set([
  8, // SQLITE_READONLY
  10, // SQLITE_IOERR
  11, // SQLITE_CORRUPT
  13, // SQLITE_FULL
  14, // SQLITE_CANTOPEN
  26, // SQLITE_NOTADB
]);
const SQLITE_CONSTRAINT_FOREIGNKEY = 787;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;

export function sqliteError(e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  const { code, errcode } = e as { code?: unknown; errcode?: unknown };
  const message = messageOf(e);
  if (code === 'ERR_INVALID_STATE') return new StoreError('UNAVAILABLE', message, { cause: e });
  if (typeof errcode !== 'number') return new StoreError('QUERY_FAILED', message, { cause: e });
  if (errcode === SQLITE_CONSTRAINT_UNIQUE || errcode === SQLITE_CONSTRAINT_PRIMARYKEY) {
    return new StoreError('UNIQUE_VIOLATION', message, { cause: e });
  }
  if (errcode === SQLITE_CONSTRAINT_FOREIGNKEY) return new StoreError('FOREIGN_KEY_VIOLATION', message, { cause: e });
  const primary = errcode & 0xff;
  if (primary === SQLITE_CONSTRAINT) return new StoreError('CONSTRAINT_VIOLATION', message, { cause: e });
  if (primary === SQLITE_BUSY || primary === SQLITE_LOCKED) return new StoreError('CONFLICT', message, { cause: e });
  if (UNAVAILABLE_CODES.has(primary)) return new StoreError('UNAVAILABLE', message, { cause: e });
  return new StoreError('QUERY_FAILED', message, { cause: e });
}

/** node:sqlite binds every JS number as a double; safe integers go as integers, as they do on PostgreSQL. */
function toSqlite(params: readonly SqlValue[]): SQLInputValue[] {
  return params.map((v) => (typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : v));
}

function toRow(raw: Record<string, unknown>): Row {
  const row: Row = {};
  for (const [k, v] of Object.entries(raw)) row[k] = typeof v === 'bigint' ? fromInt64(v) : (v as SqlValue);
  return row;
}

interface Prepared {
  readonly stmt: StatementSync;
  readonly text: PreparedText;
}

/**
 * Opens an SQLite database file (or `:memory:`) as a Database: WAL journal (readers never block the
 * writer), foreign keys enforced, writers waiting up to 5 s for another process's lock. Transactions
 * are BEGIN IMMEDIATE, so a transaction takes the write lock up front and never fails half-way on a
 * lock upgrade.
 */
export function openSqlite(path: string): StoreDatabase {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(
      'CREATE TABLE IF NOT EXISTS sealpost_locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TEXT NOT NULL)',
    );
  } catch (e) {
    const err = sqliteError(e);
    throw new StoreError(
      err.code === 'QUERY_FAILED' ? 'UNAVAILABLE' : err.code,
      `cannot open ${path}: ${err.message}`,
      {
        cause: e,
      },
    );
  }
  return new SqliteDatabase(db, mutexFor(path));
}

class SqliteDatabase implements StoreDatabase {
  readonly dialect = 'sqlite' as const;
  readonly #db: DatabaseSync;
  readonly #mutex: Mutex;
  readonly #releaseMutex: () => void;
  readonly #statements = new BoundedCache<Prepared>(256);
  readonly #scope = new AsyncLocalStorage<TxScope>();
  /** The raw statements, run while this connection's mutex is held. */
  readonly #direct: Sql;
  #closed = false;

  constructor(db: DatabaseSync, mutex: { mutex: Mutex; release: () => void }) {
    this.#db = db;
    this.#mutex = mutex.mutex;
    this.#releaseMutex = mutex.release;
    this.#direct = {
      all: async <T extends Row = Row>(sql: string, params: readonly SqlValue[] = []) =>
        this.#exec(sql, params, (s, p) => s.all(...p).map((r) => toRow(r) as T)),
      get: async <T extends Row = Row>(sql: string, params: readonly SqlValue[] = []) =>
        this.#exec(sql, params, (s, p) => {
          const r = s.get(...p);
          return r === undefined ? undefined : (toRow(r) as T);
        }),
      run: async (sql: string, params: readonly SqlValue[] = []) =>
        this.#exec(sql, params, (s, p) => ({ changes: Number(s.run(...p).changes) })),
    };
  }

  #exec<R>(sql: string, params: readonly SqlValue[], op: (s: StatementSync, p: SQLInputValue[]) => R): R {
    if (this.#closed) throw closedError();
    try {
      const prepared = this.#statements.get(sql, (text) => {
        const stmt = this.#db.prepare(text);
        stmt.setReadBigInts(true);
        return { stmt, text: sqliteText(text) };
      });
      checkParams(prepared.text, params);
      return op(prepared.stmt, toSqlite(params));
    } catch (e) {
      throw sqliteError(e);
    }
  }

  /** A statement outside any transaction: inside one (same async context) it joins it. */
  async #single<R>(inTx: (tx: Sql) => Promise<R>): Promise<R> {
    const scope = this.#scope.getStore();
    if (scope !== undefined) return inTx(scope.sql);
    const release = await this.#mutex.acquire();
    try {
      return await inTx(this.#direct);
    } finally {
      release();
    }
  }

  all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.#single((s) => s.all<T>(sql, params));
  }
  get<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.#single((s) => s.get<T>(sql, params));
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.#single((s) => s.run(sql, params));
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const outer = this.#scope.getStore();
    if (outer !== undefined) return outer.join(fn);
    const release = await this.#mutex.acquire();
    try {
      await this.#begin();
      const scope = new TxScope(this.#direct);
      try {
        const result = await this.#scope.run(scope, () => fn(scope.sql));
        scope.end();
        if (scope.failed) throw scope.failure;
        this.#db.exec('COMMIT');
        return result;
      } catch (e) {
        scope.end();
        if (this.#db.isOpen && this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw e;
      }
    } finally {
      release();
    }
  }

  migrationTransaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    // BEGIN IMMEDIATE already waits for any other writer, migrating or not, to finish.
    return this.transaction(fn);
  }

  /** BEGIN IMMEDIATE, retried when another process holds the write lock beyond the busy timeout. */
  async #begin(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw closedError();
      try {
        this.#db.exec('BEGIN IMMEDIATE');
        return;
      } catch (e) {
        const err = sqliteError(e);
        if (err.code !== 'CONFLICT' || attempt >= MAX_ATTEMPTS) throw err;
      }
      await backoff(attempt);
    }
  }

  /**
   * The lock is a row in `sealpost_locks` (visible to every process using the file) with a lease that
   * is renewed while fn runs; a row whose lease has run out (its holder crashed) is taken over.
   */
  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.#scope.getStore() !== undefined) throw exclusiveInTransactionError();
    const holder = randomUUID();
    const leaseEnd = () => new Date(Date.now() + LEASE_MS).toISOString();
    const taken = await this.run(
      `INSERT INTO sealpost_locks (name, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE sealpost_locks.expires_at < ?`,
      [name, holder, leaseEnd(), new Date().toISOString()],
    );
    if (taken.changes === 0) return undefined;
    const renew = setInterval(() => {
      // A failed renewal is retried at the next tick; the lease outlasts two missed ones.
      this.run('UPDATE sealpost_locks SET expires_at = ? WHERE name = ? AND holder = ?', [
        leaseEnd(),
        name,
        holder,
      ]).catch(() => {});
    }, LEASE_MS / 3);
    renew.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await this.run('DELETE FROM sealpost_locks WHERE name = ? AND holder = ?', [name, holder]);
    }
  }

  async ping(): Promise<void> {
    await this.get('SELECT 1 AS ok');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#scope.getStore() !== undefined) {
      throw new StoreError('QUERY_FAILED', 'close() cannot be called inside a transaction');
    }
    // Wait for the running transaction (if any) so it is not cut off half-way.
    const release = await this.#mutex.acquire();
    try {
      if (this.#closed) return;
      this.#closed = true;
      this.#statements.clear();
      this.#db.close();
      this.#releaseMutex();
    } finally {
      release();
    }
  }
}
