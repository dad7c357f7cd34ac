/**
 * CMS SignedData (RFC 5652 §5) as S/MIME 4.0 uses it (RFC 8551 §2): building (buffer, detached
 * streaming and opaque streaming), parsing (BER) and verifying SignerInfos. Chain validation is
 * not done here (x509/path.ts).
 *
 *   SignedData ::= SEQUENCE {
 *     version CMSVersion,
 *     digestAlgorithms DigestAlgorithmIdentifiers,
 *     encapContentInfo EncapsulatedContentInfo,
 *     certificates [0] IMPLICIT CertificateSet OPTIONAL,
 *     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
 *     signerInfos SignerInfos }
 *   EncapsulatedContentInfo ::= SEQUENCE { eContentType ContentType, eContent [0] EXPLICIT OCTET STRING OPTIONAL }
 *   SignerInfo ::= SEQUENCE {
 *     version CMSVersion,
 *     sid SignerIdentifier,
 *     digestAlgorithm DigestAlgorithmIdentifier,
 *     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
 *     signatureAlgorithm SignatureAlgorithmIdentifier,
 *     signature SignatureValue,
 *     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
 *   SignerIdentifier ::= CHOICE { issuerAndSerialNumber IssuerAndSerialNumber, subjectKeyIdentifier [0] SubjectKeyIdentifier }
 */
import {
  constants,
  createHash,
  type Hash,
  hash as hashOnce,
  type KeyObject,
  publicDecrypt,
  timingSafeEqual,
} from 'node:crypto';
import { type Asn1, readOctetString, readOid, readSmallInt } from '../asn1/der.ts';
import { algorithm, implicitPrimitive, integer, octets, oid, retag, seq, setOf, tlvHeader } from '../asn1/encode.ts';
import { OID, oidName } from '../asn1/oids.ts';
import { BerStreamReader } from '../asn1/stream.ts';
import { fail, isSealpostError, SealpostError } from '../errors.ts';
import { keyMatchesCertificate } from '../util/keys.ts';
import { type AlgorithmIdentifier, parseAlgorithmIdentifier } from '../x509/algorithm.ts';
import { Certificate } from '../x509/certificate.ts';
import { namesEqual, nameToString } from '../x509/name.ts';
import {
  HASH_OIDS,
  type HashName,
  hashFromOid,
  isLegacyHash,
  legacyKeyReason,
  type ResolvedSignatureAlgorithm,
  resolveSignatureAlgorithm,
  signatureAlgorithmFor,
  verifyResolved,
} from '../x509/signature.ts';
import {
  decodeSignedAttributes,
  encodeIssuerAndSerial,
  encodeSignedAttributes,
  parseIssuerAndSerial,
  type SignerIdentifier,
  signedAttributesForSignature,
} from './attributes.ts';
import { DEFAULT_CAPABILITIES, type SmimeCapability } from './capabilities.ts';
import { parseContentInfo } from './content-info.ts';

export type { SignerIdentifier } from './attributes.ts';

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

export interface Signer {
  certificate: Certificate;
  privateKey: KeyObject;
  /** Intermediates to include (the trust anchor need not be). */
  chain?: Certificate[];
  /** Default sha256; Ed25519 always uses sha512 (RFC 8419 §3). */
  digest?: DigestAlgorithm;
  rsaPadding?: 'pkcs1' | 'pss';
  /** Announced with SMIMEEncryptionKeyPreference and its Microsoft twin. */
  encryptionCertificate?: Certificate;
  /** Default DEFAULT_CAPABILITIES. */
  capabilities?: SmimeCapability[];
  identifier?: 'issuerAndSerialNumber' | 'subjectKeyIdentifier';
}

export interface SignOptions {
  signers: Signer[];
  /** The signingTime attribute (the core has no clock). */
  signingTime: Date;
  detached: boolean;
  /** Default id-data. */
  eContentType?: string;
}

const MAX_SIGN_SIGNERS = 16;
/** Opaque streaming: eContent segments are at least this long (except the last). */
const STREAM_SEGMENT = 64 * 1024;

interface PreparedSigner {
  signer: Signer;
  hash: DigestAlgorithm;
  sid: Buffer;
  version: 1 | 3;
}

interface Prepared {
  signers: PreparedSigner[];
  hashes: DigestAlgorithm[];
  eContentType: string;
  version: 1 | 3;
  digestAlgorithms: Buffer;
  certificates: Buffer;
  signingTime: Date;
}

