import {
  type Dn,
  formatDn,
  type PartialAttribute,
  prepareCaseIgnore,
  type SearchResultEntry,
} from '@sealpost/core/ldap';
import { type EntryView, ia5Key, resolveAttribute } from './matching.ts';

/**
 * The directory's entries: one inetOrgPerson per active user, named `mail=<address>,<baseDn>`, and
 * the container `<baseDn>` above them. What an entry holds follows from the user's record and
 * profile (the defaults for sn and uid are here, once, for the entries and the search keys alike).
 */

/** The fields of a user the directory publishes. */
export interface ProfileFields {
  readonly email: string;
  readonly displayName: string;
  readonly givenName?: string | null;
  readonly surname?: string | null;
  readonly uid?: string | null;
}

/** The published text attributes of a user. */
export interface PersonValues {
  readonly mail: string;
  readonly cn: string;
  /** The surname, else the last word of the display name: `person` requires an sn. */
  readonly sn: string;
  readonly givenName: string | null;
  /** The profile's uid, else the mailbox's local part. */
  readonly uid: string;
}

export function personValues(p: ProfileFields): PersonValues {
  return {
    mail: p.email,
    cn: p.displayName,
    sn: p.surname || p.displayName.trim().split(/\s+/).at(-1) || p.displayName,
    givenName: p.givenName || null,
    uid: p.uid || p.email.slice(0, p.email.lastIndexOf('@')),
  };
}

/** The user_profiles key columns: the values as the matching rules prepare them (matching.ts). */
export interface SearchKeys {
  readonly mail_key: string;
  readonly cn_key: string;
  readonly sn_key: string;
  readonly given_name_key: string | null;
  readonly uid_key: string;
}

export function searchKeys(p: ProfileFields): SearchKeys {
  const v = personValues(p);
  return {
    // Addresses are ASCII (identity/email.ts), so the IA5 preparation always applies.
    mail_key: ia5Key(v.mail) ?? v.mail.toLowerCase(),
    cn_key: prepareCaseIgnore(v.cn),
    sn_key: prepareCaseIgnore(v.sn),
    given_name_key: v.givenName === null ? null : prepareCaseIgnore(v.givenName),
    uid_key: prepareCaseIgnore(v.uid),
  };
}

const PERSON_CLASSES = ['top', 'person', 'organizationalPerson', 'inetOrgPerson'];

/** A user as read for the directory: the record, the profile and its stored keys. */
export interface PersonRecord extends SearchKeys {
  readonly userId: string;
  readonly email: string;
  readonly displayName: string;
  readonly givenName: string | null;
  readonly surname: string | null;
  readonly uid: string | null;
}

export function personView(p: PersonRecord, hasCertificate: boolean): EntryView {
  const values = new Map<string, readonly string[]>([
    ['objectclass', PERSON_CLASSES.map((c) => c.toLowerCase())],
    ['mail', [p.mail_key]],
    ['cn', [p.cn_key]],
    ['displayname', [p.cn_key]],
    ['sn', [p.sn_key]],
    ['givenname', p.given_name_key === null ? [] : [p.given_name_key]],
    ['uid', [p.uid_key]],
  ]);
  return { values, hasCertificate };
}

/** The requested attributes (RFC 4511 §4.5.1.8): all, none ("1.1"), or these type keys. */
export interface AttributeSelection {
  readonly all: boolean;
  readonly keys: ReadonlySet<string>;
}

export function selectAttributes(requested: readonly string[]): AttributeSelection {
  const keys = new Set<string>();
  let all = requested.length === 0;
  for (const name of requested) {
    if (name === '*') all = true;
    const a = resolveAttribute(name);
    // A tagged description ("cn;lang-de") selects values with that tag: there are none.
    if (a !== undefined && !a.tagged) keys.add(a.type.key);
  }
  return { all, keys };
}

export function wants(selection: AttributeSelection, key: string): boolean {
  return selection.all || selection.keys.has(key);
}

