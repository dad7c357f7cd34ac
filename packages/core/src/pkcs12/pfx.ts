/**
 * PKCS#12 (RFC 7292) reading, inspection and writing.
 *
 *   PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }
 *   AuthenticatedSafe ::= SEQUENCE OF ContentInfo   -- data, or encryptedData with SafeContents inside
 *   SafeContents ::= SEQUENCE OF SafeBag
 *   SafeBag ::= SEQUENCE { bagId OBJECT IDENTIFIER, bagValue [0] EXPLICIT ANY, bagAttributes SET OF Attribute OPTIONAL }
 *   CertBag ::= SEQUENCE { certId OBJECT IDENTIFIER, certValue [0] EXPLICIT ANY }
 *
 * Files from Windows and Java are BER (indefinite lengths, constructed OCTET STRINGs), so the
 * reader decodes in bounded BER mode; everything Sealpost writes is DER.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { type Asn1, decode, readOctetString, readOid, readSmallInt, readString } from '../asn1/der.ts';
import { explicit, implicitPrimitive, integer, octets, oid, seq, setOf, tlv } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail, isSealpostError, SealpostError } from '../errors.ts';
import { keyMatchesCertificate } from '../util/keys.ts';
import { Certificate } from '../x509/certificate.ts';
import { nameAttribute, nameToString } from '../x509/name.ts';
import { decryptWith, describeEncryption, type EncryptionInfo, type Secret } from './encryption.ts';
import { LIMITS, WorkBudget } from './limits.ts';
import { buildMacData, type MacInfo, type ParsedMac, parseMacData, verifyMac } from './mac.ts';
import { bmpPassword, tripleDesPbeEncrypt } from './pbe.ts';
import { pbes2Encrypt } from './pbes2.ts';

export const PKCS12_OID = {
  keyBag: '1.2.840.113549.1.12.10.1.1',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  crlBag: '1.2.840.113549.1.12.10.1.4',
  secretBag: '1.2.840.113549.1.12.10.1.5',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
} as const;

const BAG_TYPES = {
  [PKCS12_OID.keyBag]: 'keyBag',
  [PKCS12_OID.pkcs8ShroudedKeyBag]: 'pkcs8ShroudedKeyBag',
  [PKCS12_OID.certBag]: 'certBag',
  [PKCS12_OID.crlBag]: 'crlBag',
  [PKCS12_OID.secretBag]: 'secretBag',
  [PKCS12_OID.safeContentsBag]: 'safeContentsBag',
} as const;

export type Pkcs12BagType = (typeof BAG_TYPES)[keyof typeof BAG_TYPES] | 'unknown';

/** A private key with its certificate (when the file has one) and the rest of its chain. */
export interface Pkcs12Identity {
  privateKey: KeyObject;
  certificate?: Certificate;
  /** The issuers, leaf's issuer first where the file lets the order be found. */
  chain: Certificate[];
  friendlyName?: string;
  localKeyId?: Uint8Array;
}

export interface Pkcs12Contents {
  identities: Pkcs12Identity[];
  /** Certificates that belong to no identity (all of them in a file without keys). */
  certificates: Certificate[];
  /** Friendly names of those certificates, by SHA-256 fingerprint. */
  friendlyNames: Record<string, string>;
  /** The integrity check that passed, or undefined for a file without one. */
  mac?: MacInfo;
}

export interface Pkcs12CertificateSummary {
  subject: string;
  issuer: string;
  serialHex: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
}

export interface Pkcs12BagSummary {
  type: Pkcs12BagType;
  oid: string;
  friendlyName?: string;
  localKeyIdHex?: string;
  /** How a pkcs8ShroudedKeyBag is encrypted. */
  encryption?: EncryptionInfo;
  /** "rsa", "ec", "ed25519", ... once the key can be read. */
  keyType?: string;
  certificate?: Pkcs12CertificateSummary;
  /** Why the certificate of a certBag cannot be read (inspection only; reading fails instead). */
  certificateError?: string;
  /** The bags inside a safeContentsBag. */
  bags?: Pkcs12BagSummary[];
}

