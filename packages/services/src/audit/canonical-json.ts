import { ServiceError } from '../errors.ts';

/** Plain JSON data: what audit details may hold. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Deeper nesting than this is refused: audit details are small records, and it also stops cycles. */
const MAX_DEPTH = 32;

/**
 * Canonical JSON in the manner of RFC 8785 (JCS): object members sorted by their keys' UTF-16 code
 * units (§3.2.3), no whitespace, strings escaped as ECMAScript's JSON.stringify does (§3.2.2.2) and
 * numbers written in ECMAScript's shortest round-trip form (§3.2.2.3). Two equal values therefore
 * always give the same bytes, which is what a hash chain needs.
 *
 * Refused with AUDIT_DETAILS_INVALID: non-finite numbers, lone surrogates (not I-JSON, RFC 7493 §2.1),
 * undefined, bigint, functions, symbols, class instances (Date, Uint8Array...), and nesting deeper
 * than 32.
 */
export function canonicalJson(value: unknown): string {
  return write(value, 0, '$');
}

function write(value: unknown, depth: number, path: string): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return writeString(value, path);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) invalid(path, 'is not a finite number');
    // ECMAScript Number-to-string is the RFC 8785 §3.2.2.3 serialization (and -0 becomes 0).
    return JSON.stringify(value);
  }
  if (depth >= MAX_DEPTH) invalid(path, `nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    return `[${value.map((item, i) => write(item, depth + 1, `${path}[${i}]`)).join(',')}]`;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) invalid(path, 'is not a plain object');
    const record = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, exactly the order RFC 8785 §3.2.3 prescribes.
    const keys = Object.keys(record).sort();
    const members = keys.map((k) => `${writeString(k, path)}:${write(record[k], depth + 1, `${path}.${k}`)}`);
    return `{${members.join(',')}}`;
  }
  return invalid(path, `has unsupported type ${typeof value}`);
}

function writeString(s: string, path: string): string {
  if (!s.isWellFormed()) invalid(path, 'contains a lone surrogate');
  return JSON.stringify(s);
}

function invalid(path: string, what: string): never {
  throw new ServiceError('AUDIT_DETAILS_INVALID', `Audit details: ${path} ${what}.`);
}
