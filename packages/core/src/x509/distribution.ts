/**
 * Where revocation information lives (RFC 5280 §4.2.1.13, §4.2.2.1) and the DistributionPointName
 * and ReasonFlags structures that the CRL's issuingDistributionPoint (§5.2.5) reuses. GeneralNames
 * are those of general-name.ts.
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
import { type Asn1, decode, readOid } from '../asn1/der.ts';
import { retag, seq } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail, SealpostError } from '../errors.ts';
import type { Certificate } from './certificate.ts';
import { type GeneralName, parseGeneralName, parseGeneralNames } from './general-name.ts';
import { type Name, namesEqual, parseName } from './name.ts';

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

/** Every ReasonFlags bit that names a reason: keyCompromise(1) .. aACompromise(8); bit 0 is unused. */
export const ALL_REASONS = 0x1fe;

function malformed(what: string): never {
  fail('CERT_MALFORMED', `malformed ${what}`);
}

/** DistributionPointName, given the explicit [0] wrapper's single child. */
export function parseDistributionPointName(el: Asn1): DistributionPointName {
  if (el.isContext(0) && el.constructed) return { fullName: parseGeneralNames(el, 0) };
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
      dp.crlIssuer = parseGeneralNames(f, 2);
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
    if (location.type !== 'uniformResourceIdentifier') continue;
    if (method === OID.ocsp) out.ocsp.push(location.value);
    else if (method === OID.caIssuers) out.caIssuers.push(location.value);
  }
  return out;
}

/** The HTTP(S) URIs among a distribution point's full names, for fetching. */
export function distributionPointUrls(points: DistributionPoint[]): string[] {
  const urls: string[] = [];
  for (const dp of points) {
    for (const gn of dp.name?.fullName ?? []) {
      if (gn.type === 'uniformResourceIdentifier' && /^https?:\/\//i.test(gn.value)) urls.push(gn.value);
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
  return [{ type: 'directoryName', name: parseName(decode(seq(...rdns, name.relativeName!))) }];
}

/**
 * GeneralName equality for distribution point matching: directory names as in §7.1, mailboxes and
 * DNS names ignoring case, URIs and the rest exactly.
 */
function generalNamesMatch(a: GeneralName, b: GeneralName): boolean {
  if (a.type === 'directoryName' || b.type === 'directoryName') {
    return a.type === 'directoryName' && b.type === 'directoryName' && namesEqual(a.name, b.name);
  }
  return a.type === b.type && matchKey(a) === matchKey(b);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function matchKey(g: Exclude<GeneralName, { type: 'directoryName' }>): string {
  switch (g.type) {
    case 'rfc822Name':
    case 'dNSName':
      return g.value.toLowerCase();
    case 'uniformResourceIdentifier':
      return g.value;
    case 'iPAddress':
      return hex(g.bytes);
    case 'otherName':
      return `${g.typeId}:${hex(g.value.raw)}`;
    default:
      return hex(g.raw);
  }
}

/** True when some name of `a` equals some name of `b`. */
export function anyNameMatches(a: GeneralName[], b: GeneralName[]): boolean {
  return a.some((x) => b.some((y) => generalNamesMatch(x, y)));
}
