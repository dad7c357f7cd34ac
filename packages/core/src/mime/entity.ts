/**
 * MIME entities (RFC 2045/2046) as byte ranges into the input: nothing is copied or re-serialized,
 * so a signature can be checked over exactly the bytes that were received.
 */
import { fail } from '../errors.ts';
import { base64DecodeStrict } from '../util/base64.ts';
import {
  type ContentType,
  DEFAULT_LIMITS,
  getHeader,
  type HeaderField,
  type MimeLimits,
  parseContentType,
  parseHeaderBlockAt,
} from './headers.ts';

export type { MimeLimits } from './headers.ts';

export interface MimeEntity {
  source: Uint8Array;
  /** source[start..end) are the exact bytes of the entity (header block and body). */
  start: number;
  bodyStart: number;
  end: number;
  headers: HeaderField[];
  contentType: ContentType;
  /** Lowercase; '7bit' when absent. */
  transferEncoding: string;
  /** The body parts of a multipart/* entity. */
  parts?: MimeEntity[];
  /** Bytes before the first boundary line (without the line end that belongs to it). */
  preamble?: [number, number];
  /** Bytes after the close-delimiter line. */
  epilogue?: [number, number];
}

export function entityBytes(e: MimeEntity): Uint8Array {
  return e.source.subarray(e.start, e.end);
}

export function entityBody(e: MimeEntity): Uint8Array {
  return e.source.subarray(e.bodyStart, e.end);
}

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;

/** A boundary line found in a multipart body. */
interface BoundaryLine {
  /** Offset of the line end preceding the "--" (where the previous part ends), or of the "--" at the body start. */
  partEnd: number;
  /** Offset just past the boundary line's own line end (where the next part starts). */
  next: number;
  close: boolean;
}

/**
 * Checks whether `buf[at..)` holds `--boundary` followed by an optional `--`, transport padding
 * and a line end (or the end of the input): RFC 2046 §5.1.1 dash-boundary / close-delimiter.
 * Returns undefined when it is not a boundary line, 'more' when `limit` cuts it short.
 */
export function matchBoundaryLine(
  buf: Buffer,
  at: number,
  dashBoundary: Buffer,
  limit: number,
  final: boolean,
): { next: number; close: boolean } | undefined | 'more' {
  let p = at + dashBoundary.length;
  if (p > limit) {
    return final || buf.compare(dashBoundary, 0, limit - at, at, limit) !== 0 ? undefined : 'more';
  }
  if (buf.compare(dashBoundary, 0, dashBoundary.length, at, p) !== 0) return undefined;
  let close = false;
  if (p + 1 < limit && buf[p] === DASH && buf[p + 1] === DASH) {
    close = true;
    p += 2;
  } else if (p + 1 >= limit && buf[p] === DASH && !final) {
    return 'more';
  }
  while (p < limit && (buf[p] === 0x20 || buf[p] === 0x09)) p++;
  if (p === limit) return final ? { next: p, close } : 'more';
  if (buf[p] === LF) return { next: p + 1, close };
  if (buf[p] === CR) {
    if (p + 1 === limit) return final ? undefined : 'more';
    if (buf[p + 1] === LF) return { next: p + 2, close };
  }
  return undefined;
}

/**
 * The next boundary line in `buf[from..end)` that begins a line: at `from` itself when
 * `atLineStart`, else after a LF. The part before it ends before that LF (and its CR).
 */
function findBoundaryLine(
  buf: Buffer,
  from: number,
  end: number,
  dashBoundary: Buffer,
  atLineStart: boolean,
): BoundaryLine | undefined {
  // Search only up to `end`: a nested part must not look past its own bytes.
  const view = end === buf.length ? buf : buf.subarray(0, end);
  let pos = from;
  while (pos < end) {
    const hit = view.indexOf(dashBoundary, pos);
    if (hit < 0) return undefined;
    const lineStart = (hit === from && atLineStart) || (hit > from && buf[hit - 1] === LF);
    if (lineStart) {
      const m = matchBoundaryLine(buf, hit, dashBoundary, end, true);
      if (m !== undefined && m !== 'more') {
        let partEnd = hit;
        if (hit > from && buf[hit - 1] === LF) partEnd = hit > from + 1 && buf[hit - 2] === CR ? hit - 2 : hit - 1;
        return { partEnd, next: m.next, close: m.close };
      }
    }
    pos = hit + 1;
  }
  return undefined;
}

