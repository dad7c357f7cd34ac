/** X.501 Name (RFC 5280 §4.1.2.4): parsed into attributes, kept with its exact encoding. */
import { type Asn1, readOid, readString } from '../asn1/der.ts';
import { OID } from '../asn1/oids.ts';
import { fail } from '../errors.ts';

export interface NameAttribute {
  type: string;
  value: string;
}

export interface Name {
  /** RDNs in encoding order, each a set of attributes. */
  rdns: NameAttribute[][];
  /** The exact DER encoding. */
  der: Uint8Array;
}

const SHORT: Record<string, string> = {
  [OID.commonName]: 'CN',
  [OID.surname]: 'SN',
  [OID.givenName]: 'GN',
  [OID.serialNumber]: 'serialNumber',
  [OID.countryName]: 'C',
  [OID.localityName]: 'L',
  [OID.stateOrProvinceName]: 'ST',
  [OID.organizationName]: 'O',
  [OID.organizationalUnitName]: 'OU',
  [OID.domainComponent]: 'DC',
  [OID.userId]: 'UID',
  [OID.emailAddress]: 'emailAddress',
  [OID.pseudonym]: 'pseudonym',
};

export function parseName(el: Asn1): Name {
  if (!el.is(0x30)) fail('CERT_MALFORMED', 'a Name must be a SEQUENCE');
  const rdns = el.children.map((rdn) => {
    if (!rdn.is(0x31) || rdn.children.length === 0) fail('CERT_MALFORMED', 'malformed RelativeDistinguishedName');
    return rdn.children.map((atv) => {
      if (!atv.is(0x30) || atv.children.length !== 2) fail('CERT_MALFORMED', 'malformed AttributeTypeAndValue');
      const type = readOid(atv.child(0));
      const v = atv.child(1);
      let value: string;
      try {
        value = readString(v);
      } catch {
        value = `#${Buffer.from(v.raw).toString('hex')}`;
      }
      return { type, value };
    });
  });
  return { rdns, der: el.raw };
}

/** RFC 4514 string, most significant RDN last as OpenSSL's `-nameopt RFC2253` prints it. */
export function nameToString(name: Name): string {
  const esc = (s: string) =>
    s
      .replace(/([,+"\\<>;])/g, '\\$1')
      .replace(/^([ #])/, '\\$1')
      .replace(/ $/, '\\ ');
  return [...name.rdns]
    .reverse()
    .map((rdn) => rdn.map((a) => `${SHORT[a.type] ?? a.type}=${esc(a.value)}`).join('+'))
    .join(', ');
}

export function nameAttribute(name: Name, type: string): string[] {
  return name.rdns
    .flat()
    .filter((a) => a.type === type)
    .map((a) => a.value);
}

/** Name matching (RFC 5280 §7.1): exact DER, else case-insensitive with internal whitespace folded. */
export function namesEqual(a: Name, b: Name): boolean {
  if (Buffer.compare(a.der, b.der) === 0) return true;
  if (a.rdns.length !== b.rdns.length) return false;
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return a.rdns.every((rdn, i) => {
    const other = b.rdns[i]!;
    if (rdn.length !== other.length) return false;
    const key = (x: NameAttribute) => `${x.type}=${norm(x.value)}`;
    const s1 = rdn.map(key).sort();
    const s2 = other.map(key).sort();
    return s1.every((v, j) => v === s2[j]);
  });
}
