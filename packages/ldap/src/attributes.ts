/**
 * Attribute descriptions (RFC 4512 §2.5: `type *( ";" option )`) and the attribute selection of a
 * search (RFC 4511 §4.5.1.8). Types compare case-insensitively and by their short name, long name or
 * OID alike; a request for a type also returns its subtypes with options (`userCertificate` returns
 * the stored `userCertificate;binary`), and `;binary` (RFC 4522) is a transfer option, not a subtype.
 */
import type { PartialAttribute, SearchResultEntry } from '@sealpost/core/ldap';

/** The names a mail client may use for the attributes a key directory holds; the first one is canonical. */
const ALIASES: readonly (readonly string[])[] = [
  ['objectClass', '2.5.4.0'],
  ['cn', 'commonName', '2.5.4.3'],
  ['sn', 'surname', '2.5.4.4'],
  ['serialNumber', '2.5.4.5'],
  ['c', 'countryName', '2.5.4.6'],
  ['l', 'localityName', '2.5.4.7'],
  ['o', 'organizationName', '2.5.4.10'],
  ['ou', 'organizationalUnitName', '2.5.4.11'],
  ['title', '2.5.4.12'],
  ['userCertificate', '2.5.4.36'],
  ['cACertificate', '2.5.4.37'],
  ['givenName', 'gn', '2.5.4.42'],
  ['mail', 'rfc822Mailbox', '0.9.2342.19200300.100.1.3'],
  ['emailAddress', 'email', 'pkcs9email', '1.2.840.113549.1.9.1'],
  ['uid', 'userid', '0.9.2342.19200300.100.1.1'],
  ['displayName', '2.16.840.1.113730.3.1.241'],
  ['userSMIMECertificate', '2.16.840.1.113730.3.1.40'],
];

const CANONICAL = new Map<string, string>(
  ALIASES.flatMap((names) => names.map((n): [string, string] => [n.toLowerCase(), (names[0] as string).toLowerCase()])),
);

/**
 * Attributes that RFC 4511 §4.5.1.8 calls operational: returned only when named or asked for with
 * "+". The root DSE's attributes (RFC 4512 §5.1) are among them.
 */
const OPERATIONAL = new Set(
  [
    'createTimestamp',
    'modifyTimestamp',
    'creatorsName',
    'modifiersName',
    'entryDN',
    'entryUUID',
    'hasSubordinates',
    'subschemaSubentry',
    'structuralObjectClass',
    'namingContexts',
    'supportedControl',
    'supportedExtension',
    'supportedFeatures',
    'supportedLDAPVersion',
    'supportedSASLMechanisms',
    'vendorName',
    'vendorVersion',
  ].map((n) => n.toLowerCase()),
);

const BINARY = 'binary';

export interface AttributeDescription {
  /** Canonical lower-case type: aliases and OIDs resolved. */
  readonly type: string;
  /** Lower-case options, `binary` included when present. */
  readonly options: readonly string[];
}

export function parseDescription(description: string): AttributeDescription {
  const [name = '', ...options] = description.toLowerCase().split(';');
  return { type: CANONICAL.get(name) ?? name, options };
}

/**
 * Whether the stored attribute `stored` is what `wanted` names: the same type, and every tagging
 * option of `wanted` present on `stored` (RFC 4512 §2.5.2: a description with fewer options names
 * its subtypes too).
 */
export function describes(wanted: AttributeDescription, stored: AttributeDescription): boolean {
  if (wanted.type !== stored.type) return false;
  return wanted.options.every((o) => o === BINARY || stored.options.includes(o));
}

export function isOperational(description: AttributeDescription): boolean {
  return OPERATIONAL.has(description.type);
}

/**
 * The attributes of `entry` that the request's attribute selection asks for (RFC 4511 §4.5.1.8):
 * none listed or "*" → every user attribute; "+" → every operational attribute; "1.1" alone → no
 * attribute; names → those types and their subtypes. With `typesOnly`, values are left out.
 */
export function selectAttributes(
  entry: SearchResultEntry,
  requested: readonly string[],
  typesOnly: boolean,
): SearchResultEntry {
  const lowered = requested.map((r) => r.trim().toLowerCase());
  const allUser = lowered.length === 0 || lowered.includes('*');
  const allOperational = lowered.includes('+');
  const named = lowered.filter((r) => r !== '*' && r !== '+' && r !== '1.1').map(parseDescription);
  const attributes: PartialAttribute[] = [];
  for (const attribute of entry.attributes) {
    const stored = parseDescription(attribute.type);
    const byName = named.find((w) => describes(w, stored));
    const wanted = byName !== undefined || (isOperational(stored) ? allOperational : allUser);
    if (!wanted) continue;
    // RFC 4522 §2: a value asked for with ";binary" comes back labelled so.
    const type =
      byName?.options.includes(BINARY) === true && !stored.options.includes(BINARY)
        ? `${attribute.type};${BINARY}`
        : attribute.type;
    attributes.push({ type, values: typesOnly ? [] : attribute.values });
  }
  return { type: 'searchResultEntry', objectName: entry.objectName, attributes };
}
