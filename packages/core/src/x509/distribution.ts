/**
 * Where revocation information lives (RFC 5280 §4.2.1.13, §4.2.2.1) and the GeneralNames and
 * DistributionPointName structures that the CRL's issuingDistributionPoint (§5.2.5) reuses.
 *
 *   DistributionPoint ::= SEQUENCE {
 *     distributionPoint  [0] DistributionPointName OPTIONAL,
 *     reasons            [1] ReasonFlags OPTIONAL,
 *     cRLIssuer          [2] GeneralNames OPTIONAL }
 *   DistributionPointName ::= CHOICE {
 *     fullName                 [0] GeneralNames,
 *     nameRelativeToCRLIssuer  [1] RelativeDistinguishedName }
 *   AccessDescription ::= SEQUENCE { accessMethod OBJECT IDENTIFIER, accessLocation GeneralName }
 *
 * The module uses IMPLICIT tags, except that a tag on a CHOICE (DistributionPointName, Name) is
 * always explicit (X.680 §31.2.7).
 */
import { type Asn1, decode, oidFromContent, readOid } from '../asn1/der.ts';
import { retag, seq } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail, SealpostError } from '../errors.ts';
import type { Certificate } from './certificate.ts';
import { type Name, namesEqual, parseName } from './name.ts';

export type GeneralName =
  | { kind: 'directory'; name: Name }
  | { kind: 'uri' | 'email' | 'dns'; value: string }
  | { kind: 'ip'; value: Uint8Array }
  | { kind: 'registeredId'; value: string }
  | { kind: 'other'; tag: number; der: Uint8Array };

/** A DistributionPointName: either full names, or one RDN to append to the CRL issuer's name. */
export interface DistributionPointName {
  fullName?: GeneralName[];
  /** The RelativeDistinguishedName, as encoded (a SET). */
  relativeName?: Uint8Array;
}

export interface DistributionPoint {
  name?: DistributionPointName;
  /** ReasonFlags as a bit mask (bit n = 1 << n); undefined means all reasons. */
  reasons?: number;
  crlIssuer?: GeneralName[];
}

/** id-ad-ocsp and id-ad-caIssuers (RFC 5280 §4.2.2.1). */
const ID_AD_OCSP = '1.3.6.1.5.5.7.48.1';
const ID_AD_CA_ISSUERS = '1.3.6.1.5.5.7.48.2';

/** Every ReasonFlags bit that names a reason: keyCompromise(1) .. aACompromise(8); bit 0 is unused. */
export const ALL_REASONS = 0x1fe;

