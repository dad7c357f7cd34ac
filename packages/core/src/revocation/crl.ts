/**
 * Certificate revocation lists (RFC 5280 §5), parsed strictly and once: the entries go into a map
 * keyed by serial number, so a CRL of 100,000 entries is looked up, not scanned.
 *
 *   CertificateList ::= SEQUENCE { tbsCertList TBSCertList, signatureAlgorithm AlgorithmIdentifier,
 *       signatureValue BIT STRING }
 *   TBSCertList ::= SEQUENCE {
 *       version              Version OPTIONAL,  -- if present, MUST be v2
 *       signature            AlgorithmIdentifier,
 *       issuer               Name,
 *       thisUpdate           Time,
 *       nextUpdate           Time OPTIONAL,
 *       revokedCertificates  SEQUENCE OF SEQUENCE {
 *           userCertificate     CertificateSerialNumber,
 *           revocationDate      Time,
 *           crlEntryExtensions  Extensions OPTIONAL } OPTIONAL,
 *       crlExtensions        [0] EXPLICIT Extensions OPTIONAL }
 *
 * The outer levels are walked header by header and each entry is decoded on its own, so the
 * decoder's element budget bounds one entry, not the whole list, and memory stays at the map.
 */
import type { KeyObject } from 'node:crypto';
import { type Asn1, decode, readInteger, readSmallInt, readTime } from '../asn1/der.ts';
import { OID } from '../asn1/oids.ts';
import { fail, SealpostError } from '../errors.ts';
import { isPem, pemDecodeAll } from '../util/pem.ts';
import { type AlgorithmIdentifier, parseAlgorithmIdentifier } from '../x509/algorithm.ts';
import type { Certificate } from '../x509/certificate.ts';
import { type DistributionPointName, parseDistributionPointName, parseReasonFlags } from '../x509/distribution.ts';
import { parseExtensionList } from '../x509/extensions.ts';
import { directoryNames, parseGeneralNames } from '../x509/general-name.ts';
import { type Name, namesEqual, parseName } from '../x509/name.ts';
import { verifySignature } from '../x509/signature.ts';
import type { RevocationReason } from './types.ts';

/** CRL extensions this parser understands; a critical one outside this set makes the CRL unusable. */
const KNOWN_CRL_EXTENSIONS = new Set<string>([
  OID.authorityKeyIdentifier,
  OID.cRLNumber,
  OID.deltaCRLIndicator,
  OID.issuingDistributionPoint,
  OID.freshestCRL,
  OID.issuerAltName,
  OID.authorityInfoAccess,
]);

const KNOWN_ENTRY_EXTENSIONS = new Set<string>([OID.reasonCode, OID.invalidityDate, OID.certificateIssuer]);

/** CRLReason codes (§5.3.1); 7 is not used. */
const REASONS: (RevocationReason | undefined)[] = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  undefined,
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
];

/** An ENUMERATED as a small number (reason codes, response statuses). */
export function readEnumerated(el: Asn1): number {
  if (!el.is(0x0a)) fail('ASN1_MALFORMED', 'expected ENUMERATED');
  const v = el.value;
  if (v.length > 2 || (v[0]! & 0x80) !== 0) fail('ASN1_MALFORMED', 'ENUMERATED out of range');
  return v.length === 1 ? v[0]! : (v[0]! << 8) | v[1]!;
}

/** The CRLReason of a code (§5.3.1), shared with OCSP's revocationReason. */
export function reasonFromCode(code: number): RevocationReason | undefined {
  return REASONS[code];
}

export interface CrlEntry {
  revocationDate: Date;
  reason?: RevocationReason;
  invalidityDate?: Date;
}

/**
 *   IssuingDistributionPoint ::= SEQUENCE {
 *     distributionPoint          [0] DistributionPointName OPTIONAL,
 *     onlyContainsUserCerts      [1] BOOLEAN DEFAULT FALSE,
 *     onlyContainsCACerts        [2] BOOLEAN DEFAULT FALSE,
 *     onlySomeReasons            [3] ReasonFlags OPTIONAL,
 *     indirectCRL                [4] BOOLEAN DEFAULT FALSE,
 *     onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }
 */
export interface IssuingDistributionPoint {
  distributionPoint?: DistributionPointName;
  onlyContainsUserCerts: boolean;
  onlyContainsCACerts: boolean;
  /** ReasonFlags mask (bit n = 1 << n); undefined means all reasons. */
  onlySomeReasons?: number;
  indirectCRL: boolean;
  onlyContainsAttributeCerts: boolean;
  /** The extension value as encoded: a delta CRL must have the same scope as its base (§5.2.4). */
  der: Uint8Array;
}

