/**
 * Search filters: the RFC 4515 string form (parse, format) and the RFC 4511 §4.5.1.7 BER form
 * (encode, decode). Both readers enforce the same depth and component limits, and both recurse only
 * after checking depth, so a hostile filter fails with LDAP_LIMIT long before the stack is at risk.
 */
import type { Asn1 } from '../asn1/der.ts';
import { octets, seq, tlv } from '../asn1/encode.ts';
import { fail } from '../errors.ts';
import { expectTag, type LdapLimits, limitsOf, malformed, optional, readBool, readBytes, readText } from './ber.ts';
import type { Filter } from './messages.ts';

type Leaf = Extract<Filter, { attribute: string; value: Uint8Array }>;

const AVA_TAG = { equality: 0xa3, greaterOrEqual: 0xa5, lessOrEqual: 0xa6, approx: 0xa8 } as const;
const AVA_TYPE: Record<number, Leaf['type']> = { 3: 'equality', 5: 'greaterOrEqual', 6: 'lessOrEqual', 8: 'approx' };
const AVA_OP = { equality: '=', greaterOrEqual: '>=', lessOrEqual: '<=', approx: '~=' } as const;

const text = (s: string) => Buffer.from(s, 'utf8');

function limitDepth(depth: number, limits: LdapLimits): void {
  if (depth > limits.maxFilterDepth)
    fail('LDAP_LIMIT', `search filter nested deeper than ${limits.maxFilterDepth} levels`);
}

function limitCount(count: number, limits: LdapLimits): void {
  if (count > limits.maxFilterElements) {
    fail('LDAP_LIMIT', `search filter has more than ${limits.maxFilterElements} components`);
  }
}

// ---------------------------------------------------------------- BER (RFC 4511 §4.5.1)

/** The BER encoding of a filter, as it appears inside a SearchRequest. */
export function encodeFilter(f: Filter): Buffer {
  switch (f.type) {
    case 'and':
      return tlv(0xa0, ...f.filters.map(encodeFilter));
    case 'or':
      return tlv(0xa1, ...f.filters.map(encodeFilter));
    case 'not':
      return tlv(0xa2, encodeFilter(f.filter));
    case 'equality':
    case 'greaterOrEqual':
    case 'lessOrEqual':
    case 'approx':
      // AttributeValueAssertion ::= SEQUENCE { attributeDesc AttributeDescription, assertionValue OCTET STRING }
      return tlv(AVA_TAG[f.type], octets(text(f.attribute)), octets(f.value));
    case 'substrings': {
      // SubstringFilter ::= SEQUENCE { type AttributeDescription,
      //      substrings SEQUENCE SIZE (1..MAX) OF substring CHOICE { initial [0], any [1], final [2] } }
      const parts = [
        ...(f.initial ? [tlv(0x80, f.initial)] : []),
        ...f.any.map((a) => tlv(0x81, a)),
        ...(f.final ? [tlv(0x82, f.final)] : []),
      ];
      if (parts.length === 0) fail('INVALID_ARGUMENT', 'a substrings filter needs an initial, any or final part');
      return tlv(0xa4, octets(text(f.attribute)), seq(...parts));
    }
    case 'present':
      return tlv(0x87, text(f.attribute));
    case 'extensible':
      // MatchingRuleAssertion ::= SEQUENCE { matchingRule [1] MatchingRuleId OPTIONAL,
      //      type [2] AttributeDescription OPTIONAL, matchValue [3] AssertionValue,
      //      dnAttributes [4] BOOLEAN DEFAULT FALSE }
      if (f.matchingRule === undefined && f.attribute === undefined) {
        fail('INVALID_ARGUMENT', 'an extensible match needs a matching rule or an attribute');
      }
      return tlv(
        0xa9,
        ...(f.matchingRule !== undefined ? [tlv(0x81, text(f.matchingRule))] : []),
        ...(f.attribute !== undefined ? [tlv(0x82, text(f.attribute))] : []),
        tlv(0x83, f.value),
        ...(f.dnAttributes ? [Buffer.from([0x84, 0x01, 0xff])] : []),
      );
  }
}

