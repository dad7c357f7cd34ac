/**
 * Certificate issuance (RFC 5280 §4.1, §4.2) from a template-like spec: what an S/MIME CA needs to
 * issue subscriber, intermediate and root certificates that pass the Baseline Requirements lint.
 *
 * Signing goes through a `KeySigner`, so a key in an HSM or a KMS can replace the local key. Its
 * `sign` is asynchronous: hardware and remote keys answer asynchronously, and a synchronous
 * interface would force them to block the event loop. `buildCertificate` keeps a synchronous path
 * for local keys (tests, the demo); both paths share one TBSCertificate encoder.
 */
import { createHash, createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import {
  bitString,
  bool,
  explicit,
  ia5,
  integer,
  octets,
  oid,
  printable,
  seq,
  set,
  time,
  tlv,
  unsignedInteger,
  utf8,
} from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail, SealpostError } from '../errors.ts';
import { Certificate, type KeyUsageName } from './certificate.ts';
import { type HashName, signatureAlgorithmFor } from './signature.ts';

/** One attribute of a distinguished name: a short name (`CN`, `O`, `C`, ...) or a dotted OID. */
export interface NameAttributeSpec {
  type: string;
  value: string;
}

/**
 * A distinguished name, most significant attribute first (e.g. C, O, OU, CN), one attribute per
 * RDN: multi-valued RDNs are legal but discouraged (BR §7.1.4.1).
 */
export type NameSpec = NameAttributeSpec[];

export interface CertificateRequestSpec {
  /** Subject common name; shorthand for a subject of `[{ type: 'CN', value }]`. */
  commonName?: string;
  /** The subject; wins over `commonName`. An empty subject makes subjectAltName critical (§4.2.1.6). */
  subject?: NameSpec;
  /** Mailboxes: put into subjectAltName as rfc822Names. */
  emails?: string[];
  /** The subject key: a public (or private) KeyObject, or SubjectPublicKeyInfo DER (e.g. from a CSR). */
  publicKey: KeyObject | Uint8Array;
  /** Serial number as unsigned big-endian bytes (1-20 octets, not zero); default `randomSerial()`. */
  serialNumber?: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  ca?: boolean;
  /** pathLenConstraint, for CA certificates only. */
  pathLen?: number;
  /** keyUsage bits; the extension is always critical (BR §7.1.2.3(e)). */
  keyUsage: KeyUsageName[];
  /** Extended key usages (OIDs); omitted when empty. */
  extKeyUsage?: string[];
  /** certificatePolicies OIDs, without qualifiers; omitted when empty. */
  policies?: string[];
  /** cRLDistributionPoints: one DistributionPoint with these URIs as its fullName. */
  crlUrls?: string[];
  /** authorityInfoAccess id-ad-ocsp URIs. */
  ocspUrls?: string[];
  /** authorityInfoAccess id-ad-caIssuers URIs. */
  caIssuersUrls?: string[];
}

/**
 * A signing key, local or remote. `algorithm` is the signatureAlgorithm AlgorithmIdentifier DER
 * written into the signed structure; `sign` returns the signature value over the given bytes.
 */
