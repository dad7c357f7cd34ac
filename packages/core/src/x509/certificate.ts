/**
 * X.509 certificates (RFC 5280 §4), parsed once with the strict DER decoder.
 *
 *   Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, serialNumber, signature,
 *       issuer, validity, subject, subjectPublicKeyInfo, issuerUniqueID [1] IMPLICIT OPTIONAL,
 *       subjectUniqueID [2] IMPLICIT OPTIONAL, extensions [3] EXPLICIT OPTIONAL }
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  type Asn1,
  decode,
  readBitString,
  readBoolean,
  readOctetString,
  readOid,
  readSmallInt,
  readTime,
  readUnsignedBytes,
} from '../asn1/der.ts';
import { bitString, oid, seq } from '../asn1/encode.ts';
import { OID, oidName } from '../asn1/oids.ts';
import { fail, SealpostError } from '../errors.ts';
import { isPem, pemDecodeAll } from '../util/pem.ts';
import { type AlgorithmIdentifier, parseAlgorithmIdentifier } from './algorithm.ts';
import { type GeneralName, parseGeneralNames } from './general-name.ts';
import { type Name, nameAttribute, parseName } from './name.ts';

export interface Extension {
  oid: string;
  critical: boolean;
  value: Uint8Array;
}

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

const KEY_USAGE_BITS: KeyUsageName[] = [
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

export interface SubjectAltNames {
  rfc822Names: string[];
  /** id-on-SmtpUTF8Mailbox other names (RFC 8398). */
  smtpUtf8Mailboxes: string[];
  dnsNames: string[];
  uris: string[];
}

export type PublicKeyKind =
  | 'rsa'
  | 'rsa-pss'
  | 'ec'
  | 'ed25519'
  | 'ed448'
  | 'x25519'
  | 'x448'
  | 'dsa'
  | 'dh'
  | 'unknown';

/** Key types as people write them. */
export const KEY_LABELS: Record<PublicKeyKind, string> = {
  rsa: 'RSA',
  'rsa-pss': 'RSA-PSS',
  ec: 'EC',
  ed25519: 'Ed25519',
  ed448: 'Ed448',
  x25519: 'X25519',
  x448: 'X448',
  dsa: 'DSA',
  dh: 'DH',
  unknown: 'unknown',
};

export interface PublicKeyInfo {
  kind: PublicKeyKind;
  /** RSA modulus size or curve size in bits. */
  bits: number;
  /** Named curve OID for EC keys. */
  curve?: string;
  algorithm: AlgorithmIdentifier;
  /** The subjectPublicKey bit string content (for EC, the point). */
  publicKeyBytes: Uint8Array;
  /** The full SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
}

export class Certificate {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly version: number;
  /** Serial number as unsigned big-endian bytes. */
  readonly serialNumber: Uint8Array;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  readonly signature: Uint8Array;
  readonly issuer: Name;
  readonly subject: Name;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKeyInfo: PublicKeyInfo;
  readonly extensions: ReadonlyMap<string, Extension>;
  #publicKey: KeyObject | undefined;
  #sha256: string | undefined;

  private constructor(der: Uint8Array) {
    const root = decode(der, { mode: 'der', maxDepth: 32 });
    if (!root.is(0x30) || root.children.length !== 3) fail('CERT_MALFORMED', 'a certificate is a SEQUENCE of three');
    const tbs = root.child(0);
    if (!tbs.is(0x30)) fail('CERT_MALFORMED', 'malformed TBSCertificate');
    this.der = root.raw;
    this.tbs = tbs.raw;
    this.signatureAlgorithm = parseAlgorithmIdentifier(root.child(1));
    const sig = readBitString(root.child(2));
    if (sig.unusedBits !== 0) fail('CERT_MALFORMED', 'signature has unused bits');
    this.signature = sig.bytes;

    const f = tbs.children;
    let i = 0;
    this.version = 1;
    if (f[0]?.isContext(0) && f[0].constructed) {
      this.version = readSmallInt(f[0].child(0), 2) + 1;
      i++;
    }
    this.serialNumber = readUnsignedBytes(tbs.child(i++));
    const innerAlg = parseAlgorithmIdentifier(tbs.child(i++));
    if (Buffer.compare(innerAlg.der, this.signatureAlgorithm.der) !== 0) {
      fail('CERT_MALFORMED', 'the signature algorithm inside and outside the certificate differ (RFC 5280 §4.1.1.2)');
    }
    this.issuer = parseName(tbs.child(i++));
    const validity = tbs.child(i++);
    if (!validity.is(0x30) || validity.children.length !== 2) fail('CERT_MALFORMED', 'malformed Validity');
    this.notBefore = readTime(validity.child(0));
    this.notAfter = readTime(validity.child(1));
    this.subject = parseName(tbs.child(i++));
    this.publicKeyInfo = parseSpki(tbs.child(i++));
    const extensions = new Map<string, Extension>();
    for (; i < f.length; i++) {
      const el = f[i]!;
      if (el.isContext(1) || el.isContext(2)) continue;
      if (!el.isContext(3) || this.version !== 3) fail('CERT_MALFORMED', 'unexpected field in TBSCertificate');
      const list = el.child(0);
      if (!list.is(0x30) || list.children.length === 0) fail('CERT_MALFORMED', 'malformed Extensions');
      for (const ext of list.children) {
        const oid = readOid(ext.child(0));
        let critical = false;
        let vi = 1;
        if (ext.child(1).is(0x01)) {
          critical = readBoolean(ext.child(1));
          vi = 2;
        }
        if (extensions.has(oid)) fail('CERT_MALFORMED', `extension ${oid} appears twice (RFC 5280 §4.2)`);
        extensions.set(oid, { oid, critical, value: readOctetString(ext.child(vi)) });
      }
    }
    this.extensions = extensions;
  }

