/**
 * Search filter evaluation over one entry (RFC 4511 §4.5.1.7), with its three-valued logic: a
 * comparison the entry's attributes cannot answer (an extensible match, ordering on a certificate)
 * is Undefined, and NOT Undefined stays Undefined, so it never turns into a match.
 * The server evaluates filters against the root DSE with it; backends may use it for small
 * directories. Values compare as caseIgnoreMatch (RFC 4518, simplified to case folding and
 * insignificant spaces) except binary types, which compare octet for octet.
 */
import type { Filter, SearchResultEntry } from '@sealpost/core/ldap';
import { describes, parseDescription } from './attributes.ts';

type Truth = boolean | undefined;

/** Types whose values are DER or other bytes, not text. */
const BINARY_TYPES = new Set(['usercertificate', 'cacertificate', 'usersmimecertificate', 'jpegphoto']);

export function matchesFilter(entry: SearchResultEntry, filter: Filter): boolean {
  return evaluate(entry, filter) === true;
}

function evaluate(entry: SearchResultEntry, filter: Filter): Truth {
  switch (filter.type) {
    case 'and': {
      let result: Truth = true;
      for (const f of filter.filters) {
        const r = evaluate(entry, f);
        if (r === false) return false;
        if (r === undefined) result = undefined;
      }
      return result;
    }
    case 'or': {
      let result: Truth = false;
      for (const f of filter.filters) {
        const r = evaluate(entry, f);
        if (r === true) return true;
        if (r === undefined) result = undefined;
      }
      return result;
    }
    case 'not': {
      const r = evaluate(entry, filter.filter);
      return r === undefined ? undefined : !r;
    }
    case 'present':
      return valuesOf(entry, filter.attribute).length > 0;
    case 'equality':
    case 'approx': {
      const binary = isBinary(filter.attribute);
      const wanted = binary ? undefined : normalize(filter.value);
      return valuesOf(entry, filter.attribute).some((v) =>
        binary ? Buffer.compare(v, filter.value) === 0 : normalize(v) === wanted,
      );
    }
    case 'greaterOrEqual':
    case 'lessOrEqual': {
      if (isBinary(filter.attribute)) return undefined;
      const bound = normalize(filter.value);
      return valuesOf(entry, filter.attribute).some((v) => {
        const value = normalize(v);
        return filter.type === 'greaterOrEqual' ? value >= bound : value <= bound;
      });
    }
    case 'substrings': {
      if (isBinary(filter.attribute)) return undefined;
      const { initial, any, final } = filter;
      return valuesOf(entry, filter.attribute).some((v) =>
        substringsMatch(normalize(v), initial && normalize(initial), any.map(normalize), final && normalize(final)),
      );
    }
    case 'extensible':
      return undefined;
  }
}

function substringsMatch(
  value: string,
  initial: string | undefined,
  any: string[],
  final: string | undefined,
): boolean {
  let from = 0;
  let end = value.length;
  if (initial !== undefined) {
    if (!value.startsWith(initial)) return false;
    from = initial.length;
  }
  if (final !== undefined) {
    if (!value.endsWith(final) || value.length - final.length < from) return false;
    end = value.length - final.length;
  }
  for (const part of any) {
    const at = value.indexOf(part, from);
    if (at < 0 || at + part.length > end) return false;
    from = at + part.length;
  }
  return true;
}

function valuesOf(entry: SearchResultEntry, attribute: string): Uint8Array[] {
  const wanted = parseDescription(attribute);
  return entry.attributes.filter((a) => describes(wanted, parseDescription(a.type))).flatMap((a) => [...a.values]);
}

function isBinary(attribute: string): boolean {
  return BINARY_TYPES.has(parseDescription(attribute).type);
}

const decoder = new TextDecoder();

function normalize(value: Uint8Array): string {
  return decoder.decode(value).normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ');
}
