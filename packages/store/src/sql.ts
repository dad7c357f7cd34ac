import type { SqlValue } from '@sealpost/services';
import { StoreError } from './errors.ts';

/**
 * Finds the `?` placeholders and `;` separators of a statement that lie outside string literals,
 * quoted identifiers and comments — the only places the portable SQL subset may put them.
 */
function scan(sql: string): { placeholders: number[]; separators: number[] } {
  const placeholders: number[] = [];
  const separators: number[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      // '' inside a literal (and "" inside an identifier) is an escaped quote: scanning on past it works.
      const end = sql.indexOf(c, i + 1);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else {
      if (c === '?') placeholders.push(i);
      else if (c === ';') separators.push(i);
      i++;
    }
  }
  return { placeholders, separators };
}

/** A statement ready for one dialect, with the number of parameters it takes. */
export interface PreparedText {
  readonly text: string;
  readonly params: number;
}

/** Keeps `?` (SQLite's own syntax); counts the placeholders so a wrong parameter count is caught. */
export function sqliteText(sql: string): PreparedText {
  return { text: sql, params: scan(sql).placeholders.length };
}

/** Rewrites `?` to PostgreSQL's `$1..$n`. */
export function postgresText(sql: string): PreparedText {
  const { placeholders } = scan(sql);
  let text = '';
  let from = 0;
  placeholders.forEach((at, n) => {
    text += `${sql.slice(from, at)}$${n + 1}`;
    from = at + 1;
  });
  return { text: text + sql.slice(from), params: placeholders.length };
}

/** Splits a script (a migration) into its statements, dropping empty ones. */
export function splitStatements(script: string): string[] {
  const { separators } = scan(script);
  const out: string[] = [];
  let from = 0;
  for (const at of [...separators, script.length]) {
    const stmt = script.slice(from, at).trim();
    if (stmt !== '') out.push(stmt);
    from = at + 1;
  }
  return out;
}

/** Replaces the schema tokens of docs/storage.md with the dialect's types. */
export function translateTokens(script: string, dialect: 'sqlite' | 'postgres'): string {
  return script
    .replaceAll('{{id}}', dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY')
    .replaceAll('{{bytes}}', dialect === 'sqlite' ? 'BLOB' : 'BYTEA');
}

export function checkParams(prepared: PreparedText, params: readonly SqlValue[]): void {
  if (prepared.params !== params.length) {
    throw new StoreError(
      'QUERY_FAILED',
      `the statement has ${prepared.params} placeholder(s) but ${params.length} parameter(s) were given`,
    );
  }
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The integer convention of docs/storage.md: a number when exact, a bigint beyond ±(2^53 − 1). */
export function fromInt64(v: bigint): number | bigint {
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
}

/** A small statement cache: preparing (or translating) once per distinct SQL text. */
export class BoundedCache<V> {
  readonly #map = new Map<string, V>();
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  get(key: string, make: (key: string) => V): V {
    let v = this.#map.get(key);
    if (v === undefined) {
      v = make(key);
      // Map keeps insertion order, so the first key is the oldest entry.
      if (this.#map.size >= this.#limit) this.#map.delete(this.#map.keys().next().value as string);
      this.#map.set(key, v);
    }
    return v;
  }
  clear(): void {
    this.#map.clear();
  }
}
