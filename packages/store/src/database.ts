import { setTimeout as sleep } from 'node:timers/promises';
import type { Database, Row, Sql, SqlValue } from '@sealpost/services';
import { StoreError } from './errors.ts';

/** A Database as the store's adapters make it: the port plus the blocking lock that migrations need. */
export interface StoreDatabase extends Database {
  /**
   * Runs fn in a transaction that first waits for (rather than skips on) the cluster-wide migration
   * lock, and whose reads see whatever the previous holder committed. Not retried.
   */
  migrationTransaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
}

/**
 * One open transaction. Its `sql` handle refuses use after the transaction ended, and once a statement
 * (or a nested transaction) has failed, the whole transaction is doomed: later statements are refused
 * and the transaction rolls back even if the callback swallowed the error. That is PostgreSQL's
 * behaviour, made the rule on SQLite too so services behave the same on both.
 */
export class TxScope {
  readonly sql: Sql;
  #ended = false;
  #failed = false;
  #failure: unknown;

  constructor(inner: Sql) {
    this.sql = {
      all: <T extends Row = Row>(sql: string, params?: readonly SqlValue[]) =>
        this.#guard(() => inner.all<T>(sql, params)),
      get: <T extends Row = Row>(sql: string, params?: readonly SqlValue[]) =>
        this.#guard(() => inner.get<T>(sql, params)),
      run: (sql: string, params?: readonly SqlValue[]) => this.#guard(() => inner.run(sql, params)),
    };
  }

  get failed(): boolean {
    return this.#failed;
  }
  get failure(): unknown {
    return this.#failure;
  }

  fail(e: unknown): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#failure = e;
    }
  }

  end(): void {
    this.#ended = true;
  }

  /** A nested transaction call: it simply runs inside this one; its failure dooms this one. */
  async join<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    try {
      return await fn(this.sql);
    } catch (e) {
      this.fail(e);
      throw e;
    }
  }

  async #guard<T>(op: () => Promise<T>): Promise<T> {
    if (this.#ended) {
      throw new StoreError(
        'QUERY_FAILED',
        'the transaction has already ended; use its handle only inside the callback',
      );
    }
    if (this.#failed) {
      throw new StoreError('QUERY_FAILED', 'an earlier statement failed, so this transaction will roll back', {
        cause: this.#failure,
      });
    }
    try {
      return await op();
    } catch (e) {
      this.fail(e);
      throw e;
    }
  }
}

export const MAX_ATTEMPTS = 12;

/** Full-jitter exponential backoff between retries, so colliding transactions spread out. */
export function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(1000, 5 * 2 ** attempt);
  return sleep(Math.random() * ceiling);
}

export function closedError(): StoreError {
  return new StoreError('UNAVAILABLE', 'the database has been closed');
}

export function exclusiveInTransactionError(): StoreError {
  return new StoreError('QUERY_FAILED', 'exclusive() cannot be called inside a transaction');
}