function malformed(what: string): never {
  fail('CERT_MALFORMED', `malformed ${what}`);
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName, given the element whose children they are. */
export function parseGeneralNames(el: Asn1): GeneralName[] {
  if (el.children.length === 0) malformed('GeneralNames (empty)');
  return el.children.map(parseGeneralName);
}

/**
 *   GeneralName ::= CHOICE { otherName [0], rfc822Name [1] IA5String, dNSName [2] IA5String,
 *     x400Address [3], directoryName [4] Name, ediPartyName [5], uniformResourceIdentifier [6]
 *     IA5String, iPAddress [7] OCTET STRING, registeredID [8] OBJECT IDENTIFIER }
 */
export function parseGeneralName(el: Asn1): GeneralName {
  if (el.cls !== 2) malformed('GeneralName');
  const text = () => {
    if (el.constructed) malformed('GeneralName string');
    return Buffer.from(el.value).toString('latin1');
  };
  switch (el.tagNumber) {
    case 1:
      return { kind: 'email', value: text() };
    case 2:
      return { kind: 'dns', value: text() };
    case 6:
      return { kind: 'uri', value: text() };
    case 4:
      if (!el.constructed || el.children.length !== 1) malformed('directoryName');
      return { kind: 'directory', name: parseName(el.child(0)) };
    case 7:
      if (el.constructed) malformed('iPAddress');
      return { kind: 'ip', value: el.value };
    case 8:
      if (el.constructed) malformed('registeredID');
      return { kind: 'registeredId', value: oidFromContent(el.value) };
    default:
      return { kind: 'other', tag: el.tagNumber, der: el.raw };
  }
}

/** DistributionPointName, given the explicit [0] wrapper's single child. */
export function parseDistributionPointName(el: Asn1): DistributionPointName {
  if (el.isContext(0) && el.constructed) return { fullName: parseGeneralNames(el) };
  if (el.isContext(1) && el.constructed) {
    if (el.children.length === 0) malformed('nameRelativeToCRLIssuer');
    // Parsed as a one-RDN Name to check the attribute encodings; the SET's exact bytes are kept.
    const rdn = retag(el.raw, 0x31);
    parseName(decode(seq(rdn)));
    return { relativeName: rdn };
  }
  malformed('DistributionPointName');
}

/** ReasonFlags ::= BIT STRING, as a mask where bit n (in the ASN.1 numbering) is 1 << n. */
export function parseReasonFlags(el: Asn1): number {
  if (el.constructed) malformed('ReasonFlags');
  const v = el.value;
  if (v.length === 0 || v[0]! > 7) malformed('ReasonFlags');
  let mask = 0;
  for (let bit = 0; bit < (v.length - 1) * 8 && bit < 16; bit++) {
    if (v[1 + (bit >> 3)]! & (0x80 >> (bit & 7))) mask |= 1 << bit;
  }
  return mask;
}

function parseDistributionPoint(el: Asn1): DistributionPoint {
  if (!el.is(0x30)) malformed('DistributionPoint');
  const dp: DistributionPoint = {};
  let last = -1;
  for (const f of el.children) {
    if (f.cls !== 2 || f.tagNumber <= last || f.tagNumber > 2) malformed('DistributionPoint');
    last = f.tagNumber;
    if (f.tagNumber === 0) {
      if (!f.constructed || f.children.length !== 1) malformed('distributionPoint');
      dp.name = parseDistributionPointName(f.child(0));
    } else if (f.tagNumber === 1) {
      dp.reasons = parseReasonFlags(f);
    } else {
      if (!f.constructed) malformed('cRLIssuer');
      dp.crlIssuer = parseGeneralNames(f);
    }
  }
  // §4.2.1.13: a DistributionPoint MUST NOT consist of only the reasons field.
  if (dp.name === undefined && dp.crlIssuer === undefined) malformed('DistributionPoint (no name and no cRLIssuer)');
  return dp;
}

function extensionValue(cert: Certificate, oid: string): Asn1 | undefined {
  const ext = cert.extension(oid);
  if (!ext) return undefined;
  try {
    return decode(ext.value);
  } catch (e) {
    if (e instanceof SealpostError) fail('CERT_MALFORMED', `malformed extension ${oid}: ${e.message}`);
    throw e;
  }
}

/** The certificate's cRLDistributionPoints (empty when absent). Throws CERT_MALFORMED. */
export function crlDistributionPoints(cert: Certificate): DistributionPoint[] {
  const el = extensionValue(cert, OID.crlDistributionPoints);
  if (el === undefined) return [];
  if (!el.is(0x30) || el.children.length === 0) malformed('cRLDistributionPoints');
  return el.children.map(parseDistributionPoint);
}

/** OCSP responder and CA issuer URIs from authorityInfoAccess. Throws CERT_MALFORMED. */
export function authorityInfoAccess(cert: Certificate): { ocsp: string[]; caIssuers: string[] } {
  const out = { ocsp: [] as string[], caIssuers: [] as string[] };
  const el = extensionValue(cert, OID.authorityInfoAccess);
  if (el === undefined) return out;
  if (!el.is(0x30) || el.children.length === 0) malformed('authorityInfoAccess');
  for (const ad of el.children) {
    if (!ad.is(0x30) || ad.children.length !== 2) malformed('AccessDescription');
    const method = readOid(ad.child(0));
    const location = parseGeneralName(ad.child(1));
    if (location.kind !== 'uri') continue;
    if (method === ID_AD_OCSP) out.ocsp.push(location.value);
    else if (method === ID_AD_CA_ISSUERS) out.caIssuers.push(location.value);
  }
  return out;
}

/** The HTTP(S) URIs among a distribution point's full names, for fetching. */
export function distributionPointUrls(points: DistributionPoint[]): string[] {
  const urls: string[] = [];
  for (const dp of points) {
    for (const gn of dp.name?.fullName ?? []) {
      if (gn.kind === 'uri' && /^https?:\/\//i.test(gn.value)) urls.push(gn.value);
    }
  }
  return urls;
}

/**
 * The full names of a DistributionPointName: a nameRelativeToCRLIssuer is appended to the CRL
 * issuer's name (§4.2.1.13).
 */
export function resolveDistributionPointName(name: DistributionPointName, crlIssuer: Name): GeneralName[] {
  if (name.fullName) return name.fullName;
  const rdns = decode(crlIssuer.der).children.map((c) => c.raw);
  return [{ kind: 'directory', name: parseName(decode(seq(...rdns, name.relativeName!))) }];
}

/**
 * GeneralName equality for distribution point matching: directory names as in §7.1, mailboxes and
 * DNS names ignoring case, URIs and the rest exactly.
 */
export function generalNamesMatch(a: GeneralName, b: GeneralName): boolean {
  if (a.kind === 'directory' || b.kind === 'directory') {
    return a.kind === 'directory' && b.kind === 'directory' && namesEqual(a.name, b.name);
  }
  if (a.kind !== b.kind) return false;
  return Buffer.compare(matchKey(a), matchKey(b)) === 0;
}

function matchKey(g: Exclude<GeneralName, { kind: 'directory' }>): Buffer {
  switch (g.kind) {
    case 'email':
    case 'dns':
      return Buffer.from(g.value.toLowerCase());
    case 'uri':
    case 'registeredId':
      return Buffer.from(g.value);
    case 'ip':
      return Buffer.from(g.value);
    case 'other':
      return Buffer.from(g.der);
  }
}

/** True when some name of `a` equals some name of `b`. */
export function anyNameMatches(a: GeneralName[], b: GeneralName[]): boolean {
  return a.some((x) => b.some((y) => generalNamesMatch(x, y)));
}
