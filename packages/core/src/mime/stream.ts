/**
 * Constant-memory MIME for messages too large to hold: the header block read alone, LF→CRLF on
 * the fly, and the two parts of a multipart/signed body split as the bytes go by.
 */
import { fail } from '../errors.ts';
import { lfToCrlf, toCrlf } from './canonical.ts';
import { type MimeEntity, matchBoundaryLine, parseEntity } from './entity.ts';
import { DEFAULT_LIMITS, type HeaderField, type MimeLimits, parseHeaderBlock } from './headers.ts';

const LF = 0x0a;
const CR = 0x0d;

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Offset just past the empty line ending a header block in `buf`, scanning from `from`; -1 if not there yet. */
function headerEnd(buf: Buffer, length: number, from: number): number {
  if (from === 0) {
    if (length >= 1 && buf[0] === LF) return 1;
    if (length >= 2 && buf[0] === CR && buf[1] === LF) return 2;
  }
  for (let i = buf.indexOf(LF, Math.max(0, from)); i >= 0 && i < length; i = buf.indexOf(LF, i + 1)) {
    if (i + 1 < length && buf[i + 1] === LF) return i + 2;
    if (i + 2 < length && buf[i + 1] === CR && buf[i + 2] === LF) return i + 3;
  }
  return -1;
}

/**
 * Reads the header block (at most maxHeaderBytes) and returns it with the rest of the stream,
 * which starts with whatever was read past the empty line.
 */
export async function readHeaderBlockStream(
  source: AsyncIterable<Uint8Array>,
  limits?: MimeLimits,
): Promise<{ fields: HeaderField[]; headerBytes: Uint8Array; body: AsyncIterable<Uint8Array> }> {
  const maxBytes = limits?.maxHeaderBytes ?? DEFAULT_LIMITS.maxHeaderBytes;
  const it = source[Symbol.asyncIterator]();
  let buf = Buffer.allocUnsafe(16 * 1024);
  let length = 0;
  let end = -1;
  let exhausted = false;
  while (end < 0) {
    const r = await it.next();
    if (r.done) {
      exhausted = true;
      break;
    }
    const chunk = r.value;
    if (length + chunk.length > buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, length + chunk.length));
      buf.copy(grown, 0, 0, length);
      buf = grown;
    }
    buf.set(chunk, length);
    // An empty line straddling the chunk edge starts at most 2 bytes back.
    const from = Math.max(0, length - 2);
    length += chunk.length;
    end = headerEnd(buf, length, from);
    if (end < 0 && length > maxBytes) fail('MIME_LIMIT', `the header block exceeds ${maxBytes} bytes`);
  }
  const headerLength = end < 0 ? length : end;
  if (headerLength > maxBytes) fail('MIME_LIMIT', `the header block exceeds ${maxBytes} bytes`);
  const headerBytes = buf.subarray(0, headerLength);
  const { fields } = parseHeaderBlock(headerBytes, limits);
  const rest = buf.subarray(headerLength, length);
  async function* body(): AsyncIterable<Uint8Array> {
    if (rest.length > 0) yield rest;
    if (exhausted) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { fields, headerBytes, body: body() };
}

/** LF → CRLF on the fly; a CR at the end of one chunk and the LF starting the next make one CRLF. */
export async function* crlfStream(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let afterCr = false;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    const out = lfToCrlf(chunk, afterCr);
    afterCr = chunk[chunk.length - 1] === CR;
    yield out;
  }
}

/** Upper bound of the signature part held in memory. */
const MAX_SIGNATURE_PART = 4 * 1024 * 1024;
/** Upper bound of one boundary line (transport padding included) held while deciding whether it is one. */
const MAX_BOUNDARY_LINE = 4096;

/**
 * Splits a multipart/signed body as it streams: {@link content} yields the first part's exact bytes
 * (RFC 2046 §5.1.1: from after the first boundary line's CRLF to before the CRLF that precedes the
 * next boundary line), bare LF made CRLF; {@link signaturePart} then parses the second part.
 * Only a boundary's worth of tail is held back at a time.
 */
export class MultipartSignedReader {
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #dash: Buffer;
  readonly #limits: MimeLimits | undefined;
  /** Unconsumed bytes; #buf[0] is at a line start when #atLineStart. */
  #buf: Buffer = Buffer.alloc(0);
  #eof = false;
  #atLineStart = true;
  #contentDone = false;
  /** Whether the delimiter after the first part was the close delimiter. */
  #closedAfterContent = false;

  constructor(body: AsyncIterable<Uint8Array>, boundary: string, limits?: MimeLimits) {
    if (boundary.length === 0) fail('MIME_MALFORMED', 'multipart/signed with an empty boundary');
    this.#it = body[Symbol.asyncIterator]();
    this.#dash = Buffer.from(`--${boundary}`, 'utf8');
    this.#limits = limits;
  }