/** Reads a Filter element decoded by `decodeBer`; `limits` bound its depth and size. */
export function decodeFilter(root: Asn1, limits: LdapLimits): Filter {
  let count = 0;
  const walk = (el: Asn1, depth: number): Filter => {
    limitDepth(depth, limits);
    limitCount(++count, limits);
    if (el.cls !== 2) malformed(`search filter: expected a context tag, found 0x${el.tag.toString(16)}`);
    const n = el.tagNumber;
    switch (n) {
      case 0:
      case 1: {
        expectTag(el, 0xa0 | n, n === 0 ? 'and filter' : 'or filter');
        // Children are counted as they are read; check the count first so a wide SET fails fast.
        limitCount(count + el.children.length, limits);
        const filters = el.children.map((c) => walk(c, depth + 1));
        return { type: n === 0 ? 'and' : 'or', filters };
      }
      case 2:
        expectTag(el, 0xa2, 'not filter');
        if (el.children.length !== 1) malformed('search filter: not must hold exactly one filter');
        return { type: 'not', filter: walk(el.children[0]!, depth + 1) };
      case 3:
      case 5:
      case 6:
      case 8: {
        const type = AVA_TYPE[n]!;
        expectTag(el, 0xa0 | n, `${type} filter`);
        return {
          type,
          attribute: readText(el.children[0], `${type} filter attribute`),
          value: readBytes(el.children[1], `${type} filter value`),
        };
      }
      case 4:
        return readSubstrings(expectTag(el, 0xa4, 'substrings filter'));
      case 7:
        return { type: 'present', attribute: readText(el, 'present filter attribute', 0x87) };
      case 9:
        return readExtensible(expectTag(el, 0xa9, 'extensible filter'));
      default:
        return malformed(`search filter: unknown filter choice [${n}]`);
    }
  };
  return walk(root, 1);
}

function readSubstrings(el: Asn1): Filter {
  const attribute = readText(el.children[0], 'substrings filter attribute');
  const parts = expectTag(el.children[1], 0x30, 'substrings filter parts').children;
  if (parts.length === 0) malformed('search filter: substrings filter without parts');
  let initial: Uint8Array | undefined;
  let final: Uint8Array | undefined;
  const any: Uint8Array[] = [];
  parts.forEach((p, i) => {
    const what = 'substrings filter part';
    if (p.is(0x80) && i === 0) initial = readBytes(p, what, 0x80);
    else if (p.is(0x81)) any.push(readBytes(p, what, 0x81));
    else if (p.is(0x82) && i === parts.length - 1) final = readBytes(p, what, 0x82);
    else malformed('search filter: substrings must be [initial] *any [final], initial first and final last');
  });
  return { type: 'substrings', attribute, ...optional('initial', initial), any, ...optional('final', final) };
}

function readExtensible(el: Asn1): Filter {
  const c = el.children;
  let i = 0;
  const matchingRule = c[i]?.is(0x81) ? readText(c[i++], 'extensible filter matching rule', 0x81) : undefined;
  const attribute = c[i]?.is(0x82) ? readText(c[i++], 'extensible filter attribute', 0x82) : undefined;
  const value = readBytes(c[i++], 'extensible filter value', 0x83);
  const dnAttributes = c[i]?.is(0x84) ? readBool(c[i], 'extensible filter dnAttributes', 0x84) : false;
  if (matchingRule === undefined && attribute === undefined) {
    malformed('search filter: an extensible match needs a matching rule or an attribute');
  }
  return {
    type: 'extensible',
    ...optional('matchingRule', matchingRule),
    ...optional('attribute', attribute),
    value,
    dnAttributes,
  };
}

// ---------------------------------------------------------------- string form (RFC 4515)