interface ParseState {
  limits: MimeLimits | undefined;
  maxDepth: number;
  maxParts: number;
  parts: number;
}

/**
 * Parses a whole entity or a whole message (whose header block carries the entity's Content-*
 * fields along with the transport ones), descending into multipart/* bodies. message/rfc822
 * bodies are left as leaves.
 */
export function parseEntity(bytes: Uint8Array, limits?: MimeLimits): MimeEntity {
  const state: ParseState = {
    limits,
    maxDepth: limits?.maxDepth ?? DEFAULT_LIMITS.maxDepth,
    maxParts: limits?.maxParts ?? DEFAULT_LIMITS.maxParts,
    parts: 0,
  };
  return parseAt(asBuffer(bytes), bytes, 0, bytes.length, 0, state);
}

function parseAt(
  buf: Buffer,
  source: Uint8Array,
  start: number,
  end: number,
  depth: number,
  state: ParseState,
): MimeEntity {
  const { fields, bodyStart } = parseHeaderBlockAt(buf, start, end, state.limits);
  const contentType = parseContentType(getHeader(fields, 'Content-Type'));
  const transferEncoding = (getHeader(fields, 'Content-Transfer-Encoding') ?? '7bit').toLowerCase() || '7bit';
  const entity: MimeEntity = { source, start, bodyStart, end, headers: fields, contentType, transferEncoding };
  if (contentType.type !== 'multipart') return entity;

  if (depth >= state.maxDepth) fail('MIME_LIMIT', `multipart nesting deeper than ${state.maxDepth}`);
  const boundary = contentType.params.get('boundary');
  if (!boundary) fail('MIME_MALFORMED', `${contentType.mediaType} without a boundary parameter`);
  const dashBoundary = Buffer.from(`--${boundary}`, 'utf8');
  let line = findBoundaryLine(buf, bodyStart, end, dashBoundary, true);
  if (!line) fail('MIME_MALFORMED', `${contentType.mediaType} body has no boundary line`);
  if (line.partEnd > bodyStart) entity.preamble = [bodyStart, line.partEnd];
  const parts: MimeEntity[] = [];
  while (!line.close && line.next <= end) {
    if (++state.parts > state.maxParts) fail('MIME_LIMIT', `more than ${state.maxParts} body parts`);
    const partStart = line.next;
    // The next boundary may immediately follow (an empty part): then it starts the line at partStart.
    const following = findBoundaryLine(buf, partStart, end, dashBoundary, true);
    const partEnd = following ? following.partEnd : end; // a missing close delimiter is tolerated
    parts.push(parseAt(buf, source, partStart, partEnd, depth + 1, state));
    if (!following) break;
    line = following;
  }
  if (line.close && line.next < end) entity.epilogue = [line.next, end];
  entity.parts = parts;
  return entity;
}

/**
 * The decoded body: base64 (whitespace skipped, any other stray byte is MIME_MALFORMED),
 * quoted-printable, or 7bit/8bit/binary as they are.
 */
export function decodeBody(e: MimeEntity): Uint8Array {
  const body = entityBody(e);
  switch (e.transferEncoding) {
    case 'base64':
      return base64DecodeStrict(body);
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    case '7bit':
    case '8bit':
    case 'binary':
      return body;
    default:
      return fail('UNSUPPORTED_CONTENT', `the transfer encoding "${e.transferEncoding}" is not supported`);
  }
}

/**
 * RFC 2045 §6.7: `=XX` octets, `=` CRLF soft line breaks, trailing whitespace on a line removed
 * (rule 3: it may have been added in transport). A stray `=` is kept literally (§6.7 note 1).
 */
export function decodeQuotedPrintable(body: Uint8Array): Buffer {
  const text = asBuffer(body)
    .toString('latin1')
    .replace(/[ \t]+(?=\r?\n|$)/g, '')
    .replace(/=(?:([0-9A-Fa-f]{2})|\r?\n|$)/g, (_, hex: string | undefined) =>
      hex === undefined ? '' : String.fromCharCode(Number.parseInt(hex, 16)),
    );
  return Buffer.from(text, 'latin1');
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