  async #more(): Promise<boolean> {
    if (this.#eof) return false;
    const r = await this.#it.next();
    if (r.done) {
      this.#eof = true;
      return false;
    }
    this.#buf = this.#buf.length === 0 ? asBuffer(r.value) : Buffer.concat([this.#buf, r.value]);
    return true;
  }

  /**
   * Looks for the next boundary line in #buf. `found`: the line at `at` (after the part's bytes,
   * which end at `partEnd`) ends at `next`. Otherwise `safe` bytes can be released for sure.
   */
  #scan(): { found: true; partEnd: number; next: number; close: boolean } | { found: false; safe: number } {
    const buf = this.#buf;
    const dash = this.#dash;
    // Candidates: the buffer start when it begins a line, then every position after a LF.
    let at = this.#atLineStart ? 0 : -1;
    for (let pos = 0; ; pos = at, at = -1) {
      if (at < 0) {
        const lf = buf.indexOf(LF, pos);
        if (lf < 0) break;
        at = lf + 1;
      }
      const m = matchBoundaryLine(buf, at, dash, buf.length, this.#eof);
      if (m === 'more') {
        if (buf.length - at > MAX_BOUNDARY_LINE) fail('MIME_LIMIT', 'a boundary line is too long');
        // Hold back from the line end before this candidate (it belongs to the delimiter if it is one).
        return { found: false, safe: lineEndStart(buf, at) };
      }
      if (m !== undefined) return { found: true, partEnd: lineEndStart(buf, at), next: m.next, close: m.close };
    }
    // No candidate: everything but a trailing line end (the start of a delimiter, maybe) is safe.
    let keep = 0;
    if (buf[buf.length - 1] === CR) keep = 1;
    else if (buf[buf.length - 1] === LF) keep = buf[buf.length - 2] === CR ? 2 : 1;
    return { found: false, safe: buf.length - keep };
  }

  /** Skips the preamble up to and including the first boundary line. */
  async #skipPreamble(): Promise<void> {
    for (;;) {
      const s = this.#scan();
      if (s.found) {
        if (s.close) fail('MIME_MALFORMED', 'multipart/signed has no body parts');
        this.#consume(s.next, true);
        return;
      }
      this.#consume(s.safe, false);
      if (this.#eof) fail('MIME_MALFORMED', 'multipart/signed body has no boundary line');
      await this.#more();
    }
  }

  #consume(n: number, lineStart: boolean): void {
    if (n === 0) return;
    this.#atLineStart = lineStart || this.#buf[n - 1] === LF;
    this.#buf = this.#buf.subarray(n);
  }

  /** The first body part's exact bytes (CRLF line ends), as they arrive. */
  async *content(): AsyncIterable<Uint8Array> {
    if (this.#contentDone) fail('INVALID_ARGUMENT', 'the signed content can be read only once');
    this.#contentDone = true;
    await this.#skipPreamble();
    let afterCr = false;
    const release = (bytes: Buffer): Buffer => {
      const out = lfToCrlf(bytes, afterCr);
      afterCr = bytes[bytes.length - 1] === CR;
      return out;
    };
    for (;;) {
      const s = this.#scan();
      if (s.found) {
        if (s.partEnd > 0) yield release(this.#buf.subarray(0, s.partEnd));
        this.#closedAfterContent = s.close;
        this.#consume(s.next, true);
        return;
      }
      if (s.safe > 0) {
        // Copy: the held tail shares memory with what is yielded, and consumers may keep chunks.
        yield release(Buffer.from(this.#buf.subarray(0, s.safe)));
        this.#consume(s.safe, false);
      }
      if (this.#eof) fail('MIME_MALFORMED', 'multipart/signed has no signature part');
      await this.#more();
    }
  }

  /** The parsed second part (at most 4 MiB); call after {@link content} has been consumed. */
  async signaturePart(): Promise<MimeEntity> {
    if (!this.#contentDone) fail('INVALID_ARGUMENT', 'read the signed content first');
    if (this.#closedAfterContent) fail('MIME_MALFORMED', 'multipart/signed has no signature part');
    for (;;) {
      const s = this.#scan();
      if (s.found || this.#eof) {
        // A missing close delimiter is tolerated: the part then runs to the end.
        const end = s.found ? s.partEnd : this.#buf.length;
        if (s.found && !s.close) fail('MIME_MALFORMED', 'multipart/signed has more than two parts');
        return parseEntity(toCrlf(Buffer.from(this.#buf.subarray(0, end))), this.#limits);
      }
      if (this.#buf.length > MAX_SIGNATURE_PART) fail('MIME_LIMIT', 'the signature part exceeds 4 MiB');
      await this.#more();
    }
  }
}

/** Where the line end before the line starting at `at` begins (CRLF or bare LF); `at` itself at the buffer start. */
function lineEndStart(buf: Buffer, at: number): number {
  if (at === 0) return 0;
  return at >= 2 && buf[at - 2] === CR ? at - 2 : at - 1;
}
