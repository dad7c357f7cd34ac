/**
 * Base64 for MIME bodies (RFC 2045 §6.8): line-wrapped encoding and whitespace-tolerant,
 * alphabet-strict decoding, over buffers and over streams in constant memory.
 * Everything goes through Buffer's native codec a large block at a time; the only JS loops
 * run once per output line or per chunk, never per byte.
 */
import { fail } from '../errors.ts';

/** Coalesced chunk size for the streaming paths (node:crypto is fastest fed ≥ 256 KiB). */
const CHUNK = 256 * 1024;

function bytesPerLine(lineLength: number): number {
  if (!Number.isInteger(lineLength) || lineLength < 4 || lineLength % 4 !== 0) {
    fail('INVALID_ARGUMENT', 'the base64 line length must be a positive multiple of 4');
  }
  return (lineLength / 4) * 3;
}

/** Base64 of `data` in lines of `lineLength` characters, each (the last included) ending in CRLF. */
export function base64EncodeLines(data: Uint8Array, lineLength = 76): Buffer {
  bytesPerLine(lineLength);
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  const lines = Math.ceil(text.length / lineLength);
  const out = Buffer.allocUnsafe(text.length + 2 * lines);
  let p = 0;
  for (let i = 0; i < text.length; i += lineLength) {
    p += out.write(text.substring(i, i + lineLength), p, 'latin1');
    out[p++] = 0x0d;
    out[p++] = 0x0a;
  }
  return out;
}

/**
 * Streaming {@link base64EncodeLines}: the output is byte-identical to encoding the concatenated
 * input. Only whole lines are encoded per chunk; the remainder (< one line of input) waits for the next.
 */
export async function* base64EncodeStream(
  source: AsyncIterable<Uint8Array>,
  lineLength = 76,
): AsyncIterable<Uint8Array> {
  const perLine = bytesPerLine(lineLength);
  let residue: Buffer = Buffer.alloc(0);
  for await (const chunk of rechunk(source, CHUNK)) {
    const data = residue.length > 0 ? Buffer.concat([residue, chunk]) : asBuffer(chunk);
    const whole = data.length - (data.length % perLine);
    residue = Buffer.from(data.subarray(whole)); // copy: the caller may reuse its chunk
    if (whole > 0) yield base64EncodeLines(data.subarray(0, whole), lineLength);
  }
  if (residue.length > 0) yield base64EncodeLines(residue, lineLength);
}

/** State of an incremental decoder: significant characters not yet forming a full quantum. */
interface DecodeState {
  pending: string;
  done: boolean;
}

/**
 * Decodes one piece of base64 text. Whitespace (CR, LF, space, tab) is skipped; decoding stops at
 * the first '=' (padding ends the data, RFC 2045 §6.8); any other byte is MIME_MALFORMED.
 */
function decodePiece(state: DecodeState, piece: Uint8Array, final: boolean): Buffer {
  if (state.done) return Buffer.alloc(0);
  let text =
    state.pending +
    asBuffer(piece)
      .toString('latin1')
      .replace(/[\r\n \t]+/g, '');
  const pad = text.indexOf('=');
  if (pad >= 0) {
    const r = pad % 4;
    if (r < 2) fail('MIME_MALFORMED', 'misplaced base64 padding');
    text = text.slice(0, pad);
    state.done = true;
    final = true;
  }
  // Node's codec also accepts the URL-safe alphabet; MIME does not.
  if (text.includes('-') || text.includes('_')) fail('MIME_MALFORMED', 'invalid character in base64 data');
  let usable = text.length;
  if (!final) {
    usable -= text.length % 4;
    state.pending = text.slice(usable);
  } else {
    state.pending = '';
    if (text.length % 4 === 1) fail('MIME_MALFORMED', 'truncated base64 data');
  }
  const out = Buffer.from(usable === text.length ? text : text.slice(0, usable), 'base64');
  // Node's codec skips bytes outside the alphabet instead of rejecting them; each one skipped
  // shortens the output below what `usable` significant characters must give, so comparing
  // lengths detects them without a per-byte scan.
  const expected = (usable >> 2) * 3 + [0, 0, 1, 2][usable % 4]!;
  if (out.length !== expected) fail('MIME_MALFORMED', 'invalid character in base64 data');
  return out;
}

/** Decodes base64 text strictly (see {@link base64DecodeStream} for the rules). */
export function base64DecodeStrict(data: Uint8Array): Buffer {
  return decodePiece({ pending: '', done: false }, data, true);
}

/**
 * Streaming base64 decoder: skips CR/LF/space/tab, stops at the '=' padding, rejects any other
 * byte with MIME_MALFORMED. Output equals `Buffer.from(all, 'base64')` for valid input.
 */
export async function* base64DecodeStream(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const state: DecodeState = { pending: '', done: false };
  // After the padding the rest is ignored, but still drained so an upstream producer is not left blocked.
  for await (const chunk of rechunk(source, CHUNK)) {
    const out = decodePiece(state, chunk, false);
    if (out.length > 0) yield out;
  }
  const last = decodePiece(state, new Uint8Array(0), true);
  if (last.length > 0) yield last;
}

/** Coalesces small chunks into chunks of at least `size` bytes (the last may be smaller); large chunks pass as they are. */
export async function* rechunk(source: AsyncIterable<Uint8Array>, size = CHUNK): AsyncIterable<Uint8Array> {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    if (heldBytes === 0 && chunk.length >= size) {
      yield chunk;
      continue;
    }
    // Small chunks are copied: producers may reuse their buffers once we have moved on.
    held.push(Buffer.from(chunk));
    heldBytes += chunk.length;
    if (heldBytes >= size) {
      yield Buffer.concat(held, heldBytes);
      held = [];
      heldBytes = 0;
    }
  }
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