export interface KeySigner {
  readonly algorithm: Uint8Array;
  /** The signing key's SubjectPublicKeyInfo DER: key identifiers and OCSP byKey come from it. */
  readonly publicKeyInfo: Uint8Array;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** ECDSA hashes by curve, as S/MIME BR §7.1.3.2.2 binds them; SHA-256 for everything else. */
const CURVE_HASH: Record<string, HashName> = { prime256v1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' };

/** The hash a key signs with unless told otherwise. */
export function defaultHash(key: KeyObject): HashName {
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  return (curve !== undefined ? CURVE_HASH[curve] : undefined) ?? 'sha256';
}

/**
 * A KeySigner over a local private key: RSA PKCS#1 v1.5 (or PSS with `pss`), ECDSA, Ed25519.
 * `hash` defaults to `defaultHash(privateKey)`; Ed25519 ignores it.
 */
export function keySigner(privateKey: KeyObject, options: { hash?: HashName; pss?: boolean } = {}): KeySigner {
  const alg = signatureAlgorithmFor(privateKey, options.hash ?? defaultHash(privateKey), options.pss ?? false);
  const publicKeyInfo = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { algorithm: alg.algorithm, publicKeyInfo, sign: async (data) => alg.sign(data) };
}

export interface IssuerSpec {
  /** Absent for a self-signed certificate. */
  certificate?: Certificate;
  privateKey: KeyObject;
  /** Default `defaultHash(privateKey)`: SHA-256, or the curve's hash for ECDSA. */
  hash?: HashName;
  /** RSA-PSS instead of PKCS#1 v1.5 for an RSA key. */
  pss?: boolean;
}

export interface SignerIssuer {
  /** Absent for a self-signed certificate. */
  certificate?: Certificate;
  signer: KeySigner;
}

/**
 * A serial number for a new certificate: 16 octets from the CSPRNG, the top bit cleared so the
 * INTEGER is positive and the next one set so it keeps all 16 octets (126 random bits; BR §7.1
 * asks for at least 64, RFC 5280 §4.1.2.2 allows up to 20 octets).
 */
export function randomSerial(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  return serial;
}

/**
 * Issues a certificate signed through a KeySigner (a local key, an HSM, a KMS). The issuer certificate
 * must be a CA allowed to sign certificates, holding the signer's key (KEY_UNSUITABLE, KEY_MISMATCH).
 */
export async function issueCertificate(spec: CertificateRequestSpec, issuer: SignerIssuer): Promise<Certificate> {
  if (issuer.certificate) {
    requireSignerKey(issuer.certificate, issuer.signer.publicKeyInfo, 'issuer');
    const bc = issuer.certificate.basicConstraints;
    if (bc?.ca !== true) fail('KEY_UNSUITABLE', 'the issuer certificate is not a CA certificate');
    if (issuer.certificate.keyUsage?.has('keyCertSign') === false) {
      fail('KEY_UNSUITABLE', 'the issuer certificate may not sign certificates (no keyCertSign)');
    }
  }
  const tbs = tbsCertificate(spec, issuer.certificate, issuer.signer.algorithm, issuer.signer.publicKeyInfo);
  return assemble(tbs, issuer.signer.algorithm, await issuer.signer.sign(tbs));
}

/**
 * Issues a certificate signed synchronously by a local private key. Unlike `issueCertificate` it
 * does not check the issuer (CA flag, keyCertSign, key match): tests build broken PKIs with it.
 */
export function buildCertificate(spec: CertificateRequestSpec, issuer: IssuerSpec): Certificate {
  const alg = signatureAlgorithmFor(
    issuer.privateKey,
    issuer.hash ?? defaultHash(issuer.privateKey),
    issuer.pss ?? false,
  );
  const issuerSpki = createPublicKey(issuer.privateKey).export({ type: 'spki', format: 'der' });
  const tbs = tbsCertificate(spec, issuer.certificate, alg.algorithm, issuerSpki);
  return assemble(tbs, alg.algorithm, alg.sign(tbs));
}

function assemble(tbs: Uint8Array, algorithm: Uint8Array, signature: Uint8Array): Certificate {
  return Certificate.fromDer(seq(tbs, algorithm, bitString(signature)));
}

/** The subjectPublicKey bits of a SubjectPublicKeyInfo, hashed for key identifiers (§4.2.1.2 method 1). */
export function keyIdentifier(spki: Uint8Array): Buffer {
  return createHash('sha1').update(Certificate.spkiKeyBits(spki)).digest();
}

/** The authority key identifier for things `issuer` signs: its SKI, else the hash of its key. */
export function authorityKeyId(issuer: Certificate): Uint8Array {
  return issuer.subjectKeyIdentifier ?? keyIdentifier(issuer.publicKeyInfo.spki);
}

/** Fails unless the signing key is the one in the issuer certificate. */
export function requireSignerKey(issuer: Certificate, signerSpki: Uint8Array, what: string): void {
  if (Buffer.compare(Buffer.from(issuer.publicKeyInfo.spki), Buffer.from(signerSpki)) !== 0) {
    fail('KEY_MISMATCH', `the signing key is not the key of the ${what} certificate`);
  }
}

function tbsCertificate(
  spec: CertificateRequestSpec,
  issuerCert: Certificate | undefined,
  algorithm: Uint8Array,
  issuerSpki: Uint8Array,
): Buffer {
  if (!(spec.notBefore.getTime() < spec.notAfter.getTime()))
    fail('INVALID_ARGUMENT', 'notAfter must be later than notBefore');
  if (spec.pathLen !== undefined && (!spec.ca || !Number.isInteger(spec.pathLen) || spec.pathLen < 0)) {
    fail('INVALID_ARGUMENT', 'pathLen is a non-negative integer, for CA certificates only (RFC 5280 §4.2.1.9)');
  }
  if (spec.keyUsage.length === 0) fail('INVALID_ARGUMENT', 'keyUsage needs at least one bit (RFC 5280 §4.2.1.3)');
  const spki = subjectPublicKeyInfo(spec.publicKey);
  const serial = spec.serialNumber ?? randomSerial();
  if (serial.length === 0 || serial.length > 20 || serial.every((b) => b === 0)) {
    fail('INVALID_ARGUMENT', 'a serial number is 1 to 20 octets and not zero (RFC 5280 §4.1.2.2)');
  }
  const subjectSpec = spec.subject ?? (spec.commonName !== undefined ? [{ type: 'CN', value: spec.commonName }] : []);
  const subject = encodeName(subjectSpec);
  const issuerName = issuerCert ? Buffer.from(issuerCert.subject.der) : subject;
  if (issuerName.length === 2) fail('INVALID_ARGUMENT', 'a self-signed certificate needs a subject name');

  const exts: Buffer[] = [
    extension(
      OID.basicConstraints,
      true,
      spec.ca ? seq(bool(true), ...(spec.pathLen !== undefined ? [integer(spec.pathLen)] : [])) : seq(),
    ),
    extension(OID.keyUsage, true, keyUsageBits(spec.keyUsage)),
  ];
  if (spec.extKeyUsage?.length)
    exts.push(extension(OID.extKeyUsage, false, seq(...spec.extKeyUsage.map((o) => oid(o)))));
  exts.push(extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(spki))));
  const akid = issuerCert ? authorityKeyId(issuerCert) : keyIdentifier(issuerSpki);
  exts.push(extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, akid))));
  if (spec.emails?.length) {
    // §4.2.1.6: with an empty subject, the identity is in subjectAltName alone, which is then critical.
    exts.push(extension(OID.subjectAltName, subjectSpec.length === 0, seq(...spec.emails.map(rfc822Name))));
  } else if (subjectSpec.length === 0) {
    fail('INVALID_ARGUMENT', 'a certificate needs a subject name or a subjectAltName');
  }
  if (spec.policies?.length) {
    if (new Set(spec.policies).size !== spec.policies.length)
      fail('INVALID_ARGUMENT', 'a policy OID may appear only once (RFC 5280 §4.2.1.4)');
    exts.push(extension(OID.certificatePolicies, false, seq(...spec.policies.map((p) => seq(oid(p))))));
  }
  if (spec.crlUrls?.length) {
    // DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } }: the CHOICE makes the
    // outer [0] explicit, fullName's [0] implicit (§4.2.1.13).
    const fullName = tlv(0xa0, ...spec.crlUrls.map(uri));
    exts.push(extension(OID.crlDistributionPoints, false, seq(seq(tlv(0xa0, fullName)))));
  }
  const access = [
    ...(spec.ocspUrls ?? []).map((u) => seq(oid(OID.ocsp), uri(u))),
    ...(spec.caIssuersUrls ?? []).map((u) => seq(oid(OID.caIssuers), uri(u))),
  ];
  if (access.length > 0) exts.push(extension(OID.authorityInfoAccess, false, seq(...access)));

  return seq(
    explicit(0, integer(2)),
    unsignedInteger(serial),
    algorithm,
    issuerName,
    seq(time(spec.notBefore), time(spec.notAfter)),
    subject,
    spki,
    explicit(3, seq(...exts)),
  );
}

