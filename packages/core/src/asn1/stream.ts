/**
 * A pull-based BER reader over an `AsyncIterable<Uint8Array>`, for CMS messages too large to hold in
 * memory (a SignedData around a 1 GiB eContent, an EnvelopedData around a 1 GiB encryptedContent).
 *
 * Callers walk the outer structure header by header, read the small parts whole with
 * `readElement` / `readValue` (bounded by `maxElementBytes`), and stream the one big OCTET STRING
 * with `streamOctetString`, which yields zero-copy views of the input chunks as they arrive.
 *
 * Input chunks sit in a queue consumed through an index and an offset, so nothing is concatenated
 * except an element that is explicitly read whole. Tiny input chunks are packed into shared
 * staging buffers, so a source that trickles bytes cannot inflate the queue.
 */
import { fail } from '../errors.ts';
import { type Asn1, decode } from './der.ts';

export interface StreamLimits {
  /** Maximum nesting of constructed elements the reader follows itself (default 48). */
  maxDepth?: number;
  /** Maximum size of an element read whole by `readElement` / `readValue` (default 16 MiB). */
  maxElementBytes?: number;
}

export interface BerHeader {
  cls: number;
  constructed: boolean;
  tagNumber: number;
  /** The identifier octet for low tag numbers (same convention as `Asn1.tag`). */
  tag: number;
  /** Content length; `null` for the indefinite form (X.690 §8.1.3.6). */
  length: number | null;
  /** The identifier and length octets exactly as received. */
  headerBytes: Uint8Array;
}

const DEFAULT_MAX_DEPTH = 48;
const DEFAULT_MAX_ELEMENT = 16 * 1024 * 1024;
/** Identifier (1 + at most 6 tag octets before the tag limit trips) + length (1 + at most 6). */
const MAX_HEADER = 14;
const SMALL_CHUNK = 4096;
const STAGE_SIZE = 64 * 1024;
const EMPTY = new Uint8Array(0);

/** A look-ahead position in the chunk queue: absolute chunk index, offset in it, logical offset. */
interface Cursor {
  i: number;
  o: number;
  pos: number;
}

export class BerStreamReader {
  private readonly iter: AsyncIterator<Uint8Array>;
  private readonly maxDepth: number;
  private readonly maxElementBytes: number;
  private chunks: Uint8Array[] = [];
  /** Index of the first unconsumed chunk, and the consumed prefix of it. */
  private head = 0;
  private off = 0;
  /** Bytes buffered and not yet consumed. */
  private avail = 0;
  private done = false;
  private consumed = 0;
  /** Packing buffer for small chunks; `stageTail` says the last queue entry is a view of it. */
  private stage: Uint8Array = EMPTY;
  private stageStart = 0;
  private stageLen = 0;
  private stageTail = false;

  constructor(source: AsyncIterable<Uint8Array>, limits: StreamLimits = {}) {
    this.iter = source[Symbol.asyncIterator]();
    this.maxDepth = positive(limits.maxDepth ?? DEFAULT_MAX_DEPTH, 'maxDepth');
    this.maxElementBytes = positive(limits.maxElementBytes ?? DEFAULT_MAX_ELEMENT, 'maxElementBytes');
  }

  /** Bytes consumed so far (headers, values and end-of-contents octets). */
  get bytesRead(): number {
    return this.consumed;
  }

  /** True when the input has no more bytes. */
  async atEnd(): Promise<boolean> {
    return !(await this.ensure(1));
  }

  /** The next header without consuming it; `undefined` at the end of the input. */
  async peekHeader(): Promise<BerHeader | undefined> {
    return (await this.headerAt(this.cursor()))?.header;
  }

  /** Consumes the identifier and length octets of the next element. */
  async readHeader(): Promise<BerHeader> {
    const h = await this.headerAt(this.cursor());
    if (h === undefined) fail('ASN1_MALFORMED', 'unexpected end of data');
    this.consume(h.size);
    return h.header;
  }

