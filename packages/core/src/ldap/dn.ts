/**
 * Distinguished names in the RFC 4514 string form: parse, format, and a canonical form for
 * comparisons. Parsing is lenient where deployed software is (spaces around separators, as in
 * "cn=Alice, ou=People") and strict on the characters RFC 4514 §3 requires to be escaped.
 */
import { decode, readString } from '../asn1/der.ts';
import { OID } from '../asn1/oids.ts';
import { malformed } from './ber.ts';
import { prepareCaseIgnore } from './prepare.ts';

/** One RDN: one or more attribute type and value pairs ("cn=Alice+uid=alice" has two). */
export type Rdn = readonly { readonly type: string; readonly value: string }[];
/** RDNs in string order: the entry's own RDN first. */
export type Dn = readonly Rdn[];

const TYPE = /(?:[A-Za-z][A-Za-z0-9-]*|(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))+)/y;
const HEXSTRING = /#((?:[0-9A-Fa-f]{2})+)/y;
const HEX2 = /^[0-9A-Fa-f]{2}$/;
/** RFC 4514 §2.4 `special`: the characters that may follow a backslash. */
const SPECIAL = '"+,;<>\\ #=';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses an RFC 4514 DN. A `#hex` value (the BER encoding of the value, §2.4) becomes its text when
 * it encodes a string type; any other type keeps the `#hex` text as its value, as x509/name.ts does.
 */
export function parseDn(text: string): Dn {
  let pos = 0;
  const err = (message: string, at = pos): never =>
    malformed(`DN: ${message} at offset ${at} (near "${text.slice(Math.max(0, at - 10), at + 10)}")`);
  const skipSpaces = () => {
    while (text[pos] === ' ') pos++;
  };

  const value = (): string => {
    HEXSTRING.lastIndex = pos;
    const hex = HEXSTRING.exec(text);
    if (hex !== null) {
      pos += hex[0].length;
      skipSpaces();
      return hexValue(hex[1]!.toLowerCase());
    }
    if (text[pos] === '#') err("a value starting with '#' is hex pairs (write \\# for a literal '#')");
    const bytes: number[] = [];
    let significant = 0; // bytes.length after the last character that is not an unescaped space
    for (;;) {
      const ch = text.codePointAt(pos);
      if (ch === undefined || ch === 0x2c /* , */ || ch === 0x2b /* + */) break;
      if (ch === 0x5c /* \ */) {
        const pair = text.slice(pos + 1, pos + 3);
        if (HEX2.test(pair)) {
          bytes.push(Number.parseInt(pair, 16));
          pos += 3;
        } else if (pos + 1 < text.length && SPECIAL.includes(text[pos + 1]!)) {
          bytes.push(text.charCodeAt(pos + 1));
          pos += 2;
        } else {
          err('bad escape: expected two hex digits or a special character after \\');
        }
        significant = bytes.length;
        continue;
      }
      if (ch === 0 || ch === 0x22 || ch === 0x3b || ch === 0x3c || ch === 0x3e) {
        err(`unescaped '${String.fromCodePoint(ch)}' in a value`);
      }
      const s = String.fromCodePoint(ch);
      if (ch < 0x80) bytes.push(ch);
      else for (const b of Buffer.from(s, 'utf8')) bytes.push(b);
      pos += s.length;
      if (ch !== 0x20) significant = bytes.length;
    }
    try {
      return utf8.decode(Uint8Array.from(bytes.slice(0, significant)));
    } catch {
      return err('value is not valid UTF-8');
    }
  };

  const dn: Rdn[] = [];
  skipSpaces();
  if (pos === text.length) return dn;
  for (;;) {
    const rdn: { type: string; value: string }[] = [];
    for (;;) {
      skipSpaces();
      TYPE.lastIndex = pos;
      const type = TYPE.exec(text)?.[0];
      if (type === undefined) err('expected an attribute type');
      pos += type!.length;
      skipSpaces();
      if (text[pos] !== '=') err("expected '='");
      pos++;
      skipSpaces();
      rdn.push({ type: type!, value: value() });
      if (text[pos] !== '+') break;
      pos++;
    }
    dn.push(rdn);
    if (pos === text.length) return dn;
    if (text[pos] !== ',') err("expected ',' or '+'");
    pos++;
  }
}

/** The value a `#hex` attribute value stands for (RFC 4514 §2.4, §3). */
function hexValue(hex: string): string {
  try {
    const el = decode(Buffer.from(hex, 'hex'), { mode: 'ber', maxDepth: 4 });
    if (el.is(0x04)) return utf8.decode(el.value);
    return readString(el);
  } catch {
    return `#${hex}`;
  }
}

/** RFC 4514 §2.4 escaping of one value. */
function escapeValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '\0') out += '\\00';
    else if ('"+,;<>\\'.includes(c) || ((c === ' ' || c === '#') && i === 0) || (c === ' ' && i === v.length - 1)) {
      out += `\\${c}`;
    } else out += c;
  }
  return out;
}

/** The RFC 4514 string of a DN; `parseDn(formatDn(dn))` gives `dn` back. */
export function formatDn(dn: Dn): string {
  return dn.map((rdn) => rdn.map((a) => `${a.type}=${escapeValue(a.value)}`).join('+')).join(',');
}

/** Short names (RFC 4519, RFC 2798) by every name and OID they go by, all lowercase. */
const CANONICAL_TYPE = new Map<string, string>();
for (const [name, aliases] of Object.entries({
  cn: ['commonname', OID.commonName],
  sn: ['surname', OID.surname],
  serialnumber: [OID.serialNumber],
  c: ['countryname', OID.countryName],
  l: ['localityname', OID.localityName],
  st: ['stateorprovincename', OID.stateOrProvinceName],
  street: ['streetaddress', '2.5.4.9'],
  o: ['organizationname', OID.organizationName],
  ou: ['organizationalunitname', OID.organizationalUnitName],
  title: ['2.5.4.12'],
  givenname: ['gn', OID.givenName],
  dc: ['domaincomponent', OID.domainComponent],
  uid: ['userid', OID.userId],
  email: ['emailaddress', 'pkcs9email', OID.emailAddress],
})) {
  CANONICAL_TYPE.set(name, name);
  for (const a of aliases) CANONICAL_TYPE.set(a, name);
}

/**
 * The canonical form of a DN for equality: types lowercased and known OIDs named, values as
 * caseIgnoreMatch prepares them (prepareCaseIgnore), the pairs of a multi-valued RDN in sorted order.
 * Two DNs name the same entry when their normal forms are equal strings.
 */
export function normalizeDn(text: string): string {
  const dn = parseDn(text).map((rdn) =>
    rdn
      .map((a) => {
        const type = a.type.toLowerCase();
        return {
          type: CANONICAL_TYPE.get(type) ?? type,
          value: prepareCaseIgnore(a.value),
        };
      })
      .sort((x, y) =>
        x.type < y.type ? -1 : x.type > y.type ? 1 : x.value < y.value ? -1 : x.value > y.value ? 1 : 0,
      ),
  );
  return formatDn(dn);
}
