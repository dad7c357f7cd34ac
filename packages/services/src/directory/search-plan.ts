import type { Filter } from '@sealpost/core/ldap';
import { assertionKey, prepareSubstrings, resolveAssertion, resolveAttribute, type Truth } from './matching.ts';

/**
 * Which users a filter can match, as indexed queries on the search keys of user_profiles. A plan
 * only narrows the candidates: every candidate is then evaluated against the whole filter
 * (matching.ts), so a plan must never leave out a user the filter matches, and SQLite and
 * PostgreSQL return the same entries whatever plan their optimisers pick.
 *
 *   equality / approx on mail, cn, displayName, sn, givenName, uid   one index lookup
 *   substrings with an initial part, greaterOrEqual, lessOrEqual     one index range (byte-order keys only)
 *   AND                                                              the most selective indexable child
 *   OR                                                               the union, when every child is indexable
 *   anything else                                                    a scan of all users in key order
 */

export type KeyColumn = 'mail_key' | 'cn_key' | 'sn_key' | 'given_name_key' | 'uid_key';

const COLUMNS: Readonly<Record<string, KeyColumn>> = {
  mail: 'mail_key',
  cn: 'cn_key',
  displayname: 'cn_key',
  sn: 'sn_key',
  givenname: 'given_name_key',
  uid: 'uid_key',
};

/** The attribute types person entries hold; the container's naming types (ou, dc…) are absent from persons. */
const PERSON_TYPES = new Set([...Object.keys(COLUMNS), 'objectclass', 'usercertificate', 'usersmimecertificate']);
const PERSON_CLASSES = new Set(['top', 'person', 'organizationalperson', 'inetorgperson']);

/** One index range on a key column (at least one bound); equality is `lower` = `upper`, both inclusive. */
export interface KeyRange {
  readonly column: KeyColumn;
  readonly lower?: { readonly value: string; readonly inclusive: boolean };
  readonly upper?: { readonly value: string; readonly inclusive: boolean };
}

export type Plan =
  /** No person can match (FALSE or Undefined for all). */
  | { readonly kind: 'none' }
  /** Any person may match: read them all in key order. */
  | { readonly kind: 'scan' }
  /** The persons in the union of these ranges. */
  | { readonly kind: 'keys'; readonly ranges: readonly KeyRange[] };

export interface PlanOptions {
  /**
   * Whether the database compares the keys in code point (UTF-8 byte) order, as SQLite always and
   * PostgreSQL under the C collation do. Prefix and ordering ranges are only correct then;
   * otherwise those filters scan.
   */
  readonly ranges: boolean;
}

export function planFilter(filter: Filter, options: PlanOptions): Plan {
  const c = constant(filter);
  if (c === 'true') return SCAN;
  if (c !== null) return NONE;
  switch (filter.type) {
    case 'and': {
      let best: { plan: Plan & { kind: 'keys' }; cost: number } | undefined;
      for (const child of filter.filters) {
        if (constant(child) === 'true') continue;
        const plan = planFilter(child, options);
        if (plan.kind === 'none') return NONE;
        if (plan.kind === 'keys') {
          const cost = plan.ranges.reduce((sum, r) => sum + rangeCost(r), 0);
          if (best === undefined || cost < best.cost) best = { plan, cost };
        }
      }
      return best?.plan ?? SCAN;
    }
    case 'or': {
      const ranges = new Map<string, KeyRange>();
      for (const child of filter.filters) {
        const plan = planFilter(child, options);
        if (plan.kind === 'scan') return SCAN;
        if (plan.kind === 'keys') for (const r of plan.ranges) ranges.set(JSON.stringify(r), r);
      }
      return ranges.size === 0 ? NONE : { kind: 'keys', ranges: [...ranges.values()] };
    }
    case 'not':
      return SCAN;
    case 'equality':
    case 'approx': {
      const column = columnOf(filter.attribute);
      const value = column && assertionKey(syntaxOf(column), filter.value);
      if (column === undefined || value === undefined) return SCAN;
      return keys({ column, lower: { value, inclusive: true }, upper: { value, inclusive: true } });
    }
    case 'greaterOrEqual':
    case 'lessOrEqual': {
      const column = columnOf(filter.attribute);
      const value = column && assertionKey(syntaxOf(column), filter.value);
      if (column === undefined || value === undefined || !options.ranges) return SCAN;
      const bound = { value, inclusive: true };
      return keys(filter.type === 'greaterOrEqual' ? { column, lower: bound } : { column, upper: bound });
    }
    case 'substrings': {
      const column = columnOf(filter.attribute);
      const prepared = column && prepareSubstrings(syntaxOf(column), filter);
      if (column === undefined || prepared === undefined || prepared.initial === '' || !options.ranges) return SCAN;
      const next = successor(prepared.initial);
      return keys({
        column,
        lower: { value: prepared.initial, inclusive: true },
        ...(next === undefined ? {} : { upper: { value: next, inclusive: false } }),
      });
    }
    default:
      return SCAN;
  }
}