  /** Reads one complete element (definite or indefinite) and decodes it in BER mode. */
  async readElement(maxBytes = this.maxElementBytes): Promise<Asn1> {
    const c = this.cursor();
    const h = await this.headerAt(c);
    if (h === undefined) fail('ASN1_MALFORMED', 'unexpected end of data');
    const total = h.header.length === null ? await this.scanIndefinite(c, maxBytes) : c.pos + h.header.length;
    if (total > maxBytes) fail('ASN1_LIMIT', `element larger than ${maxBytes} bytes`);
    if (!(await this.ensure(total))) fail('ASN1_MALFORMED', 'unexpected end of data');
    return decode(this.take(total), { mode: 'ber', maxDepth: this.maxDepth });
  }

  /**
   * The content of an element whose header was already read. For the indefinite form that is the
   * encodings of its children; the end-of-contents octets are consumed but not returned.
   */
  async readValue(header: BerHeader, maxBytes = this.maxElementBytes): Promise<Uint8Array> {
    if (header.length !== null) {
      if (header.length > maxBytes) fail('ASN1_LIMIT', `element larger than ${maxBytes} bytes`);
      if (!(await this.ensure(header.length))) fail('ASN1_MALFORMED', 'unexpected end of data');
      return this.take(header.length);
    }
    const end = await this.scanIndefinite(this.cursor(), maxBytes + 2);
    const value = this.take(end - 2);
    this.consume(2);
    return value;
  }

  /**
   * Streams the content of an OCTET STRING-like element whose header was already read: primitive,
   * or constructed (definite or indefinite, nested as BER allows) of primitive segments. Segments
   * carry the outer universal tag, or OCTET STRING when the outer tag is an IMPLICIT one
   * (e.g. `[0] IMPLICIT EncryptedContent`). Yields views of the input chunks; nothing is buffered.
   */
  async *streamOctetString(header: BerHeader): AsyncGenerator<Uint8Array, void, undefined> {
    if (!header.constructed) {
      yield* this.streamBytes(header.length ?? 0);
      return;
    }
    const segmentTag = header.cls === 0 ? header.tagNumber : 4;
    // Open constructed levels: absolute end offset, or null for the indefinite form.
    const ends: (number | null)[] = [header.length === null ? null : this.consumed + header.length];
    while (ends.length > 0) {
      const end = ends[ends.length - 1]!;
      if (end === null) {
        if (await this.atEndOfContents()) {
          this.consume(2);
          ends.pop();
          continue;
        }
      } else if (this.consumed >= end) {
        if (this.consumed > end) fail('ASN1_MALFORMED', 'string segment runs past its container');
        ends.pop();
        continue;
      }
      const h = await this.readHeader();
      if (h.cls !== 0 || h.tagNumber !== segmentTag) {
        fail('ASN1_MALFORMED', 'constructed string contains a segment of another type');
      }
      if (end !== null && h.length !== null && this.consumed + h.length > end) {
        fail('ASN1_MALFORMED', 'string segment runs past its container');
      }
      if (h.constructed) {
        if (ends.length >= this.maxDepth) fail('ASN1_LIMIT', `nesting deeper than ${this.maxDepth} levels`);
        ends.push(h.length === null ? null : this.consumed + h.length);
      } else {
        yield* this.streamBytes(h.length!);
      }
    }
  }

  /** Consumes the end-of-contents octets 00 00 that close an indefinite-length element. */
  async readEndOfContents(): Promise<void> {
    if (!(await this.ensure(2))) fail('ASN1_MALFORMED', 'missing end-of-contents');
    if (!this.atEndOfContentsSync()) fail('ASN1_MALFORMED', 'expected end-of-contents');
    this.consume(2);
  }

  /** Skips one element of any size without buffering it. */
  async skipElement(): Promise<void> {
    const h = await this.readHeader();
    if (h.length !== null) {
      await this.discard(h.length);
      return;
    }
    let open = 1;
    while (open > 0) {
      if (await this.atEndOfContents()) {
        this.consume(2);
        open--;
        continue;
      }
      const c = await this.readHeader();
      if (c.length !== null) {
        await this.discard(c.length);
      } else if (++open > this.maxDepth) {
        fail('ASN1_LIMIT', `nesting deeper than ${this.maxDepth} levels`);
      }
    }
  }

  // ------------------------------------------------------------ input queue

