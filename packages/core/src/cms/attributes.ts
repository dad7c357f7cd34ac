/**
 * Signed attributes (RFC 5652 §5.3, §11; RFC 8551 §2.5).
 *
 *   SignedAttributes ::= SET SIZE (1..MAX) OF Attribute
 *   Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }
 */
import { type Asn1, decode, readOctetString, readOid, readTime, readUnsignedBytes } from '../asn1/der.ts';
import { octets, oid, retag, seq, setOf, time, unsignedInteger } from '../asn1/encode.ts';
import { OID, oidName } from '../asn1/oids.ts';
import { fail, isSealpostError, SealpostError } from '../errors.ts';
import type { Certificate } from '../x509/certificate.ts';
import { type Name, parseName } from '../x509/name.ts';
import { encodeCapabilities, parseCapabilities, type SmimeCapability } from './capabilities.ts';

/** Who a SignerInfo (or an encryption key preference) points at: issuer and serial, or a key identifier. */
export interface SignerIdentifier {
  issuer?: Name;
  /** Unsigned big-endian magnitude. */
  serialNumber?: Uint8Array;
  subjectKeyIdentifier?: Uint8Array;
}

/** IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber CertificateSerialNumber } (RFC 5652 §10.2.4). */
export function encodeIssuerAndSerial(cert: Certificate): Buffer {
  return seq(cert.issuer.der, unsignedInteger(cert.serialNumber));
}

export function parseIssuerAndSerial(el: Asn1): SignerIdentifier {
  if (el.children.length !== 2) fail('CMS_MALFORMED', 'malformed IssuerAndSerialNumber');
  let issuer: Name;
  try {
    issuer = parseName(el.child(0));
  } catch (e) {
    if (e instanceof SealpostError) throw new SealpostError('CMS_MALFORMED', `malformed issuer name: ${e.message}`);
    throw e;
  }
  return { issuer, serialNumber: readUnsignedBytes(el.child(1)) };
}

export interface SignedAttributesInput {
  eContentType: string;
  messageDigest: Uint8Array;
  signingTime: Date;
  capabilities: SmimeCapability[];
  /** The certificate the signer wants to be encrypted to (RFC 8551 §2.5.3). */
  encryptionCertificate?: Certificate;
}

const attribute = (type: string, ...values: Uint8Array[]): Buffer => seq(oid(type), setOf(values));

/**
 * The DER SET OF the attributes: exactly what is signed (RFC 5652 §5.4). The SignerInfo carries it
 * re-tagged as [0] IMPLICIT.
 *
 *   SMIMEEncryptionKeyPreference ::= CHOICE { issuerAndSerialNumber [0] IssuerAndSerialNumber, ... }
 * (IMPLICIT tags), plus Microsoft's id-microsoft-encryptionKeyPreference holding a bare
 * IssuerAndSerialNumber, which Outlook emits and reads.
 */
export function encodeSignedAttributes(input: SignedAttributesInput): Buffer {
  const attrs = [
    attribute(OID.contentType, oid(input.eContentType)),
    attribute(OID.signingTime, time(input.signingTime)),
    attribute(OID.messageDigest, octets(input.messageDigest)),
  ];
  if (input.capabilities.length > 0)
    attrs.push(attribute(OID.smimeCapabilities, encodeCapabilities(input.capabilities)));
  if (input.encryptionCertificate) {
    const ias = encodeIssuerAndSerial(input.encryptionCertificate);
    attrs.push(attribute(OID.smimeEncryptionKeyPreference, retag(ias, 0xa0)));
    attrs.push(attribute(OID.msOeEncryptionKeyPreference, ias));
  }
  return setOf(attrs);
}

export interface DecodedSignedAttributes {
  contentType: string;
  messageDigest: Uint8Array;
  signingTime?: Date;
  capabilities?: SmimeCapability[];
  /** From SMIMEEncryptionKeyPreference, else from the Microsoft attribute. */
  encryptionKeyPreference?: SignerIdentifier;
  /** Every attribute type present, in encoding order. */
  types: string[];
}

