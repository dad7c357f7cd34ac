import { createHash as createHashOf, type Hash } from 'node:crypto';
import { oidFromContent } from '../asn1/der.ts';
import { type DecryptionKey, decryptStream, type EnvelopeInfo, encryptStream } from '../cms/enveloped-data.ts';
/**
 * Constant-memory versions of the message operations, for messages too large to hold
 * (the CLI switches to them above 32 MiB). One S/MIME layer per call: nested layers inside a
 * huge message are passed through as content.
 */
import { DetachedSigner, openSignedStream, parseSignedData, signStream } from '../cms/signed-data.ts';
import { fail, isSealpostError } from '../errors.ts';
import { assembleMessage, canonicalizeEntity, splitMessage } from '../mime/canonical.ts';
import { decodeBody, type MimeLimits } from '../mime/entity.ts';
import { type ContentType, getHeader, type HeaderField, parseContentType } from '../mime/headers.ts';
import { multipartSignedHead, multipartSignedTail, newBoundary, pkcs7MimeHead } from '../mime/smime-entities.ts';
import { crlfStream, MultipartSignedReader, readHeaderBlockStream } from '../mime/stream.ts';
import { base64DecodeStream, base64EncodeStream, rechunk } from '../util/base64.ts';
import { basicValidator } from '../x509/path.ts';
import type { EncryptMessageOptions } from './encrypt.ts';
import { contentInfoDecides, type LayerKind, layerKindOfContentType, layerKindOfMediaType } from './layers.ts';
import { checkSender } from './sender.ts';
import { micalgFor, type SignMessageOptions } from './sign.ts';
import { decide, signerReports, type VerifyOptions, type VerifyReport } from './verify.ts';

/** Inputs whose transfer encoding cannot cross 7-bit transport are re-encoded; multiparts are held up to this size. */
const MAX_BUFFERED_MULTIPART = 256 * 1024 * 1024;

interface OpenedMessage {
  fields: HeaderField[];
  transport: HeaderField[];
  /** The entity's header block (Content-* fields, CRLF, blank line). */
  entityHead: Uint8Array;
  body: AsyncIterable<Uint8Array>;
}

async function openMessage(source: AsyncIterable<Uint8Array>, limits?: MimeLimits): Promise<OpenedMessage> {
  const { fields, headerBytes, body } = await readHeaderBlockStream(source, limits);
  const { transportHeaders, entity } = splitMessage(headerBytes, limits);
  return { fields, transport: transportHeaders, entityHead: entity, body };
}

/** The entity in canonical form, as a stream (RFC 8551 §3.1.1). */
async function* canonicalEntity(m: OpenedMessage, limits?: MimeLimits): AsyncIterable<Uint8Array> {
  const ct = parseContentType(getHeader(m.fields, 'Content-Type'));
  const cte = (getHeader(m.fields, 'Content-Transfer-Encoding') ?? '7bit').trim().toLowerCase();
  const eightBit = cte === '8bit' || cte === 'binary';
  if (eightBit && ct.type === 'multipart') {
    // Re-encoding 8-bit parts inside a multipart needs the whole tree; hold it, bounded.
    const chunks: Uint8Array[] = [m.entityHead];
    let size = 0;
    for await (const c of m.body) {
      size += c.length;
      if (size > MAX_BUFFERED_MULTIPART)
        fail('MIME_LIMIT', 'an 8-bit multipart message over 256 MiB cannot be canonicalized; send it 7-bit');
      chunks.push(c);
    }
    yield canonicalizeEntity(Buffer.concat(chunks), limits);
    return;
  }
  if (eightBit) {
    // 8-bit single part: base64 survives every transport and is streamable.
    const head = Buffer.from(m.entityHead)
      .toString('latin1')
      .replace(/^Content-Transfer-Encoding:.*(\r?\n[ \t].*)*\r?\n/im, '');
    yield Buffer.from(`${head.replace(/\r?\n\r?\n$/, '\r\n')}Content-Transfer-Encoding: base64\r\n\r\n`, 'latin1');
    yield* base64EncodeStream(m.body);
    return;
  }
  yield canonicalizeEntity(m.entityHead, limits);
  yield* crlfStream(m.body);
}

