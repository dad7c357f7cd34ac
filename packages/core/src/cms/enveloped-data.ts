/**
 * EnvelopedData (RFC 5652 §6) and AuthEnvelopedData (RFC 5083, AES-GCM per RFC 5084): building
 * and opening, from buffers and streams.
 *
 *   EnvelopedData ::= SEQUENCE { version CMSVersion, originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
 *     recipientInfos RecipientInfos, encryptedContentInfo EncryptedContentInfo,
 *     unprotectedAttrs [1] IMPLICIT UnprotectedAttributes OPTIONAL }
 *   AuthEnvelopedData ::= SEQUENCE { version CMSVersion, -- always 0
 *     originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL, recipientInfos RecipientInfos,
 *     authEncryptedContentInfo EncryptedContentInfo, authAttrs [1] IMPLICIT AuthAttributes OPTIONAL,
 *     mac MessageAuthenticationCode, unauthAttrs [2] IMPLICIT UnauthAttributes OPTIONAL }
 *   EncryptedContentInfo ::= SEQUENCE { contentType ContentType,
 *     contentEncryptionAlgorithm ContentEncryptionAlgorithmIdentifier,
 *     encryptedContent [0] IMPLICIT EncryptedContent OPTIONAL }
 */
import { type Asn1, Class, decode, readOctetString, readOid, readSmallInt } from '../asn1/der.ts';
import { integer, oid, setOf, tlvHeader } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { BerStreamReader } from '../asn1/stream.ts';
import { fail, SealpostError } from '../errors.ts';
import type { ContentCipherName } from './capabilities.ts';
import {
  type ContentCipherSpec,
  contentCipherName,
  createContentDecryptor,
  createContentEncryptor,
  encodeContentCipher,
  newContentCipher,
  parseContentCipher,
} from './content-cipher.ts';
import { CMS_DECODE, parseContentInfo } from './content-info.ts';
import {
  buildRecipientInfo,
  type DecryptionKey,
  type EncryptRecipient,
  MAX_RECIPIENTS,
  type ParsedRecipient,
  parseRecipientInfos,
  prepareUnwrap,
  type RecipientMatch,
  type RecipientSummary,
  recoverContentKey,
  selectRecipient,
} from './recipient-info.ts';

export type { DecryptionKey, EncryptRecipient, RecipientSummary } from './recipient-info.ts';

export interface EncryptOptions {
  recipients: EncryptRecipient[];
  cipher: ContentCipherName;
  /** The type of the encrypted content; default id-data. */
  contentType?: string;
}

export interface EnvelopeInfo {
  type: 'enveloped-data' | 'authEnveloped-data';
  contentType: string;
  /** e.g. `aes-256-cbc`; the dotted OID for algorithms Sealpost does not know. */
  contentCipher: string;
  recipients: RecipientSummary[];
  /** Which RecipientInfo (and which offered key) opened the envelope. */
  matched?: { recipientIndex: number; keyIndex: number };
}

/** Input is fed to the cipher in pieces of at least this size (and emitted as one OCTET STRING each). */
const STREAM_CHUNK = 256 * 1024;

/** The one failure every secret-dependent problem turns into (RFC 3218 §2.3). */
function decryptionFailed(): never {
  throw new SealpostError('DECRYPTION_FAILED', 'the message could not be decrypted');
}

// ---------------------------------------------------------------- building

/** DER pieces with their total length, so nesting costs headers only and the content is copied once. */
interface Parts {
  list: Uint8Array[];
  length: number;
}

function parts(...items: Uint8Array[]): Parts {
  let length = 0;
  for (const i of items) length += i.length;
  return { list: items, length };
}

function nest(tag: number, ...inner: Parts[]): Parts {
  let length = 0;
  for (const p of inner) length += p.length;
  const h = tlvHeader(tag, length);
  const list: Uint8Array[] = [h];
  for (const p of inner) for (const item of p.list) list.push(item);
  return { list, length: h.length + length };
}

