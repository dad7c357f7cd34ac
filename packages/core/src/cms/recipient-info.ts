/**
 * RecipientInfo (RFC 5652 §6.2): building key transport (RSA PKCS#1 v1.5, RSAES-OAEP) and key
 * agreement (RFC 5753 ECDH, RFC 8418 X25519/X448) recipients, parsing all five kinds for reports,
 * selecting ours by identifier, and recovering the content-encryption key.
 *
 *   RecipientInfo ::= CHOICE { ktri KeyTransRecipientInfo, kari [1] KeyAgreeRecipientInfo,
 *     kekri [2] KEKRecipientInfo, pwri [3] PasswordRecipientInfo, ori [4] OtherRecipientInfo }
 */
import { constants, type KeyObject, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import {
  type Asn1,
  Class,
  readBitString,
  readOctetString,
  readOid,
  readSmallInt,
  readUnsignedBytes,
} from '../asn1/der.ts';
import {
  algorithm,
  explicit,
  implicitPrimitive,
  integer,
  octets,
  retag,
  seq,
  tlv,
  unsignedInteger,
} from '../asn1/encode.ts';
import { OID, oidName } from '../asn1/oids.ts';
import { fail, SealpostError } from '../errors.ts';
import { keyMatchesCertificate } from '../util/keys.ts';
import type { Certificate } from '../x509/certificate.ts';
import { type Name, namesEqual, nameToString, parseName } from '../x509/name.ts';
import {
  type AgreementCurve,
  aesUnwrap,
  aesWrap,
  curveFromOid,
  deriveKek,
  eccCmsSharedInfo,
  ephemeralAgreement,
  KDF_SCHEMES,
  KEY_WRAPS,
  keyWrapFor,
  recipientAgreement,
  SEND_SCHEME,
} from './key-agreement.ts';

export interface EncryptRecipient {
  certificate: Certificate;
  /** RSA only; default `pkcs1`: what Outlook, Apple Mail and NSS read. */
  rsaPadding?: 'pkcs1' | 'oaep';
  /** Default `issuerAndSerialNumber`. */
  identifier?: 'issuerAndSerialNumber' | 'subjectKeyIdentifier';
}

export interface DecryptionKey {
  certificate: Certificate;
  privateKey: KeyObject;
}

export type RecipientKind = 'ktri' | 'kari' | 'kekri' | 'pwri' | 'ori';

export interface RecipientIdentifierSummary {
  /** RFC 4514. */
  issuer?: string;
  serialHex?: string;
  subjectKeyIdentifierHex?: string;
}

export interface RecipientSummary {
  index: number;
  kind: RecipientKind;
  /** Readable, e.g. `rsaEncryption`, `rsaesOaep`, `dhSinglePassStdDHSha256kdf`. */
  keyEncryptionAlgorithm: string;
  /** The key wrap under a key agreement, e.g. `aes256Wrap`. */
  keyWrapAlgorithm?: string;
  /** One per recipientEncryptedKey for kari; one for ktri; none for the others. */
  identifiers: RecipientIdentifierSummary[];
}

/** What a RecipientIdentifier / KeyAgreeRecipientIdentifier names. */
interface Rid {
  issuer?: Name;
  serial?: Uint8Array;
  ski?: Uint8Array;
}

/** A parsed RecipientInfo: the report plus what decryption needs. */
export interface ParsedRecipient {
  summary: RecipientSummary;
  /** ktri: one; kari: one per recipientEncryptedKey. */
  keys: { rid: Rid; encryptedKey: Uint8Array }[];
  keyEncryption: Asn1;
  /** kari only. */
  originator?: Asn1;
  ukm?: Uint8Array;
}

/** Bounds the work an envelope can ask of us (recipientInfos plus recipientEncryptedKeys). */
export const MAX_RECIPIENTS = 1000;

// ---------------------------------------------------------------- building

const OAEP_SHA256_PARAMS = (() => {
  // RFC 4055 §2.1/§4.1: sha256Identifier ::= { id-sha256, NULL }; mgf1SHA256Identifier ::= { id-mgf1, sha256Identifier }.
  const sha256 = algorithm(OID.sha256, null);
  return seq(explicit(0, sha256), explicit(1, algorithm(OID.mgf1, sha256)));
})();

function describeSubject(cert: Certificate): string {
  return nameToString(cert.subject) || `serial ${cert.serialHex}`;
}

/**
 *   IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber CertificateSerialNumber }
 *   RecipientIdentifier ::= CHOICE { issuerAndSerialNumber, subjectKeyIdentifier [0] SubjectKeyIdentifier }
 */
function issuerAndSerial(cert: Certificate): Buffer {
  return seq(cert.issuer.der, unsignedInteger(cert.serialNumber));
}

function requireSki(cert: Certificate): Uint8Array {
  const ski = cert.subjectKeyIdentifier;
  if (!ski) {
    fail('KEY_UNSUITABLE', `the certificate of ${describeSubject(cert)} has no subjectKeyIdentifier to name it by`);
  }
  return ski;
}

function requireUsage(cert: Certificate, usage: 'keyEncipherment' | 'keyAgreement'): void {
  const ku = cert.keyUsage;
  if (ku && !ku.has(usage)) {
    fail('KEY_UNSUITABLE', `the certificate of ${describeSubject(cert)} does not allow ${usage} (keyUsage)`);
  }
}

/** The key agreement curve of an EC/X25519/X448 certificate, or undefined for other key types. */
function agreementCurve(cert: Certificate): AgreementCurve | undefined {
  const info = cert.publicKeyInfo;
  if (info.kind === 'ec') return curveFromOid(info.curve);
  if (info.kind === 'x25519' || info.kind === 'x448') return info.kind;
  return undefined;
}

/** One RecipientInfo that carries `cek` to the recipient; returns its DER and its CMS version. */
export function buildRecipientInfo(r: EncryptRecipient, cek: Uint8Array): { der: Buffer; version: number } {
  const cert = r.certificate;
  const bySki = r.identifier === 'subjectKeyIdentifier';
  const kind = cert.publicKeyInfo.kind;
  if (kind === 'rsa') {
    requireUsage(cert, 'keyEncipherment');
    const oaep = r.rsaPadding === 'oaep';
    const encryptedKey = publicEncrypt(
      oaep
        ? { key: cert.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }
        : { key: cert.publicKey, padding: constants.RSA_PKCS1_PADDING },
      cek,
    );
    /*
     * KeyTransRecipientInfo ::= SEQUENCE { version CMSVersion, -- 0 for issuerAndSerialNumber, 2 for SKI
     *   rid RecipientIdentifier, keyEncryptionAlgorithm, encryptedKey EncryptedKey }
     */
    const version = bySki ? 2 : 0;
    const der = seq(
      integer(version),
      bySki ? implicitPrimitive(0, requireSki(cert)) : issuerAndSerial(cert),
      oaep ? algorithm(OID.rsaesOaep, OAEP_SHA256_PARAMS) : algorithm(OID.rsaEncryption, null),
      octets(encryptedKey),
    );
    return { der, version };
  }
  const curve = agreementCurve(cert);
  if (!curve) {
    fail(
      'UNSUPPORTED_ALGORITHM',
      `cannot encrypt to ${describeSubject(cert)}: ${kind === 'unknown' ? 'its key type' : `a ${kind} key`} supports neither key transport nor key agreement`,
    );
  }
  requireUsage(cert, 'keyAgreement');
  const { originatorKey, sharedSecret } = ephemeralAgreement(curve, cert.publicKey);
  const scheme = SEND_SCHEME[curve];
  const wrapOid = keyWrapFor(cek.length);
  const kekLength = KEY_WRAPS.get(wrapOid)!.kekLength;
  const kek = deriveKek(KDF_SCHEMES.get(scheme)!, sharedSecret, eccCmsSharedInfo(wrapOid, kekLength), kekLength);
  const encryptedKey = aesWrap(wrapOid, kek, cek);
  /*
   * KeyAgreeRecipientInfo ::= SEQUENCE { version CMSVersion, -- always 3
   *   originator [0] EXPLICIT OriginatorIdentifierOrKey, ukm [1] EXPLICIT UserKeyingMaterial OPTIONAL,
   *   keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier, recipientEncryptedKeys RecipientEncryptedKeys }
   * OriginatorIdentifierOrKey ::= CHOICE { ..., originatorKey [1] OriginatorPublicKey }
   * RecipientEncryptedKey ::= SEQUENCE { rid KeyAgreeRecipientIdentifier, encryptedKey EncryptedKey }
   * KeyAgreeRecipientIdentifier ::= CHOICE { issuerAndSerialNumber, rKeyId [0] IMPLICIT RecipientKeyIdentifier }
   * RFC 5753 §3.1.1: keyEncryptionAlgorithm's parameters are the KeyWrapAlgorithm; ukm is left out.
   */
  const rid = bySki ? tlv(0xa0, octets(requireSki(cert))) : issuerAndSerial(cert);
  const der = tlv(
    0xa1,
    integer(3),
    explicit(0, retag(originatorKey, 0xa1)),
    algorithm(scheme, algorithm(wrapOid)),
    seq(seq(rid, octets(encryptedKey))),
  );
  return { der, version: 3 };
}

// ---------------------------------------------------------------- parsing

function malformed(what: string): never {
  fail('CMS_MALFORMED', `malformed ${what}`);
}

function parseIssuerAndSerial(el: Asn1): Rid {
  if (!el.is(0x30) || el.children.length !== 2) malformed('IssuerAndSerialNumber');
  let issuer: Name;
  try {
    issuer = parseName(el.child(0));
  } catch (e) {
    if (e instanceof SealpostError)
      fail('CMS_MALFORMED', `malformed issuer name in a recipient identifier: ${e.message}`);
    throw e;
  }
  return { issuer, serial: readUnsignedBytes(el.child(1)) };
}

function octetsOf(el: Asn1, what: string): Uint8Array {
  if (el.tagNumber !== 4 || el.cls !== Class.Universal) malformed(what);
  return readOctetString(el);
}

/** [0] IMPLICIT OCTET STRING, possibly constructed in BER. */
function implicitOctets(el: Asn1): Uint8Array {
  if (!el.constructed) return el.value;
  return Buffer.concat(el.children.map((c) => octetsOf(c, 'subjectKeyIdentifier')));
}

function ridSummary(rid: Rid): RecipientIdentifierSummary {
  const out: RecipientIdentifierSummary = {};
  if (rid.issuer) out.issuer = nameToString(rid.issuer);
  if (rid.serial) out.serialHex = Buffer.from(rid.serial).toString('hex');
  if (rid.ski) out.subjectKeyIdentifierHex = Buffer.from(rid.ski).toString('hex');
  return out;
}

function algOid(el: Asn1, what: string): string {
  if (!el.is(0x30) || el.children.length < 1 || el.children.length > 2) malformed(what);
  return readOid(el.child(0));
}

function keyEncryptionName(oid: string): string {
  return KDF_SCHEMES.get(oid)?.name ?? oidName(oid);
}

/** Parses `RecipientInfos ::= SET SIZE (1..MAX) OF RecipientInfo`. */
export function parseRecipientInfos(set: Asn1): ParsedRecipient[] {
  if (!set.is(0x31) || set.children.length === 0) malformed('RecipientInfos');
  if (set.children.length > MAX_RECIPIENTS) fail('CMS_LIMIT', `more than ${MAX_RECIPIENTS} recipients`);
  let budget = MAX_RECIPIENTS;
  return set.children.map((ri, index) => {
    const r = parseRecipientInfo(ri, index);
    budget -= r.keys.length;
    if (budget < 0) fail('CMS_LIMIT', `more than ${MAX_RECIPIENTS} recipient keys`);
    return r;
  });
}

function parseRecipientInfo(ri: Asn1, index: number): ParsedRecipient {
  if (ri.is(0x30)) {
    // KeyTransRecipientInfo
    if (ri.children.length !== 4) malformed('KeyTransRecipientInfo');
    readSmallInt(ri.child(0));
    const ridEl = ri.child(1);
    let rid: Rid;
    if (ridEl.isContext(0)) rid = { ski: implicitOctets(ridEl) };
    else rid = parseIssuerAndSerial(ridEl);
    const keyEncryption = ri.child(2);
    const oid = algOid(keyEncryption, 'keyEncryptionAlgorithm');
    const encryptedKey = octetsOf(ri.child(3), 'encryptedKey');
    return {
      summary: { index, kind: 'ktri', keyEncryptionAlgorithm: keyEncryptionName(oid), identifiers: [ridSummary(rid)] },
      keys: [{ rid, encryptedKey }],
      keyEncryption,
    };
  }
  if (ri.cls !== Class.Context || !ri.constructed) malformed('RecipientInfo');
  switch (ri.tagNumber) {
    case 1:
      return parseKari(ri, index);
    case 2: {
      // KEKRecipientInfo ::= SEQUENCE { version, kekid KEKIdentifier, keyEncryptionAlgorithm, encryptedKey }
      if (ri.children.length !== 4) malformed('KEKRecipientInfo');
      const keyEncryption = ri.child(2);
      const oid = algOid(keyEncryption, 'keyEncryptionAlgorithm');
      return {
        summary: { index, kind: 'kekri', keyEncryptionAlgorithm: keyEncryptionName(oid), identifiers: [] },
        keys: [],
        keyEncryption,
      };
    }
    case 3: {
      // PasswordRecipientInfo ::= SEQUENCE { version, keyDerivationAlgorithm [0] OPTIONAL, keyEncryptionAlgorithm, encryptedKey }
      const n = ri.children.length;
      if (n !== 3 && n !== 4) malformed('PasswordRecipientInfo');
      const keyEncryption = ri.child(n - 2);
      const oid = algOid(keyEncryption, 'keyEncryptionAlgorithm');
      return {
        summary: { index, kind: 'pwri', keyEncryptionAlgorithm: keyEncryptionName(oid), identifiers: [] },
        keys: [],
        keyEncryption,
      };
    }
    case 4: {
      // OtherRecipientInfo ::= SEQUENCE { oriType OBJECT IDENTIFIER, oriValue ANY DEFINED BY oriType }
      if (ri.children.length !== 2) malformed('OtherRecipientInfo');
      const oid = readOid(ri.child(0));
      return {
        summary: { index, kind: 'ori', keyEncryptionAlgorithm: oidName(oid), identifiers: [] },
        keys: [],
        keyEncryption: ri.child(0),
      };
    }
    default:
      malformed('RecipientInfo');
  }
}

function parseKari(ri: Asn1, index: number): ParsedRecipient {
  const f = ri.children;
  if (f.length !== 4 && f.length !== 5) malformed('KeyAgreeRecipientInfo');
  readSmallInt(ri.child(0));
  const originatorWrap = ri.child(1);
  if (!originatorWrap.isContext(0) || !originatorWrap.constructed || originatorWrap.children.length !== 1) {
    malformed('KeyAgreeRecipientInfo originator');
  }
  let i = 2;
  let ukm: Uint8Array | undefined;
  if (f[2]?.isContext(1)) {
    if (!f[2].constructed || f[2].children.length !== 1) malformed('KeyAgreeRecipientInfo ukm');
    ukm = octetsOf(f[2].child(0), 'ukm');
    i++;
  }
  if (f.length !== i + 2) malformed('KeyAgreeRecipientInfo');
  const keyEncryption = ri.child(i);
  const oid = algOid(keyEncryption, 'keyEncryptionAlgorithm');
  const wrapEl = keyEncryption.children[1];
  const wrapOid = wrapEl?.is(0x30) && wrapEl.children[0]?.is(0x06) ? readOid(wrapEl.child(0)) : undefined;
  const reks = ri.child(i + 1);
  if (!reks.is(0x30) || reks.children.length === 0) malformed('RecipientEncryptedKeys');
  if (reks.children.length > MAX_RECIPIENTS) fail('CMS_LIMIT', `more than ${MAX_RECIPIENTS} recipient keys`);
  const keys = reks.children.map((rek) => {
    if (!rek.is(0x30) || rek.children.length !== 2) malformed('RecipientEncryptedKey');
    const ridEl = rek.child(0);
    let rid: Rid;
    if (ridEl.isContext(0)) {
      // RecipientKeyIdentifier ::= SEQUENCE { subjectKeyIdentifier, date GeneralizedTime OPTIONAL, other OPTIONAL }
      if (!ridEl.constructed || ridEl.children.length < 1) malformed('RecipientKeyIdentifier');
      rid = { ski: octetsOf(ridEl.child(0), 'subjectKeyIdentifier') };
    } else {
      rid = parseIssuerAndSerial(ridEl);
    }
    return { rid, encryptedKey: octetsOf(rek.child(1), 'encryptedKey') };
  });
  const summary: RecipientSummary = {
    index,
    kind: 'kari',
    keyEncryptionAlgorithm: keyEncryptionName(oid),
    identifiers: keys.map((k) => ridSummary(k.rid)),
  };
  if (wrapOid) summary.keyWrapAlgorithm = KEY_WRAPS.get(wrapOid)?.name ?? oidName(wrapOid);
  const out: ParsedRecipient = { summary, keys, keyEncryption, originator: originatorWrap.child(0) };
  if (ukm) out.ukm = ukm;
  return out;
}

// ---------------------------------------------------------------- selecting and unwrapping

function ridMatches(rid: Rid, cert: Certificate): boolean {
  if (rid.ski) {
    const ski = cert.subjectKeyIdentifier;
    return ski !== undefined && Buffer.compare(ski, rid.ski) === 0;
  }
  return (
    rid.serial !== undefined &&
    rid.issuer !== undefined &&
    Buffer.compare(rid.serial, cert.serialNumber) === 0 &&
    namesEqual(rid.issuer, cert.issuer)
  );
}

export interface RecipientMatch {
  recipientIndex: number;
  keyIndex: number;
  /** Which recipientEncryptedKey inside a kari (0 for ktri). */
  encryptedKeyIndex: number;
}

/**
 * Selects by identifier only, never by trying keys (trial decryption is an oracle: OpenSSL
 * CVE-2019-1563). The first offered key whose certificate is named wins.
 */
export function selectRecipient(recipients: ParsedRecipient[], keys: DecryptionKey[]): RecipientMatch | undefined {
  for (let keyIndex = 0; keyIndex < keys.length; keyIndex++) {
    const cert = keys[keyIndex]!.certificate;
    for (const r of recipients) {
      for (let k = 0; k < r.keys.length; k++) {
        if (ridMatches(r.keys[k]!.rid, cert))
          return { recipientIndex: r.summary.index, keyIndex, encryptedKeyIndex: k };
      }
    }
  }
  return undefined;
}

const HASHES = new Map<string, string>([
  [OID.sha1, 'sha1'],
  [OID.sha224, 'sha224'],
  [OID.sha256, 'sha256'],
  [OID.sha384, 'sha384'],
  [OID.sha512, 'sha512'],
]);

function hashOf(el: Asn1, what: string): string {
  const h = HASHES.get(algOid(el, what));
  if (!h) fail('UNSUPPORTED_ALGORITHM', `${what} ${oidName(readOid(el.child(0)))} is not supported`);
  return h;
}

/**
 * RFC 8017 A.2.1:
 *   RSAES-OAEP-params ::= SEQUENCE { hashAlgorithm [0] HashAlgorithm DEFAULT sha1,
 *     maskGenAlgorithm [1] MaskGenAlgorithm DEFAULT mgf1SHA1, pSourceAlgorithm [2] PSourceAlgorithm DEFAULT pSpecifiedEmpty }
 * node:crypto uses the OAEP hash for MGF1 too, so a different MGF1 hash is unsupported.
 */
function parseOaepParams(params: Asn1 | undefined): { hash: string; label?: Uint8Array } {
  let hash = 'sha1';
  let mgfHash = 'sha1';
  let label: Uint8Array | undefined;
  if (params && !params.is(0x05)) {
    if (!params.is(0x30)) malformed('RSAES-OAEP-params');
    for (const f of params.children) {
      if (f.cls !== Class.Context || !f.constructed || f.children.length !== 1) malformed('RSAES-OAEP-params');
      const v = f.child(0);
      if (f.tagNumber === 0) hash = hashOf(v, 'OAEP hash');
      else if (f.tagNumber === 1) {
        if (algOid(v, 'OAEP mask generation') !== OID.mgf1)
          fail('UNSUPPORTED_ALGORITHM', 'OAEP mask generation other than MGF1');
        const p = v.children[1];
        if (!p) malformed('MGF1 parameters');
        mgfHash = hashOf(p, 'MGF1 hash');
      } else if (f.tagNumber === 2) {
        // PSourceAlgorithm: id-pSpecified with the label as OCTET STRING.
        const p = v.children[1];
        label = p ? octetsOf(p, 'OAEP label') : undefined;
      } else malformed('RSAES-OAEP-params');
    }
  }
  if (hash !== mgfHash) fail('UNSUPPORTED_ALGORITHM', `RSAES-OAEP with ${hash} and MGF1-${mgfHash} is not supported`);
  return label && label.length > 0 ? { hash, label } : { hash };
}

/**
 * Everything about recovering the key that does not depend on secrets: the key type fits the
 * recipient kind, the algorithms are supported, the key belongs to its certificate. Errors here
 * are not an oracle (they are the same whatever the ciphertext).
 */
export type PreparedUnwrap = () => Buffer;

export function prepareUnwrap(r: ParsedRecipient, match: RecipientMatch, key: DecryptionKey): PreparedUnwrap {
  const cert = key.certificate;
  const encryptedKey = r.keys[match.encryptedKeyIndex]!.encryptedKey;
  if (!keyMatchesCertificate(key.privateKey, cert)) {
    fail('KEY_MISMATCH', `the private key given for ${describeSubject(cert)} does not belong to its certificate`);
  }
  if (r.summary.kind === 'ktri') {
    if (cert.publicKeyInfo.kind !== 'rsa') {
      fail('KEY_UNSUITABLE', `the key of ${describeSubject(cert)} cannot undo RSA key transport`);
    }
    const oid = readOid(r.keyEncryption.child(0));
    if (oid === OID.rsaEncryption) {
      return () => privateDecrypt({ key: key.privateKey, padding: constants.RSA_PKCS1_PADDING }, encryptedKey);
    }
    if (oid === OID.rsaesOaep) {
      const { hash, label } = parseOaepParams(r.keyEncryption.children[1]);
      return () =>
        privateDecrypt(
          label
            ? { key: key.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash, oaepLabel: label }
            : { key: key.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
          encryptedKey,
        );
    }
    fail('UNSUPPORTED_ALGORITHM', `key transport with ${oidName(oid)} is not supported`);
  }
  // kari
  const curve = agreementCurve(cert);
  if (!curve) fail('KEY_UNSUITABLE', `the key of ${describeSubject(cert)} cannot do key agreement`);
  const schemeOid = readOid(r.keyEncryption.child(0));
  const scheme = KDF_SCHEMES.get(schemeOid);
  if (!scheme) fail('UNSUPPORTED_ALGORITHM', `key agreement with ${oidName(schemeOid)} is not supported`);
  const wrapEl = r.keyEncryption.children[1];
  if (!wrapEl) malformed('KeyWrapAlgorithm');
  const wrapOid = algOid(wrapEl, 'KeyWrapAlgorithm');
  const wrap = KEY_WRAPS.get(wrapOid);
  if (!wrap) fail('UNSUPPORTED_ALGORITHM', `key wrap with ${oidName(wrapOid)} is not supported`);
  // RFC 3565 §2.3.2: AES key wrap parameters are absent (NULL tolerated).
  const wp = wrapEl.children[1];
  if (wp && !wp.is(0x05)) malformed('KeyWrapAlgorithm parameters');
  const orig = r.originator!;
  if (!orig.isContext(1) || !orig.constructed || orig.children.length !== 2) {
    fail('UNSUPPORTED_ALGORITHM', 'only ephemeral-static key agreement (originatorKey) is supported');
  }
  const origAlg = algOid(orig.child(0), 'OriginatorPublicKey algorithm');
  const expectAlg = curve === 'x25519' ? OID.x25519 : curve === 'x448' ? OID.x448 : OID.ecPublicKey;
  if (origAlg !== expectAlg) {
    fail('UNSUPPORTED_ALGORITHM', `originator key ${oidName(origAlg)} does not fit the recipient's key`);
  }
  const { unusedBits, bytes: point } = readBitString(orig.child(1));
  if (unusedBits !== 0) malformed('OriginatorPublicKey');
  const sharedInfo = eccCmsSharedInfo(wrapOid, wrap.kekLength, r.ukm);
  return () => {
    const z = recipientAgreement(curve, key.privateKey, point);
    const kek = deriveKek(scheme, z, sharedInfo, wrap.kekLength);
    return aesUnwrap(wrapOid, kek, encryptedKey);
  };
}

/**
 * Runs the secret-dependent part. RFC 3218 §2.3: any failure, or a key of the wrong length,
 * continues with a random key so the content decryption happens either way and every failure
 * surfaces in the same place; `ok` tells the caller to fail there.
 */
export function recoverContentKey(unwrap: PreparedUnwrap, keyLength: number): { cek: Buffer; ok: boolean } {
  try {
    const cek = unwrap();
    if (cek.length === keyLength) return { cek, ok: true };
  } catch {
    // Falls through to the random key: the reason must not be observable.
  }
  return { cek: randomBytes(keyLength), ok: false };
}
