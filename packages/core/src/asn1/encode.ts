/**
 * DER encoding by composition: each function returns the complete encoding of one element.
 * Lengths are always definite and minimal (X.690 §10.1); SET OF callers sort with `setOf`.
 */
import { fail } from '../errors.ts';

export type Bytes = Uint8Array;

/** Octets the length field takes (X.690 §8.1.3: short form below 128, else 1 + minimal long form). */
function lengthSize(length: number): number {
  if (length < 0x80) return 1;
  let n = 1;
  for (let l = length; l > 0; l = Math.floor(l / 256)) n++;
  return n;
}

/** Writes identifier and length octets at `at`; returns the offset after them. */
function writeHeader(out: Uint8Array, at: number, tag: number, length: number): number {
  out[at++] = tag;
  if (length < 0x80) {
    out[at++] = length;
    return at;
  }
  const n = lengthSize(length) - 1;
  out[at++] = 0x80 | n;
  for (let i = n - 1, l = length; i >= 0; i--, l = Math.floor(l / 256)) out[at + i] = l & 0xff;
  return at + n;
}

function header(tag: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(1 + lengthSize(length));
  writeHeader(h, 0, tag, length);
  return h;
}

/** Any element from its identifier octet and content, written into one buffer. */
export function tlv(tag: number, ...content: Bytes[]): Buffer {
  let len = 0;
  for (const c of content) len += c.length;
  const out = Buffer.allocUnsafe(1 + lengthSize(len) + len);
  let p = writeHeader(out, 0, tag, len);
  for (const c of content) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** The header alone, for streaming a value of known length. */
export function tlvHeader(tag: number, length: number): Buffer {
  return header(tag, length);
}

export const seq = (...items: Bytes[]): Buffer => tlv(0x30, ...items);
export const set = (...items: Bytes[]): Buffer => tlv(0x31, ...items);

/**
 * SET OF: DER orders the encodings as octet strings (X.690 §11.6). `tag` replaces the SET tag for
 * an IMPLICIT one (CMS `[0] IMPLICIT CertificateSet`) without a second copy.
 */
export function setOf(items: Bytes[], tag = 0x31): Buffer {
  return tlv(tag, ...[...items].sort((a, b) => Buffer.compare(a, b)));
}

/** [n] EXPLICIT, i.e. constructed context tag around complete encodings. */
export const explicit = (n: number, ...inner: Bytes[]): Buffer => tlv(0xa0 | n, ...inner);

/** [n] IMPLICIT for a primitive value: context tag over raw content. */
export const implicitPrimitive = (n: number, content: Bytes): Buffer => tlv(0x80 | n, content);

/** Re-tags a complete encoding (IMPLICIT tagging of a constructed type, or SET for signed attributes). */
export function retag(encoding: Bytes, tag: number): Buffer {
  const out = Buffer.from(encoding);
  out[0] = tag;
  return out;
}

export function integer(value: bigint | number): Buffer {
  // Versions and other small counts: one content octet, no bigint arithmetic.
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 0x80) {
    const out = Buffer.allocUnsafe(3);
    out[0] = 0x02;
    out[1] = 1;
    out[2] = value;
    return out;
  }
  let v = BigInt(value);
  const bytes: number[] = [];
  if (v === 0n) bytes.push(0);
  const neg = v < 0n;
  while (v !== 0n && v !== -1n) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  if (neg && (bytes.length === 0 || (bytes[0]! & 0x80) === 0)) bytes.unshift(0xff);
  if (!neg && (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

/** INTEGER from an unsigned big-endian magnitude (serial numbers). */
export function unsignedInteger(magnitude: Bytes): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return m.length > 0 && (m[0]! & 0x80) !== 0
    ? tlv(0x02, Buffer.from([0]), m)
    : tlv(0x02, m.length ? m : Buffer.from([0]));
}

const oidEncCache = new Map<string, Buffer>();

export function oid(dotted: string): Buffer {
  const hit = oidEncCache.get(dotted);
  if (hit) return hit;
  const arcs = dotted.split('.').map((a) => {
    // Canonical decimal only: "1.02" would encode as 1.2 and not round trip.
    if (!/^(?:0|[1-9]\d*)$/.test(a)) fail('INVALID_ARGUMENT', `invalid OID "${dotted}"`);
    return BigInt(a);
  });
  if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n))
    fail('INVALID_ARGUMENT', `invalid OID "${dotted}"`);
  const out: number[] = [];
  const values = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  for (const v of values) {
    const chunk: number[] = [Number(v & 0x7fn)];
    for (let r = v >> 7n; r > 0n; r >>= 7n) chunk.unshift(Number(r & 0x7fn) | 0x80);
    out.push(...chunk);
  }
  const enc = tlv(0x06, Buffer.from(out));
  if (oidEncCache.size < 4096) oidEncCache.set(dotted, enc);
  return enc;
}

export const nul = (): Buffer => Buffer.from([0x05, 0x00]);
export const bool = (v: boolean): Buffer => Buffer.from([0x01, 0x01, v ? 0xff : 0x00]);
export const octets = (v: Bytes): Buffer => tlv(0x04, v);
export const bitString = (v: Bytes, unusedBits = 0): Buffer => tlv(0x03, Buffer.from([unusedBits]), v);
export const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
export const printable = (s: string): Buffer => tlv(0x13, Buffer.from(s, 'latin1'));
export const ia5 = (s: string): Buffer => tlv(0x16, Buffer.from(s, 'latin1'));

/** Time as RFC 5280 §4.1.2.5 wants it: UTCTime through 2049, GeneralizedTime after. */
export function time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  if (!(y >= 0 && y <= 9999)) fail('INVALID_ARGUMENT', 'time outside the years 0000-9999');
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(0x17, Buffer.from(`${p(y % 100)}${rest}`, 'latin1'));
  return tlv(0x18, Buffer.from(`${p(y, 4)}${rest}`, 'latin1'));
}

/** AlgorithmIdentifier; `params` undefined means absent, `null` means an explicit NULL. */
export function algorithm(oidText: string, params?: Bytes | null): Buffer {
  if (params === undefined) return seq(oid(oidText));
  return seq(oid(oidText), params === null ? nul() : params);
}