export async function* signMessageStream(
  source: AsyncIterable<Uint8Array>,
  options: SignMessageOptions,
): AsyncIterable<Uint8Array> {
  const m = await openMessage(source, options.limits);
  const entity = canonicalEntity(m, options.limits);
  const cms = { signers: options.signers, signingTime: options.signingTime };
  if ((options.mode ?? 'clear') === 'clear') {
    const boundary = newBoundary();
    yield assembleMessage(m.transport, multipartSignedHead(micalgFor(options.signers), boundary));
    const signer = new DetachedSigner(cms);
    for await (const chunk of entity) {
      signer.update(chunk);
      yield chunk;
    }
    yield multipartSignedTail(signer.finish(), boundary);
  } else {
    yield assembleMessage(m.transport, pkcs7MimeHead('signed-data'));
    yield* base64EncodeStream(rechunk(signStream(entity, cms)));
  }
}

export async function* encryptMessageStream(
  source: AsyncIterable<Uint8Array>,
  options: EncryptMessageOptions & { cipher: NonNullable<EncryptMessageOptions['cipher']> },
): AsyncIterable<Uint8Array> {
  const m = await openMessage(source, options.limits);
  const smimeType = options.cipher.endsWith('gcm') ? 'authEnveloped-data' : 'enveloped-data';
  yield assembleMessage(m.transport, pkcs7MimeHead(smimeType));
  const der = encryptStream(rechunk(canonicalEntity(m, options.limits)), {
    recipients: options.recipients,
    cipher: options.cipher,
  });
  yield* base64EncodeStream(der);
}

/**
 * Decrypts one encryption layer. The returned stream throws at its end when the padding or the
 * GCM tag is wrong: treat what it yielded as uncommitted until it completes.
 */
export async function decryptMessageStream(
  source: AsyncIterable<Uint8Array>,
  keys: DecryptionKey[],
  limits?: MimeLimits,
): Promise<{ info: EnvelopeInfo; message: AsyncIterable<Uint8Array> }> {
  const m = await openMessage(source, limits);
  const { kind, der } = await openPkcs7(m, parseContentType(getHeader(m.fields, 'Content-Type')));
  if (kind !== 'enveloped' && kind !== 'auth-enveloped') fail('NOT_SMIME', 'the message is not encrypted');
  const { info, content } = await decryptStream(der, keys);
  async function* message(): AsyncIterable<Uint8Array> {
    yield assembleMessage(m.transport, new Uint8Array(0));
    yield* content;
  }
  return { info, message: message() };
}

/** Verifies a clear-signed or opaque-signed message of any size; `content` in the report is empty. */
export async function verifyMessageStream(
  source: AsyncIterable<Uint8Array>,
  options: VerifyOptions,
): Promise<VerifyReport> {
  const m = await openMessage(source, options.limits);
  const ct = parseContentType(getHeader(m.fields, 'Content-Type'));
  const pkcs7 = await openPkcs7(m, ct);
  let info: ReturnType<typeof parseSignedData>;
  let digests: Map<string, Uint8Array>;
  let layerKind: 'clear-signed' | 'opaque-signed';
  if (pkcs7.kind === 'clear-signed') {
    layerKind = 'clear-signed';
    const boundary = ct.params.get('boundary');
    if (!boundary) fail('MIME_MALFORMED', 'multipart/signed without a boundary');
    const reader = new MultipartSignedReader(m.body, boundary, options.limits);
    const hashes = (ct.params.get('micalg') ?? 'sha-256')
      .split(',')
      .map((a) => a.trim().toLowerCase().replace('-', ''));
    const signer = new DigestSet(hashes);
    for await (const chunk of reader.content()) signer.update(chunk);
    digests = signer.digests();
    info = parseSignedData(decodeBody(await reader.signaturePart()));
    if (info.content !== undefined) {
      return decideStream(m, options, layerKind, [], 'the detached signature also encapsulates content; refusing it');
    }
  } else if (pkcs7.kind === 'opaque-signed') {
    layerKind = 'opaque-signed';
    const opened = await openSignedStream(pkcs7.der);
    for await (const _ of opened.content) {
      // The digest is computed inside openSignedStream as the content flows past.
    }
    const finished = await opened.finish();
    info = finished;
    digests = finished.digests;
  } else {
    fail('NOT_SMIME', 'the message is not signed (or is encrypted: decrypt it first)');
  }
  const reports = signerReports(info, { digests }, options, options.validator ?? basicValidator);
  return decideStream(
    m,
    options,
    layerKind,
    reports,
    reports.length === 0 ? 'the signature has no signers' : undefined,
  );
}