export interface Pkcs12ContentSummary {
  /** "data", "encryptedData", "envelopedData" or the content type's OID. */
  type: string;
  /** How an encryptedData is encrypted. */
  encryption?: EncryptionInfo;
  /** The bags; absent for encrypted contents read without the password. */
  bags?: Pkcs12BagSummary[];
}

export interface Pkcs12Inspection {
  version: number;
  mac?: MacInfo;
  /**
   * Whether a password was given and checked, by the MAC or by decrypting with it. False for a
   * file with neither a MAC nor encrypted contents, which any password opens.
   */
  passwordChecked: boolean;
  contents: Pkcs12ContentSummary[];
}

// ------------------------------------------------------------------------------------ reading

interface Pfx {
  /** The authSafe content octets: what the MAC covers. */
  authSafe: Uint8Array;
  mac?: ParsedMac;
  contentInfos: Asn1[];
}

const BER = { mode: 'ber', maxDepth: 32, maxElements: 200_000 } as const;

function parsePfx(data: Uint8Array): Pfx {
  if (data.length > LIMITS.maxBytes) fail('PKCS12_MALFORMED', `the file is larger than ${LIMITS.maxBytes} bytes`);
  const root = decode(data, BER);
  if (!root.is(0x30) || root.children.length < 2 || root.children.length > 3) {
    fail('PKCS12_MALFORMED', 'not a PKCS#12 file: a PFX is a SEQUENCE of version, authSafe and MAC');
  }
  const version = readSmallInt(root.child(0), 1000);
  if (version !== 3) fail('PKCS12_MALFORMED', `PKCS#12 version ${version} is not supported (only v3)`);
  const { type, content } = contentInfo(root.child(1));
  if (type === OID.signedData) {
    fail('UNSUPPORTED_CONTENT', 'PKCS#12 with public-key integrity (signedData) is not supported');
  }
  if (type !== OID.data || !content) fail('PKCS12_MALFORMED', 'the authSafe is not a data ContentInfo');
  const authSafe = readOctetString(content);
  const safe = decode(authSafe, BER);
  if (!safe.is(0x30)) fail('PKCS12_MALFORMED', 'the AuthenticatedSafe is not a SEQUENCE');
  const pfx: Pfx = { authSafe, contentInfos: safe.children };
  const macData = root.children[2];
  if (macData) pfx.mac = parseMacData(macData);
  return pfx;
}

/** ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY OPTIONAL } */
function contentInfo(el: Asn1): { type: string; content?: Asn1 } {
  if (!el.is(0x30) || el.children.length < 1 || el.children.length > 2)
    fail('PKCS12_MALFORMED', 'malformed ContentInfo');
  const type = readOid(el.child(0));
  const wrapper = el.children[1];
  if (!wrapper) return { type };
  if (!wrapper.isContext(0) || !wrapper.constructed || wrapper.children.length !== 1) {
    fail('PKCS12_MALFORMED', 'malformed ContentInfo content');
  }
  return { type, content: wrapper.child(0) };
}

/**
 *   EncryptedData ::= SEQUENCE { version INTEGER, encryptedContentInfo EncryptedContentInfo, ... }
 *   EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm,
 *       encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL }
 */
function encryptedData(el: Asn1): { algorithm: Asn1; ciphertext: Uint8Array } {
  if (!el.is(0x30) || el.children.length < 2) fail('PKCS12_MALFORMED', 'malformed EncryptedData');
  readSmallInt(el.child(0), 2);
  const eci = el.child(1);
  if (!eci.is(0x30) || eci.children.length < 2) fail('PKCS12_MALFORMED', 'malformed EncryptedContentInfo');
  if (readOid(eci.child(0)) !== OID.data) fail('PKCS12_MALFORMED', 'encrypted content that is not data');
  const enc = eci.children[2];
  if (!enc?.isContext(0)) fail('PKCS12_MALFORMED', 'EncryptedData without encrypted content');
  return { algorithm: eci.child(1), ciphertext: enc.bytes() };
}

