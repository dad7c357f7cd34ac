import { AsyncLocalStorage } from 'node:async_hooks';
import type { Row, Sql, SqlValue } from '@sealpost/services';
import pg from 'pg';
import {
  backoff,
  closedError,
  exclusiveInTransactionError,
  MAX_ATTEMPTS,
  type StoreDatabase,
  TxScope,
} from './database.ts';
import { messageOf, StoreError } from './errors.ts';
import { BoundedCache, checkParams, fromInt64, type PreparedText, postgresText } from './sql.ts';

/** How long to wait for a connection before reporting the database UNAVAILABLE. */
const CONNECT_TIMEOUT_MS = 3000;
/**
 * Advisory locks are per database, not per schema: the key is the two-int form with a fixed first
 * half (0x5EA1), so they stay apart from other applications' locks, and a second half hashed from the
 * schema and name, so deployments sharing a database in different schemas do not block each other.
 */
const lockKey = (name: string) => `24225, hashtext(coalesce(current_schema(), '') || ':' || ${name})`;

const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown (also pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name: the database does not exist
]);
// pg reports a lost or refused connection with these messages rather than a code.
const CONNECTION_LOST =
  /Connection terminated|timeout exceeded when trying to connect|connection error|not queryable|Cannot use a pool after calling end/i;

export function postgresError(e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  const code = (e as { code?: unknown }).code;
  const message = messageOf(e);
  const as = (c: StoreError['code']) => new StoreError(c, message, { cause: e });
  if (typeof code === 'string') {
    if (code === '23505') return as('UNIQUE_VIOLATION');
    if (code === '23503') return as('FOREIGN_KEY_VIOLATION');
    if (code.startsWith('23')) return as('CONSTRAINT_VIOLATION');
    if (code === '40001' || code === '40P01') return as('CONFLICT');
    // Class 08 is "connection exception"; E-codes (ECONNREFUSED, ETIMEDOUT…) come from the socket.
    if (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || /^E[A-Z]+$/.test(code)) return as('UNAVAILABLE');
    return as('QUERY_FAILED');
  }
  return as(CONNECTION_LOST.test(message) ? 'UNAVAILABLE' : 'QUERY_FAILED');
}

/**
 * Result values follow docs/storage.md whatever the column type: int8/numeric integers as number, or
 * bigint beyond ±(2^53 − 1); bool as 1/0; bytea as Uint8Array; everything else (dates, json, uuid…)
 * as its text, since the portable schema keeps times as TEXT anyway.
 */
const byteaParser = pg.types.getTypeParser(pg.types.builtins.BYTEA, 'text');
function parserFor(oid: number): (text: string) => SqlValue {
  switch (oid) {
    case pg.types.builtins.INT2:
    case pg.types.builtins.INT4:
    case pg.types.builtins.OID:
    case pg.types.builtins.FLOAT4:
    case pg.types.builtins.FLOAT8:
      return Number;
    case pg.types.builtins.INT8:
      return (t) => fromInt64(BigInt(t));
    case pg.types.builtins.NUMERIC:
      return (t) => (/^-?\d+$/.test(t) ? fromInt64(BigInt(t)) : Number(t));
    case pg.types.builtins.BOOL:
      return (t) => (t === 't' ? 1 : 0);
    case pg.types.builtins.BYTEA:
      return (t) => new Uint8Array(byteaParser(t) as Buffer);
    default:
      return (t) => t;
  }
}
const types = { getTypeParser: parserFor } as unknown as pg.CustomTypesConfig;

/**
 * Opens a PostgreSQL database (a `postgres://` URL; `?options=-c search_path=…` selects a schema) as a
 * Database over a connection pool. Transactions are SERIALIZABLE — the same guarantee as SQLite's
 * single writer — and retried on serialization failures and deadlocks.
 */
export function openPostgres(url: string): StoreDatabase {
  const pool = new pg.Pool({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    types,
  });
  // An idle connection that dies (server restart, pg_terminate_backend) is already dropped by the pool,
  // which then emits 'error'; without a listener that event would crash the process.
  pool.on('error', () => {});
  return new PostgresDatabase(pool);
}

const statements = new BoundedCache<PreparedText>(256);

