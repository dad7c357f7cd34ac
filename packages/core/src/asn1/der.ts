/**
 * One strict DER / bounded BER decoder for the whole project (X.690).
 *
 * The decoder parses headers only, eagerly and once, into an index of elements; values are read
 * on demand by the typed readers below. There is no second "validating" pass that could disagree
 * with the reading pass. `der` mode rejects everything X.690 §10 forbids in DER; `ber` mode
 * additionally accepts indefinite lengths (§8.1.3.6), non-minimal lengths and constructed strings,
 * still within the same depth, size and element-count limits.
 */
import { fail } from '../errors.ts';

export const Class = { Universal: 0, Application: 1, Context: 2, Private: 3 } as const;

export const Tag = {
  Boolean: 0x01,
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Null: 0x05,
  Oid: 0x06,
  Enumerated: 0x0a,
  Utf8String: 0x0c,
  Sequence: 0x30,
  Set: 0x31,
  NumericString: 0x12,
  PrintableString: 0x13,
  T61String: 0x14,
  Ia5String: 0x16,
  UtcTime: 0x17,
  GeneralizedTime: 0x18,
  VisibleString: 0x1a,
  UniversalString: 0x1c,
  BmpString: 0x1e,
} as const;

export interface DecodeOptions {
  /** `der` (default) for certificates and signed attributes; `ber` for CMS envelopes. */
  mode?: 'der' | 'ber';
  /** Maximum nesting depth (default 64). */
  maxDepth?: number;
  /** Maximum number of elements in the whole encoding (default 1,000,000). */
  maxElements?: number;
  /** Allow bytes after the outermost element (default false). */
  allowTrailing?: boolean;
}

/** A decoded element. `tag` is the first identifier octet for low tag numbers (< 31). */
export class Asn1 {
  readonly buf: Uint8Array;
  readonly cls: number;
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly valueStart: number;
  /** Offset after the last content octet (before an end-of-contents marker, if any). */
  readonly valueEnd: number;
  /** Offset after the whole element, including an end-of-contents marker. */
  readonly end: number;
  readonly children: Asn1[];

  constructor(
    buf: Uint8Array,
    cls: number,
    constructed: boolean,
    tagNumber: number,
    start: number,
    valueStart: number,
    valueEnd: number,
    end: number,
    children: Asn1[],
  ) {
    this.buf = buf;
    this.cls = cls;
    this.constructed = constructed;
    this.tagNumber = tagNumber;
    this.start = start;
    this.valueStart = valueStart;
    this.valueEnd = valueEnd;
    this.end = end;
    this.children = children;
  }

  /** The identifier octet as it would be written for a low tag number (e.g. 0x30, 0xa0). */
  get tag(): number {
    return (this.cls << 6) | (this.constructed ? 0x20 : 0) | (this.tagNumber < 31 ? this.tagNumber : 31);
  }

  /** The content octets (for a primitive element; for a constructed one, the encoded children). */
  get value(): Uint8Array {
    return this.buf.subarray(this.valueStart, this.valueEnd);
  }