  /** Pulls one chunk from the source; false at its end. */
  private async pull(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.iter.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const chunk = r.value;
    if (!(chunk instanceof Uint8Array)) fail('INVALID_ARGUMENT', 'the BER source must yield Uint8Array chunks');
    if (chunk.length === 0) return true;
    this.avail += chunk.length;
    if (chunk.length >= SMALL_CHUNK) {
      this.chunks.push(chunk);
      this.stageTail = false;
      return true;
    }
    // Bytes already handed out as views stay valid: a stage is only ever appended to.
    const full = this.stageLen + chunk.length > this.stage.length;
    if (full) {
      this.stage = new Uint8Array(STAGE_SIZE);
      this.stageLen = 0;
    }
    if (full || !this.stageTail) {
      this.stageStart = this.stageLen;
      this.chunks.push(EMPTY);
      this.stageTail = true;
    }
    this.stage.set(chunk, this.stageLen);
    this.stageLen += chunk.length;
    this.chunks[this.chunks.length - 1] = this.stage.subarray(this.stageStart, this.stageLen);
    return true;
  }

  /** Buffers until at least `n` unconsumed bytes are available; false if the input ends first. */
  private async ensure(n: number): Promise<boolean> {
    while (this.avail < n) if (!(await this.pull())) return false;
    return true;
  }

  private cursor(): Cursor {
    return { i: this.head, o: this.off, pos: 0 };
  }

  /** The byte under a cursor, advancing it; the caller has ensured it is buffered. */
  private nextByte(c: Cursor): number {
    let chunk = this.chunks[c.i]!;
    while (c.o >= chunk.length) {
      c.i++;
      c.o = 0;
      chunk = this.chunks[c.i]!;
    }
    c.pos++;
    return chunk[c.o++]!;
  }

  /** Advances a cursor over buffered bytes. */
  private advance(c: Cursor, n: number): void {
    c.pos += n;
    while (n > 0) {
      // Stop at the end of a chunk rather than past it: the last chunk may still grow (staging).
      const room = this.chunks[c.i]!.length - c.o;
      if (n <= room) {
        c.o += n;
        return;
      }
      n -= room;
      c.i++;
      c.o = 0;
    }
  }