interface PreparedEnvelope {
  auth: boolean;
  spec: ContentCipherSpec;
  key: Buffer;
  /** version, recipientInfos: the fields before the EncryptedContentInfo. */
  head: Buffer;
  /** contentType and contentEncryptionAlgorithm inside the EncryptedContentInfo. */
  eciHead: Buffer;
}

function prepareEnvelope(options: EncryptOptions): PreparedEnvelope {
  const { recipients } = options;
  if (!Array.isArray(recipients) || recipients.length === 0)
    fail('INVALID_ARGUMENT', 'at least one recipient is needed');
  if (recipients.length > MAX_RECIPIENTS) fail('CMS_LIMIT', `more than ${MAX_RECIPIENTS} recipients`);
  const { spec, key } = newContentCipher(options.cipher);
  const auth = spec.mode === 'gcm';
  const infos = recipients.map((r) => buildRecipientInfo(r, key));
  /*
   * RFC 5652 §6.1: version 0 when there is no originatorInfo or unprotectedAttrs and every
   * RecipientInfo is version 0, else 2 (we write neither pwri nor ori, which would need 3).
   * RFC 5083 §2.1: AuthEnvelopedData is always version 0.
   */
  const version = auth || infos.every((i) => i.version === 0) ? 0 : 2;
  const head = Buffer.concat([integer(version), setOf(infos.map((i) => i.der))]);
  const eciHead = Buffer.concat([oid(options.contentType ?? OID.data), encodeContentCipher(spec)]);
  return { auth, spec, key, head, eciHead };
}

/**
 * Encrypts `content` to every recipient: a DER ContentInfo holding EnvelopedData for CBC ciphers
 * and AuthEnvelopedData for GCM (12-octet nonce, 16-octet tag). RSA certificates get key transport
 * (PKCS#1 v1.5 unless `rsaPadding: 'oaep'`), P-256/P-384/P-521 and X25519/X448 certificates
 * ephemeral-static key agreement. Certificates whose keyUsage forbids that are KEY_UNSUITABLE,
 * other key types UNSUPPORTED_ALGORITHM; at most 1000 recipients.
 */
export function encryptContent(content: Uint8Array, options: EncryptOptions): Buffer {
  const env = prepareEnvelope(options);
  const enc = createContentEncryptor(env.spec, env.key);
  // The two ciphertext pieces are joined only by the final copy below.
  const eci = nest(0x30, parts(env.eciHead), nest(0x80, parts(enc.update(content), enc.final())));
  const body = env.auth
    ? nest(0x30, parts(env.head), eci, nest(0x04, parts(enc.tag())))
    : nest(0x30, parts(env.head), eci);
  const ci = nest(0x30, parts(oid(env.auth ? OID.authEnvelopedData : OID.envelopedData)), nest(0xa0, body));
  return Buffer.concat(ci.list, ci.length);
}

const EOC = Buffer.from([0, 0]);

/**
 * Streaming `encryptContent`, in the BER form `openssl cms -encrypt -stream` writes: indefinite
 * lengths, encryptedContent as [0] IMPLICIT constructed with definite-length OCTET STRING pieces
 * of at least 256 KiB, and for GCM the tag in `mac` after the content (RFC 5083 §2.1).
 * Recipients are checked (and their keys wrapped) before this returns, so bad options throw here.
 */
export function encryptStream(content: AsyncIterable<Uint8Array>, options: EncryptOptions): AsyncIterable<Uint8Array> {
  const env = prepareEnvelope(options);
  return encryptStreamBody(content, env);
}