/** What a person entry publishes besides its text attributes. */
export interface PersonCertificates {
  /** DER, each currently valid certificate of the user. */
  readonly certificates: readonly Uint8Array[];
  /** The certs-only SignedData of the certificates and their chains; absent when not requested. */
  readonly smime?: Uint8Array;
}

const encoder = new TextEncoder();

export function personEntry(
  dn: string,
  p: PersonRecord,
  certs: PersonCertificates,
  selection: AttributeSelection,
  typesOnly: boolean,
): SearchResultEntry {
  const v = personValues(p);
  const text: [string, string, readonly string[]][] = [
    ['objectclass', 'objectClass', PERSON_CLASSES],
    ['mail', 'mail', [v.mail]],
    ['cn', 'cn', [v.cn]],
    ['sn', 'sn', [v.sn]],
    ['givenname', 'givenName', v.givenName === null ? [] : [v.givenName]],
    ['displayname', 'displayName', [v.cn]],
    ['uid', 'uid', [v.uid]],
  ];
  const attributes: PartialAttribute[] = [];
  const add = (key: string, type: string, values: readonly Uint8Array[]) => {
    if (values.length > 0 && wants(selection, key)) attributes.push({ type, values: typesOnly ? [] : values });
  };
  for (const [key, type, values] of text) {
    add(
      key,
      type,
      values.map((s) => encoder.encode(s)),
    );
  }
  add('usercertificate', 'userCertificate;binary', certs.certificates);
  add('usersmimecertificate', 'userSMIMECertificate;binary', certs.smime === undefined ? [] : [certs.smime]);
  return { type: 'searchResultEntry', objectName: dn, attributes };
}

/** `mail=<address>,<baseDn>`, the address escaped as RFC 4514 §2.4 requires. */
export function personDn(email: string, base: Dn): string {
  return formatDn([[{ type: 'mail', value: email }], ...base]);
}

/** Structural object classes for the container, by the type of its first RDN. */
const CONTAINER_CLASSES: Readonly<Record<string, string>> = {
  ou: 'organizationalUnit',
  o: 'organization',
  dc: 'domain',
  c: 'country',
  l: 'locality',
};

/** The container entry `<baseDn>`: its object classes and the values of its RDN. */
export interface Container {
  readonly entry: (selection: AttributeSelection, typesOnly: boolean) => SearchResultEntry;
  readonly view: EntryView;
}

export function container(baseDn: string, base: Dn): Container {
  // The values of the first RDN, by type ("ou=a+ou=b" is one attribute with two values).
  const objectClass = { type: 'objectClass', values: ['top'] };
  const published = new Map<string, { type: string; values: string[] }>([['objectclass', objectClass]]);
  const values = new Map<string, string[]>();
  let structural: string | undefined;
  for (const pair of base[0] ?? []) {
    const type = resolveAttribute(pair.type)?.type;
    const key = type?.key ?? pair.type.toLowerCase();
    const attribute = published.get(key) ?? { type: type?.name ?? pair.type, values: [] };
    attribute.values.push(pair.value);
    published.set(key, attribute);
    if (type === undefined) continue;
    structural ??= CONTAINER_CLASSES[type.key];
    const prepared = type.syntax === 'ia5' ? ia5Key(pair.value) : prepareCaseIgnore(pair.value);
    if (prepared !== undefined) values.set(key, [...(values.get(key) ?? []), prepared]);
  }
  objectClass.values.push(structural ?? 'extensibleObject');
  values.set(
    'objectclass',
    objectClass.values.map((c) => c.toLowerCase()),
  );
  return {
    view: { values, hasCertificate: false },
    entry: (selection, typesOnly) => {
      const attributes: PartialAttribute[] = [];
      for (const [key, { type, values: list }] of published) {
        if (wants(selection, key))
          attributes.push({ type, values: typesOnly ? [] : list.map((s) => encoder.encode(s)) });
      }
      return { type: 'searchResultEntry', objectName: baseDn, attributes };
    },
  };
}