export interface Crl {
  der: Uint8Array;
  tbs: Uint8Array;
  /** 1 or 2. */
  version: number;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  issuer: Name;
  thisUpdate: Date;
  nextUpdate?: Date;
  crlNumber?: bigint;
  /** BaseCRLNumber of a delta CRL (deltaCRLIndicator, §5.2.4). */
  deltaBase?: bigint;
  issuingDistributionPoint?: IssuingDistributionPoint;
  authorityKeyId?: Uint8Array;
  /** The OID of a critical CRL or entry extension Sealpost does not know: such a CRL must not be used. */
  unsupportedCritical?: string;
  entryCount: number;
  /**
   * The entry for a certificate, given its issuer's name (which differs from the CRL's in indirect
   * CRLs) and its serial number's INTEGER content octets (`serialContent`).
   */
  lookup(certificateIssuer: Name, serial: Uint8Array): CrlEntry | undefined;
}

/** A name as a map key, with the same folding as `namesEqual` (RFC 5280 §7.1). */
export function nameKey(name: Name): string {
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return name.rdns
    .map((rdn) =>
      rdn
        .map((a) => `${a.type}=${norm(a.value)}`)
        .sort()
        .join('+'),
    )
    .join(',');
}

const serials = new WeakMap<Certificate, Uint8Array>();

/**
 * A certificate's serial number as the content octets of its INTEGER, two's complement included:
 * the unsigned magnitude cannot tell 0x00FF (255) from 0xFF (-1), and PKITS has both.
 */
export function serialContent(cert: Certificate): Uint8Array {
  let s = serials.get(cert);
  if (s === undefined) {
    const tbs = decode(cert.tbs);
    const first = tbs.child(0);
    s = (first.isContext(0) ? tbs.child(1) : first).value;
    serials.set(cert, s);
  }
  return s;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

interface Header {
  tag: number;
  start: number;
  valueStart: number;
  end: number;
}

/** One DER header (low tag numbers only, definite minimal length), for walking the outer levels. */
function header(buf: Uint8Array, pos: number, limit: number): Header {
  if (pos + 2 > limit) fail('CRL_MALFORMED', 'truncated CRL');
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) fail('CRL_MALFORMED', 'unexpected high tag number in a CRL');
  const lb = buf[pos + 1]!;
  let length = lb;
  let valueStart = pos + 2;
  if (lb >= 0x80) {
    const n = lb & 0x7f;
    if (n === 0) fail('CRL_MALFORMED', 'indefinite length is not allowed in a CRL (DER)');
    if (n > 4) fail('CRL_MALFORMED', 'CRL length too large');
    if (valueStart + n > limit) fail('CRL_MALFORMED', 'truncated CRL');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[valueStart + i]!;
    if (buf[valueStart] === 0 || length < 0x80) fail('CRL_MALFORMED', 'non-minimal length in a CRL');
    valueStart += n;
  }
  const end = valueStart + length;
  if (end > limit) fail('CRL_MALFORMED', 'CRL element runs past its container');
  return { tag, start: pos, valueStart, end };
}

function children(buf: Uint8Array, parent: Header): Header[] {
  const out: Header[] = [];
  for (let pos = parent.valueStart; pos < parent.end; ) {
    const h = header(buf, pos, parent.end);
    out.push(h);
    pos = h.end;
  }
  return out;
}

const el = (buf: Uint8Array, h: Header): Asn1 => decode(buf.subarray(h.start, h.end), { maxDepth: 16 });

interface ParsedExtension {
  oid: string;
  critical: boolean;
  value: Asn1;
}

/** Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension, each value decoded. */
function parseExtensions(list: Asn1): ParsedExtension[] {
  return parseExtensionList(list, (what) => fail('CRL_MALFORMED', what)).map((e) => ({ ...e, value: decode(e.value) }));
}

function nonNegative(v: Asn1, what: string): bigint {
  const n = readInteger(v);
  if (n < 0n) fail('CRL_MALFORMED', `negative ${what}`);
  return n;
}

/** The BOOLEAN fields of the IssuingDistributionPoint, by context tag. */
const IDP_FLAGS = {
  1: 'onlyContainsUserCerts',
  2: 'onlyContainsCACerts',
  4: 'indirectCRL',
  5: 'onlyContainsAttributeCerts',
} as const;