function subjectPublicKeyInfo(key: KeyObject | Uint8Array): Buffer {
  try {
    if (!(key instanceof Uint8Array)) {
      return (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
    }
    // Re-encoding through node:crypto proves the SPKI is a usable key, and canonicalizes it.
    return createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' }).export({
      type: 'spki',
      format: 'der',
    });
  } catch (e) {
    if (e instanceof SealpostError) throw e;
    fail('KEY_MALFORMED', `the subject public key cannot be read: ${(e as Error).message}`);
  }
}

const KU_ORDER: KeyUsageName[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

/** KeyUsage as a DER named BIT STRING: trailing zero bits removed (X.690 §11.2.2). */
function keyUsageBits(usages: KeyUsageName[]): Buffer {
  let bits = 0;
  for (const u of usages) {
    const i = KU_ORDER.indexOf(u);
    if (i < 0) fail('INVALID_ARGUMENT', `unknown key usage "${u}"`);
    bits |= 1 << (15 - i);
  }
  const len = bits & 0xff ? 2 : 1;
  const bytes = Buffer.from([(bits >> 8) & 0xff, bits & 0xff].slice(0, len));
  const last = bytes[len - 1]!;
  let unused = 0;
  while (!(last & (1 << unused))) unused++;
  return bitString(bytes, unused);
}

function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  // DER: critical DEFAULT FALSE is omitted when false (X.690 §11.5).
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function ascii(value: string, what: string): void {
  if (!/^[ -~]*$/.test(value)) fail('INVALID_ARGUMENT', `${what} "${value}" must be printable ASCII`);
}

/** rfc822Name [1] IMPLICIT IA5String: an addr-spec, without a display name (§4.2.1.6). */
function rfc822Name(email: string): Buffer {
  ascii(email, 'the mailbox');
  if (!/^[^@\s<>]+@[^@\s<>]+$/.test(email)) fail('INVALID_ARGUMENT', `"${email}" is not a mailbox (local@domain)`);
  return tlv(0x81, Buffer.from(email, 'latin1'));
}

/** uniformResourceIdentifier [6] IMPLICIT IA5String. */
function uri(url: string): Buffer {
  ascii(url, 'the URL');
  if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(url)) fail('INVALID_ARGUMENT', `"${url}" is not an absolute URL`);
  return tlv(0x86, Buffer.from(url, 'latin1'));
}