/** Attribute types whose SET must hold exactly one value and which may appear once (RFC 5652 §11, RFC 8551 §2.5). */
const SINGLE = new Set<string>([
  OID.contentType,
  OID.messageDigest,
  OID.signingTime,
  OID.smimeCapabilities,
  OID.smimeEncryptionKeyPreference,
  OID.msOeEncryptionKeyPreference,
]);

const MAX_ATTRIBUTES = 64;

/**
 * Decodes the signedAttrs element (the raw [0] IMPLICIT encoding) strictly: DER, contentType and
 * messageDigest exactly once, signingTime and SMIMECapabilities at most once, one value each.
 * Throws CMS_MALFORMED.
 */
export function decodeSignedAttributes(raw: Uint8Array): DecodedSignedAttributes {
  try {
    return decodeAttributes(decode(raw, { mode: 'der', maxDepth: 24, maxElements: 10_000 }));
  } catch (e) {
    if (isSealpostError(e, 'ASN1_MALFORMED') || isSealpostError(e, 'ASN1_LIMIT')) {
      throw new SealpostError('CMS_MALFORMED', `malformed signed attributes: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function decodeAttributes(root: Asn1): DecodedSignedAttributes {
  if (!root.isContext(0) || !root.constructed || root.children.length === 0) {
    fail('CMS_MALFORMED', 'signed attributes must be a non-empty [0] SET');
  }
  if (root.children.length > MAX_ATTRIBUTES) fail('CMS_LIMIT', `more than ${MAX_ATTRIBUTES} signed attributes`);
  const seen = new Map<string, Asn1>();
  const types: string[] = [];
  for (const a of root.children) {
    if (!a.is(0x30) || a.children.length !== 2 || !a.child(1).is(0x31)) fail('CMS_MALFORMED', 'malformed Attribute');
    const type = readOid(a.child(0));
    const values = a.child(1).children;
    if (values.length === 0) fail('CMS_MALFORMED', `attribute ${type} has no value`);
    if (SINGLE.has(type)) {
      if (seen.has(type)) fail('CMS_MALFORMED', `attribute ${oidName(type)} appears more than once`);
      if (values.length !== 1) fail('CMS_MALFORMED', `attribute ${oidName(type)} must have exactly one value`);
      seen.set(type, values[0]!);
    }
    types.push(type);
  }
  const ct = seen.get(OID.contentType);
  if (!ct) fail('CMS_MALFORMED', 'the contentType signed attribute is missing');
  const md = seen.get(OID.messageDigest);
  if (!md) fail('CMS_MALFORMED', 'the messageDigest signed attribute is missing');
  if (!md.is(0x04)) fail('CMS_MALFORMED', 'messageDigest must be an OCTET STRING');
  const out: DecodedSignedAttributes = { contentType: readOid(ct), messageDigest: readOctetString(md), types };
  const st = seen.get(OID.signingTime);
  if (st) out.signingTime = readTime(st);
  const caps = seen.get(OID.smimeCapabilities);
  if (caps) out.capabilities = parseCapabilities(caps);
  const pref = seen.get(OID.smimeEncryptionKeyPreference);
  const msPref = seen.get(OID.msOeEncryptionKeyPreference);
  if (pref) {
    // [0] IssuerAndSerialNumber, [1] RecipientKeyIdentifier, [2] SubjectKeyIdentifier (IMPLICIT).
    if (pref.isContext(0) && pref.constructed) out.encryptionKeyPreference = parseIssuerAndSerial(pref);
    else if (pref.isContext(1) && pref.constructed && pref.children[0]?.is(0x04)) {
      out.encryptionKeyPreference = { subjectKeyIdentifier: readOctetString(pref.child(0)) };
    } else if (pref.isContext(2) && !pref.constructed)
      out.encryptionKeyPreference = { subjectKeyIdentifier: pref.value };
    else fail('CMS_MALFORMED', 'malformed SMIMEEncryptionKeyPreference');
  } else if (msPref) {
    if (!msPref.is(0x30)) fail('CMS_MALFORMED', 'malformed Microsoft encryption key preference');
    out.encryptionKeyPreference = parseIssuerAndSerial(msPref);
  }
  return out;
}

/** The bytes the signature covers: the received [0] encoding with its tag set to SET (RFC 5652 §5.4). */
export function signedAttributesForSignature(raw: Uint8Array): Buffer {
  return retag(raw, 0x31);
}