async function* encryptStreamBody(
  content: AsyncIterable<Uint8Array>,
  env: PreparedEnvelope,
): AsyncGenerator<Uint8Array> {
  const enc = createContentEncryptor(env.spec, env.key);
  yield Buffer.concat([
    Buffer.from([0x30, 0x80]),
    oid(env.auth ? OID.authEnvelopedData : OID.envelopedData),
    Buffer.from([0xa0, 0x80, 0x30, 0x80]),
    env.head,
    Buffer.from([0x30, 0x80]),
    env.eciHead,
    Buffer.from([0xa0, 0x80]),
  ]);
  // One piece is held back so the cipher's final block joins the last piece instead of trailing alone.
  let held: Buffer | undefined;
  for await (const input of rechunk(content)) {
    const out = enc.update(input);
    if (held && held.length > 0) {
      yield tlvHeader(0x04, held.length);
      yield held;
    }
    held = out;
  }
  const last = enc.final();
  const lastLength = (held?.length ?? 0) + last.length;
  // The held piece goes out as is; everything after it is small and leaves in one buffer.
  const tail: Uint8Array[] = [];
  if (lastLength > 0) {
    yield tlvHeader(0x04, lastLength);
    if (held && held.length > 0) yield held;
    tail.push(last);
  }
  tail.push(EOC, EOC); // encryptedContent, EncryptedContentInfo
  if (env.auth) {
    const tag = enc.tag();
    tail.push(tlvHeader(0x04, tag.length), tag);
  }
  tail.push(EOC, EOC, EOC); // (Auth)EnvelopedData, [0], ContentInfo
  yield Buffer.concat(tail);
}

/** Regroups a stream into pieces of at least STREAM_CHUNK bytes (the last may be shorter), copying only small pieces. */
async function* rechunk(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingLength = 0;
  for await (const chunk of source) {
    if (!(chunk instanceof Uint8Array)) fail('INVALID_ARGUMENT', 'content chunks must be Uint8Array');
    if (chunk.length === 0) continue;
    if (pendingLength === 0 && chunk.length >= STREAM_CHUNK) {
      yield chunk;
      continue;
    }
    if (pendingLength + chunk.length >= STREAM_CHUNK) {
      // Copy only what completes a piece; a large remainder passes as a view.
      const take = STREAM_CHUNK - pendingLength;
      pending.push(chunk.subarray(0, take));
      yield Buffer.concat(pending, STREAM_CHUNK);
      pending = [];
      pendingLength = 0;
      const rest = chunk.subarray(take);
      if (rest.length >= STREAM_CHUNK) yield rest;
      else if (rest.length > 0) {
        pending.push(rest);
        pendingLength = rest.length;
      }
      continue;
    }
    pending.push(chunk);
    pendingLength += chunk.length;
  }
  if (pendingLength > 0) yield Buffer.concat(pending, pendingLength);
}

// ---------------------------------------------------------------- parsing

/** The fields of an (Auth)EnvelopedData before the encrypted content, parsed the same way for buffers and streams. */
interface EnvelopeHead {
  info: EnvelopeInfo;
  recipients: ParsedRecipient[];
  cipherEl: Asn1;
}

function envelopeType(contentType: string): EnvelopeInfo['type'] {
  if (contentType === OID.envelopedData) return 'enveloped-data';
  if (contentType === OID.authEnvelopedData) return 'authEnveloped-data';
  fail('UNSUPPORTED_CONTENT', 'the CMS content is neither EnvelopedData nor AuthEnvelopedData');
}

/**
 * `fields` are the (Auth)EnvelopedData children up to and including the EncryptedContentInfo's
 * contentType and algorithm: version, [0] originatorInfo?, recipientInfos; then `eciType`, `eciAlg`.
 */
function parseHead(type: EnvelopeInfo['type'], fields: Asn1[], eciType: Asn1, eciAlg: Asn1): EnvelopeHead {
  const version = readSmallInt(fields[0] ?? fail('CMS_MALFORMED', 'missing version'), 255);
  if (type === 'authEnveloped-data' && version !== 0) fail('CMS_MALFORMED', 'AuthEnvelopedData version must be 0');
  let i = 1;
  if (fields[i]?.isContext(0)) i++; // originatorInfo: certificates for the originator, not needed to decrypt
  const ris = fields[i];
  if (!ris || i + 1 !== fields.length) fail('CMS_MALFORMED', 'malformed EnvelopedData');
  const recipients = parseRecipientInfos(ris);
  if (!eciType.is(0x06)) fail('CMS_MALFORMED', 'malformed EncryptedContentInfo');
  if (!eciAlg.is(0x30) || eciAlg.children.length < 1) fail('CMS_MALFORMED', 'malformed contentEncryptionAlgorithm');
  return {
    info: {
      type,
      contentType: readOid(eciType),
      contentCipher: contentCipherName(readOid(eciAlg.child(0))),
      recipients: recipients.map((r) => r.summary),
    },
    recipients,
    cipherEl: eciAlg,
  };
}

