/**
 * PKCS#10 certification requests (RFC 2986), parsed strictly. The signature is the requester's
 * proof of possession of the private key; everything else in a request is a wish: the CA takes
 * the subject key from it, and names, usages and extensions from its own template.
 *
 *   CertificationRequest ::= SEQUENCE {
 *     certificationRequestInfo CertificationRequestInfo,
 *     signatureAlgorithm       AlgorithmIdentifier,
 *     signature                BIT STRING }
 *   CertificationRequestInfo ::= SEQUENCE {
 *     version       INTEGER { v1(0) },
 *     subject       Name,
 *     subjectPKInfo SubjectPublicKeyInfo,
 *     attributes    [0] IMPLICIT SET OF Attribute }
 *   Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET SIZE(1..MAX) OF ANY }
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decode, readBitString, readOid, readSmallInt } from '../asn1/der.ts';
import { bitString, integer, octets, oid, seq, set, tlv } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail, SealpostError } from '../errors.ts';
import { isPem, pemDecodeAll } from '../util/pem.ts';
import { type AlgorithmIdentifier, parseAlgorithmIdentifier } from './algorithm.ts';
import { defaultHash, encodeName, type NameSpec } from './builder.ts';
import type { Extension } from './certificate.ts';
import { parseExtensionList } from './extensions.ts';
import { type GeneralName, parseGeneralNames } from './general-name.ts';
import { type Name, parseName } from './name.ts';
import { type HashName, signatureAlgorithmFor, verifySignature } from './signature.ts';

/** Requests are small; anything bigger is not a request a CA should read. */
const MAX_CSR_BYTES = 64 * 1024;
const MAX_ELEMENTS = 4096;

export type CsrKeyKind = 'rsa' | 'ec' | 'ed25519' | 'ed448';

export interface CsrAttribute {
  type: string;
  /** Each value's DER. */
  values: Uint8Array[];
}

export interface CertificationRequest {
  der: Uint8Array;
  /** CertificationRequestInfo as encoded: what the signature covers. */
  info: Uint8Array;
  subject: Name;
  /** SubjectPublicKeyInfo DER: the key a certificate would be issued for. */
  publicKeyInfo: Uint8Array;
  publicKey: KeyObject;
  keyKind: CsrKeyKind;
  /** RSA modulus bits, or the curve size. */
  keyBits: number;
  /** Named curve (node:crypto name, e.g. prime256v1) of an EC key. */
  curve?: string;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  attributes: CsrAttribute[];
  /** Extensions asked for in an extensionRequest attribute: reported, never trusted over the template. */
  requestedExtensions: Extension[];
  /** Mailboxes among the requested subjectAltName rfc822Names. */
  requestedEmails: string[];
  /** The signature verifies with the request's own key: the requester holds the private key. */
  verified: boolean;
}

const CURVE_BITS: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };

function bad(what: string): never {
  fail('CSR_MALFORMED', `malformed certificate request: ${what}`);
}

/**
 * Parses a DER or PEM ("CERTIFICATE REQUEST") PKCS#10 request and verifies its signature. Throws
 * CSR_MALFORMED for a malformed request, KEY_MALFORMED for an unreadable key, KEY_UNSUITABLE for
 * a key that cannot sign (X25519) or that Sealpost does not certify, UNSUPPORTED_ALGORITHM for
 * signature algorithms it does not accept (SHA-1 included); a signature that does not verify
 * gives `verified: false`.
 */