interface AttributeRule {
  oid: string;
  /** Upper bound on the value's characters (RFC 5280 Appendix A.1 ub-*). */
  max: number;
  encode: (value: string) => Buffer;
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function printableString(value: string): Buffer {
  if (!PRINTABLE.test(value)) fail('INVALID_ARGUMENT', `"${value}" has characters a PrintableString cannot hold`);
  return printable(value);
}

function ia5String(value: string): Buffer {
  ascii(value, 'the value');
  return ia5(value);
}

/** Attribute types by short name. DirectoryString values are UTF8String (RFC 5280 §4.1.2.4). */
const ATTRIBUTES: Record<string, AttributeRule> = {
  CN: { oid: OID.commonName, max: 64, encode: utf8 },
  SN: { oid: OID.surname, max: 32768, encode: utf8 },
  GN: { oid: OID.givenName, max: 32768, encode: utf8 },
  serialNumber: { oid: OID.serialNumber, max: 64, encode: printableString },
  C: {
    oid: OID.countryName,
    max: 2,
    encode: (v) => {
      // X.520 CountryName: two-letter ISO 3166 code, PrintableString.
      if (!/^[A-Z]{2}$/.test(v)) fail('INVALID_ARGUMENT', `country "${v}" is not a two-letter ISO 3166 code`);
      return printable(v);
    },
  },
  L: { oid: OID.localityName, max: 128, encode: utf8 },
  ST: { oid: OID.stateOrProvinceName, max: 128, encode: utf8 },
  O: { oid: OID.organizationName, max: 64, encode: utf8 },
  OU: { oid: OID.organizationalUnitName, max: 64, encode: utf8 },
  pseudonym: { oid: OID.pseudonym, max: 128, encode: utf8 },
  // PKCS#9 emailAddress and RFC 4519 domainComponent are IA5String.
  emailAddress: { oid: OID.emailAddress, max: 255, encode: ia5String },
  DC: { oid: OID.domainComponent, max: 63, encode: ia5String },
  UID: { oid: OID.userId, max: 256, encode: utf8 },
};

const BY_OID = new Map(Object.values(ATTRIBUTES).map((r) => [r.oid, r]));

/** Encodes a distinguished name (RFC 5280 §4.1.2.4), one attribute per RDN, in the given order. */
export function encodeName(name: NameSpec): Buffer {
  return seq(
    ...name.map(({ type, value }) => {
      const rule = ATTRIBUTES[type] ?? BY_OID.get(type);
      if (rule === undefined && !/^\d+(\.\d+)+$/.test(type)) fail('INVALID_ARGUMENT', `unknown name attribute ${type}`);
      if (value.length === 0) fail('INVALID_ARGUMENT', `the ${type} attribute is empty`);
      if (rule && [...value].length > rule.max) {
        fail('INVALID_ARGUMENT', `the ${type} attribute is longer than ${rule.max} characters`);
      }
      return set(seq(oid(rule?.oid ?? type), rule ? rule.encode(value) : utf8(value)));
    }),
  );
}