interface ParsedEnvelope extends EnvelopeHead {
  /** Absent when the content is detached. */
  encryptedContent?: Uint8Array;
  authAttrs?: Asn1;
  mac?: Uint8Array;
}

/** [0] IMPLICIT OCTET STRING: primitive, or (BER) constructed from OCTET STRING pieces. */
function encryptedContentBytes(el: Asn1): Uint8Array {
  if (!el.constructed) return el.value;
  return Buffer.concat(
    el.children.map((c) => {
      if (c.tagNumber !== 4 || c.cls !== Class.Universal)
        fail('CMS_MALFORMED', 'encryptedContent piece is not an OCTET STRING');
      return readOctetString(c);
    }),
  );
}

function parseEnvelope(der: Uint8Array): ParsedEnvelope {
  const { contentType, content } = parseContentInfo(der);
  const type = envelopeType(contentType);
  if (!content.is(0x30)) fail('CMS_MALFORMED', 'malformed EnvelopedData');
  const f = content.children;
  const eciIndex = f.findIndex((c, i) => i > 0 && c.is(0x30));
  const eci = f[eciIndex];
  if (!eci || eci.children.length < 2 || eci.children.length > 3)
    fail('CMS_MALFORMED', 'malformed EncryptedContentInfo');
  const head = parseHead(type, f.slice(0, eciIndex), eci.child(0), eci.child(1));
  const out: ParsedEnvelope = head;
  const ec = eci.children[2];
  if (ec) {
    if (!ec.isContext(0)) fail('CMS_MALFORMED', 'malformed encryptedContent');
    out.encryptedContent = encryptedContentBytes(ec);
  }
  const rest = f.slice(eciIndex + 1);
  if (type === 'enveloped-data') {
    if (rest.length > 1 || (rest[0] && !rest[0].isContext(1)))
      fail('CMS_MALFORMED', 'unexpected field after EncryptedContentInfo');
    return out;
  }
  let j = 0;
  if (rest[j]?.isContext(1)) out.authAttrs = rest[j++];
  const mac = rest[j++];
  if (!mac || mac.tagNumber !== 4 || mac.cls !== Class.Universal) fail('CMS_MALFORMED', 'AuthEnvelopedData has no mac');
  out.mac = readOctetString(mac);
  if (rest.length > j + 1 || (rest[j] && !rest[j]!.isContext(2))) fail('CMS_MALFORMED', 'unexpected field after mac');
  return out;
}

/** Reports what an envelope holds and to whom, without any key (for `sealpost inspect`). */
export function describeEnvelope(contentInfoDer: Uint8Array): EnvelopeInfo {
  return parseEnvelope(contentInfoDer).info;
}

/**
 * RFC 5083 §2.2: authAttrs are authenticated as the DER encoding of the SET OF with the
 * universal SET tag, not the [1] IMPLICIT tag it travels under.
 */
function authAttrsAad(el: Asn1): Buffer {
  if (!el.constructed) fail('CMS_MALFORMED', 'malformed authAttrs');
  const der: Uint8Array[] = [];
  for (const a of el.children) {
    try {
      der.push(decode(a.raw, { mode: 'der' }).raw);
    } catch {
      fail('CMS_MALFORMED', 'authAttrs are not DER-encoded');
    }
  }
  return setOf(der);
}

/** Checks the cipher fits the envelope type: GCM only inside AuthEnvelopedData (RFC 5084 §1). */
function resolveCipher(head: EnvelopeHead): ContentCipherSpec {
  const spec = parseContentCipher(head.cipherEl);
  const auth = head.info.type === 'authEnveloped-data';
  if (auth !== (spec.mode === 'gcm')) {
    fail(
      'UNSUPPORTED_ALGORITHM',
      auth
        ? `${spec.name} is not an authenticated cipher for AuthEnvelopedData`
        : `${spec.name} needs AuthEnvelopedData, not EnvelopedData`,
    );
  }
  return spec;
}

