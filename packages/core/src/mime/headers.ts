/** RFC 5322 header blocks and RFC 2045/2231 Content-Type, with the exact bytes of every field kept. */
import { isUtf8 } from 'node:buffer';
import { fail } from '../errors.ts';

export interface HeaderField {
  name: string;
  /** Unfolded and whitespace-trimmed; RFC 2047 encoded words are NOT decoded. */
  value: string;
  /** The exact bytes of the field, folding and its line end included (a view into the input). */
  raw: Uint8Array;
}

export interface MimeLimits {
  /** Size of one header block (default 256 KiB). */
  maxHeaderBytes?: number;
  /** Fields in one header block (default 1000). */
  maxHeaders?: number;
  /** Nesting of multipart levels (default 16). */
  maxDepth?: number;
  /** Body parts in a whole tree (default 1000). */
  maxParts?: number;
  /** Length of one header line without its line end (default: no limit beyond maxHeaderBytes). */
  maxLineLength?: number;
}

export const DEFAULT_LIMITS = {
  maxHeaderBytes: 256 * 1024,
  maxHeaders: 1000,
  maxDepth: 16,
  maxParts: 1000,
} as const;

const LF = 0x0a;
const CR = 0x0d;

/** RFC 5322 §2.2 field name: printable US-ASCII except ':'. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * Header bytes as text: UTF-8 when valid (RFC 6532), else Latin-1 so every byte survives
 * as one character (legacy raw 8-bit headers).
 */
export function headerText(bytes: Uint8Array): string {
  const b = asBuffer(bytes);
  return isUtf8(b) ? b.toString('utf8') : b.toString('latin1');
}

/**
 * Parses the header block of `source[start..end)`. It ends at the first empty line (CRLF CRLF,
 * or LF LF for text stored with bare LF); without one, everything is header. Offsets are absolute.
 */
export function parseHeaderBlockAt(
  source: Uint8Array,
  start: number,
  end: number,
  limits?: MimeLimits,
): { fields: HeaderField[]; bodyStart: number } {
  const buf = asBuffer(source);
  const maxBytes = limits?.maxHeaderBytes ?? DEFAULT_LIMITS.maxHeaderBytes;
  const maxHeaders = limits?.maxHeaders ?? DEFAULT_LIMITS.maxHeaders;
  const maxLine = limits?.maxLineLength ?? Number.POSITIVE_INFINITY;
  const fields: HeaderField[] = [];
  let fieldStart = -1;
  let fieldEnd = -1; // end of the field's content (before its final line end)
  const finish = (next: number): void => {
    if (fieldStart < 0) return;
    if (fields.length >= maxHeaders) fail('MIME_LIMIT', `more than ${maxHeaders} header fields`);
    fields.push(makeField(buf, fieldStart, fieldEnd, next));
    fieldStart = -1;
  };
  let pos = start;
  while (pos < end) {
    const lf = buf.indexOf(LF, pos);
    const terminated = lf >= 0 && lf < end;
    const next = terminated ? lf + 1 : end;
    const contentEnd = terminated && lf > pos && buf[lf - 1] === CR ? lf - 1 : terminated ? lf : end;
    if (contentEnd === pos && terminated) {
      finish(pos);
      return { fields, bodyStart: next };
    }
    if (next - start > maxBytes) fail('MIME_LIMIT', `the header block exceeds ${maxBytes} bytes`);
    if (contentEnd - pos > maxLine) fail('MIME_LIMIT', `a header line exceeds ${maxLine} bytes`);
    const first = buf[pos];
    if (first === 0x20 || first === 0x09) {
      if (fieldStart < 0) fail('MIME_MALFORMED', 'the header block starts with a continuation line');
    } else {
      finish(pos);
      fieldStart = pos;
    }
    fieldEnd = contentEnd;
    pos = next;
  }
  finish(end);
  return { fields, bodyStart: end };
}

function makeField(buf: Buffer, start: number, contentEnd: number, next: number): HeaderField {
  const colon = buf.indexOf(0x3a, start);
  if (colon < 0 || colon >= contentEnd) fail('MIME_MALFORMED', 'a header line has no colon');
  // RFC 5322 §4.5.3 obs-optional: whitespace may precede the colon.
  const name = buf.toString('latin1', start, colon).replace(/[ \t]+$/, '');
  if (!FIELD_NAME.test(name)) fail('MIME_MALFORMED', 'a header field name is invalid');
  const value = headerText(buf.subarray(colon + 1, contentEnd))
    .replace(/\r?\n/g, '')
    .replace(/^[ \t]+|[ \t]+$/g, '');
  return { name, value, raw: buf.subarray(start, next) };
}

