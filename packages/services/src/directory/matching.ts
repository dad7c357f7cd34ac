import { type Filter, prepareCaseIgnore } from '@sealpost/core/ldap';

/**
 * The directory's schema and LDAP filter evaluation (RFC 4511 §4.5.1.7) with three-valued logic:
 * a filter item is TRUE, FALSE or Undefined, and an entry is returned only when the whole filter is
 * TRUE. Undefined covers what the server cannot decide: an unknown attribute, a matching rule the
 * attribute lacks (substrings of objectClass, equality of a certificate), an assertion value of
 * the wrong syntax. NOT Undefined is Undefined, so "(!(foo=x))" matches nothing either.
 *
 * Values are compared as their matching rule prepares them (RFC 4518): caseIgnoreMatch folds case
 * after NFKC and treats runs of spaces as one, leading and trailing ones as absent; caseIgnoreIA5Match
 * (mail) does the same on ASCII. Entries carry those prepared values (the stored search keys), so
 * matching is string comparison.
 */

export type Truth = 'true' | 'false' | 'undefined';

/** How an attribute's values are matched. `binary` attributes (certificates) only support presence. */
export type Syntax = 'name' | 'ia5' | 'objectClass' | 'binary';

export interface AttributeType {
  /** The name the directory returns values under. */
  readonly name: string;
  /** Lower-case key of the type in entry views. */
  readonly key: string;
  readonly syntax: Syntax;
}

const TYPES: readonly (AttributeType & { readonly aliases: readonly string[] })[] = [
  { name: 'objectClass', key: 'objectclass', syntax: 'objectClass', aliases: ['2.5.4.0'] },
  { name: 'mail', key: 'mail', syntax: 'ia5', aliases: ['rfc822mailbox', '0.9.2342.19200300.100.1.3'] },
  { name: 'cn', key: 'cn', syntax: 'name', aliases: ['commonname', '2.5.4.3'] },
  { name: 'sn', key: 'sn', syntax: 'name', aliases: ['surname', '2.5.4.4'] },
  { name: 'givenName', key: 'givenname', syntax: 'name', aliases: ['gn', '2.5.4.42'] },
  { name: 'displayName', key: 'displayname', syntax: 'name', aliases: ['2.16.840.1.113730.3.1.241'] },
  { name: 'uid', key: 'uid', syntax: 'name', aliases: ['userid', '0.9.2342.19200300.100.1.1'] },
  { name: 'userCertificate;binary', key: 'usercertificate', syntax: 'binary', aliases: ['2.5.4.36'] },
  {
    name: 'userSMIMECertificate;binary',
    key: 'usersmimecertificate',
    syntax: 'binary',
    aliases: ['2.16.840.1.113730.3.1.40'],
  },
  // The container entry's naming attributes (its first RDN).
  { name: 'ou', key: 'ou', syntax: 'name', aliases: ['organizationalunitname', '2.5.4.11'] },
  { name: 'o', key: 'o', syntax: 'name', aliases: ['organizationname', '2.5.4.10'] },
  { name: 'dc', key: 'dc', syntax: 'ia5', aliases: ['domaincomponent', '0.9.2342.19200300.100.1.25'] },
  { name: 'c', key: 'c', syntax: 'name', aliases: ['countryname', '2.5.4.6'] },
  { name: 'l', key: 'l', syntax: 'name', aliases: ['localityname', '2.5.4.7'] },
];

const BY_NAME = new Map<string, AttributeType>();
for (const { aliases, ...type } of TYPES) {
  BY_NAME.set(type.key, type);
  for (const alias of aliases) BY_NAME.set(alias, type);
}

/** Object classes by lower-case name and OID, to their lower-case names. */
const OBJECT_CLASSES = new Map<string, string>();
for (const [name, id] of [
  ['top', '2.5.6.0'],
  ['person', '2.5.6.6'],
  ['organizationalPerson', '2.5.6.7'],
  ['inetOrgPerson', '2.16.840.1.113730.3.2.2'],
  ['organizationalUnit', '2.5.6.5'],
  ['organization', '2.5.6.4'],
  ['domain', '0.9.2342.19200300.100.4.13'],
  ['country', '2.5.6.2'],
  ['locality', '2.5.6.3'],
  ['extensibleObject', '1.3.6.1.4.1.1466.101.120.111'],
] as const) {
  OBJECT_CLASSES.set(name.toLowerCase(), name.toLowerCase());
  OBJECT_CLASSES.set(id, name.toLowerCase());
}

export interface ResolvedAttribute {
  readonly type: AttributeType;
  /**
   * The description has an option the values do not carry (a language tag, or ";binary" on a text
   * attribute): no value matches it. ";binary" on a certificate is the transfer option RFC 4522
   * requires, not a tag.
   */
  readonly tagged: boolean;
}