/** Selects our RecipientInfo by identifier and prepares the (secret-dependent) unwrap. */
function selectKey(head: EnvelopeHead, keys: DecryptionKey[]): { match: RecipientMatch; unwrap: () => Buffer } {
  const match = selectRecipient(head.recipients, keys);
  if (!match) {
    fail(
      'NO_RECIPIENT',
      `none of the ${keys.length} given key(s) is among the message's ${head.recipients.length} recipient(s)`,
    );
  }
  const r = head.recipients[match.recipientIndex]!;
  head.info.matched = { recipientIndex: match.recipientIndex, keyIndex: match.keyIndex };
  return { match, unwrap: prepareUnwrap(r, match, keys[match.keyIndex]!) };
}

/**
 * Decrypts a DER/BER ContentInfo with the first offered key whose certificate a RecipientInfo
 * names (issuerAndSerialNumber or subjectKeyIdentifier). Every failure after that choice — bad
 * RSA padding, wrong key, corrupted ciphertext, CBC padding, GCM tag — is the same
 * DECRYPTION_FAILED, raised after the content decryption has run (RFC 3218 §2.3).
 */
export function decryptContent(
  contentInfoDer: Uint8Array,
  keys: DecryptionKey[],
): { content: Buffer; info: EnvelopeInfo } {
  const env = parseEnvelope(contentInfoDer);
  const spec = resolveCipher(env);
  if (env.encryptedContent === undefined) fail('UNSUPPORTED_CONTENT', 'the encrypted content is detached');
  const aad = env.authAttrs ? authAttrsAad(env.authAttrs) : undefined;
  const { unwrap } = selectKey(env, keys);
  const { cek, ok } = recoverContentKey(unwrap, spec.keyLength);
  let content: Buffer | undefined;
  try {
    const d = createContentDecryptor(spec, cek, aad);
    const body = d.update(env.encryptedContent);
    const last = d.final(env.mac);
    content = last.length > 0 ? Buffer.concat([body, last]) : body;
  } catch {
    content = undefined;
  }
  if (!ok || content === undefined) decryptionFailed();
  return { content, info: env.info };
}

// ---------------------------------------------------------------- streaming decryption

/** Bound on each element read whole before the content (recipientInfos, originatorInfo, attributes). */
const HEADER_ELEMENT_LIMIT = 1024 * 1024;

/** An open constructed element: its absolute end, or null for the indefinite form. */
interface Frame {
  end: number | null;
}

async function open(r: BerStreamReader, tag: number, what: string): Promise<Frame> {
  const h = await r.readHeader();
  if (h.tag !== tag) fail('CMS_MALFORMED', `malformed ${what}`);
  return { end: h.length === null ? null : r.bytesRead + h.length };
}

/** Whether the frame has another child. */
async function more(r: BerStreamReader, f: Frame): Promise<boolean> {
  if (f.end !== null) {
    if (r.bytesRead > f.end) fail('CMS_MALFORMED', 'an element runs past the end of its container');
    return r.bytesRead < f.end;
  }
  const h = await r.peekHeader();
  if (!h) fail('CMS_MALFORMED', 'missing end-of-contents');
  return !(h.cls === 0 && h.tagNumber === 0);
}

async function close(r: BerStreamReader, f: Frame, what: string): Promise<void> {
  if (await more(r, f)) fail('CMS_MALFORMED', `unexpected field at the end of ${what}`);
  if (f.end === null) await r.readEndOfContents();
}

/**
 * Streaming `decryptContent` in constant memory: reads the envelope up to the encrypted content
 * (each element bounded to 1 MiB), selects the key by identifier and recovers the content key
 * before the promise resolves (so NO_RECIPIENT, KEY_MISMATCH, UNSUPPORTED_ALGORITHM and malformed
 * headers reject it), then decrypts as the ciphertext arrives, in pieces of at least 256 KiB.
 *
 * The output is UNCOMMITTED until the iterable completes without throwing: the GCM tag comes after
 * the ciphertext (RFC 5083 §2.1) and the CBC padding is in the last block, so plaintext is released
 * before they are checked. The final iteration throws DECRYPTION_FAILED when the tag, the padding
 * or the content key is bad — the same error, at the same point, whatever went wrong (RFC 3218
 * §2.3). Consumers must write to a temporary place and keep it only on success (the CLI writes a
 * temp file and renames it).
 *
 * AuthEnvelopedData with authAttrs cannot be streamed: the attributes are GCM's additional data
 * but arrive after the ciphertext; such input ends with UNSUPPORTED_CONTENT (use `decryptContent`).
 */