/** Decoded bytes read ahead to find a ContentInfo's contentType: its header and OID take far fewer. */
const CONTENT_TYPE_PEEK = 64;

/**
 * The layer `ct` announces and the entity's decoded CMS stream. Without smime-type the
 * ContentInfo decides (see contentInfoDecides): its contentType is read from the first decoded
 * bytes, which are then given back in front of the rest. Nothing is read unless needed.
 */
async function openPkcs7(
  m: OpenedMessage,
  ct: ContentType,
): Promise<{ kind: LayerKind | undefined; der: AsyncIterable<Uint8Array> }> {
  const der = base64DecodeStream(m.body);
  if (!contentInfoDecides(ct)) return { kind: layerKindOfMediaType(ct), der };
  const it = der[Symbol.asyncIterator]();
  const held: Uint8Array[] = [];
  let size = 0;
  while (size < CONTENT_TYPE_PEEK) {
    const r = await it.next();
    if (r.done) break;
    held.push(r.value);
    size += r.value.length;
  }
  async function* replay(): AsyncIterable<Uint8Array> {
    yield* held;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { kind: layerKindOfContentType(contentTypeOfPrefix(Buffer.concat(held))), der: replay() };
}

/**
 * The contentType OID at the start of a BER ContentInfo (RFC 5652 §3): SEQUENCE tag, a short,
 * indefinite (0x80) or long (up to 4 octets) length (X.690 §8.1.3), then the OID's TLV.
 * Undefined when the prefix is not one; the CMS parser reports the details later.
 */
function contentTypeOfPrefix(b: Uint8Array): string | undefined {
  if (b.length < 2 || b[0] !== 0x30) return undefined;
  const len = b[1]!;
  const at = len <= 0x80 ? 2 : len <= 0x84 ? 2 + (len & 0x7f) : -1;
  if (at < 0 || b[at] !== 0x06) return undefined;
  const n = b[at + 1];
  if (n === undefined || n >= 0x80 || at + 2 + n > b.length) return undefined;
  try {
    return oidFromContent(b.subarray(at + 2, at + 2 + n));
  } catch (e) {
    if (isSealpostError(e)) return undefined;
    throw e;
  }
}

function decideStream(
  m: OpenedMessage,
  options: VerifyOptions,
  kind: 'clear-signed' | 'opaque-signed',
  signers: ReturnType<typeof signerReports>,
  problem: string | undefined,
): VerifyReport {
  const layers = [{ kind, signers, ...(problem ? { problem } : {}) }];
  const valid = signers.filter((s) => s.status === 'valid').map((s) => s.certificates[0]!);
  const sender = checkSender(m.fields, valid, options.sender);
  const { status, reason } = decide(layers, 'full', sender, undefined);
  return { status, reason, coverage: 'full', layers, sender, content: new Uint8Array(0) };
}

/** Hashes content with every algorithm micalg announced (RFC 8551 §3.5.3.2 names). */
class DigestSet {
  readonly #hashes: Map<string, Hash>;
  constructor(names: string[]) {
    this.#hashes = new Map();
    for (const n of names) {
      if (!['sha1', 'sha256', 'sha384', 'sha512', 'md5', 'sha224'].includes(n)) continue;
      this.#hashes.set(n, createHashOf(n));
    }
    if (this.#hashes.size === 0) this.#hashes.set('sha256', createHashOf('sha256'));
  }
  update(chunk: Uint8Array): void {
    for (const h of this.#hashes.values()) h.update(chunk);
  }
  digests(): Map<string, Uint8Array> {
    return new Map([...this.#hashes].map(([n, h]) => [n, h.digest()]));
  }
}
