/**
 * Base64 for MIME bodies (RFC 2045 §6.8): line-wrapped encoding and whitespace-tolerant,
 * alphabet-strict decoding, over buffers and over streams in constant memory.
 * Everything goes through Buffer's native codec a large block at a time; the only JS loops
 * run once per output line or per chunk, never per byte.
 */
import { fail } from '../errors.ts';

/** Coalesced chunk size for the streaming paths (node:crypto is fastest fed ≥ 256 KiB). */
const CHUNK = 256 * 1024;
/** Input text decoded per step by the streaming decoder. */
const DECODE_SLICE = 64 * 1024;

function bytesPerLine(lineLength: number): number {
  if (!Number.isInteger(lineLength) || lineLength < 4 || lineLength % 4 !== 0) {
    fail('INVALID_ARGUMENT', 'the base64 line length must be a positive multiple of 4');
  }
  return (lineLength / 4) * 3;
}

/** Base64 of `data` in lines of `lineLength` characters, each (the last included) ending in CRLF. */
export function base64EncodeLines(data: Uint8Array, lineLength = 76): Buffer {
  bytesPerLine(lineLength);
  if (lineLength === 76 && LITTLE_ENDIAN) return wrap76(asBuffer(data));
  const text = asBuffer(data).toString('base64');
  const out = Buffer.allocUnsafe(text.length + 2 * Math.ceil(text.length / lineLength));
  let p = 0;
  for (let i = 0; i < text.length; i += lineLength) {
    p += out.write(text.substring(i, i + lineLength), p, 'latin1');
    out[p++] = 0x0d;
    out[p++] = 0x0a;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** "\r\n" as the low and as the high half of a little-endian 32-bit word. */
const CRLF_LOW = 0x0a0d;
const CRLF_HIGH = 0x0a0d0000;
/**
 * Input encoded per step: 1024 lines of 57 octets. Its text (76 KiB) stays below V8's large-object
 * size, so it dies young instead of piling up in the old generation until a full collection, and
 * each step's output starts on a 32-bit boundary (1024 × 78 octets).
 */
const BLOCK_LINES = 1024;
const BLOCK = 57 * BLOCK_LINES;
/** The encoded text of one block, as words (reused: never handed out). */
const scratch = new Uint32Array((76 * BLOCK_LINES) / 4);

/**
 * 76-character lines moved 32 bits at a time: one native call or string slice per line costs more
 * than the encoding itself. Two lines of text (152 octets, 38 words) become two lines with CRLF
 * (156 octets, 39 words); the second line starts 2 octets into a word, so its words are stitched
 * from halves.
 */
function wrap76(data: Buffer): Buffer {
  const textLength = Math.ceil(data.length / 3) * 4;
  const outLength = textLength + 2 * Math.ceil(textLength / 76);
  const dst = new Uint32Array(Math.ceil(outLength / 4));
  const out = Buffer.from(dst.buffer, 0, outLength);
  const text = Buffer.from(scratch.buffer);
  for (let from = 0; from < data.length; from += BLOCK) {
    const n = text.write(data.subarray(from, from + BLOCK).toString('base64'), 0, 'latin1');
    const pairs = Math.floor(n / 152);
    let s = 0;
    let d = (from / BLOCK) * ((78 * BLOCK_LINES) / 4);
    for (let k = 0; k < pairs; k++) {
      for (let j = 0; j < 19; j++) dst[d + j] = scratch[s + j]!;
      d += 19;
      s += 19;
      let prev = scratch[s]!;
      dst[d++] = CRLF_LOW | (prev << 16);
      for (let j = 1; j < 19; j++) {
        const w = scratch[s + j]!;
        dst[d++] = (prev >>> 16) | (w << 16);
        prev = w;
      }
      dst[d++] = (prev >>> 16) | CRLF_HIGH;
      s += 19;
    }
    // The last block may end with an odd line or a short one.
    let p = 4 * d;
    for (let i = pairs * 152; i < n; i += 76) {
      p += text.copy(out, p, i, Math.min(i + 76, n));
      out[p++] = 0x0d;
      out[p++] = 0x0a;
    }
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
    let data = asBuffer(chunk);
    if (residue.length > 0) {
      // Complete the held partial line first, so the chunk itself is never copied whole.
      const fill = Math.min(perLine - residue.length, data.length);
      residue = Buffer.concat([residue, data.subarray(0, fill)]);
      data = data.subarray(fill);
      if (residue.length < perLine) continue;
      yield base64EncodeLines(residue, lineLength);
    }
    const whole = data.length - (data.length % perLine);
    residue = Buffer.from(data.subarray(whole)); // copy: the caller may reuse its chunk
    if (whole > 0) yield base64EncodeLines(data.subarray(0, whole), lineLength);
  }
  if (residue.length > 0) yield base64EncodeLines(residue, lineLength);
}

const PAD_OR_URL_SAFE = /[-_=]/;

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
  // One scan finds both the padding and the URL-safe alphabet, which Node's codec accepts and MIME does not.
  const special = text.search(PAD_OR_URL_SAFE);
  if (special >= 0) {
    if (text.charCodeAt(special) !== 0x3d) fail('MIME_MALFORMED', 'invalid character in base64 data');
    if (special % 4 < 2) fail('MIME_MALFORMED', 'misplaced base64 padding');
    text = text.slice(0, special);
    state.done = true;
    final = true;
  }
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
    // Decoded a slice at a time: the slice's text stays below V8's large-object size (see BLOCK).
    for (let from = 0; from < chunk.length; from += DECODE_SLICE) {
      const out = decodePiece(state, chunk.subarray(from, from + DECODE_SLICE), false);
      if (out.length > 0) yield out;
    }
  }
  const last = decodePiece(state, new Uint8Array(0), true);
  if (last.length > 0) yield last;
}

/**
 * Coalesces small chunks into chunks of at least `size` bytes (the last may be smaller); large chunks
 * pass as they are. When small pieces are held and a large chunk comes, only enough of it to make
 * `size` is copied; its remainder passes as a view (a 4-byte BER header before each MiB of content
 * would otherwise cost a copy of every MiB).
 */
export async function* rechunk(source: AsyncIterable<Uint8Array>, size = CHUNK): AsyncIterable<Uint8Array> {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    if (heldBytes === 0 && chunk.length >= size) {
      yield chunk;
      continue;
    }
    if (heldBytes + chunk.length >= size) {
      const take = size - heldBytes;
      held.push(chunk.subarray(0, take));
      yield Buffer.concat(held, size);
      held = [];
      heldBytes = 0;
      const rest = chunk.subarray(take);
      if (rest.length >= size) {
        yield rest;
        continue;
      }
      if (rest.length === 0) continue;
      held.push(Buffer.from(rest));
      heldBytes = rest.length;
      continue;
    }
    // Small chunks are copied: producers may reuse their buffers once we have moved on.
    held.push(Buffer.from(chunk));
    heldBytes += chunk.length;
  }
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