export function parseCsr(input: Uint8Array | string): CertificationRequest {
  try {
    return parse(input);
  } catch (e) {
    if (e instanceof SealpostError && (e.code === 'ASN1_MALFORMED' || e.code === 'ASN1_LIMIT')) {
      throw new SealpostError('CSR_MALFORMED', `malformed certificate request: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function parse(input: Uint8Array | string): CertificationRequest {
  let der = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  if (isPem(der)) {
    const block = pemDecodeAll(der).find(
      (b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST',
    );
    if (!block) bad('no CERTIFICATE REQUEST block in the PEM text');
    der = block.der;
  }
  if (der.length > MAX_CSR_BYTES) bad(`larger than ${MAX_CSR_BYTES} bytes`);
  const root = decode(der, { mode: 'der', maxDepth: 32, maxElements: MAX_ELEMENTS });
  if (!root.is(0x30) || root.children.length !== 3) bad('a CertificationRequest is a SEQUENCE of three');
  const info = root.child(0);
  const signatureAlgorithm = parseAlgorithmIdentifier(root.child(1));
  const sig = readBitString(root.child(2));
  if (sig.unusedBits !== 0) bad('the signature has unused bits');

  if (!info.is(0x30) || info.children.length !== 4) bad('CertificationRequestInfo is a SEQUENCE of four');
  if (readSmallInt(info.child(0), 10) !== 0) bad('the version must be v1 (0)');
  const subject = parseName(info.child(1));
  const spkiEl = info.child(2);
  if (!spkiEl.is(0x30) || spkiEl.children.length !== 2) bad('malformed SubjectPublicKeyInfo');
  const key = requestKey(spkiEl.raw);

  const attrsEl = info.child(3);
  if (!attrsEl.isContext(0) || !attrsEl.constructed) bad('the attributes must be [0] IMPLICIT SET OF Attribute');
  const attributes: CsrAttribute[] = [];
  for (const a of attrsEl.children) {
    if (!a.is(0x30) || a.children.length !== 2) bad('malformed Attribute');
    const type = readOid(a.child(0));
    const values = a.child(1);
    if (!values.is(0x31) || values.children.length === 0) bad(`attribute ${type} needs a SET of values`);
    if (attributes.some((x) => x.type === type)) bad(`attribute ${type} appears twice`);
    attributes.push({ type, values: values.children.map((v) => v.raw) });
  }
  const requestedExtensions = extensionsOf(attributes);
  const csr: CertificationRequest = {
    der: root.raw,
    info: info.raw,
    subject,
    publicKeyInfo: spkiEl.raw,
    publicKey: key.publicKey,
    keyKind: key.kind,
    keyBits: key.bits,
    signatureAlgorithm,
    signature: sig.bytes,
    attributes,
    requestedExtensions,
    requestedEmails: emailsOf(requestedExtensions),
    verified: false,
  };
  if (key.curve !== undefined) csr.curve = key.curve;
  csr.verified = verifyCsr(csr);
  return csr;
}

/**
 * True when the request's signature verifies with its own public key (RFC 2986 §3: proof of
 * possession). Throws UNSUPPORTED_ALGORITHM for algorithms Sealpost does not accept, KEY_UNSUITABLE
 * when the signature algorithm does not fit the key.
 */
export function verifyCsr(
  csr: Pick<CertificationRequest, 'signatureAlgorithm' | 'publicKey' | 'info' | 'signature'>,
): boolean {
  return verifySignature(csr.signatureAlgorithm, csr.publicKey, csr.info, csr.signature);
}

function requestKey(spki: Uint8Array): { publicKey: KeyObject; kind: CsrKeyKind; bits: number; curve?: string } {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (e) {
    fail('KEY_MALFORMED', `the requested public key cannot be read: ${(e as Error).message}`);
  }
  const type = publicKey.asymmetricKeyType;
  const details = publicKey.asymmetricKeyDetails ?? {};
  switch (type) {
    case 'rsa':
      return { publicKey, kind: 'rsa', bits: details.modulusLength ?? 0 };
    case 'ec': {
      const curve = details.namedCurve ?? 'unnamed';
      const bits = CURVE_BITS[curve];
      if (bits === undefined) fail('KEY_UNSUITABLE', `EC keys on ${curve} are not certified (P-256, P-384, P-521 are)`);
      return { publicKey, kind: 'ec', bits, curve };
    }
    case 'ed25519':
      return { publicKey, kind: 'ed25519', bits: 256 };
    case 'ed448':
      return { publicKey, kind: 'ed448', bits: 456 };
    case 'x25519':
    case 'x448':
      // RFC 8410 §10.2: an XDH key cannot sign, so it cannot prove possession in a PKCS#10 request.
      return fail('KEY_UNSUITABLE', `a ${type.toUpperCase()} key cannot sign a certificate request`);
    default:
      return fail('KEY_UNSUITABLE', `${type ?? 'unknown'} keys are not certified (RSA, EC, Ed25519 and Ed448 are)`);
  }
}

/** The Extensions of the extensionRequest attribute: exactly one value (RFC 2985 §5.4.2). */
function extensionsOf(attributes: CsrAttribute[]): Extension[] {
  const attr = attributes.find((a) => a.type === OID.extensionRequest);
  if (!attr) return [];
  if (attr.values.length !== 1) bad('extensionRequest must have exactly one value');
  return parseExtensionList(decode(attr.values[0]!, { maxDepth: 24 }), bad);
}

function emailsOf(extensions: Extension[]): string[] {
  const san = extensions.find((e) => e.oid === OID.subjectAltName);
  if (!san) return [];
  const names: GeneralName[] = parseGeneralNames(decode(san.value, { maxDepth: 24 }));
  return names.flatMap((n) => (n.type === 'rfc822Name' ? [n.value] : []));
}

export interface CsrSpec {
  subject: NameSpec;
  /** The private key: it signs the request, and its public half is the requested key. */
  key: KeyObject;
  /** Mailboxes asked for in a subjectAltName extensionRequest. */
  emails?: string[];
  /** Default SHA-256, or the curve's hash for ECDSA; Ed25519 ignores it. */
  hash?: HashName;
  pss?: boolean;
}

/** Builds a signed PKCS#10 request (DER), for tests and clients. */
export function buildCsr(spec: CsrSpec): Buffer {
  const alg = signatureAlgorithmFor(spec.key, spec.hash ?? defaultHash(spec.key), spec.pss ?? false);
  const spki = createPublicKey(spec.key).export({ type: 'spki', format: 'der' });
  const attributes: Buffer[] = [];
  if (spec.emails?.length) {
    const san = seq(
      ...spec.emails.map((e) => {
        if (!/^[\x21-\x7e]+@[\x21-\x7e]+$/.test(e)) fail('INVALID_ARGUMENT', `"${e}" is not an ASCII mailbox`);
        return tlv(0x81, Buffer.from(e, 'latin1'));
      }),
    );
    attributes.push(seq(oid(OID.extensionRequest), set(seq(seq(oid(OID.subjectAltName), octets(san))))));
  }
  const info = seq(integer(0), encodeName(spec.subject), spki, tlv(0xa0, ...attributes));
  return seq(info, alg.algorithm, bitString(alg.sign(info)));
}