/** Checks the options and computes everything that does not depend on the content. */
function prepare(options: Omit<SignOptions, 'detached'>): Prepared {
  if (options.signers.length === 0) fail('INVALID_ARGUMENT', 'at least one signer is needed');
  if (options.signers.length > MAX_SIGN_SIGNERS) fail('INVALID_ARGUMENT', `at most ${MAX_SIGN_SIGNERS} signers`);
  if (!(options.signingTime instanceof Date) || Number.isNaN(options.signingTime.getTime())) {
    fail('INVALID_ARGUMENT', 'signingTime must be a valid Date');
  }
  const eContentType = options.eContentType ?? OID.data;
  oid(eContentType); // throws INVALID_ARGUMENT for a malformed OID now rather than mid-stream
  const certs = new Map<string, Uint8Array>();
  const signers = options.signers.map((signer): PreparedSigner => {
    const cert = signer.certificate;
    if (!keyMatchesCertificate(signer.privateKey, cert)) {
      fail('KEY_MISMATCH', `the private key does not belong to the certificate of ${nameToString(cert.subject)}`);
    }
    const ed25519 = signer.privateKey.asymmetricKeyType === 'ed25519';
    if (ed25519 && signer.digest !== undefined && signer.digest !== 'sha512') {
      fail('INVALID_ARGUMENT', 'Ed25519 signatures use SHA-512 for the message digest (RFC 8419 §3)');
    }
    const hash: DigestAlgorithm = ed25519 ? 'sha512' : (signer.digest ?? 'sha256');
    let sid: Buffer;
    let version: 1 | 3 = 1;
    if (signer.identifier === 'subjectKeyIdentifier') {
      const ski = cert.subjectKeyIdentifier;
      if (!ski)
        fail('INVALID_ARGUMENT', `the certificate of ${nameToString(cert.subject)} has no subjectKeyIdentifier`);
      sid = implicitPrimitive(0, ski);
      version = 3;
    } else {
      sid = encodeIssuerAndSerial(cert);
    }
    for (const c of [cert, ...(signer.chain ?? [])]) certs.set(c.fingerprintSha256, c.der);
    return { signer, hash, sid, version };
  });
  const hashes = [...new Set(signers.map((s) => s.hash))];
  // RFC 5652 §5.1: version 3 when any SignerInfo is version 3 or eContentType is not id-data.
  const version = eContentType !== OID.data || signers.some((s) => s.version === 3) ? 3 : 1;
  return {
    signers,
    hashes,
    eContentType,
    version,
    // RFC 5754 §2: SHA-2 AlgorithmIdentifiers are generated with absent parameters.
    digestAlgorithms: setOf(hashes.map((h) => algorithm(HASH_OIDS[h]))),
    // CertificateSet is a [0] IMPLICIT SET OF: setOf sorts the encodings for DER.
    certificates: setOf([...certs.values()], 0xa0),
    signingTime: options.signingTime,
  };
}

/** The SignerInfos SET for the computed content digests. */
function signerInfos(p: Prepared, digests: Map<string, Buffer>): Buffer {
  return setOf(
    p.signers.map(({ signer, hash, sid, version }) => {
      const attrs = encodeSignedAttributes({
        eContentType: p.eContentType,
        messageDigest: digests.get(hash)!,
        signingTime: p.signingTime,
        capabilities: signer.capabilities ?? DEFAULT_CAPABILITIES,
        ...(signer.encryptionCertificate ? { encryptionCertificate: signer.encryptionCertificate } : {}),
      });
      const sig = signatureAlgorithmFor(signer.privateKey, hash, signer.rsaPadding === 'pss');
      const signature = sig.sign(attrs);
      // signedAttrs is [0] IMPLICIT: the same encoding with the SET tag replaced.
      return seq(
        integer(version),
        sid,
        algorithm(HASH_OIDS[hash]),
        retag(attrs, 0xa0),
        sig.algorithm,
        octets(signature),
      );
    }),
  );
}

function digestAll(hashes: DigestAlgorithm[], content: Uint8Array): Map<string, Buffer> {
  // crypto.hash: a one-shot digest without a Hash object, measurably cheaper on small messages.
  return new Map(hashes.map((h) => [h, hashOnce(h, content, 'buffer')]));
}

/** The ContentInfo DER, assembled with one copy of the content (headers are computed from the lengths). */
function assemble(p: Prepared, digests: Map<string, Buffer>, content: Uint8Array | undefined): Buffer {
  const wrap = (tag: number, parts: Uint8Array[]): Uint8Array[] => [tlvHeader(tag, byteLength(parts)), ...parts];
  const eContent = content === undefined ? [] : wrap(0xa0, wrap(0x04, [content]));
  const sd = wrap(0x30, [
    integer(p.version),
    p.digestAlgorithms,
    ...wrap(0x30, [oid(p.eContentType), ...eContent]),
    p.certificates,
    signerInfos(p, digests),
  ]);
  return Buffer.concat(wrap(0x30, [oid(OID.signedData), ...wrap(0xa0, sd)]));
}