function parseIdp(value: Asn1): IssuingDistributionPoint {
  if (!value.is(0x30)) fail('CRL_MALFORMED', 'malformed issuingDistributionPoint');
  const idp: IssuingDistributionPoint = {
    onlyContainsUserCerts: false,
    onlyContainsCACerts: false,
    indirectCRL: false,
    onlyContainsAttributeCerts: false,
    der: value.raw,
  };
  let last = -1;
  const flag = (f: Asn1): boolean => {
    if (f.constructed || f.value.length !== 1 || f.value[0] !== 0xff) {
      // A DEFAULT FALSE is omitted in DER, so an encoded flag is always TRUE.
      fail('CRL_MALFORMED', 'issuingDistributionPoint flag must be an encoded TRUE');
    }
    return true;
  };
  for (const f of value.children) {
    if (f.cls !== 2 || f.tagNumber <= last || f.tagNumber > 5) fail('CRL_MALFORMED', 'bad issuingDistributionPoint');
    last = f.tagNumber;
    if (f.tagNumber === 0) {
      if (!f.constructed || f.children.length !== 1) fail('CRL_MALFORMED', 'bad distributionPoint in the IDP');
      idp.distributionPoint = parseDistributionPointName(f.child(0));
    } else if (f.tagNumber === 3) {
      idp.onlySomeReasons = parseReasonFlags(f);
    } else {
      idp[IDP_FLAGS[f.tagNumber as keyof typeof IDP_FLAGS]] = flag(f);
    }
  }
  // §5.2.5: at most one of the three "only contains" flags.
  if (+idp.onlyContainsUserCerts + +idp.onlyContainsCACerts + +idp.onlyContainsAttributeCerts > 1) {
    fail('CRL_MALFORMED', 'issuingDistributionPoint sets more than one onlyContains flag');
  }
  return idp;
}

function readCrlTime(buf: Uint8Array, h: Header): Date {
  return readTime(el(buf, h));
}

const isTime = (h: Header | undefined): boolean => h !== undefined && (h.tag === 0x17 || h.tag === 0x18);

