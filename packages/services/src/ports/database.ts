export type SqlValue = string | number | bigint | Uint8Array | null;
export type Row = Record<string, SqlValue>;
export interface Sql {
  /** `?` placeholders, portable SQL (see docs/storage.md). */
  all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}
export interface Database extends Sql {
  readonly dialect: 'sqlite' | 'postgres';
  /** All-or-nothing; retried on serialization failures; nested calls join the outer transaction. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Runs fn only if no other process (node) holds `name`; returns undefined when skipped. */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
