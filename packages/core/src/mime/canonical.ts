/**
 * The canonical form of an entity for signing and encrypting (RFC 8551 §3.1.1 and §3.1.2), and
 * splitting a message into the transport headers that stay outside and the entity that is protected.
 */
import { isAscii } from 'node:buffer';
import { base64EncodeLines } from '../util/base64.ts';
import { entityBody, type MimeEntity, parseEntity } from './entity.ts';
import { type HeaderField, type MimeLimits, parseHeaderBlock } from './headers.ts';

const LF = 0x0a;
const CR = 0x0d;
const CRLF = Buffer.from('\r\n');

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * Turns every bare LF into CRLF; existing CRLFs are untouched. `afterCr` says the byte before
 * `bytes` (in a stream) was a CR, so a leading LF is not bare. Returns the input itself when no
 * LF is bare.
 */
export function lfToCrlf(bytes: Uint8Array, afterCr = false): Buffer {
  const buf = asBuffer(bytes);
  let bare = 0;
  for (let i = buf.indexOf(LF); i >= 0; i = buf.indexOf(LF, i + 1)) {
    if (i === 0 ? !afterCr : buf[i - 1] !== CR) bare++;
  }
  if (bare === 0) return buf;
  const out = Buffer.allocUnsafe(buf.length + bare);
  let from = 0;
  let p = 0;
  for (let i = buf.indexOf(LF); i >= 0; i = buf.indexOf(LF, i + 1)) {
    if (i === 0 ? afterCr : buf[i - 1] === CR) continue;
    p += buf.copy(out, p, from, i);
    out[p++] = CR;
    from = i; // the LF itself is copied with the next segment
  }
  buf.copy(out, p, from);
  return out;
}

/** Bare LF → CRLF (files stored with Unix line ends); existing CRLF untouched. */
export function toCrlf(bytes: Uint8Array): Buffer {
  return lfToCrlf(bytes);
}

/** RFC 5322 §2.1.1: a line is at most 998 octets without its CRLF. */
const MAX_LINE = 998;

function hasLongLine(buf: Buffer): boolean {
  let from = 0;
  for (let i = buf.indexOf(LF); i >= 0; i = buf.indexOf(LF, i + 1)) {
    const len = i - from - (i > from && buf[i - 1] === CR ? 1 : 0);
    if (len > MAX_LINE) return true;
    from = i + 1;
  }
  return buf.length - from > MAX_LINE;
}

/** True when a 7bit-labelled body could not pass as such: 8-bit octets, NULs or over-long lines. */
function needs7bitEncoding(body: Buffer): boolean {
  return !isAscii(body) || body.indexOf(0) >= 0 || hasLongLine(body);
}

/**
 * RFC 8551 §3.1.1 canonical form: CRLF line ends everywhere, and every leaf whose body cannot
 * travel as 7bit re-encoded (text/* as quoted-printable, anything else as base64) with its
 * Content-Transfer-Encoding replaced. Multipart structure (boundaries, preamble, epilogue) is kept
 * byte for byte. A body labelled `binary` is always re-encoded: line-end conversion would corrupt it.
 */