export async function decryptStream(
  source: AsyncIterable<Uint8Array>,
  keys: DecryptionKey[],
): Promise<{ info: EnvelopeInfo; content: AsyncIterable<Uint8Array> }> {
  const r = new BerStreamReader(source, { maxDepth: CMS_DECODE.maxDepth, maxElementBytes: HEADER_ELEMENT_LIMIT });
  const ci = await open(r, 0x30, 'ContentInfo');
  const type = envelopeType(readOid(await r.readElement(64)));
  const wrapper = await open(r, 0xa0, 'ContentInfo content');
  const body = await open(r, 0x30, 'EnvelopedData');
  const fields: Asn1[] = [];
  for (;;) {
    if (!(await more(r, body))) fail('CMS_MALFORMED', 'EnvelopedData has no EncryptedContentInfo');
    const h = await r.peekHeader();
    if (h?.tag === 0x30 && fields.length > 0) break;
    if (fields.length >= 3) fail('CMS_MALFORMED', 'malformed EnvelopedData');
    fields.push(await r.readElement());
  }
  const eci = await open(r, 0x30, 'EncryptedContentInfo');
  const eciType = await r.readElement(256);
  const eciAlg = await r.readElement(4096);
  const head = parseHead(type, fields, eciType, eciAlg);
  const spec = resolveCipher(head);
  if (!(await more(r, eci))) fail('UNSUPPORTED_CONTENT', 'the encrypted content is detached');
  const ecHeader = await r.readHeader();
  if (ecHeader.cls !== Class.Context || ecHeader.tagNumber !== 0) fail('CMS_MALFORMED', 'malformed encryptedContent');
  const { unwrap } = selectKey(head, keys);
  const { cek, ok } = recoverContentKey(unwrap, spec.keyLength);
  const decryptor = createContentDecryptor(spec, cek);

  async function* content(): AsyncGenerator<Uint8Array> {
    for await (const piece of rechunk(r.streamOctetString(ecHeader))) {
      const out = decryptor.update(piece);
      if (out.length > 0) yield out;
    }
    await close(r, eci, 'EncryptedContentInfo');
    let mac: Uint8Array | undefined;
    let authAttrs = false;
    if (type === 'authEnveloped-data') {
      if ((await r.peekHeader())?.tag === 0xa1) {
        authAttrs = true;
        await r.readElement();
      }
      const macEl = await r.readElement(256);
      if (!macEl.is(0x04) && !macEl.is(0x24)) fail('CMS_MALFORMED', 'AuthEnvelopedData has no mac');
      mac = readOctetString(macEl);
      if ((await more(r, body)) && (await r.peekHeader())?.tag === 0xa2) await r.skipElement();
    } else if ((await more(r, body)) && (await r.peekHeader())?.tag === 0xa1) {
      await r.skipElement(); // unprotectedAttrs
    }
    await close(r, body, 'EnvelopedData');
    await close(r, wrapper, 'ContentInfo');
    await close(r, ci, 'ContentInfo');
    if (!(await r.atEnd())) fail('CMS_MALFORMED', 'trailing bytes after the ContentInfo');
    if (authAttrs) {
      fail('UNSUPPORTED_CONTENT', 'AuthEnvelopedData with authenticated attributes cannot be decrypted as a stream');
    }
    let last: Buffer | undefined;
    try {
      last = decryptor.final(mac);
    } catch {
      last = undefined;
    }
    if (!ok || last === undefined) decryptionFailed();
    if (last.length > 0) yield last;
  }

  return { info: head.info, content: content() };
}