/** An attribute description (RFC 4512 §2.5: name or OID, then ";option"s), or undefined when unknown. */
export function resolveAttribute(description: string): ResolvedAttribute | undefined {
  const [name = '', ...options] = description.toLowerCase().split(';');
  const type = BY_NAME.get(name);
  if (type === undefined) return undefined;
  const tagged = options.some((o) => !(o === 'binary' && type.syntax === 'binary'));
  return { type, tagged };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of an assertion value, or undefined when it is not UTF-8 (an Undefined match). */
function text(value: Uint8Array): string | undefined {
  try {
    return utf8.decode(value);
  } catch {
    return undefined;
  }
}

const IA5 = /^[\x00-\x7f]*$/;

/** caseIgnoreIA5Match preparation; undefined for a value that is not IA5 (ASCII). */
export function ia5Key(value: string): string | undefined {
  if (!IA5.test(value)) return undefined;
  return value.toLowerCase().replace(/\s+/g, ' ').trim();
}

/** The prepared form of an assertion value under `syntax`, or undefined when it cannot match. */
export function assertionKey(syntax: Syntax, value: Uint8Array): string | undefined {
  const s = text(value);
  if (s === undefined) return undefined;
  switch (syntax) {
    case 'name':
      return prepareCaseIgnore(s);
    case 'ia5':
      return ia5Key(s);
    case 'objectClass':
      return OBJECT_CLASSES.get(s.trim().toLowerCase()) ?? s.trim().toLowerCase();
    case 'binary':
      return undefined;
  }
}

/** An equality, approx or ordering assertion: its attribute and its value prepared as the attribute's values are. */
export interface ResolvedAssertion extends ResolvedAttribute {
  readonly key: string;
}

/**
 * Resolves an attribute value assertion, or undefined when it is Undefined for every entry: an
 * unknown attribute, a certificate (no equality rule), ordering on objectClass, a value of the wrong
 * syntax.
 */
export function resolveAssertion(
  f: Extract<Filter, { type: 'equality' | 'approx' | 'greaterOrEqual' | 'lessOrEqual' }>,
): ResolvedAssertion | undefined {
  const a = resolveAttribute(f.attribute);
  if (a === undefined || a.type.syntax === 'binary') return undefined;
  const ordering = f.type === 'greaterOrEqual' || f.type === 'lessOrEqual';
  if (ordering && a.type.syntax === 'objectClass') return undefined;
  const key = assertionKey(a.type.syntax, f.value);
  return key === undefined ? undefined : { ...a, key };
}

/** A substrings assertion prepared for matching: the inner edges of components keep one space. */
export interface PreparedSubstrings {
  readonly initial: string;
  readonly any: readonly string[];
  readonly final: string;
}

export function prepareSubstrings(
  syntax: Syntax,
  f: Extract<Filter, { type: 'substrings' }>,
): PreparedSubstrings | undefined {
  if (syntax !== 'name' && syntax !== 'ia5') return undefined;
  const prep = (value: Uint8Array | undefined): string | undefined => {
    if (value === undefined) return '';
    const s = text(value);
    if (s === undefined) return undefined;
    if (syntax === 'ia5' && !IA5.test(s)) return undefined;
    return (syntax === 'name' ? s.normalize('NFKC') : s).toLowerCase().replace(/\s+/g, ' ');
  };
  const initial = prep(f.initial)?.trimStart();
  const final = prep(f.final)?.trimEnd();
  const any = f.any.map(prep);
  if (initial === undefined || final === undefined || any.some((a) => a === undefined)) return undefined;
  return { initial, any: any as string[], final };
}

export function matchesSubstrings(value: string, s: PreparedSubstrings): boolean {
  if (!value.startsWith(s.initial)) return false;
  let at = s.initial.length;
  for (const part of s.any) {
    const found = value.indexOf(part, at);
    if (found < 0) return false;
    at = found + part.length;
  }
  return value.length - s.final.length >= at && value.endsWith(s.final);
}

/** Code point order, which is also the byte order of UTF-8 (JavaScript's `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** An entry as filters see it: prepared values by attribute key, certificates by presence. */
export interface EntryView {
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly hasCertificate: boolean;
}

/** Whether `filter` holds for the entry (RFC 4511 §4.5.1.7). */
export function evaluate(filter: Filter, entry: EntryView): Truth {
  switch (filter.type) {
    case 'and': {
      let result: Truth = 'true';
      for (const f of filter.filters) {
        const t = evaluate(f, entry);
        if (t === 'false') return 'false';
        if (t === 'undefined') result = 'undefined';
      }
      return result;
    }
    case 'or': {
      let result: Truth = 'false';
      for (const f of filter.filters) {
        const t = evaluate(f, entry);
        if (t === 'true') return 'true';
        if (t === 'undefined') result = 'undefined';
      }
      return result;
    }
    case 'not': {
      const t = evaluate(filter.filter, entry);
      return t === 'true' ? 'false' : t === 'false' ? 'true' : 'undefined';
    }
    case 'present': {
      const a = resolveAttribute(filter.attribute);
      if (a === undefined) return 'undefined';
      return truth(!a.tagged && present(a.type, entry));
    }
    case 'equality':
    case 'approx':
    case 'greaterOrEqual':
    case 'lessOrEqual': {
      const a = resolveAssertion(filter);
      if (a === undefined) return 'undefined';
      if (a.tagged) return 'false';
      const values = entry.values.get(a.type.key) ?? [];
      if (filter.type === 'greaterOrEqual') return truth(values.some((v) => compareCodePoints(v, a.key) >= 0));
      if (filter.type === 'lessOrEqual') return truth(values.some((v) => compareCodePoints(v, a.key) <= 0));
      return truth(values.includes(a.key));
    }
    case 'substrings': {
      const a = resolveAttribute(filter.attribute);
      if (a === undefined) return 'undefined';
      const prepared = prepareSubstrings(a.type.syntax, filter);
      if (prepared === undefined) return 'undefined';
      if (a.tagged) return 'false';
      return truth((entry.values.get(a.type.key) ?? []).some((v) => matchesSubstrings(v, prepared)));
    }
    case 'extensible':
      // No extensible matching rules are implemented: the server cannot decide (§4.5.1.7.7).
      return 'undefined';
  }
}

function present(type: AttributeType, entry: EntryView): boolean {
  if (type.syntax === 'binary') return entry.hasCertificate;
  return (entry.values.get(type.key)?.length ?? 0) > 0;
}

function truth(b: boolean): Truth {
  return b ? 'true' : 'false';
}
