/**
 * GeneralName (RFC 5280 §4.2.1.6), as used by subjectAltName, nameConstraints, distribution points,
 * authorityInfoAccess and CRLs.
 *
 *   GeneralName ::= CHOICE {
 *     otherName                 [0] OtherName,
 *     rfc822Name                [1] IA5String,
 *     dNSName                   [2] IA5String,
 *     x400Address               [3] ORAddress,
 *     directoryName             [4] Name,
 *     ediPartyName              [5] EDIPartyName,
 *     uniformResourceIdentifier [6] IA5String,
 *     iPAddress                 [7] OCTET STRING,
 *     registeredID              [8] OBJECT IDENTIFIER }
 *   OtherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY DEFINED BY type-id }
 */
import { type Asn1, oidFromContent, readOid } from '../asn1/der.ts';
import { fail } from '../errors.ts';
import { type Name, nameToString, parseName } from './name.ts';

export type GeneralName =
  | { type: 'rfc822Name' | 'dNSName' | 'uniformResourceIdentifier'; value: string }
  | { type: 'iPAddress'; bytes: Uint8Array }
  | { type: 'directoryName'; name: Name }
  | { type: 'otherName'; typeId: string; value: Asn1 }
  | { type: 'x400Address' | 'ediPartyName' | 'registeredID'; raw: Uint8Array };

const IA5_TYPES = { 1: 'rfc822Name', 2: 'dNSName', 6: 'uniformResourceIdentifier' } as const;

function ia5Text(el: Asn1): string {
  const v = el.value;
  for (const b of v) if (b > 0x7f) fail('CERT_MALFORMED', 'a GeneralName IA5String holds a non-ASCII byte');
  return Buffer.from(v).toString('latin1');
}

export function parseGeneralName(el: Asn1): GeneralName {
  if (el.cls !== 2) fail('CERT_MALFORMED', 'a GeneralName must be context-tagged');
  const n = el.tagNumber;
  if ((n === 1 || n === 2 || n === 6) && !el.constructed) return { type: IA5_TYPES[n], value: ia5Text(el) };
  if (n === 7 && !el.constructed) return { type: 'iPAddress', bytes: el.value };
  // Name is a CHOICE, so [4] is EXPLICIT (RFC 5280 Appendix A.2 uses IMPLICIT tags except for CHOICE types).
  if (n === 4 && el.constructed && el.children.length === 1)
    return { type: 'directoryName', name: parseName(el.child(0)) };
  if (n === 0 && el.constructed) {
    const value = el.child(1);
    if (!value.isContext(0) || !value.constructed || value.children.length !== 1) {
      fail('CERT_MALFORMED', 'malformed otherName');
    }
    return { type: 'otherName', typeId: readOid(el.child(0)), value: value.child(0) };
  }
  if (n === 3 && el.constructed) return { type: 'x400Address', raw: el.raw };
  if (n === 5 && el.constructed) return { type: 'ediPartyName', raw: el.raw };
  if (n === 8 && !el.constructed) {
    oidFromContent(el.value);
    return { type: 'registeredID', raw: el.raw };
  }
  fail('CERT_MALFORMED', `malformed GeneralName [${n}]`);
}

/**
 * GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName. `implicitTag` is the context tag number
 * of an IMPLICIT-tagged one (DistributionPoint's fullName [0] and cRLIssuer [2], §4.2.1.13).
 */
export function parseGeneralNames(el: Asn1, implicitTag?: number): GeneralName[] {
  const tagged = implicitTag === undefined ? el.is(0x30) : el.isContext(implicitTag) && el.constructed;
  if (!tagged || el.children.length === 0) fail('CERT_MALFORMED', 'GeneralNames must be a non-empty SEQUENCE');
  return el.children.map(parseGeneralName);
}

/** The directoryName entries of a list of GeneralNames. */
export function directoryNames(names: readonly GeneralName[]): Name[] {
  return names.flatMap((gn) => (gn.type === 'directoryName' ? [gn.name] : []));
}

/** IPv4 dotted or IPv6 colon-hex text for an iPAddress value (with a mask for name constraints). */
export function ipToString(bytes: Uint8Array): string {
  const part = (b: Uint8Array) =>
    b.length === 4
      ? [...b].join('.')
      : Array.from({ length: b.length / 2 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
  if (bytes.length === 4 || bytes.length === 16) return part(bytes);
  if (bytes.length === 8 || bytes.length === 32) {
    const half = bytes.length / 2;
    return `${part(bytes.subarray(0, half))}/${part(bytes.subarray(half))}`;
  }
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

/** A GeneralName as a person would read it. */
export function generalNameToString(gn: GeneralName): string {
  switch (gn.type) {
    case 'rfc822Name':
    case 'dNSName':
    case 'uniformResourceIdentifier':
      return `${gn.type} "${gn.value}"`;
    case 'iPAddress':
      return `iPAddress ${ipToString(gn.bytes)}`;
    case 'directoryName':
      return `directoryName "${nameToString(gn.name)}"`;
    case 'otherName':
      return `otherName ${gn.typeId}`;
    default:
      return gn.type;
  }
}