/** Parses a DER (or PEM "X509 CRL") CRL. Throws CRL_MALFORMED. */
export function parseCrl(input: Uint8Array): Crl {
  try {
    return parse(input);
  } catch (e) {
    if (e instanceof SealpostError && e.code !== 'CRL_MALFORMED') {
      throw new SealpostError('CRL_MALFORMED', `malformed CRL: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function parse(input: Uint8Array): Crl {
  let buf = input;
  if (isPem(input)) {
    const block = pemDecodeAll(input).find((b) => b.label === 'X509 CRL');
    if (!block) fail('CRL_MALFORMED', 'no X509 CRL block in the PEM text');
    buf = block.der;
  }
  const root = header(buf, 0, buf.length);
  if (root.tag !== 0x30) fail('CRL_MALFORMED', 'a CRL is a SEQUENCE');
  if (root.end !== buf.length) fail('CRL_MALFORMED', `${buf.length - root.end} trailing bytes after the CRL`);
  const top = children(buf, root);
  if (top.length !== 3 || top[0]!.tag !== 0x30) fail('CRL_MALFORMED', 'a CRL is a SEQUENCE of three');
  const tbsH = top[0]!;
  const signatureAlgorithm = parseAlgorithmIdentifier(el(buf, top[1]!));
  const sigEl = el(buf, top[2]!);
  if (!sigEl.is(0x03)) fail('CRL_MALFORMED', 'the CRL signature must be a BIT STRING');
  if (sigEl.value[0] !== 0) fail('CRL_MALFORMED', 'the CRL signature has unused bits');
  const signature = sigEl.value.subarray(1);

  const f = children(buf, tbsH);
  let i = 0;
  let version = 1;
  if (f[i]?.tag === 0x02) {
    if (readSmallInt(el(buf, f[i]!), 10) !== 1) fail('CRL_MALFORMED', 'a CRL version, when present, must be v2');
    version = 2;
    i++;
  }
  const inner = f[i++];
  if (inner === undefined || Buffer.compare(buf.subarray(inner.start, inner.end), signatureAlgorithm.der) !== 0) {
    fail('CRL_MALFORMED', 'the signature algorithm inside and outside the CRL differ (RFC 5280 §5.1.1.2)');
  }
  const issuerH = f[i++];
  if (issuerH?.tag !== 0x30) fail('CRL_MALFORMED', 'missing CRL issuer');
  const issuer = parseName(el(buf, issuerH));
  if (issuer.rdns.length === 0) fail('CRL_MALFORMED', 'the CRL issuer name is empty (RFC 5280 §5.1.2.3)');
  if (!isTime(f[i])) fail('CRL_MALFORMED', 'missing thisUpdate');
  const thisUpdate = readCrlTime(buf, f[i++]!);
  let nextUpdate: Date | undefined;
  if (isTime(f[i])) nextUpdate = readCrlTime(buf, f[i++]!);

  const crl: Omit<Crl, 'lookup'> = {
    der: buf.subarray(root.start, root.end),
    tbs: buf.subarray(tbsH.start, tbsH.end),
    version,
    signatureAlgorithm,
    signature,
    issuer,
    thisUpdate,
    entryCount: 0,
  };
  if (nextUpdate) crl.nextUpdate = nextUpdate;
  const entries = new Map<string, CrlEntry>();
  const issuerKey = nameKey(issuer);
  let critical: string | undefined;

  let listH: Header | undefined;
  if (f[i]?.tag === 0x30) listH = f[i++];
  if (f[i]?.tag === 0xa0) {
    if (version !== 2) fail('CRL_MALFORMED', 'a v1 CRL carries extensions');
    const exts = el(buf, f[i++]!);
    if (exts.children.length !== 1) fail('CRL_MALFORMED', 'malformed crlExtensions');
    for (const ext of parseExtensions(exts.child(0))) {
      if (ext.critical && !KNOWN_CRL_EXTENSIONS.has(ext.oid)) critical ??= ext.oid;
      switch (ext.oid) {
        case OID.cRLNumber:
          crl.crlNumber = nonNegative(ext.value, 'cRLNumber');
          break;
        case OID.deltaCRLIndicator:
          crl.deltaBase = nonNegative(ext.value, 'BaseCRLNumber');
          break;
        case OID.issuingDistributionPoint:
          crl.issuingDistributionPoint = parseIdp(ext.value);
          break;
        case OID.authorityKeyIdentifier: {
          if (!ext.value.is(0x30)) fail('CRL_MALFORMED', 'malformed authorityKeyIdentifier');
          const keyId = ext.value.children.find((c) => c.isContext(0) && !c.constructed);
          if (keyId) crl.authorityKeyId = keyId.value;
          break;
        }
      }
    }
  }
  if (i !== f.length) fail('CRL_MALFORMED', 'unexpected field in TBSCertList');

  if (listH) {
    // The issuer of the entries, which certificateIssuer changes for this and later entries (§5.3.3).
    let entryIssuer: string | undefined;
    for (const eh of children(buf, listH)) {
      const entry = el(buf, eh);
      if (!entry.is(0x30) || entry.children.length < 2 || entry.children.length > 3) {
        fail('CRL_MALFORMED', 'malformed CRL entry');
      }
      const serialEl = entry.child(0);
      if (!serialEl.is(0x02)) fail('CRL_MALFORMED', 'a CRL entry serial number must be an INTEGER');
      const serial = serialEl.value;
      const e: CrlEntry = { revocationDate: readTime(entry.child(1)) };
      if (entry.children.length === 3) {
        if (version !== 2) fail('CRL_MALFORMED', 'a v1 CRL carries entry extensions');
        for (const ext of parseExtensions(entry.child(2))) {
          if (ext.critical && !KNOWN_ENTRY_EXTENSIONS.has(ext.oid)) critical ??= ext.oid;
          if (ext.oid === OID.reasonCode) {
            const code = readEnumerated(ext.value);
            const reason = reasonFromCode(code);
            if (reason === undefined) fail('CRL_MALFORMED', `unknown CRL reason code ${code}`);
            e.reason = reason;
          } else if (ext.oid === OID.invalidityDate) {
            if (!ext.value.is(0x18)) fail('CRL_MALFORMED', 'invalidityDate must be GeneralizedTime');
            e.invalidityDate = readTime(ext.value);
          } else if (ext.oid === OID.certificateIssuer) {
            const [dir] = directoryNames(parseGeneralNames(ext.value));
            if (!dir) fail('CRL_MALFORMED', 'certificateIssuer without a directory name');
            entryIssuer = namesEqual(dir, issuer) ? undefined : nameKey(dir);
          }
        }
      }
      entries.set(entryIssuer === undefined ? hex(serial) : `${hex(serial)}@${entryIssuer}`, e);
    }
  }
  crl.entryCount = entries.size;
  if (critical !== undefined) crl.unsupportedCritical = critical;
  return {
    ...crl,
    lookup(certificateIssuer: Name, serial: Uint8Array): CrlEntry | undefined {
      const key = nameKey(certificateIssuer);
      return entries.get(key === issuerKey ? hex(serial) : `${hex(serial)}@${key}`);
    },
  };
}

/**
 * Verifies the CRL's signature with a public key. False for a wrong signature; throws
 * UNSUPPORTED_ALGORITHM for SHA-1/MD5 unless `allowLegacy` (the policy of x509/signature.ts).
 */
export function verifyCrlSignature(crl: Crl, publicKey: KeyObject, allowLegacy = false): boolean {
  return verifySignature(crl.signatureAlgorithm, publicKey, crl.tbs, crl.signature, { allowLegacy });
}

/** Whether `time` lies in [thisUpdate, nextUpdate]; a CRL without nextUpdate has no end. */
export function crlCurrentAt(crl: Crl, time: Date): boolean {
  const t = time.getTime();
  return crl.thisUpdate.getTime() <= t && (crl.nextUpdate === undefined || t <= crl.nextUpdate.getTime());
}