const ATTRIBUTE = /(?:[A-Za-z][A-Za-z0-9-]*|(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))+)(?:;[A-Za-z0-9-]+)*/y;
const RULE = /(?:[A-Za-z][A-Za-z0-9-]*|(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))+)/y;
const HEX2 = /^[0-9A-Fa-f]{2}$/;

/**
 * Parses the RFC 4515 string form. Also accepts an unparenthesised item ("mail=x", sent by some
 * tools), the absolute true/false filters "(&)" and "(|)" of RFC 4526, and RFC 2254 style escapes
 * of a special character ("\*") next to the hex escapes ("\2a").
 */
export function parseFilter(source: string, limits?: Partial<LdapLimits>): Filter {
  const lim = limitsOf(limits);
  let pos = 0;
  let count = 0;

  const err = (message: string, at = pos): never => {
    const near = source.slice(Math.max(0, at - 10), at + 10);
    malformed(`search filter: ${message} at offset ${at} (near "${near}")`);
  };

  const filter = (depth: number): Filter => {
    if (source[pos] !== '(') err("expected '('");
    limitDepth(depth, lim);
    limitCount(++count, lim);
    pos++;
    let f: Filter;
    const c = source[pos];
    if (c === '&' || c === '|') {
      pos++;
      const filters: Filter[] = [];
      while (source[pos] === '(') filters.push(filter(depth + 1));
      f = { type: c === '&' ? 'and' : 'or', filters };
    } else if (c === '!') {
      pos++;
      f = { type: 'not', filter: filter(depth + 1) };
    } else {
      f = item(true);
    }
    if (source[pos] !== ')') err("expected ')'");
    pos++;
    return f;
  };

  const token = (re: RegExp, what: string): string => {
    re.lastIndex = pos;
    const m = re.exec(source);
    if (m === null) err(`expected ${what}`);
    pos += m![0].length;
    return m![0];
  };

  /** An assertion value up to ')' (or the end), split at unescaped '*' when `stars`. */
  const value = (inParens: boolean, stars: boolean): Uint8Array[] => {
    const segments: Uint8Array[] = [];
    let bytes: number[] = [];
    for (;;) {
      const ch = source.codePointAt(pos);
      if (ch === undefined) {
        if (inParens) err("expected ')'");
        break;
      }
      if (ch === 0x29 /* ) */) {
        if (inParens) break;
        err("unescaped ')' (write \\29)");
      }
      if (ch === 0x28 /* ( */) err("unescaped '(' (write \\28)");
      if (ch === 0) err('NUL in a value (write \\00)');
      if (ch === 0x2a /* * */) {
        if (!stars) err("unescaped '*' (write \\2a)");
        segments.push(Uint8Array.from(bytes));
        bytes = [];
        pos++;
      } else if (ch === 0x5c /* \ */) {
        const pair = source.slice(pos + 1, pos + 3);
        if (HEX2.test(pair)) {
          bytes.push(Number.parseInt(pair, 16));
          pos += 3;
        } else if ('*()\\'.includes(source[pos + 1] ?? 'x')) {
          bytes.push(source.charCodeAt(pos + 1));
          pos += 2;
        } else {
          err('bad escape: expected two hex digits after \\');
        }
      } else if (ch < 0x80) {
        bytes.push(ch);
        pos++;
      } else {
        const s = String.fromCodePoint(ch);
        for (const b of text(s)) bytes.push(b);
        pos += s.length;
      }
    }
    segments.push(Uint8Array.from(bytes));
    return segments;
  };

  const item = (inParens: boolean): Filter => {
    const attribute = source[pos] === ':' ? undefined : token(ATTRIBUTE, 'an attribute description');
    const op = source[pos];
    if (op === ':') return extensible(attribute, inParens);
    if (attribute === undefined) return err('expected an attribute description');
    if (op === '=') {
      pos++;
      const parts = value(inParens, true);
      if (parts.length === 1) return { type: 'equality', attribute, value: parts[0]! };
      if (parts.length === 2 && parts[0]!.length === 0 && parts[1]!.length === 0) return { type: 'present', attribute };
      const initial = parts[0]!;
      const final = parts[parts.length - 1]!;
      return {
        type: 'substrings',
        attribute,
        ...optional('initial', initial.length > 0 ? initial : undefined),
        any: parts.slice(1, -1),
        ...optional('final', final.length > 0 ? final : undefined),
      };
    }
    const type = op === '~' ? 'approx' : op === '>' ? 'greaterOrEqual' : op === '<' ? 'lessOrEqual' : undefined;
    if (type === undefined || source[pos + 1] !== '=') return err('expected =, ~=, >=, <= or :=');
    pos += 2;
    return { type, attribute, value: value(inParens, false)[0]! };
  };

  /** extensible = ( attr [":dn"] [":" oid] ":=" value ) / ( [":dn"] ":" oid ":=" value ) */
  const extensible = (attribute: string | undefined, inParens: boolean): Filter => {
    let dnAttributes = false;
    let matchingRule: string | undefined;
    while (source[pos] === ':' && source[pos + 1] !== '=') {
      pos++;
      const at = pos;
      const name = token(RULE, 'dn or a matching rule');
      if (name.toLowerCase() === 'dn' && !dnAttributes && matchingRule === undefined) dnAttributes = true;
      else if (matchingRule === undefined) matchingRule = name;
      else err('unexpected component in an extensible match', at);
    }
    if (source[pos] !== ':') err("expected ':='");
    if (attribute === undefined && matchingRule === undefined)
      err('an extensible match needs an attribute or a matching rule');
    pos += 2;
    return {
      type: 'extensible',
      ...optional('matchingRule', matchingRule),
      ...optional('attribute', attribute),
      value: value(inParens, false)[0]!,
      dnAttributes,
    };
  };

  let f: Filter;
  if (source.startsWith('(')) {
    f = filter(1);
  } else {
    count++;
    f = item(false);
  }
  if (pos !== source.length) err('unexpected text after the filter');
  return f;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** RFC 4515 §3 valueencoding: UTF-8 text as is, except NUL, ( ) * \ and control characters. */
function formatValue(v: Uint8Array): string {
  let s: string;
  try {
    s = utf8.decode(v);
  } catch {
    // Not UTF-8 (binary values such as certificates): escape every byte outside printable ASCII.
    let out = '';
    for (const b of v)
      out += b >= 0x20 && b < 0x7f && !'()*\\'.includes(String.fromCharCode(b)) ? String.fromCharCode(b) : esc(b);
    return out;
  }
  return s.replace(/[\0-\x1f()*\\\x7f]/g, (c) => esc(c.charCodeAt(0)));
}

const esc = (b: number) => `\\${b.toString(16).padStart(2, '0')}`;

/** The RFC 4515 string form; `parseFilter(formatFilter(f))` gives `f` back. */
export function formatFilter(f: Filter): string {
  switch (f.type) {
    case 'and':
      return `(&${f.filters.map(formatFilter).join('')})`;
    case 'or':
      return `(|${f.filters.map(formatFilter).join('')})`;
    case 'not':
      return `(!${formatFilter(f.filter)})`;
    case 'equality':
    case 'greaterOrEqual':
    case 'lessOrEqual':
    case 'approx':
      return `(${f.attribute}${AVA_OP[f.type]}${formatValue(f.value)})`;
    case 'present':
      return `(${f.attribute}=*)`;
    case 'substrings': {
      const middle = f.any.map((a) => `${formatValue(a)}*`).join('');
      return `(${f.attribute}=${f.initial ? formatValue(f.initial) : ''}*${middle}${f.final ? formatValue(f.final) : ''})`;
    }
    case 'extensible':
      return `(${f.attribute ?? ''}${f.dnAttributes ? ':dn' : ''}${f.matchingRule !== undefined ? `:${f.matchingRule}` : ''}:=${formatValue(f.value)})`;
  }
}