/** Parses a header block (see {@link parseHeaderBlockAt}); `bodyStart` is the offset just after the empty line. */
export function parseHeaderBlock(bytes: Uint8Array, limits?: MimeLimits): { fields: HeaderField[]; bodyStart: number } {
  return parseHeaderBlockAt(bytes, 0, bytes.length, limits);
}

/** The first field called `name` (case-insensitive). */
export function getHeader(fields: HeaderField[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const f of fields) if (f.name.toLowerCase() === lower) return f.value;
  return undefined;
}

/** Every field called `name` (case-insensitive), in order. */
export function getHeaders(fields: HeaderField[], name: string): string[] {
  const lower = name.toLowerCase();
  return fields.filter((f) => f.name.toLowerCase() === lower).map((f) => f.value);
}

export interface ContentType {
  type: string;
  subtype: string;
  /** Lowercase "type/subtype". */
  mediaType: string;
  /** Lowercase parameter names; RFC 2231 continuations joined and decoded. */
  params: Map<string, string>;
}

/** Decodes bytes in a MIME charset; unknown charsets fall back to Latin-1 so no byte is lost. */
export function decodeCharset(bytes: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset.trim().toLowerCase() || 'utf-8').decode(bytes);
  } catch {
    return asBuffer(bytes).toString('latin1');
  }
}

const TOKEN = /[^\x00-\x20()<>@,;:\\"/[\]?=\x7f]+/y;

/** A tokenizer for RFC 2045 §5.1 structured values: tokens, quoted strings, comments. */
class Lexer {
  readonly s: string;
  pos = 0;
  constructor(s: string) {
    this.s = s;
  }
  /** Skips whitespace and (nested) comments. */
  skip(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s[this.pos]!;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
        this.pos++;
      } else if (c === '(') {
        let depth = 0;
        for (; this.pos < s.length; this.pos++) {
          const d = s[this.pos];
          if (d === '\\') this.pos++;
          else if (d === '(') depth++;
          else if (d === ')' && --depth === 0) break;
        }
        this.pos++;
      } else {
        return;
      }
    }
  }
  peek(): string | undefined {
    return this.s[this.pos];
  }
  /** RFC 2045 token: anything but controls, space and tspecials. */
  token(): string | undefined {
    TOKEN.lastIndex = this.pos;
    const m = TOKEN.exec(this.s);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }
  /** A quoted string (the opening quote is at pos); an unterminated one runs to the end. */
  quoted(): string {
    let out = '';
    for (this.pos++; this.pos < this.s.length; this.pos++) {
      const c = this.s[this.pos]!;
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\' && this.pos + 1 < this.s.length) this.pos++;
      out += this.s[this.pos];
    }
    return out;
  }
  /** Moves past the next ';' outside quoted strings (or to the end). */
  skipPastSemicolon(): void {
    while (this.pos < this.s.length) {
      const c = this.s[this.pos]!;
      if (c === '"') {
        this.quoted();
      } else {
        this.pos++;
        if (c === ';') return;
      }
    }
  }
}

const DEFAULT_CONTENT_TYPE = 'text/plain; charset=us-ascii';

/**
 * RFC 2045 §5.1:
 *   content := "Content-Type" ":" type "/" subtype *(";" parameter)
 *   parameter := attribute "=" value
 *   value := token / quoted-string
 * with comments anywhere between tokens and RFC 2231 parameter continuations and charset'lang'%XX
 * values. Absent or unparseable: `text/plain; charset=us-ascii` (RFC 2045 §5.2).
 */
export function parseContentType(value: string | undefined): ContentType {
  return (value !== undefined && parseType(value)) || parseType(DEFAULT_CONTENT_TYPE)!;
}

function parseType(value: string): ContentType | undefined {
  const lx = new Lexer(value);
  lx.skip();
  const type = lx.token()?.toLowerCase();
  lx.skip();
  if (type === undefined || lx.peek() !== '/') return undefined;
  lx.pos++;
  lx.skip();
  const subtype = lx.token()?.toLowerCase();
  if (subtype === undefined) return undefined;
  return { type, subtype, mediaType: `${type}/${subtype}`, params: parseParams(lx) };
}

interface Rfc2231Parts {
  sections: Map<number, { text: string; encoded: boolean }>;
}