  /** The exact received encoding of the element, header included. */
  get raw(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  is(tag: number): boolean {
    return this.tag === tag && this.tagNumber < 31;
  }

  isContext(n: number): boolean {
    return this.cls === Class.Context && this.tagNumber === n;
  }

  child(i: number): Asn1 {
    const c = this.children[i];
    if (c === undefined) fail('ASN1_MALFORMED', `expected element ${i + 1} inside tag 0x${this.tag.toString(16)}`);
    return c;
  }

  /**
   * Concatenated content of a (possibly constructed, BER) string type. Segments carry the string's
   * universal tag; under an IMPLICIT tag (e.g. CMS `[0] IMPLICIT EncryptedContent`) they are
   * OCTET STRINGs, since the outer tag no longer says the type.
   */
  bytes(): Uint8Array {
    if (!this.constructed) return this.value;
    const segmentTag = this.cls === Class.Universal ? this.tagNumber : 4;
    const parts: Uint8Array[] = [];
    const walk = (e: Asn1) => {
      for (const c of e.children) {
        if (c.tagNumber !== segmentTag || c.cls !== Class.Universal) {
          fail('ASN1_MALFORMED', 'constructed string contains a segment of another type');
        }
        if (c.constructed) walk(c);
        else parts.push(c.value);
      }
    };
    walk(this);
    return Buffer.concat(parts);
  }
}

const NO_CHILDREN: Asn1[] = Object.freeze([]) as unknown as Asn1[];

const DEFAULTS = { mode: 'der', maxDepth: 64, maxElements: 1_000_000, allowTrailing: false } as const;

/** Decodes one element (and everything inside constructed elements). */
export function decode(input: Uint8Array, options: DecodeOptions = {}): Asn1 {
  const ber = (options.mode ?? DEFAULTS.mode) === 'ber';
  const maxDepth = options.maxDepth ?? DEFAULTS.maxDepth;
  let budget = options.maxElements ?? DEFAULTS.maxElements;
  const buf = input;

  // Iterative over siblings, recursive over depth (bounded by maxDepth).
  function parseOne(pos: number, limit: number, depth: number): Asn1 {
    if (depth > maxDepth) fail('ASN1_LIMIT', `nesting deeper than ${maxDepth} levels`);
    if (--budget < 0) fail('ASN1_LIMIT', 'too many elements');
    const start = pos;
    if (pos >= limit) fail('ASN1_MALFORMED', 'unexpected end of data');
    const id = buf[pos++]!;
    const cls = id >> 6;
    const constructed = (id & 0x20) !== 0;
    let tagNumber = id & 0x1f;
    if (tagNumber === 0x1f) {
      // High tag number form (X.690 §8.1.2.4); first subsequent octet must not be 0x80.
      tagNumber = 0;
      let first = true;
      for (;;) {
        if (pos >= limit) fail('ASN1_MALFORMED', 'truncated tag');
        const b = buf[pos++]!;
        if (first && b === 0x80) fail('ASN1_MALFORMED', 'non-minimal tag encoding');
        first = false;
        tagNumber = tagNumber * 128 + (b & 0x7f);
        if (tagNumber > 0x3fffffff) fail('ASN1_LIMIT', 'tag number too large');
        if ((b & 0x80) === 0) break;
      }
      if (tagNumber < 31 && !ber) fail('ASN1_MALFORMED', 'high tag form used for a low tag number');
    }
    if (pos >= limit) fail('ASN1_MALFORMED', 'truncated length');
    const lb = buf[pos++]!;
    let length = -1;
    if (lb < 0x80) {
      length = lb;
    } else if (lb === 0x80) {
      if (!ber) fail('ASN1_MALFORMED', 'indefinite length is not allowed in DER');
      if (!constructed) fail('ASN1_MALFORMED', 'indefinite length on a primitive element');
    } else {
      const n = lb & 0x7f;
      if (n === 0x7f) fail('ASN1_MALFORMED', 'reserved length octet');
      if (n > 6) fail('ASN1_LIMIT', 'length too large');
      if (pos + n > limit) fail('ASN1_MALFORMED', 'truncated length');
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
      if (!ber && (buf[pos - n] === 0 || length < 0x80)) fail('ASN1_MALFORMED', 'non-minimal length encoding');
    }
    const valueStart = pos;
    // Primitive elements share one frozen empty list: most elements are primitive.
    const children: Asn1[] = constructed ? [] : NO_CHILDREN;
    if (length === -1) {
      // Indefinite: children until the end-of-contents octets 00 00.
      for (;;) {
        if (pos + 2 > limit) fail('ASN1_MALFORMED', 'missing end-of-contents');
        if (buf[pos] === 0 && buf[pos + 1] === 0) {
          const valueEnd = pos;
          return new Asn1(buf, cls, constructed, tagNumber, start, valueStart, valueEnd, pos + 2, children);
        }
        const c = parseOne(pos, limit, depth + 1);
        children.push(c);
        pos = c.end;
      }
    }
    const end = valueStart + length;
    if (end > limit) fail('ASN1_MALFORMED', 'element runs past the end of its container');
    if (constructed) {
      while (pos < end) {
        const c = parseOne(pos, end, depth + 1);
        children.push(c);
        pos = c.end;
      }
    } else if (cls === Class.Universal) {
      checkPrimitive(id, buf, valueStart, end, ber);
    }
    if (constructed && !ber && cls === Class.Universal && isStringTag(tagNumber)) {
      fail('ASN1_MALFORMED', 'constructed string is not allowed in DER');
    }
    // 00 00 is only valid as the end-of-contents of an indefinite length, handled above (§8.1.5).
    if (cls === Class.Universal && tagNumber === 0) fail('ASN1_MALFORMED', 'unexpected end-of-contents');
    return new Asn1(buf, cls, constructed, tagNumber, start, valueStart, end, end, children);
  }

  const root = parseOne(0, buf.length, 0);
  if (!(options.allowTrailing ?? DEFAULTS.allowTrailing) && root.end !== buf.length) {
    fail('ASN1_MALFORMED', `${buf.length - root.end} trailing bytes after the encoding`);
  }
  return root;
}

function isStringTag(n: number): boolean {
  return n === 3 || n === 4 || (n >= 12 && n <= 30 && n !== 16 && n !== 17);
}

/** DER rules for primitive universal values that are cheap to check while parsing (X.690 §10-11). */
function checkPrimitive(id: number, buf: Uint8Array, s: number, e: number, ber: boolean): void {
  const len = e - s;
  switch (id) {
    case Tag.Boolean:
      if (len !== 1 || (!ber && buf[s] !== 0 && buf[s] !== 0xff))
        fail('ASN1_MALFORMED', 'BOOLEAN must be 00 or FF in DER');
      break;
    case Tag.Integer:
    case Tag.Enumerated:
      if (len === 0) fail('ASN1_MALFORMED', 'empty INTEGER');
      if (
        len > 1 &&
        ((buf[s] === 0 && (buf[s + 1]! & 0x80) === 0) || (buf[s] === 0xff && (buf[s + 1]! & 0x80) !== 0))
      ) {
        fail('ASN1_MALFORMED', 'non-minimal INTEGER');
      }
      break;
    case Tag.Null:
      if (len !== 0) fail('ASN1_MALFORMED', 'NULL with content');
      break;
    case Tag.BitString:
      if (len === 0 || buf[s]! > 7 || (len === 1 && buf[s] !== 0)) fail('ASN1_MALFORMED', 'malformed BIT STRING');
      // §11.2.1: the unused bits of the last octet are zero in DER.
      if (!ber && len > 1 && (buf[e - 1]! & ((1 << buf[s]!) - 1)) !== 0) {
        fail('ASN1_MALFORMED', 'BIT STRING unused bits must be zero in DER');
      }
      break;
    case Tag.Oid:
      if (len === 0 || (buf[e - 1]! & 0x80) !== 0) fail('ASN1_MALFORMED', 'malformed OBJECT IDENTIFIER');
      break;
  }
}

// ---------------------------------------------------------------- typed readers

function expect(el: Asn1, tag: number, what: string): void {
  if (!el.is(tag)) fail('ASN1_MALFORMED', `expected ${what}, found tag 0x${el.tag.toString(16)}`);
}

export function readInteger(el: Asn1): bigint {
  expect(el, Tag.Integer, 'INTEGER');
  const v = el.value;
  if (v.length === 0) fail('ASN1_MALFORMED', 'empty INTEGER');
  let n = 0n;
  for (const b of v) n = (n << 8n) | BigInt(b);
  if (v[0]! & 0x80) n -= 1n << BigInt(v.length * 8);
  return n;
}

/** A small non-negative INTEGER (versions, counts) as a number. */
export function readSmallInt(el: Asn1, max = 0x7fffffff): number {
  const n = readInteger(el);
  if (n < 0n || n > BigInt(max)) fail('ASN1_MALFORMED', `INTEGER ${n} out of range`);
  return Number(n);
}

/** The unsigned magnitude of an INTEGER's two's-complement content (serial numbers, RSA values). */
export function readUnsignedBytes(el: Asn1): Uint8Array {
  expect(el, Tag.Integer, 'INTEGER');
  const v = el.value;
  return v.length > 1 && v[0] === 0 ? v.subarray(1) : v;
}

export function readBoolean(el: Asn1): boolean {
  expect(el, Tag.Boolean, 'BOOLEAN');
  if (el.value.length !== 1) fail('ASN1_MALFORMED', 'malformed BOOLEAN');
  return el.value[0] !== 0;
}

export function readOctetString(el: Asn1): Uint8Array {
  if (el.tagNumber !== 4 || el.cls !== Class.Universal) fail('ASN1_MALFORMED', 'expected OCTET STRING');
  return el.bytes();
}

export function readBitString(el: Asn1): { unusedBits: number; bytes: Uint8Array } {
  if (el.tagNumber !== 3 || el.cls !== Class.Universal) fail('ASN1_MALFORMED', 'expected BIT STRING');
  const v = el.bytes();
  if (v.length === 0 || v[0]! > 7) fail('ASN1_MALFORMED', 'malformed BIT STRING');
  return { unusedBits: v[0]!, bytes: v.subarray(1) };
}

const oidCache = new Map<string, string>();
/** 64 octets carry 448 bits: far beyond any registered arc or 128-bit UUID arc (2.25.x). */
const MAX_OID_ARC_OCTETS = 64;

/** OBJECT IDENTIFIER as dotted text; arcs are arbitrary-precision (X.690 §8.19). */
export function readOid(el: Asn1): string {
  expect(el, Tag.Oid, 'OBJECT IDENTIFIER');
  return oidFromContent(el.value);
}

export function oidFromContent(v: Uint8Array): string {
  // Typical OIDs are under 16 octets: one fromCharCode call beats a Buffer view plus a decode.
  const key =
    v.length <= 64
      ? String.fromCharCode.apply(null, v as unknown as number[])
      : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
  const hit = oidCache.get(key);
  if (hit !== undefined) return hit;
  if (v.length === 0 || (v[v.length - 1]! & 0x80) !== 0) fail('ASN1_MALFORMED', 'malformed OBJECT IDENTIFIER');
  // Arcs of up to 7 octets (49 bits) fit a double; longer ones (2.25.<UUID>) use bigint. Arc size is
  // bounded: shifting a bigint per octet is quadratic, and a megabyte arc would stall the parser.
  const arcs: (number | bigint)[] = [];
  let n = 0;
  let big: bigint | undefined;
  let octets = 0;
  for (const b of v) {
    if (octets === 0 && b === 0x80) fail('ASN1_MALFORMED', 'non-minimal OBJECT IDENTIFIER arc');
    if (++octets > MAX_OID_ARC_OCTETS) fail('ASN1_LIMIT', 'OBJECT IDENTIFIER arc too large');
    if (octets <= 7) n = n * 128 + (b & 0x7f);
    else big = ((big ?? BigInt(n)) << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(big ?? n);
      n = 0;
      big = undefined;
      octets = 0;
    }
  }
  // The first subidentifier packs two arcs: 40 * X + Y, where Y is unbounded only when X = 2 (§8.19.4).
  const first = arcs[0]!;
  const head =
    typeof first === 'number'
      ? first < 40
        ? [0, first]
        : first < 80
          ? [1, first - 40]
          : [2, first - 80]
      : [2, first - 80n];
  const text = [...head, ...arcs.slice(1)].join('.');
  if (oidCache.size < 4096) oidCache.set(key, text);
  return text;
}

/** Reads UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5: Z-terminated, seconds present). */
export function readTime(el: Asn1): Date {
  const v = el.value;
  const text = () => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1').slice(0, 20);
  /** The decimal number in v[at, at + n), or -1 when any octet there is not a digit. */
  const digits = (at: number, n: number): number => {
    let x = 0;
    for (let i = at; i < at + n; i++) {
      const d = v[i]! - 0x30;
      if (d < 0 || d > 9) return -1;
      x = x * 10 + d;
    }
    return x;
  };
  let year: number;
  let at: number;
  if (el.is(Tag.UtcTime)) {
    // YYMMDDHHMMSSZ
    if (v.length !== 13 || v[12] !== 0x5a || digits(0, 12) < 0) fail('ASN1_MALFORMED', `malformed UTCTime "${text()}"`);
    const yy = digits(0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    at = 2;
  } else if (el.is(Tag.GeneralizedTime)) {
    // YYYYMMDDHHMMSS[.fff]Z: a fraction has at least one digit and no trailing zero.
    const z = v.length - 1;
    const ok =
      v.length >= 15 &&
      v[z] === 0x5a &&
      digits(0, 14) >= 0 &&
      (z === 14 || (v[14] === 0x2e && z > 15 && v[z - 1] !== 0x30 && digits(15, z - 15) >= 0));
    if (!ok) fail('ASN1_MALFORMED', `malformed GeneralizedTime "${text()}"`);
    year = digits(0, 4);
    at = 4;
  } else {
    fail('ASN1_MALFORMED', 'expected a time');
  }
  const mo = digits(at, 2);
  const d = digits(at + 2, 2);
  const h = digits(at + 4, 2);
  const mi = digits(at + 6, 2);
  const se = digits(at + 8, 2);
  // Not Date.UTC: it maps years 0-99 to 1900-1999, and GeneralizedTime may carry such years.
  const date = new Date(0);
  date.setUTCFullYear(year, mo - 1, d);
  date.setUTCHours(h, mi, se, 0);
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) {
    fail('ASN1_MALFORMED', `invalid date "${text()}"`);
  }
  return date;
}

// ignoreBOM: a leading U+FEFF is content, not a marker to strip.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeUtf8(v: Uint8Array): string {
  try {
    return utf8Decoder.decode(v);
  } catch {
    fail('ASN1_MALFORMED', 'UTF8String is not valid UTF-8');
  }
}

/** Reads any of the X.500 string types as text. */
export function readString(el: Asn1): string {
  const v = el.bytes();
  switch (el.tagNumber) {
    case 12: // UTF8String
      return decodeUtf8(v);
    case 30: {
      // BMPString: UCS-2 big-endian
      if (v.length % 2) fail('ASN1_MALFORMED', 'odd-length BMPString');
      let out = '';
      for (let i = 0; i < v.length; i += 2) out += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
      return out;
    }
    case 28: {
      if (v.length % 4) fail('ASN1_MALFORMED', 'malformed UniversalString');
      let out = '';
      for (let i = 0; i < v.length; i += 4) {
        const cp = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
        if (cp > 0x10ffff) fail('ASN1_MALFORMED', 'UniversalString character out of range');
        out += String.fromCodePoint(cp);
      }
      return out;
    }
    case 18:
    case 19:
    case 20:
    case 22:
    case 26:
      return Buffer.from(v).toString('latin1');
    default:
      fail('ASN1_MALFORMED', `expected a string, found tag 0x${el.tag.toString(16)}`);
  }
}