interface Attributes {
  friendlyName?: string;
  localKeyId?: Uint8Array;
}

function bagAttributes(el: Asn1 | undefined): Attributes {
  const out: Attributes = {};
  if (!el) return out;
  if (!el.is(0x31)) fail('PKCS12_MALFORMED', 'malformed bag attributes');
  for (const a of el.children) {
    if (!a.is(0x30) || a.children.length !== 2 || !a.child(1).is(0x31)) fail('PKCS12_MALFORMED', 'malformed attribute');
    const type = readOid(a.child(0));
    const value = a.child(1).children[0];
    if (!value) continue;
    // Some writers (Windows) end the BMPString with a NUL.
    if (type === PKCS12_OID.friendlyName) out.friendlyName = readString(value).replace(/\0+$/, '');
    else if (type === PKCS12_OID.localKeyId) out.localKeyId = readOctetString(value);
  }
  return out;
}

interface OpenedBag {
  summary: Pkcs12BagSummary;
  attributes: Attributes;
  key?: KeyObject;
  certificate?: Certificate;
}

/** State of one pass over the file with one candidate password (or none). */
class Opener {
  readonly secret: Secret | undefined;
  readonly macVerified: boolean;
  readonly budget: WorkBudget;
  /** Inspection lists what it cannot open; reading refuses it. */
  readonly inspecting: boolean;
  readonly bags: OpenedBag[] = [];
  /** Whether something was decrypted with the password (so a wrong one would have shown). */
  usedPassword = false;
  #count = 0;

  constructor(secret: Secret | undefined, macVerified: boolean, budget: WorkBudget, inspecting: boolean) {
    this.secret = secret;
    this.macVerified = macVerified;
    this.budget = budget;
    this.inspecting = inspecting;
  }

  contents(pfx: Pfx): Pkcs12ContentSummary[] {
    return pfx.contentInfos.map((ci) => {
      const { type, content } = contentInfo(ci);
      if (type === OID.data) {
        if (!content) fail('PKCS12_MALFORMED', 'a data ContentInfo without content');
        return { type: 'data', bags: this.safeContents(readOctetString(content), 0, false) };
      }
      if (type === OID.encryptedData) {
        if (!content) fail('PKCS12_MALFORMED', 'an encryptedData ContentInfo without content');
        const { algorithm, ciphertext } = encryptedData(content);
        const encryption = describeEncryption(algorithm);
        if (!this.secret || (this.inspecting && !encryption.supported)) return { type: 'encryptedData', encryption };
        const plain = decryptWith(algorithm, this.secret, ciphertext, this.budget, 'encrypted contents');
        this.usedPassword = true;
        return { type: 'encryptedData', encryption, bags: this.safeContents(plain, 0, true) };
      }
      // Public-key privacy mode (envelopedData) and anything else: listed, never silently skipped on import.
      if (!this.inspecting) {
        fail(
          'UNSUPPORTED_CONTENT',
          `PKCS#12 contents of type ${type === OID.envelopedData ? 'envelopedData' : type} are not supported`,
        );
      }
      return { type: type === OID.envelopedData ? 'envelopedData' : type };
    });
  }

  /** Runs `fn` over decrypted bytes: garbage after a decryption means a wrong password unless the MAC said otherwise. */
  decrypted<T>(fn: () => T, what: string): T {
    try {
      return fn();
    } catch (e) {
      if (
        !this.macVerified &&
        isSealpostError(e) &&
        e.code !== 'UNSUPPORTED_ALGORITHM' &&
        e.code !== 'PKCS12_MALFORMED'
      ) {
        throw new SealpostError('PASSWORD_WRONG', `the password is wrong: the decrypted ${what} is not valid`, {
          cause: e,
        });
      }
      throw e;
    }
  }