function byteLength(parts: Uint8Array[]): number {
  let n = 0;
  for (const part of parts) n += part.length;
  return n;
}

/** Signs `content`; returns the ContentInfo DER (definite lengths). */
export function signContent(content: Uint8Array, options: SignOptions): Buffer {
  const p = prepare(options);
  return assemble(p, digestAll(p.hashes, content), options.detached ? undefined : content);
}

/** Detached signing of content that arrives in pieces (clear-signing a large message). */
export class DetachedSigner {
  readonly #prepared: Prepared;
  readonly #hashes: Map<string, Hash>;
  #done = false;

  constructor(options: Omit<SignOptions, 'detached'>) {
    this.#prepared = prepare(options);
    this.#hashes = new Map(this.#prepared.hashes.map((h) => [h, createHash(h)]));
  }

  update(chunk: Uint8Array): void {
    if (this.#done) fail('INVALID_ARGUMENT', 'the signature is already finished');
    for (const h of this.#hashes.values()) h.update(chunk);
  }

  finish(): Buffer {
    if (this.#done) fail('INVALID_ARGUMENT', 'the signature is already finished');
    this.#done = true;
    const digests = new Map([...this.#hashes].map(([n, h]) => [n, h.digest()]));
    return assemble(this.#prepared, digests, undefined);
  }
}

const EOC = Buffer.from([0, 0]);

/**
 * Opaque signing in constant memory, shaped like `openssl cms -sign -stream`: indefinite-length
 * outer structures, eContent as a constructed OCTET STRING of definite-length segments, and the
 * certificates and SignerInfos (which need the digest) after the content.
 */
export async function* signStream(
  content: AsyncIterable<Uint8Array>,
  options: Omit<SignOptions, 'detached'>,
): AsyncIterable<Uint8Array> {
  const p = prepare(options);
  const hashes = new Map(p.hashes.map((h) => [h, createHash(h)]));
  yield Buffer.concat([
    Buffer.from([0x30, 0x80]),
    oid(OID.signedData),
    Buffer.from([0xa0, 0x80, 0x30, 0x80]),
    integer(p.version),
    p.digestAlgorithms,
    Buffer.from([0x30, 0x80]),
    oid(p.eContentType),
    // [0] EXPLICIT around an indefinite constructed OCTET STRING (X.690 §8.7.3).
    Buffer.from([0xa0, 0x80, 0x24, 0x80]),
  ]);
  let pending: Uint8Array[] = [];
  let pendingLength = 0;
  let total = 0;
  const segment = (): Buffer => {
    const out = Buffer.concat([tlvHeader(0x04, pendingLength), ...pending]);
    total += pendingLength;
    pending = [];
    pendingLength = 0;
    return out;
  };
  for await (const chunk of content) {
    if (chunk.length === 0) continue;
    for (const h of hashes.values()) h.update(chunk);
    // Held by reference until the segment is full: sources must not reuse a chunk's buffer (Node streams do not).
    pending.push(chunk);
    pendingLength += chunk.length;
    if (pendingLength >= STREAM_SEGMENT) yield segment();
  }
  // An empty content still gets one (empty) segment: some readers reject a string with no segments.
  if (pendingLength > 0 || total === 0) yield segment();
  const digests = new Map([...hashes].map(([n, h]) => [n, h.digest()]));
  yield Buffer.concat([EOC, EOC, EOC, p.certificates, signerInfos(p, digests), EOC, EOC, EOC]);
}

// ---------------------------------------------------------------- parsing

export interface ParsedSignerInfo {
  index: number;
  version: number;
  sid: SignerIdentifier;
  digestAlgorithm: AlgorithmIdentifier;
  signatureAlgorithm: AlgorithmIdentifier;
  /** The raw [0] IMPLICIT encoding, as received. */
  signedAttrs?: Uint8Array;
  signature: Uint8Array;
  /** The raw [1] IMPLICIT encoding, as received. */
  unsignedAttrs?: Uint8Array;
}

export interface SignedDataInfo {
  version: number;
  digestAlgorithms: AlgorithmIdentifier[];
  eContentType: string;
  /** Undefined when detached. */
  content?: Uint8Array;
  /** The X.509 certificates that parsed. */
  certificates: Certificate[];
  /** Other CertificateChoices (attribute certificates, other formats), counted and skipped. */
  skippedCertificates: number;
  /** Why embedded certificates could not be read (one entry per unreadable certificate). */
  certificateErrors: string[];
  /** RevocationInfoChoice encodings, as received. */
  crls: Uint8Array[];
  signerInfos: ParsedSignerInfo[];
}

export interface ParseLimits {
  /** Default 16. */
  maxSigners?: number;
  /** Default 64; counts every CertificateChoices and RevocationInfoChoice entry. */
  maxCertificates?: number;
}

const DEFAULT_LIMITS = { maxSigners: 16, maxCertificates: 64 } as const;
const MAX_DIGEST_ALGORITHMS = 16;

/** Re-throws decoder errors with the CMS codes. */
function asCmsError(e: unknown): never {
  if (isSealpostError(e, 'ASN1_LIMIT')) throw new SealpostError('CMS_LIMIT', e.message, { cause: e });
  if (isSealpostError(e, 'ASN1_MALFORMED') || isSealpostError(e, 'CERT_MALFORMED')) {
    throw new SealpostError('CMS_MALFORMED', `malformed SignedData: ${e.message}`, { cause: e });
  }
  throw e;
}

/** Parses a SignedData ContentInfo (BER). Throws CMS_MALFORMED, CMS_LIMIT or UNSUPPORTED_CONTENT. */
export function parseSignedData(contentInfoDer: Uint8Array, limits: ParseLimits = {}): SignedDataInfo {
  try {
    const { contentType, content } = parseContentInfo(contentInfoDer);
    if (contentType !== OID.signedData) {
      fail('UNSUPPORTED_CONTENT', `expected SignedData, found ${oidName(contentType)}`);
    }
    return parseSignedDataBody(content, limits);
  } catch (e) {
    asCmsError(e);
  }
}

function parseSignedDataBody(sd: Asn1, limits: ParseLimits): SignedDataInfo {
  if (!sd.is(0x30) || sd.children.length < 4)
    fail('CMS_MALFORMED', 'SignedData must be a SEQUENCE of at least four fields');
  const f = sd.children;
  const version = readSmallInt(f[0]!, 5);
  const digestAlgorithms = parseDigestAlgorithms(f[1]!);
  const { eContentType, content } = parseEncapContentInfo(f[2]!);
  const info: SignedDataInfo = {
    version,
    digestAlgorithms,
    eContentType,
    certificates: [],
    skippedCertificates: 0,
    certificateErrors: [],
    crls: [],
    signerInfos: [],
  };
  if (content !== undefined) info.content = content;
  parseTrailer(f.slice(3), info, limits);
  return info;
}

/** certificates, crls and signerInfos: the fields after encapContentInfo, shared with the stream reader. */
function parseTrailer(f: Asn1[], info: SignedDataInfo, limits: ParseLimits): void {
  let i = 0;
  const maxCertificates = limits.maxCertificates ?? DEFAULT_LIMITS.maxCertificates;
  if (f[i]?.isContext(0) && f[i]!.constructed) {
    const set = f[i++]!;
    if (set.children.length > maxCertificates) fail('CMS_LIMIT', `more than ${maxCertificates} certificates`);
    for (const c of set.children) {
      // CertificateChoices: certificate, or [0]..[3] IMPLICIT alternatives that S/MIME does not use.
      if (!c.is(0x30)) {
        info.skippedCertificates++;
        continue;
      }
      try {
        info.certificates.push(Certificate.fromDer(c.raw));
      } catch (e) {
        if (!(e instanceof SealpostError)) throw e;
        info.certificateErrors.push(e.message);
      }
    }
  }
  if (f[i]?.isContext(1) && f[i]!.constructed) {
    const set = f[i++]!;
    if (set.children.length > maxCertificates) fail('CMS_LIMIT', `more than ${maxCertificates} revocation entries`);
    info.crls = set.children.map((c) => c.raw);
  }
  const sis = f[i++];
  if (!sis?.is(0x31) || i !== f.length) fail('CMS_MALFORMED', 'SignedData must end with the SignerInfos SET');
  const maxSigners = limits.maxSigners ?? DEFAULT_LIMITS.maxSigners;
  if (sis.children.length > maxSigners) fail('CMS_LIMIT', `more than ${maxSigners} signers`);
  info.signerInfos = sis.children.map(parseSignerInfo);
}

/** DigestAlgorithmIdentifiers ::= SET OF DigestAlgorithmIdentifier (may be empty in a degenerate SignedData). */
function parseDigestAlgorithms(el: Asn1): AlgorithmIdentifier[] {
  if (!el.is(0x31)) fail('CMS_MALFORMED', 'digestAlgorithms must be a SET');
  if (el.children.length > MAX_DIGEST_ALGORITHMS) fail('CMS_LIMIT', 'too many digest algorithms');
  return el.children.map(parseAlgorithmIdentifier);
}

function parseEncapContentInfo(el: Asn1): { eContentType: string; content?: Uint8Array } {
  if (!el.is(0x30) || el.children.length < 1 || el.children.length > 2) {
    fail('CMS_MALFORMED', 'malformed EncapsulatedContentInfo');
  }
  const eContentType = readOid(el.child(0));
  const wrapper = el.children[1];
  if (wrapper === undefined) return { eContentType };
  if (!wrapper.isContext(0) || !wrapper.constructed || wrapper.children.length !== 1) {
    fail('CMS_MALFORMED', 'eContent must be [0] EXPLICIT OCTET STRING');
  }
  // A constructed (BER) OCTET STRING is concatenated by readOctetString.
  return { eContentType, content: readOctetString(wrapper.child(0)) };
}

function parseSignerInfo(el: Asn1, index: number): ParsedSignerInfo {
  if (!el.is(0x30) || el.children.length < 5 || el.children.length > 7) fail('CMS_MALFORMED', 'malformed SignerInfo');
  const f = el.children;
  const version = readSmallInt(f[0]!, 5);
  const sidEl = f[1]!;
  let sid: SignerIdentifier;
  if (sidEl.is(0x30)) sid = parseIssuerAndSerial(sidEl);
  else if (sidEl.isContext(0) && !sidEl.constructed) sid = { subjectKeyIdentifier: sidEl.value };
  else fail('CMS_MALFORMED', 'malformed SignerIdentifier');
  const digestAlgorithm = parseAlgorithmIdentifier(f[2]!);
  let i = 3;
  let signedAttrs: Uint8Array | undefined;
  if (f[i]?.isContext(0)) {
    if (!f[i]!.constructed) fail('CMS_MALFORMED', 'signedAttrs must be constructed');
    signedAttrs = f[i++]!.raw;
  }
  const signatureAlgorithm = parseAlgorithmIdentifier(el.child(i++));
  const signature = readOctetString(el.child(i++));
  let unsignedAttrs: Uint8Array | undefined;
  if (f[i]?.isContext(1) && f[i]!.constructed) unsignedAttrs = f[i++]!.raw;
  if (i !== f.length) fail('CMS_MALFORMED', 'unexpected field in SignerInfo');
  const out: ParsedSignerInfo = { index, version, sid, digestAlgorithm, signatureAlgorithm, signature };
  if (signedAttrs) out.signedAttrs = signedAttrs;
  if (unsignedAttrs) out.unsignedAttrs = unsignedAttrs;
  return out;
}

// ---------------------------------------------------------------- verification

export interface SignerCheck {
  name: 'signer-certificate' | 'content-type' | 'message-digest' | 'signing-time' | 'signature' | 'algorithm';
  ok: boolean;
  detail: string;
}

export interface SignerVerification {
  index: number;
  certificate?: Certificate;
  status: 'valid' | 'invalid';
  checks: SignerCheck[];
  /** e.g. 'sha256', or the OID when unknown. */
  digestAlgorithm: string;
  /** Readable, e.g. "SHA-256 with RSA". */
  signatureAlgorithm: string;
  /** As claimed by the signer; never a validation time. */
  signingTime?: Date;
  capabilities?: SmimeCapability[];
  encryptionKeyPreference?: SignerIdentifier;
  legacyAlgorithm: boolean;
}

export interface VerifySignersOptions {
  /** Certificates to look signers up in, besides the message's own. */
  extraCertificates?: Certificate[];
  /** Accept SHA-1, MD5 and DSA (old mail); results are still flagged legacyAlgorithm. */
  allowLegacy?: boolean;
}

/** Finds the certificate a SignerIdentifier names (RFC 5652 §5.3). */
export function findSignerCertificate(sid: SignerIdentifier, pool: Iterable<Certificate>): Certificate | undefined {
  for (const c of pool) {
    if (sid.subjectKeyIdentifier) {
      const ski = readableSubjectKeyIdentifier(c);
      if (ski && Buffer.compare(ski, sid.subjectKeyIdentifier) === 0) return c;
    } else if (sid.issuer && sid.serialNumber) {
      if (Buffer.compare(c.serialNumber, sid.serialNumber) === 0 && namesEqual(c.issuer, sid.issuer)) return c;
    }
  }
  return undefined;
}

/** A certificate whose SKI extension does not decode cannot be the one a SKI names. */
function readableSubjectKeyIdentifier(c: Certificate): Uint8Array | undefined {
  try {
    return c.subjectKeyIdentifier;
  } catch (e) {
    if (e instanceof SealpostError) return undefined;
    throw e;
  }
}

export function describeSignerIdentifier(sid: SignerIdentifier): string {
  if (sid.subjectKeyIdentifier)
    return `subject key identifier ${Buffer.from(sid.subjectKeyIdentifier).toString('hex')}`;
  return `issuer "${sid.issuer ? nameToString(sid.issuer) : '?'}", serial ${Buffer.from(sid.serialNumber ?? []).toString('hex')}`;
}

/**
 * Verifies every SignerInfo against the content (or digests computed while streaming it).
 * Never throws for a bad signature: each signer gets a status and the checks that led to it.
 */
export function verifySigners(
  info: SignedDataInfo,
  content: Uint8Array | { digests: Map<string, Uint8Array> },
  opts: VerifySignersOptions = {},
): SignerVerification[] {
  const pool = [...info.certificates, ...(opts.extraCertificates ?? [])];
  const digestCache = new Map<string, Uint8Array>();
  const digestOf = (hash: HashName): Uint8Array | undefined => {
    if (!(content instanceof Uint8Array)) return content.digests.get(hash);
    let d = digestCache.get(hash);
    if (!d) {
      d = hashOnce(hash, content, 'buffer');
      digestCache.set(hash, d);
    }
    return d;
  };
  const bytes = content instanceof Uint8Array ? content : undefined;
  return info.signerInfos.map((si) => {
    try {
      return verifyOne(info, si, pool, bytes, digestOf, opts);
    } catch (e) {
      // Malformed parts met only while checking (a certificate extension, say) still give a status.
      if (!(e instanceof SealpostError)) throw e;
      return {
        index: si.index,
        status: 'invalid',
        checks: [{ name: 'signature', ok: false, detail: `the signer cannot be checked: ${e.message}` }],
        digestAlgorithm: hashFromOid(si.digestAlgorithm.oid) ?? oidName(si.digestAlgorithm.oid),
        signatureAlgorithm: oidName(si.signatureAlgorithm.oid),
        legacyAlgorithm: false,
      };
    }
  });
}

function verifyOne(
  info: SignedDataInfo,
  si: ParsedSignerInfo,
  pool: Certificate[],
  content: Uint8Array | undefined,
  digestOf: (hash: HashName) => Uint8Array | undefined,
  opts: VerifySignersOptions,
): SignerVerification {
  const checks: SignerCheck[] = [];
  const allowLegacy = opts.allowLegacy ?? false;
  const hash = hashFromOid(si.digestAlgorithm.oid);
  const result: SignerVerification = {
    index: si.index,
    status: 'invalid',
    checks,
    digestAlgorithm: hash ?? oidName(si.digestAlgorithm.oid),
    signatureAlgorithm: oidName(si.signatureAlgorithm.oid),
    legacyAlgorithm: hash !== undefined && isLegacyHash(hash),
  };
  const done = (): SignerVerification => {
    if (checks.length > 0 && checks.every((c) => c.ok)) result.status = 'valid';
    return result;
  };

  const cert = findSignerCertificate(si.sid, pool);
  if (!cert) {
    checks.push({
      name: 'signer-certificate',
      ok: false,
      detail: `the signer's certificate (${describeSignerIdentifier(si.sid)}) is neither in the message nor among the given certificates, so the signature cannot be checked: treat the content as not signed`,
    });
    return done();
  }
  result.certificate = cert;
  checks.push({
    name: 'signer-certificate',
    ok: true,
    detail: `signed with the certificate of ${nameToString(cert.subject)}`,
  });

  let alg: ResolvedSignatureAlgorithm;
  try {
    if (hash === undefined) fail('UNSUPPORTED_ALGORITHM', `unsupported digest algorithm ${si.digestAlgorithm.oid}`);
    alg = resolveSignatureAlgorithm(si.signatureAlgorithm, hash);
    result.signatureAlgorithm = alg.name;
    const weakKey = legacyKeyReason(cert.publicKeyInfo);
    result.legacyAlgorithm ||= alg.legacy || weakKey !== undefined;
    if (result.legacyAlgorithm && !allowLegacy) {
      fail(
        'UNSUPPORTED_ALGORITHM',
        weakKey ??
          `${alg.name} with a ${hash} message digest is a legacy algorithm, verified only when reading old mail is allowed`,
      );
    }
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
    checks.push({ name: 'algorithm', ok: false, detail: e.message });
    return done();
  }
  checks.push({ name: 'algorithm', ok: true, detail: `${alg.name}, ${hash} message digest` });

  const digest = digestOf(hash);
  let signedBytes: Uint8Array | undefined;
  if (si.signedAttrs) {
    try {
      const attrs = decodeSignedAttributes(si.signedAttrs);
      if (attrs.signingTime) result.signingTime = attrs.signingTime;
      if (attrs.capabilities) result.capabilities = attrs.capabilities;
      if (attrs.encryptionKeyPreference) result.encryptionKeyPreference = attrs.encryptionKeyPreference;
      checks.push(
        attrs.contentType === info.eContentType
          ? { name: 'content-type', ok: true, detail: `content type ${oidName(attrs.contentType)}` }
          : {
              name: 'content-type',
              ok: false,
              detail: `the signed content type ${oidName(attrs.contentType)} differs from the encapsulated ${oidName(info.eContentType)}`,
            },
      );
      checks.push(digestCheck(digest, attrs.messageDigest, hash));
      if (attrs.signingTime) {
        checks.push({
          name: 'signing-time',
          ok: true,
          detail: `claims to be signed at ${attrs.signingTime.toISOString()}`,
        });
      }
    } catch (e) {
      if (!(e instanceof SealpostError)) throw e;
      checks.push({ name: 'message-digest', ok: false, detail: `the signed attributes cannot be read: ${e.message}` });
      return done();
    }
    signedBytes = signedAttributesForSignature(si.signedAttrs);
  } else {
    // RFC 5652 §5.3: without signed attributes the content must be id-data and is signed directly.
    if (info.eContentType !== OID.data) {
      checks.push({
        name: 'content-type',
        ok: false,
        detail: `content of type ${oidName(info.eContentType)} must be signed with signed attributes`,
      });
      return done();
    }
    signedBytes = content;
  }

  let ok: boolean;
  try {
    if (signedBytes !== undefined) ok = verifyResolved(alg, cert.publicKey, signedBytes, si.signature, allowLegacy);
    else if (digest === undefined) {
      checks.push(digestCheck(undefined, new Uint8Array(0), hash));
      return done();
    } else if (alg.scheme === 'pkcs1') ok = verifyPkcs1Digest(cert.publicKey, alg.hash!, digest, si.signature);
    else {
      fail(
        'UNSUPPORTED_ALGORITHM',
        `a ${alg.name} signature without signed attributes can only be checked with the content at hand, not while streaming`,
      );
    }
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
    checks.push({ name: 'signature', ok: false, detail: e.message });
    return done();
  }
  checks.push(
    ok
      ? { name: 'signature', ok: true, detail: `the ${alg.name} signature is correct` }
      : {
          name: 'signature',
          ok: false,
          detail: 'the signature does not match: the signed data was changed or signed with another key',
        },
  );
  return done();
}

function digestCheck(computed: Uint8Array | undefined, claimed: Uint8Array, hash: HashName): SignerCheck {
  if (computed === undefined) {
    return {
      name: 'message-digest',
      ok: false,
      detail: `the content was not hashed with ${hash}, which this signer uses`,
    };
  }
  const ok = computed.length === claimed.length && timingSafeEqual(computed, claimed);
  return ok
    ? { name: 'message-digest', ok: true, detail: `the ${hash} digest of the content matches` }
    : {
        name: 'message-digest',
        ok: false,
        detail: 'the content does not match its signed digest: it was changed after signing',
      };
}

/**
 * PKCS#1 v1.5 over a precomputed digest (streamed content, no signed attributes): encode the expected
 * DigestInfo and compare it with the recovered block; the recovered block is never parsed.
 */
function verifyPkcs1Digest(key: KeyObject, hash: HashName, digest: Uint8Array, signature: Uint8Array): boolean {
  if (key.asymmetricKeyType !== 'rsa')
    fail('KEY_UNSUITABLE', `a ${key.asymmetricKeyType ?? 'unknown'} key cannot verify an RSA signature`);
  const expected = seq(algorithm(HASH_OIDS[hash], null), octets(digest));
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
  return recovered.length === expected.length && timingSafeEqual(recovered, expected);
}

// ---------------------------------------------------------------- streaming verification

export interface SignedStream {
  eContentType: string;
  /** Names of the digest algorithms (e.g. 'sha256'), the OID when unknown. */
  digestAlgorithms: string[];
  /** The eContent, hashed with every known digest algorithm as it flows past. Iterate it once, to the end. */
  content: AsyncIterable<Uint8Array>;
  /** After the content: reads certificates and SignerInfos; `digests` go to `verifySigners`. */
  finish(): Promise<SignedDataInfo & { digests: Map<string, Uint8Array> }>;
}

/** Upper bounds for the parts read whole while streaming. */
const STREAM_BOUNDS = { oid: 256, version: 16, digestAlgorithms: 4096, certificates: 8 << 20, signerInfos: 2 << 20 };

async function cmsErrors<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    asCmsError(e);
  }
}

/**
 * Opens an opaque (encapsulated) SignedData read from a stream, in constant memory: the header part
 * is parsed, the eContent streamed to the caller while it is hashed, and `finish()` reads the rest.
 */
export async function openSignedStream(
  source: AsyncIterable<Uint8Array>,
  limits: ParseLimits = {},
): Promise<SignedStream> {
  const reader = new BerStreamReader(source);
  interface Open {
    indefinite: boolean;
    end: number;
  }
  const enter = async (tag: number, what: string): Promise<Open> => {
    const h = await reader.readHeader();
    if (h.tag !== tag || !h.constructed) fail('CMS_MALFORMED', `expected ${what}`);
    return { indefinite: h.length === null, end: h.length === null ? -1 : reader.bytesRead + h.length };
  };
  const leave = async (o: Open, what: string): Promise<void> => {
    if (o.indefinite) await reader.readEndOfContents();
    else if (reader.bytesRead !== o.end) fail('CMS_MALFORMED', `${what} has unexpected content`);
  };
  const hasMore = async (o: Open): Promise<boolean> => {
    if (!o.indefinite) return reader.bytesRead < o.end;
    const next = await reader.peekHeader();
    return next !== undefined && !(next.cls === 0 && next.tagNumber === 0);
  };

  const opened = await cmsErrors(
    (async () => {
      const ci = await enter(0x30, 'a ContentInfo SEQUENCE');
      const contentType = readOid(await reader.readElement(STREAM_BOUNDS.oid));
      if (contentType !== OID.signedData)
        fail('UNSUPPORTED_CONTENT', `expected SignedData, found ${oidName(contentType)}`);
      const wrapper = await enter(0xa0, 'the ContentInfo [0] content');
      const sd = await enter(0x30, 'a SignedData SEQUENCE');
      const version = readSmallInt(await reader.readElement(STREAM_BOUNDS.version), 5);
      const digestAlgorithms = parseDigestAlgorithms(await reader.readElement(STREAM_BOUNDS.digestAlgorithms));
      const encap = await enter(0x30, 'an EncapsulatedContentInfo SEQUENCE');
      const eContentType = readOid(await reader.readElement(STREAM_BOUNDS.oid));
      if (!(await hasMore(encap))) fail('CMS_MALFORMED', 'the SignedData carries no content (a detached signature)');
      const explicitTag = await enter(0xa0, 'eContent [0]');
      const octets = await reader.readHeader();
      if (octets.cls !== 0 || octets.tagNumber !== 4) fail('CMS_MALFORMED', 'eContent must be an OCTET STRING');
      return { ci, wrapper, sd, version, digestAlgorithms, encap, eContentType, explicitTag, octets };
    })(),
  );

  const hashes = new Map<HashName, Hash>();
  for (const a of opened.digestAlgorithms) {
    const h = hashFromOid(a.oid);
    if (h !== undefined && !hashes.has(h)) hashes.set(h, createHash(h));
  }
  let state: 'ready' | 'streaming' | 'done' = 'ready';

  async function* content(): AsyncGenerator<Uint8Array, void, undefined> {
    if (state !== 'ready') fail('INVALID_ARGUMENT', 'the content can be read only once');
    state = 'streaming';
    try {
      for await (const piece of reader.streamOctetString(opened.octets)) {
        for (const h of hashes.values()) h.update(piece);
        yield piece;
      }
      await leave(opened.explicitTag, 'eContent');
      await leave(opened.encap, 'EncapsulatedContentInfo');
    } catch (e) {
      asCmsError(e);
    }
    state = 'done';
  }

  const finish = async (): Promise<SignedDataInfo & { digests: Map<string, Uint8Array> }> => {
    if (state === 'ready') for await (const _ of content());
    if (state !== 'done') fail('INVALID_ARGUMENT', 'finish() needs the whole content to have been read');
    return cmsErrors(
      (async () => {
        const trailer: Asn1[] = [];
        const bound = [STREAM_BOUNDS.certificates, STREAM_BOUNDS.certificates, STREAM_BOUNDS.signerInfos];
        while (trailer.length < 3 && (await hasMore(opened.sd)))
          trailer.push(await reader.readElement(bound[trailer.length]));
        await leave(opened.sd, 'SignedData');
        await leave(opened.wrapper, 'ContentInfo [0]');
        await leave(opened.ci, 'ContentInfo');
        if (!(await reader.atEnd())) fail('CMS_MALFORMED', 'trailing bytes after the SignedData');
        const info: SignedDataInfo = {
          version: opened.version,
          digestAlgorithms: opened.digestAlgorithms,
          eContentType: opened.eContentType,
          certificates: [],
          skippedCertificates: 0,
          certificateErrors: [],
          crls: [],
          signerInfos: [],
        };
        parseTrailer(trailer, info, limits);
        const digests = new Map<string, Uint8Array>([...hashes].map(([n, h]) => [n, h.digest()]));
        return { ...info, digests };
      })(),
    );
  };

  return {
    eContentType: opened.eContentType,
    digestAlgorithms: opened.digestAlgorithms.map((a) => hashFromOid(a.oid) ?? a.oid),
    content: { [Symbol.asyncIterator]: () => content() },
    finish,
  };
}