function parseParams(lx: Lexer): Map<string, string> {
  const plain = new Map<string, string>();
  const extended = new Map<string, Rfc2231Parts>();
  for (;;) {
    lx.skip();
    if (lx.peek() === undefined) break;
    if (lx.peek() !== ';') {
      // Junk after a value: resynchronise at the next parameter.
      lx.skipPastSemicolon();
    } else {
      lx.pos++;
    }
    lx.skip();
    const name = lx.token()?.toLowerCase();
    lx.skip();
    if (name === undefined || lx.peek() !== '=') continue;
    lx.pos++;
    lx.skip();
    let text: string;
    if (lx.peek() === '"') {
      text = lx.quoted();
    } else {
      const from = lx.pos;
      text = lx.token() ?? '';
      lx.skip();
      const next = lx.peek();
      if (next !== undefined && next !== ';') {
        // An unquoted value with tspecials or spaces (e.g. `boundary=----=_Part_1`, common from
        // old mailers): take everything up to the next ';' rather than a truncated token.
        const semi = lx.s.indexOf(';', from);
        const stop = semi < 0 ? lx.s.length : semi;
        text = lx.s.slice(from, stop).trim();
        lx.pos = stop;
      }
    }
    // RFC 2231 §3/§4: name*N (continuation), name* / name*N* (charset'lang'%XX encoded).
    const m = /^([^*]+)\*(?:(\d{1,3})(\*)?)?$/.exec(name);
    if (m) {
      const base = m[1]!;
      const index = m[2] === undefined ? 0 : Number(m[2]);
      const encoded = m[2] === undefined || m[3] !== undefined;
      let parts = extended.get(base);
      if (!parts) {
        parts = { sections: new Map() };
        extended.set(base, parts);
      }
      if (!parts.sections.has(index)) parts.sections.set(index, { text, encoded });
    } else if (!plain.has(name)) {
      plain.set(name, text);
    }
  }
  for (const [base, parts] of extended) {
    const joined = joinRfc2231(parts);
    if (joined !== undefined) plain.set(base, joined);
  }
  return plain;
}

/** Joins sections 0, 1, 2, … (stopping at a gap) and decodes them with the charset of section 0. */
function joinRfc2231(parts: Rfc2231Parts): string | undefined {
  const first = parts.sections.get(0);
  if (!first) return undefined;
  let charset = 'us-ascii';
  const chunks: Buffer[] = [];
  for (let i = 0; parts.sections.has(i); i++) {
    const section = parts.sections.get(i)!;
    let text = section.text;
    if (section.encoded) {
      if (i === 0) {
        const m = /^([^']*)'[^']*'(.*)$/s.exec(text);
        if (m) {
          charset = m[1] || 'us-ascii';
          text = m[2]!;
        }
      }
      const bytes = text.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
      chunks.push(Buffer.from(bytes, 'latin1'));
    } else {
      chunks.push(Buffer.from(text, 'utf8'));
    }
  }
  return decodeCharset(Buffer.concat(chunks), charset);
}

/** RFC 5322 §2.2.3: fold only at whitespace, so unfolding gives back exactly `value`. */
const MAX_LINE = 78;

/**
 * `name: value` CRLF, folded before whitespace so that lines stay within 78 characters where the
 * value allows it (a run without whitespace longer than that stays on one line).
 */
export function formatHeaderField(name: string, value: string): string {
  if (!FIELD_NAME.test(name)) fail('INVALID_ARGUMENT', 'invalid header field name');
  if (/[\r\n]/.test(value)) fail('INVALID_ARGUMENT', 'a header value must not contain a line break');
  let rest = `${name}: ${value}`;
  let minFold = name.length + 2; // never fold straight after the colon
  let out = '';
  while (rest.length > MAX_LINE) {
    let at = -1;
    for (let i = MAX_LINE; i > minFold; i--) {
      const c = rest[i];
      if (c === ' ' || c === '\t') {
        at = i;
        break;
      }
    }
    if (at < 0) {
      const from = Math.max(MAX_LINE, minFold) + 1;
      const after = rest.slice(from).search(/[ \t]/);
      if (after < 0) break;
      at = from + after;
    }
    out += `${rest.slice(0, at)}\r\n`;
    rest = rest.slice(at);
    // A continuation line starts with whitespace: fold only after its first non-blank character.
    minFold = rest.search(/[^ \t]/);
    if (minFold < 0) break;
  }
  return `${out}${rest}\r\n`;
}