class PostgresDatabase implements StoreDatabase {
  readonly dialect = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #scope = new AsyncLocalStorage<TxScope>();
  #closed = false;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /**
   * Checks a client out for `use`. While it is out, its 'error' event (the connection dropped between
   * queries) is recorded instead of crashing the process, and a broken client is destroyed on release
   * rather than handed to the next caller.
   */
  async #withClient<T>(use: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw closedError();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw postgresError(e);
    }
    let broken: Error | undefined;
    const onError = (e: Error) => {
      broken = e;
    };
    client.on('error', onError);
    try {
      return await use(client);
    } catch (e) {
      if (postgresError(e).code === 'UNAVAILABLE') broken ??= e instanceof Error ? e : new Error(messageOf(e));
      throw e;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  #sql(client: pg.PoolClient): Sql {
    const query = async (sql: string, params: readonly SqlValue[] = []): Promise<pg.QueryResult> => {
      const prepared = statements.get(sql, postgresText);
      checkParams(prepared, params);
      try {
        // pg sends bigint as its decimal text and any Uint8Array as bytea.
        return await client.query(prepared.text, [...params]);
      } catch (e) {
        throw postgresError(e);
      }
    };
    return {
      all: async <T extends Row = Row>(sql: string, params?: readonly SqlValue[]) =>
        (await query(sql, params)).rows as T[],
      get: async <T extends Row = Row>(sql: string, params?: readonly SqlValue[]) =>
        (await query(sql, params)).rows[0] as T | undefined,
      run: async (sql: string, params?: readonly SqlValue[]) => ({ changes: (await query(sql, params)).rowCount ?? 0 }),
    };
  }

  /** A statement outside any transaction (autocommit on a pooled client); inside one it joins it. */
  #single<R>(op: (s: Sql) => Promise<R>): Promise<R> {
    const scope = this.#scope.getStore();
    if (scope !== undefined) return op(scope.sql);
    return this.#withClient((client) => op(this.#sql(client)));
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
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#attempt('BEGIN ISOLATION LEVEL SERIALIZABLE', undefined, fn);
      } catch (e) {
        // The whole callback is re-run: it must have no effects outside the database.
        if (!(e instanceof StoreError && e.code === 'CONFLICT') || attempt >= MAX_ATTEMPTS) throw e;
      }
      await backoff(attempt);
    }
  }

  /**
   * READ COMMITTED on purpose: under SERIALIZABLE the snapshot would be taken by the lock statement
   * itself, before the wait, so a node that waited for another's migration would not see its result.
   * The transaction-scoped advisory lock is released by COMMIT or ROLLBACK, or by a dropped connection.
   */
  migrationTransaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    if (this.#scope.getStore() !== undefined) {
      return Promise.reject(new StoreError('QUERY_FAILED', 'migrations cannot run inside a transaction'));
    }
    const lock = `SELECT pg_advisory_xact_lock(${lockKey("'sealpost.migrations'")})`;
    return this.#attempt('BEGIN ISOLATION LEVEL READ COMMITTED', lock, fn);
  }

  #attempt<T>(begin: string, lock: string | undefined, fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.#withClient(async (client) => {
      const direct = this.#sql(client);
      await direct.run(begin);
      const scope = new TxScope(direct);
      try {
        if (lock !== undefined) await direct.run(lock);
        const result = await this.#scope.run(scope, () => fn(scope.sql));
        scope.end();
        if (scope.failed) throw scope.failure;
        await direct.run('COMMIT');
        return result;
      } catch (e) {
        scope.end();
        // A failed ROLLBACK means the connection is gone, and the server rolls back on its own.
        await client.query('ROLLBACK').catch(() => {});
        // Retry decisions look at the database's verdict even if the callback wrapped it.
        throw scope.failed && scope.failure instanceof StoreError && scope.failure.code === 'CONFLICT'
          ? scope.failure
          : e;
      }
    });
  }

  /** A session advisory lock on a client of its own, held while fn runs (its queries use other clients). */
  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.#scope.getStore() !== undefined) throw exclusiveInTransactionError();
    return this.#withClient(async (client) => {
      const sql = this.#sql(client);
      const got = await sql.get<{ ok: number }>(`SELECT pg_try_advisory_lock(${lockKey('?')}) AS ok`, [name]);
      if (got?.ok !== 1) return undefined;
      try {
        return await fn();
      } finally {
        await sql.get(`SELECT pg_advisory_unlock(${lockKey('?')})`, [name]).catch((e: unknown) => {
          // A lost session has released its locks with it (and the pool drops the dead client).
          if (postgresError(e).code !== 'UNAVAILABLE') throw e;
        });
      }
    });
  }

  async ping(): Promise<void> {
    await this.#withClient((client) => this.#sql(client).get('SELECT 1 AS ok'));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}