  safeContents(bytes: Uint8Array, depth: number, decrypted: boolean): Pkcs12BagSummary[] {
    if (depth > LIMITS.maxNesting) fail('PKCS12_MALFORMED', `safe contents nested deeper than ${LIMITS.maxNesting}`);
    const parse = () => {
      const el = decode(bytes, BER);
      if (!el.is(0x30)) fail('ASN1_MALFORMED', 'SafeContents is not a SEQUENCE');
      return el;
    };
    const sc = decrypted ? this.decrypted(parse, 'contents') : parse();
    return sc.children.map((bag) => this.bag(bag, depth, decrypted));
  }

  bag(el: Asn1, depth: number, decrypted: boolean): Pkcs12BagSummary {
    if (++this.#count > LIMITS.maxBags) fail('PKCS12_MALFORMED', `more than ${LIMITS.maxBags} bags`);
    if (!el.is(0x30) || el.children.length < 2 || el.children.length > 3) fail('PKCS12_MALFORMED', 'malformed SafeBag');
    const bagOid = readOid(el.child(0));
    const wrapper = el.child(1);
    if (!wrapper.isContext(0) || !wrapper.constructed || wrapper.children.length !== 1) {
      fail('PKCS12_MALFORMED', 'malformed SafeBag value');
    }
    const value = wrapper.child(0);
    const attributes = bagAttributes(el.children[2]);
    const summary: Pkcs12BagSummary = { type: BAG_TYPES[bagOid as keyof typeof BAG_TYPES] ?? 'unknown', oid: bagOid };
    if (attributes.friendlyName !== undefined) summary.friendlyName = attributes.friendlyName;
    if (attributes.localKeyId) summary.localKeyIdHex = Buffer.from(attributes.localKeyId).toString('hex');
    const opened: OpenedBag = { summary, attributes };
    switch (bagOid) {
      case PKCS12_OID.keyBag:
        opened.key = decrypted ? this.decrypted(() => privateKey(value.raw), 'key') : privateKey(value.raw);
        break;
      case PKCS12_OID.pkcs8ShroudedKeyBag: {
        // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }
        if (!value.is(0x30) || value.children.length !== 2)
          fail('PKCS12_MALFORMED', 'malformed EncryptedPrivateKeyInfo');
        summary.encryption = describeEncryption(value.child(0));
        if (this.secret && (summary.encryption.supported || !this.inspecting)) {
          const der = decryptWith(
            value.child(0),
            this.secret,
            readOctetString(value.child(1)),
            this.budget,
            'private key',
          );
          this.usedPassword = true;
          opened.key = this.decrypted(() => privateKey(der), 'private key');
        }
        break;
      }
      case PKCS12_OID.certBag: {
        if (!value.is(0x30) || value.children.length !== 2) fail('PKCS12_MALFORMED', 'malformed CertBag');
        const certId = readOid(value.child(0));
        const certValue = value.child(1);
        if (certId !== PKCS12_OID.x509Certificate) break;
        if (!certValue.isContext(0) || certValue.children.length !== 1)
          fail('PKCS12_MALFORMED', 'malformed CertBag value');
        const der = readOctetString(certValue.child(0));
        try {
          const cert = decrypted
            ? this.decrypted(() => Certificate.fromDer(der), 'certificate')
            : Certificate.fromDer(der);
          opened.certificate = cert;
          summary.certificate = certificateSummary(cert);
        } catch (e) {
          // Inspection shows a broken certificate instead of giving up on the whole file.
          if (!this.inspecting || !isSealpostError(e, 'CERT_MALFORMED')) throw e;
          summary.certificateError = e.message;
        }
        break;
      }
      case PKCS12_OID.safeContentsBag:
        // The nested SafeContents is the bag value itself, already decoded.
        summary.bags = this.safeContents(value.raw, depth + 1, decrypted);
        break;
    }
    if (opened.key) summary.keyType = opened.key.asymmetricKeyType ?? 'unknown';
    this.bags.push(opened);
    return summary;
  }
}

function privateKey(der: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch {
    fail('KEY_MALFORMED', 'a private key in the PKCS#12 file cannot be read (PKCS#8 expected)');
  }
}

function certificateSummary(c: Certificate): Pkcs12CertificateSummary {
  return {
    subject: nameToString(c.subject),
    issuer: nameToString(c.issuer),
    serialHex: c.serialHex,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    fingerprintSha256: c.fingerprintSha256,
  };
}

/** The password's encodings to try: OpenSSL and Windows disagree on what an empty password is. */
function candidates(password: string): Secret[] {
  const utf8 = Buffer.from(password, 'utf8');
  const list: Secret[] = [{ bmp: bmpPassword(password), utf8 }];
  if (password === '') list.push({ bmp: bmpPassword(null), utf8 });
  return list;
}

/** Reads with a password: checks the MAC first (when there is one), then decrypts everything. */
function open(pfx: Pfx, password: string, inspecting: boolean): { opener: Opener; contents: Pkcs12ContentSummary[] } {
  const budget = new WorkBudget();
  const list = candidates(password);
  if (pfx.mac) {
    const mac = pfx.mac;
    const secret = list.find((s) => verifyMac(mac, pfx.authSafe, s, budget));
    if (!secret) fail('PASSWORD_WRONG', 'the password is wrong (the PKCS#12 integrity check fails)');
    const opener = new Opener(secret, true, budget, inspecting);
    return { opener, contents: opener.contents(pfx) };
  }
  for (let i = 0; ; i++) {
    const opener = new Opener(list[i], false, budget, inspecting);
    try {
      return { opener, contents: opener.contents(pfx) };
    } catch (e) {
      if (!isSealpostError(e, 'PASSWORD_WRONG') || i + 1 >= list.length) throw e;
    }
  }
}

/** Runs a read, reporting encoding errors as PKCS12_MALFORMED. */
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isSealpostError(e) && (e.code === 'ASN1_MALFORMED' || e.code === 'ASN1_LIMIT')) {
      throw new SealpostError('PKCS12_MALFORMED', `malformed PKCS#12 file: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/**
 * Describes a PKCS#12 file. Without a password, the outer structure (MAC, encryption algorithms,
 * unencrypted bags); with one, the MAC is checked and encrypted contents are listed too.
 */
export function inspectPkcs12(data: Uint8Array, password?: string): Pkcs12Inspection {
  return guarded(() => {
    const pfx = parsePfx(data);
    const opened = password === undefined ? undefined : open(pfx, password, true);
    const contents = opened?.contents ?? new Opener(undefined, false, new WorkBudget(), true).contents(pfx);
    const passwordChecked = opened !== undefined && (pfx.mac !== undefined || opened.opener.usedPassword);
    const out: Pkcs12Inspection = { version: 3, passwordChecked, contents };
    if (pfx.mac) out.mac = pfx.mac.info;
    return out;
  });
}

/**
 * Reads the keys and certificates of a PKCS#12 file. Keys are paired with certificates by
 * localKeyId, else by public key; the other certificates become the identities' chains.
 * A wrong password fails with PASSWORD_WRONG (use "" for files without a password).
 */
export function readPkcs12(data: Uint8Array, password: string): Pkcs12Contents {
  return guarded(() => {
    const pfx = parsePfx(data);
    const { opener } = open(pfx, password, false);
    const out = assemble(opener.bags);
    if (pfx.mac) out.mac = pfx.mac.info;
    return out;
  });
}

/**
 * The subjectPublicKey bits of a private key's public half. Compared instead of the whole
 * SubjectPublicKeyInfo because a DSA certificate may inherit its parameters from its issuer
 * (RFC 3279 §2.3.2), leaving them out of its own SubjectPublicKeyInfo.
 */
function publicKeyBits(key: KeyObject): Uint8Array {
  return Certificate.spkiKeyBits(createPublicKey(key).export({ type: 'spki', format: 'der' }));
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;
}

function assemble(bags: OpenedBag[]): Pkcs12Contents {
  const certs: OpenedBag[] = [];
  const seen = new Set<string>();
  for (const b of bags) {
    if (!b.certificate || seen.has(b.certificate.fingerprintSha256)) continue;
    seen.add(b.certificate.fingerprintSha256);
    certs.push(b);
  }
  const used = new Set<OpenedBag>();
  const identities: Pkcs12Identity[] = [];
  for (const b of bags) {
    const key = b.key;
    if (!key) continue;
    const bits = publicKeyBits(key);
    const fits = (c: OpenedBag) =>
      !used.has(c) && Buffer.compare(bits, c.certificate!.publicKeyInfo.publicKeyBytes) === 0;
    const match =
      certs.find((c) => sameBytes(c.attributes.localKeyId, b.attributes.localKeyId) && fits(c)) ?? certs.find(fits);
    const identity: Pkcs12Identity = { privateKey: key, chain: [] };
    if (match) {
      used.add(match);
      identity.certificate = match.certificate!;
    }
    const name = b.attributes.friendlyName ?? match?.attributes.friendlyName;
    if (name !== undefined) identity.friendlyName = name;
    const keyId = b.attributes.localKeyId ?? match?.attributes.localKeyId;
    if (keyId) identity.localKeyId = keyId;
    identities.push(identity);
  }
  // Chains: walk issuer links from each leaf through the remaining certificates (leaf → root).
  const pool = certs.filter((c) => !used.has(c));
  const placed = new Set<OpenedBag>();
  for (const id of identities) {
    let current = id.certificate;
    while (current && !current.isSelfIssued) {
      const cur: Certificate = current;
      const issuer = pool.find((c) => !id.chain.includes(c.certificate!) && issues(c.certificate!, cur));
      if (!issuer) break;
      id.chain.push(issuer.certificate!);
      placed.add(issuer);
      current = issuer.certificate;
    }
  }
  let rest = pool.filter((c) => !placed.has(c));
  // With a single identity, whatever is left is still its chain (unordered): keep it there.
  if (identities.length === 1 && identities[0]!.certificate) {
    identities[0]!.chain.push(...rest.map((c) => c.certificate!));
    rest = [];
  }
  const friendlyNames: Record<string, string> = {};
  for (const c of rest) {
    if (c.attributes.friendlyName !== undefined)
      friendlyNames[c.certificate!.fingerprintSha256] = c.attributes.friendlyName;
  }
  return { identities, certificates: rest.map((c) => c.certificate!), friendlyNames };
}

/** Whether `issuer` plausibly issued `cert`: names chain, and key identifiers agree when both exist. */
function issues(issuer: Certificate, cert: Certificate): boolean {
  if (Buffer.compare(issuer.subject.der, cert.issuer.der) !== 0) return false;
  const ski = issuer.subjectKeyIdentifier;
  const aki = cert.authorityKeyIdentifier;
  return ski === undefined || aki === undefined || Buffer.compare(ski, aki) === 0;
}

// ------------------------------------------------------------------------------------ writing

/**
 * Export profiles. `modern`: AES-256-CBC with PBKDF2-HMAC-SHA256 for the key and the certificates,
 * an HMAC-SHA256 MAC (what OpenSSL 3 writes by default). `compat`: pbeWithSHAAnd3-KeyTripleDES-CBC
 * for both and an HMAC-SHA1 MAC, for older macOS keychains, Android and gpgsm 2.2.
 */
export type Pkcs12Profile = 'modern' | 'compat';

export const PKCS12_PROFILES: Record<Pkcs12Profile, { iterations: number; description: string }> = {
  modern: { iterations: 100_000, description: 'AES-256-CBC, PBKDF2-HMAC-SHA256, HMAC-SHA256 MAC' },
  compat: { iterations: 2048, description: 'pbeWithSHAAnd3-KeyTripleDES-CBC, HMAC-SHA1 MAC' },
};

export interface Pkcs12ExportOptions {
  privateKey: KeyObject;
  certificate: Certificate;
  /** Issuer certificates to include (leaf's issuer first); default none. */
  chain?: Certificate[];
  password: string;
  /** Default `modern`. */
  profile?: Pkcs12Profile;
  /** Default: the certificate's first e-mail address, else its common name. */
  friendlyName?: string;
  /** Key-derivation iterations for encryption and MAC; default per profile. */
  iterations?: number;
}

function bmpString(s: string): Buffer {
  return tlv(0x1e, bmpPassword(s).subarray(0, s.length * 2));
}

function safeBag(bagOid: string, value: Uint8Array, attributes?: Attributes): Buffer {
  const attrs: Buffer[] = [];
  if (attributes?.friendlyName !== undefined) {
    attrs.push(seq(oid(PKCS12_OID.friendlyName), setOf([bmpString(attributes.friendlyName)])));
  }
  if (attributes?.localKeyId) attrs.push(seq(oid(PKCS12_OID.localKeyId), setOf([octets(attributes.localKeyId)])));
  return seq(oid(bagOid), explicit(0, value), ...(attrs.length ? [setOf(attrs)] : []));
}

/** Writes a PKCS#12 file holding one identity (key, certificate, chain) in DER. */
export function buildPkcs12(options: Pkcs12ExportOptions): Uint8Array {
  const profile = options.profile ?? 'modern';
  if (!(profile in PKCS12_PROFILES)) fail('INVALID_ARGUMENT', `unknown PKCS#12 profile "${profile}"`);
  const iterations = options.iterations ?? PKCS12_PROFILES[profile].iterations;
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > LIMITS.maxIterations) {
    fail('INVALID_ARGUMENT', `the iteration count must be 1 to ${LIMITS.maxIterations}`);
  }
  const { privateKey, certificate } = options;
  if (privateKey.type !== 'private') fail('INVALID_ARGUMENT', 'a private key is required');
  if (!keyMatchesCertificate(privateKey, certificate)) {
    fail('KEY_MISMATCH', 'the private key does not belong to the certificate');
  }
  const bmp = bmpPassword(options.password);
  const utf8 = Buffer.from(options.password, 'utf8');
  const encrypt = (data: Uint8Array) =>
    profile === 'modern'
      ? pbes2Encrypt(utf8, randomBytes(16), randomBytes(16), iterations, data)
      : tripleDesPbeEncrypt(bmp, randomBytes(8), iterations, data);
  const attributes: Attributes = {
    friendlyName: options.friendlyName ?? defaultFriendlyName(certificate),
    // What OpenSSL uses too: the SHA-1 hash of the certificate.
    localKeyId: createHash('sha1').update(certificate.der).digest(),
  };
  const certBag = (c: Certificate, attrs?: Attributes) =>
    safeBag(PKCS12_OID.certBag, seq(oid(PKCS12_OID.x509Certificate), explicit(0, octets(c.der))), attrs);
  const certContents = seq(certBag(certificate, attributes), ...(options.chain ?? []).map((c) => certBag(c)));
  const encryptedCerts = encrypt(certContents);
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const shrouded = encrypt(pkcs8);
  const keyContents = seq(
    safeBag(PKCS12_OID.pkcs8ShroudedKeyBag, seq(shrouded.algorithm, octets(shrouded.ciphertext)), attributes),
  );
  const authSafe = seq(
    seq(
      oid(OID.encryptedData),
      explicit(
        0,
        seq(integer(0), seq(oid(OID.data), encryptedCerts.algorithm, implicitPrimitive(0, encryptedCerts.ciphertext))),
      ),
    ),
    seq(oid(OID.data), explicit(0, octets(keyContents))),
  );
  const mac = buildMacData(profile === 'modern' ? 'sha256' : 'sha1', authSafe, bmp, iterations);
  return seq(integer(3), seq(oid(OID.data), explicit(0, octets(authSafe))), mac);
}

function defaultFriendlyName(c: Certificate): string {
  return c.emailAddresses[0] ?? nameAttribute(c.subject, OID.commonName)[0] ?? nameToString(c.subject);
}