/** The SQL condition (on `p`, the user_profiles row) for a `keys` plan, with its parameters. */
export function rangesSql(ranges: readonly KeyRange[]): { sql: string; params: string[] } {
  const params: string[] = [];
  const terms = ranges.map((r) => {
    if (r.lower !== undefined && r.upper !== undefined && r.lower.value === r.upper.value) {
      params.push(r.lower.value);
      return `p.${r.column} = ?`;
    }
    const parts: string[] = [];
    if (r.lower !== undefined) {
      parts.push(`p.${r.column} ${r.lower.inclusive ? '>=' : '>'} ?`);
      params.push(r.lower.value);
    }
    if (r.upper !== undefined) {
      parts.push(`p.${r.column} ${r.upper.inclusive ? '<=' : '<'} ?`);
      params.push(r.upper.value);
    }
    return `(${parts.join(' AND ')})`;
  });
  return { sql: terms.length === 1 ? terms[0]! : `(${terms.join(' OR ')})`, params };
}

const NONE: Plan = { kind: 'none' };
const SCAN: Plan = { kind: 'scan' };

function keys(range: KeyRange): Plan {
  return { kind: 'keys', ranges: [range] };
}

function syntaxOf(column: KeyColumn): 'ia5' | 'name' {
  return column === 'mail_key' ? 'ia5' : 'name';
}

function columnOf(description: string): KeyColumn | undefined {
  const a = resolveAttribute(description);
  return a === undefined || a.tagged ? undefined : COLUMNS[a.type.key];
}

/** Lower is better: an address or uid is nearly unique, a name less so, a short prefix matches many. */
function rangeCost(r: KeyRange): number {
  const equality = r.lower !== undefined && r.upper !== undefined && r.lower.value === r.upper.value;
  if (equality) return r.column === 'mail_key' || r.column === 'uid_key' ? 1 : 2;
  if (r.lower !== undefined && r.upper !== undefined) return 8 - Math.min([...r.lower.value].length, 4);
  return 20;
}

/**
 * The filter's value when it is the same for every person entry (an unknown attribute is always
 * Undefined, "(objectClass=person)" always TRUE), else null. Constant parts need no index.
 */
function constant(filter: Filter): Truth | null {
  switch (filter.type) {
    case 'and':
    case 'or': {
      const stop: Truth = filter.type === 'and' ? 'false' : 'true';
      let all: Truth | null = filter.type === 'and' ? 'true' : 'false';
      for (const child of filter.filters) {
        const c = constant(child);
        if (c === stop) return stop;
        if (c === null) all = null;
        else if (c === 'undefined' && all !== null) all = 'undefined';
      }
      return all;
    }
    case 'not': {
      const c = constant(filter.filter);
      return c === 'true' ? 'false' : c === 'false' ? 'true' : c;
    }
    case 'extensible':
      return 'undefined';
    case 'present': {
      const a = resolveAttribute(filter.attribute);
      if (a === undefined) return 'undefined';
      if (a.tagged || !PERSON_TYPES.has(a.type.key)) return 'false';
      return a.type.syntax === 'binary' || a.type.key === 'givenname' ? null : 'true';
    }
    case 'substrings': {
      const a = resolveAttribute(filter.attribute);
      if (a === undefined || prepareSubstrings(a.type.syntax, filter) === undefined) return 'undefined';
      return a.tagged || !PERSON_TYPES.has(a.type.key) ? 'false' : null;
    }
    default: {
      const a = resolveAssertion(filter);
      if (a === undefined) return 'undefined';
      if (a.tagged || !PERSON_TYPES.has(a.type.key)) return 'false';
      if (a.type.syntax === 'objectClass') return PERSON_CLASSES.has(a.key) ? 'true' : 'false';
      return null;
    }
  }
}

/** The least string above every string that starts with `prefix` (code point order), if any. */
function successor(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return points.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}
