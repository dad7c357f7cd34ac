/**
 * An in-memory directory for the key server's tests: a base entry, an organizational unit, and
 * inetOrgPerson entries holding real certificates (the project's test PKI) as `userCertificate;binary`.
 * Paging cursors are offsets into the matching entries.
 */
import { Certificate } from '@sealpost/core';
import {
  formatDn,
  normalizeDn,
  parseDn,
  ResultCode,
  type SearchRequest,
  type SearchResultEntry,
} from '@sealpost/core/ldap';
import { testPki, type UserName } from '../../../core/test/support/pki.ts';
import type { LdapBackend, LdapSearchOptions, LdapSearchPage } from '../../src/backend.ts';
import { matchesFilter } from '../../src/filter-match.ts';

export const BASE_DN = 'dc=example,dc=org';
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
/** The one account that may bind, and its password. */
export const READER_DN = `cn=reader,${BASE_DN}`;
export const READER_PASSWORD = 'correct horse battery staple';

export interface Person {
  readonly uid: string;
  readonly name: string;
  readonly mail: string;
  readonly der: Buffer;
}

const text = (...values: string[]) => values.map((v) => Buffer.from(v));

export function certificateDer(user: UserName): Buffer {
  return Buffer.from(Certificate.from(testPki().user(user).cert).der);
}

/** Alice, Bob and Carol with their test PKI certificates, and `extra` more people sharing Bob's. */
export function people(extra = 0): Person[] {
  const known: Person[] = (['alice', 'bob', 'carol'] as const).map((uid) => ({
    uid,
    name: `${uid[0]?.toUpperCase()}${uid.slice(1)} Example`,
    mail: `${uid}@example.org`,
    der: certificateDer(uid),
  }));
  const bob = known[1] as Person;
  const more = Array.from({ length: extra }, (_, i) => ({
    uid: `user${i}`,
    name: `User ${i} Example`,
    mail: `user${i}@example.org`,
    der: bob.der,
  }));
  return [...known, ...more];
}

export function personEntry(p: Person): SearchResultEntry {
  return {
    type: 'searchResultEntry',
    objectName: `uid=${p.uid},${PEOPLE_DN}`,
    attributes: [
      { type: 'objectClass', values: text('top', 'person', 'organizationalPerson', 'inetOrgPerson') },
      { type: 'uid', values: text(p.uid) },
      { type: 'cn', values: text(p.name) },
      { type: 'sn', values: text('Example') },
      { type: 'mail', values: text(p.mail) },
      { type: 'userCertificate;binary', values: [p.der] },
    ],
  };
}

export interface MemoryBackendOptions {
  readonly people?: readonly Person[];
  /** Runs before each search answers: tests make searches slow or watch their signals here. */
  readonly beforeSearch?: (request: SearchRequest, options: LdapSearchOptions) => Promise<void>;
}

interface Stored {
  readonly entry: SearchResultEntry;
  readonly dn: string;
  /** Normal forms of the entry's DN and of each of its ancestors, the entry's own first. */
  readonly lineage: readonly string[];
}

export class MemoryBackend implements LdapBackend {
  readonly searches: { request: SearchRequest; options: LdapSearchOptions }[] = [];
  private readonly stored: Stored[];
  private readonly options: MemoryBackendOptions;

  constructor(options: MemoryBackendOptions = {}) {
    this.options = options;
    const entries: SearchResultEntry[] = [
      {
        type: 'searchResultEntry',
        objectName: BASE_DN,
        attributes: [
          { type: 'objectClass', values: text('top', 'dcObject', 'organization') },
          { type: 'dc', values: text('example') },
          { type: 'o', values: text('Example') },
        ],
      },
      {
        type: 'searchResultEntry',
        objectName: PEOPLE_DN,
        attributes: [
          { type: 'objectClass', values: text('top', 'organizationalUnit') },
          { type: 'ou', values: text('people') },
        ],
      },
      ...(options.people ?? people()).map(personEntry),
    ];
    this.stored = entries.map((entry) => {
      const dn = parseDn(entry.objectName);
      const lineage = dn.map((_, i) => normalizeDn(formatDn(dn.slice(i))));
      return { entry, dn: lineage[0] as string, lineage };
    });
  }

  async bind(dn: string, password: Uint8Array): Promise<{ ok: true; principal: string } | { ok: false }> {
    const ok = normalizeDn(dn) === normalizeDn(READER_DN) && Buffer.from(password).toString() === READER_PASSWORD;
    return ok ? { ok: true, principal: 'reader' } : { ok: false };
  }

  async search(request: SearchRequest, options: LdapSearchOptions): Promise<LdapSearchPage> {
    this.searches.push({ request, options });
    await this.options.beforeSearch?.(request, options);
    let base: string;
    try {
      base = request.baseObject === '' ? '' : normalizeDn(request.baseObject);
    } catch {
      return { entries: [], result: { resultCode: ResultCode.invalidDNSyntax, diagnosticMessage: 'invalid base DN' } };
    }
    if (base !== '' && !this.stored.some((s) => s.dn === base)) {
      // matchedDN: the deepest existing ancestor of the base.
      const matched = this.stored
        .filter((s) => base.endsWith(`,${s.dn}`))
        .sort((a, b) => b.lineage.length - a.lineage.length)[0];
      return {
        entries: [],
        result: { resultCode: ResultCode.noSuchObject, matchedDN: matched?.entry.objectName ?? '' },
      };
    }
    const inScope = (s: Stored) =>
      request.scope === 'base'
        ? s.dn === base
        : request.scope === 'one'
          ? (s.lineage[1] ?? '') === base
          : base === '' || s.lineage.includes(base);
    const matching = this.stored.filter((s) => inScope(s) && matchesFilter(s.entry, request.filter));
    const start = options.cursor === undefined ? 0 : Number(options.cursor);
    if (!Number.isSafeInteger(start) || start < 0) {
      return { entries: [], result: { resultCode: ResultCode.unwillingToPerform, diagnosticMessage: 'bad cursor' } };
    }
    const end = start + options.limit;
    return {
      entries: matching.slice(start, end).map((s) => s.entry),
      ...(end < matching.length ? { cursor: String(end) } : {}),
    };
  }
}