  private consume(n: number): void {
    this.avail -= n;
    this.consumed += n;
    while (n > 0) {
      const room = this.chunks[this.head]!.length - this.off;
      if (n < room) {
        this.off += n;
        return;
      }
      n -= room;
      this.chunks[this.head++] = EMPTY;
      this.off = 0;
    }
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
      this.stageTail = false;
    } else if (this.head > 1024) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Consumes `n` buffered bytes: a view when they lie in one chunk, else one copy. */
  private take(n: number): Uint8Array {
    const first = this.chunks[this.head] ?? EMPTY;
    if (this.off + n <= first.length) {
      const view = first.subarray(this.off, this.off + n);
      this.consume(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (let i = this.head, o = this.off; filled < n; i++, o = 0) {
      const piece = this.chunks[i]!.subarray(o, o + (n - filled));
      out.set(piece, filled);
      filled += piece.length;
    }
    this.consume(n);
    return out;
  }

  /** Yields the next `n` bytes as views of the input chunks, pulling as needed. */
  private async *streamBytes(n: number): AsyncGenerator<Uint8Array, void, undefined> {
    while (n > 0) {
      if (this.avail === 0 && !(await this.pull())) fail('ASN1_MALFORMED', 'unexpected end of data');
      const chunk = this.chunks[this.head]!;
      const k = Math.min(n, chunk.length - this.off);
      const view = chunk.subarray(this.off, this.off + k);
      this.consume(k);
      n -= k;
      yield view;
    }
  }

  private async discard(n: number): Promise<void> {
    while (n > 0) {
      if (this.avail === 0 && !(await this.pull())) fail('ASN1_MALFORMED', 'unexpected end of data');
      const k = Math.min(n, this.avail);
      this.consume(k);
      n -= k;
    }
  }

  private async atEndOfContents(): Promise<boolean> {
    if (!(await this.ensure(2))) fail('ASN1_MALFORMED', 'missing end-of-contents');
    return this.atEndOfContentsSync();
  }

  private atEndOfContentsSync(): boolean {
    const c = this.cursor();
    return this.nextByte(c) === 0 && this.nextByte(c) === 0;
  }

  // ------------------------------------------------------------ headers

  /**
   * Parses the header under a cursor and advances it (X.690 §8.1.2-8.1.3, with the same limits as
   * `decode` in BER mode). `undefined` when the input ends before the header starts.
   */
  private async headerAt(c: Cursor): Promise<{ header: BerHeader; size: number } | undefined> {
    await this.ensure(c.pos + MAX_HEADER);
    const start = c.pos;
    const have = this.avail - start;
    if (have <= 0) return undefined;
    const bytes: number[] = [];
    const next = (what: string): number => {
      if (bytes.length >= have) fail('ASN1_MALFORMED', `truncated ${what}`);
      const b = this.nextByte(c);
      bytes.push(b);
      return b;
    };
    const id = next('tag');
    const cls = id >> 6;
    const constructed = (id & 0x20) !== 0;
    let tagNumber = id & 0x1f;
    if (tagNumber === 0x1f) {
      // High tag number form (X.690 §8.1.2.4): base-128, no leading 0x80 octet.
      tagNumber = 0;
      for (let first = true; ; first = false) {
        const b = next('tag');
        if (first && b === 0x80) fail('ASN1_MALFORMED', 'non-minimal tag encoding');
        tagNumber = tagNumber * 128 + (b & 0x7f);
        if (tagNumber > 0x3fffffff) fail('ASN1_LIMIT', 'tag number too large');
        if ((b & 0x80) === 0) break;
      }
    }
    const lb = next('length');
    let length: number | null;
    if (lb < 0x80) {
      length = lb;
    } else if (lb === 0x80) {
      if (!constructed) fail('ASN1_MALFORMED', 'indefinite length on a primitive element');
      length = null;
    } else {
      const n = lb & 0x7f;
      if (n === 0x7f) fail('ASN1_MALFORMED', 'reserved length octet');
      // Six octets reach 2^48 - 1, far beyond any message this reader is for.
      if (n > 6) fail('ASN1_LIMIT', 'length too large');
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + next('length');
    }
    if (cls === 0 && tagNumber === 0 && (constructed || length !== 0)) {
      fail('ASN1_MALFORMED', 'malformed end-of-contents');
    }
    const header: BerHeader = {
      cls,
      constructed,
      tagNumber,
      tag: (cls << 6) | (constructed ? 0x20 : 0) | (tagNumber < 31 ? tagNumber : 31),
      length,
      headerBytes: Uint8Array.from(bytes),
    };
    return { header, size: c.pos - start };
  }

  /**
   * Walks the children of an indefinite-length element whose header the cursor has passed, up to
   * its end-of-contents, buffering what it walks over; returns the logical offset after it.
   */
  private async scanIndefinite(c: Cursor, maxBytes: number): Promise<number> {
    let open = 1;
    while (open > 0) {
      if (c.pos > maxBytes) fail('ASN1_LIMIT', `element larger than ${maxBytes} bytes`);
      if (!(await this.ensure(c.pos + 2))) fail('ASN1_MALFORMED', 'missing end-of-contents');
      const probe = { ...c };
      if (this.nextByte(probe) === 0 && this.nextByte(probe) === 0) {
        this.advance(c, 2);
        open--;
        continue;
      }
      const h = await this.headerAt(c);
      if (h === undefined) fail('ASN1_MALFORMED', 'missing end-of-contents');
      if (h.header.length === null) {
        if (++open > this.maxDepth) fail('ASN1_LIMIT', `nesting deeper than ${this.maxDepth} levels`);
        continue;
      }
      const skipTo = c.pos + h.header.length;
      if (skipTo > maxBytes) fail('ASN1_LIMIT', `element larger than ${maxBytes} bytes`);
      if (!(await this.ensure(skipTo))) fail('ASN1_MALFORMED', 'unexpected end of data');
      this.advance(c, h.header.length);
    }
    return c.pos;
  }
}

function positive(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 1) fail('INVALID_ARGUMENT', `${what} must be a positive integer`);
  return n;
}