  /** Parses one DER or PEM certificate. */
  static from(data: Uint8Array | string): Certificate {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (isPem(bytes)) {
      const block = pemDecodeAll(bytes).find((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE');
      if (!block) fail('CERT_MALFORMED', 'no CERTIFICATE block in the PEM text');
      return Certificate.fromDer(block.der);
    }
    return Certificate.fromDer(bytes);
  }

  static fromDer(der: Uint8Array): Certificate {
    try {
      return new Certificate(der);
    } catch (e) {
      if (e instanceof SealpostError && e.code !== 'CERT_MALFORMED') {
        throw new SealpostError('CERT_MALFORMED', `malformed certificate: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }

  /** Every certificate in a PEM text (or a single DER certificate). */
  static all(data: Uint8Array | string): Certificate[] {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (!isPem(bytes)) return [Certificate.fromDer(bytes)];
    return pemDecodeAll(bytes)
      .filter((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE')
      .map((b) => Certificate.fromDer(b.der));
  }

  get publicKey(): KeyObject {
    if (!this.#publicKey) {
      try {
        this.#publicKey = publicKeyFor(this.publicKeyInfo.spki);
      } catch (e) {
        throw new SealpostError(
          'KEY_MALFORMED',
          `the certificate's public key cannot be used: ${(e as Error).message}`,
        );
      }
    }
    return this.#publicKey;
  }

  /**
   * The key completed with DSA domain parameters from further up the path: a DSA
   * SubjectPublicKeyInfo may omit them and inherit its issuer's (RFC 5280 §6.1.4 (f), RFC 3279 §2.3.2).
   */
  publicKeyWithDsaParameters(params: Uint8Array): KeyObject {
    const spki = seq(seq(oid(OID.dsa), params), bitString(this.publicKeyInfo.publicKeyBytes));
    try {
      return createPublicKey({ key: spki, format: 'der', type: 'spki' });
    } catch (e) {
      throw new SealpostError(
        'KEY_MALFORMED',
        `the inherited DSA parameters do not fit the key: ${(e as Error).message}`,
      );
    }
  }

  /** The key's type and size for people, e.g. "RSA 2048 bits" or "EC prime256v1 (256 bits)". */
  get keyDescription(): string {
    const k = this.publicKeyInfo;
    if (k.kind === 'ec') return `EC ${k.curve ? oidName(k.curve) : 'unnamed curve'} (${k.bits} bits)`;
    const name = k.kind === 'unknown' ? oidName(k.algorithm.oid) : KEY_LABELS[k.kind];
    return k.bits > 0 ? `${name} ${k.bits} bits` : name;
  }

  get fingerprintSha256(): string {
    this.#sha256 ??= createHash('sha256').update(this.der).digest('hex');
    return this.#sha256;
  }

  get serialHex(): string {
    return Buffer.from(this.serialNumber).toString('hex');
  }

  extension(oid: string): Extension | undefined {
    return this.extensions.get(oid);
  }

  get keyUsage(): Set<KeyUsageName> | undefined {
    const ext = this.extensions.get(OID.keyUsage);
    if (!ext) return undefined;
    const { bytes } = readBitString(decode(ext.value));
    const out = new Set<KeyUsageName>();
    KEY_USAGE_BITS.forEach((name, bit) => {
      const byte = bytes[bit >> 3];
      if (byte !== undefined && byte & (0x80 >> (bit & 7))) out.add(name);
    });
    return out;
  }

  get extKeyUsage(): string[] | undefined {
    const ext = this.extensions.get(OID.extKeyUsage);
    if (!ext) return undefined;
    return decode(ext.value).children.map(readOid);
  }

  get basicConstraints(): { ca: boolean; pathLen?: number } | undefined {
    const ext = this.extensions.get(OID.basicConstraints);
    if (!ext) return undefined;
    const el = decode(ext.value);
    let ca = false;
    let pathLen: number | undefined;
    for (const c of el.children) {
      if (c.is(0x01)) ca = readBoolean(c);
      else if (c.is(0x02)) pathLen = readSmallInt(c, 1000);
    }
    return pathLen === undefined ? { ca } : { ca, pathLen };
  }

  get subjectKeyIdentifier(): Uint8Array | undefined {
    const ext = this.extensions.get(OID.subjectKeyIdentifier);
    return ext ? readOctetString(decode(ext.value)) : undefined;
  }

  get authorityKeyIdentifier(): Uint8Array | undefined {
    const ext = this.extensions.get(OID.authorityKeyIdentifier);
    if (!ext) return undefined;
    const keyId = decode(ext.value).children.find((c) => c.isContext(0) && !c.constructed);
    return keyId?.value;
  }

  get subjectAltNames(): SubjectAltNames {
    const out: SubjectAltNames = { rfc822Names: [], smtpUtf8Mailboxes: [], dnsNames: [], uris: [] };
    const ext = this.extensions.get(OID.subjectAltName);
    if (!ext) return out;
    for (const gn of decode(ext.value).children) {
      const text = () => Buffer.from(gn.value).toString('latin1');
      if (gn.isContext(1) && !gn.constructed) out.rfc822Names.push(text());
      else if (gn.isContext(2) && !gn.constructed) out.dnsNames.push(text());
      else if (gn.isContext(6) && !gn.constructed) out.uris.push(text());
      else if (gn.isContext(0) && gn.constructed) {
        // OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }, IMPLICIT-tagged as [0].
        if (readOid(gn.child(0)) === OID.smtpUTF8Mailbox) {
          const v = gn.child(1).child(0);
          out.smtpUtf8Mailboxes.push(Buffer.from(v.value).toString('utf8'));
        }
      }
    }
    return out;
  }

  /** Every subjectAltName entry, typed; undefined when the certificate has no subjectAltName extension. */
  get subjectAltNameEntries(): GeneralName[] | undefined {
    const ext = this.extensions.get(OID.subjectAltName);
    return ext ? parseGeneralNames(decode(ext.value)) : undefined;
  }

  /** Mailboxes the certificate is issued to: SAN rfc822Name and SmtpUTF8Mailbox, else legacy subject emailAddress. */
  get emailAddresses(): string[] {
    const san = this.subjectAltNames;
    const fromSan = [...san.rfc822Names, ...san.smtpUtf8Mailboxes];
    return fromSan.length > 0 ? fromSan : nameAttribute(this.subject, OID.emailAddress);
  }

  /** The subjectPublicKey bits of a SubjectPublicKeyInfo (what RFC 5280 §4.2.1.2 method 1 hashes). */
  static spkiKeyBits(spki: Uint8Array): Uint8Array {
    return readBitString(decode(spki).child(1)).bytes;
  }

  get isSelfIssued(): boolean {
    return Buffer.compare(this.issuer.der, this.subject.der) === 0;
  }
}

function parseSpki(el: Asn1): PublicKeyInfo {
  if (!el.is(0x30) || el.children.length !== 2) fail('CERT_MALFORMED', 'malformed SubjectPublicKeyInfo');
  const algorithm = parseAlgorithmIdentifier(el.child(0));
  const { bytes } = readBitString(el.child(1));
  let kind: PublicKeyKind = 'unknown';
  let bits = 0;
  let curve: string | undefined;
  switch (algorithm.oid) {
    case OID.rsaEncryption:
    case OID.rsassaPss: {
      kind = algorithm.oid === OID.rsaEncryption ? 'rsa' : 'rsa-pss';
      const modulus = readUnsignedBytes(decode(bytes).child(0));
      bits = modulus.length * 8 - Math.clz32(modulus[0] ?? 0) + 24;
      break;
    }
    case OID.ecPublicKey: {
      kind = 'ec';
      curve = algorithm.params?.is(0x06) ? readOid(algorithm.params) : undefined;
      bits = curve === OID.prime256v1 ? 256 : curve === OID.secp384r1 ? 384 : curve === OID.secp521r1 ? 521 : 0;
      break;
    }
    case OID.ed25519:
      kind = 'ed25519';
      bits = 256;
      break;
    case OID.ed448:
      kind = 'ed448';
      bits = 456;
      break;
    case OID.x25519:
      kind = 'x25519';
      bits = 256;
      break;
    case OID.x448:
      kind = 'x448';
      bits = 448;
      break;
    case OID.dsa:
      kind = 'dsa';
      break;
  }
  return curve === undefined
    ? { kind, bits, algorithm, publicKeyBytes: bytes, spki: el.raw }
    : { kind, bits, curve, algorithm, publicKeyBytes: bytes, spki: el.raw };
}

/**
 * KeyObjects by SubjectPublicKeyInfo, shared by every parse of the same certificate: importing a
 * key costs nearly as much as an RSA verification, and the same signers and CAs recur message after
 * message. Bounded; the oldest entry goes first.
 */
const publicKeys = new Map<string, KeyObject>();
const PUBLIC_KEY_CACHE_SIZE = 256;

function publicKeyFor(spki: Uint8Array): KeyObject {
  const id = Buffer.from(spki).toString('latin1');
  let key = publicKeys.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    if (publicKeys.size >= PUBLIC_KEY_CACHE_SIZE) publicKeys.delete(publicKeys.keys().next().value!);
    publicKeys.set(id, key);
  }
  return key;
}