export function canonicalizeEntity(entity: Uint8Array, limits?: MimeLimits): Uint8Array {
  const root = parseEntity(entity, limits);
  const pieces: Buffer[] = [];
  emit(root, pieces, false);
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

function slice(e: MimeEntity, from: number, to: number): Buffer {
  return asBuffer(e.source.subarray(from, to));
}

function emit(e: MimeEntity, out: Buffer[], isPart: boolean): void {
  if (e.parts) {
    const body: Buffer[] = [];
    let cursor = e.bodyStart;
    for (const part of e.parts) {
      body.push(toCrlf(slice(e, cursor, part.start))); // preamble, boundary line
      emit(part, body, true);
      cursor = part.end;
    }
    body.push(toCrlf(slice(e, cursor, e.end))); // last delimiter, epilogue
    const relabel = (e.transferEncoding === '8bit' || e.transferEncoding === 'binary') && body.every((b) => isAscii(b));
    out.push(relabel ? headerBlockWith(e, '7bit') : toCrlf(slice(e, e.start, e.bodyStart)), ...body);
    return;
  }
  const cte = e.transferEncoding;
  const body = asBuffer(entityBody(e));
  const encodable = cte === '7bit' || cte === '8bit' || cte === 'binary';
  if (!encodable || (cte !== 'binary' && !needs7bitEncoding(body))) {
    out.push(toCrlf(slice(e, e.start, e.end)));
    return;
  }
  if (e.contentType.type === 'text') {
    out.push(headerBlockWith(e, 'quoted-printable'), quotedPrintableEncode(toCrlf(body)));
  } else {
    const encoded = base64EncodeLines(body);
    // Inside a multipart the CRLF before the next boundary belongs to the delimiter (RFC 2046 §5.1.1).
    out.push(headerBlockWith(e, 'base64'), isPart ? encoded.subarray(0, Math.max(0, encoded.length - 2)) : encoded);
  }
}

/** The entity's header block, CRLF, with Content-Transfer-Encoding set to `cte`, and the empty line. */
function headerBlockWith(e: MimeEntity, cte: string): Buffer {
  const lines: Buffer[] = [];
  for (const f of e.headers) {
    if (f.name.toLowerCase() !== 'content-transfer-encoding') lines.push(fieldLine(f));
  }
  lines.push(Buffer.from(`Content-Transfer-Encoding: ${cte}\r\n\r\n`, 'latin1'));
  return Buffer.concat(lines);
}

/** A field's raw bytes with CRLF line ends, ending in CRLF even when the input ended without one. */
function fieldLine(f: HeaderField): Buffer {
  const raw = toCrlf(f.raw);
  return raw.length > 0 && raw[raw.length - 1] === LF ? raw : Buffer.concat([raw, CRLF]);
}

const HEX = '0123456789ABCDEF';

/**
 * RFC 2045 §6.7 quoted-printable of CRLF text: CRLF stays a hard line break, '=', controls,
 * 8-bit octets and whitespace before a line end become =XX, and soft breaks keep lines ≤ 76.
 */
export function quotedPrintableEncode(text: Uint8Array): Buffer {
  const n = text.length;
  const out = Buffer.allocUnsafe(n * 3 + Math.ceil((n * 3) / 75) * 3 + 3);
  let p = 0;
  let col = 0;
  for (let i = 0; i < n; i++) {
    const b = text[i]!;
    if (b === CR && text[i + 1] === LF) {
      out[p++] = CR;
      out[p++] = LF;
      i++;
      col = 0;
      continue;
    }
    const atLineEnd = i + 1 === n || (text[i + 1] === CR && text[i + 2] === LF);
    const literal = (b >= 33 && b <= 126 && b !== 0x3d) || ((b === 0x20 || b === 0x09) && !atLineEnd);
    const width = literal ? 1 : 3;
    if (col + width > 75) {
      out[p++] = 0x3d;
      out[p++] = CR;
      out[p++] = LF;
      col = 0;
    }
    if (literal) {
      out[p++] = b;
    } else {
      out[p++] = 0x3d;
      out[p++] = HEX.charCodeAt(b >> 4);
      out[p++] = HEX.charCodeAt(b & 15);
    }
    col += width;
  }
  return out.subarray(0, p);
}

/**
 * Splits an RFC 5322 message: the transport headers (everything but Content-*; MIME-Version is
 * transport) and the MIME entity (the Content-* fields, CRLF, the empty line, the body as it is).
 * A message without Content-Type gets the RFC 2045 §5.2 default.
 */
export function splitMessage(
  message: Uint8Array,
  limits?: MimeLimits,
): { transportHeaders: HeaderField[]; entity: Uint8Array } {
  const { fields, bodyStart } = parseHeaderBlock(message, limits);
  const transportHeaders: HeaderField[] = [];
  const head: Buffer[] = [];
  let hasContentType = false;
  for (const f of fields) {
    const lower = f.name.toLowerCase();
    if (!lower.startsWith('content-')) {
      transportHeaders.push(f);
      continue;
    }
    if (lower === 'content-type') hasContentType = true;
    head.push(fieldLine(f));
  }
  if (!hasContentType) head.unshift(Buffer.from('Content-Type: text/plain; charset=us-ascii\r\n', 'latin1'));
  head.push(CRLF, asBuffer(message.subarray(bodyStart)));
  return { transportHeaders, entity: Buffer.concat(head) };
}

/**
 * A message from transport headers (CRLF, in their order), `MIME-Version: 1.0` when they lack
 * one, and the entity (its header block and body) as given.
 */
export function assembleMessage(transportHeaders: HeaderField[], entity: Uint8Array): Uint8Array {
  const pieces = transportHeaders.map(fieldLine);
  if (!transportHeaders.some((f) => f.name.toLowerCase() === 'mime-version')) {
    pieces.push(Buffer.from('MIME-Version: 1.0\r\n', 'latin1'));
  }
  pieces.push(asBuffer(entity));
  return Buffer.concat(pieces);
}
