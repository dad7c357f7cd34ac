import { buildCertsOnly, splitConcatenatedDer } from '@sealpost/core';
import {
  type Dn,
  type Filter,
  formatDn,
  normalizeDn,
  parseDn,
  ResultCode,
  type SearchRequest,
  type SearchResultEntry,
} from '@sealpost/core/ldap';
import { ServiceError } from '../errors.ts';
import type { Accounts } from '../identity/accounts.ts';
import type { Clock } from '../ports/clock.ts';
import type { Database, Row, SqlValue } from '../ports/database.ts';
import {
  type AttributeSelection,
  type Container,
  container,
  type PersonRecord,
  personDn,
  personEntry,
  personView,
  selectAttributes,
  wants,
} from './entries.ts';
import { evaluate, ia5Key, resolveAttribute } from './matching.ts';
import { refreshStaleKeys } from './profiles.ts';
import { type Plan, planFilter, rangesSql } from './search-plan.ts';

/**
 * The directory behind Sealpost's LDAP key server: one inetOrgPerson entry per active user under
 * `baseDn`, publishing the user's currently valid certificates (`userCertificate;binary`) and a
 * certs-only bundle of them with their CA chains (`userSMIMECertificate;binary`), as mail clients
 * look them up. The LDAP server (@sealpost/ldap) calls `search` and `bind`; it owns the protocol,
 * the root DSE, size and time limits and the paged-results control, this class the data.
 *
 * Searches (RFC 4511 §4.5.1) read candidates through the search keys of user_profiles
 * (search-plan.ts) in a stable order — the mail key, then the user id — and evaluate the whole
 * filter on each (matching.ts). A page continues from a cursor naming the last entry returned.
 * Certificates are read at each search, so a revoked or expired certificate disappears at once;
 * only the CA chains, which change rarely, are cached for a short while.
 */

export interface DirectoryOptions {
  readonly db: Database;
  readonly clock: Clock;
  /** The DN the entries sit under, e.g. "ou=people,dc=example,dc=org". */
  readonly baseDn: string;
  /** Checks bind passwords; without it every bind fails. */
  readonly accounts?: Accounts;
  /** Rows a search may read for one page before it stops with adminLimitExceeded; default 100,000. */
  readonly maxExamined?: number;
  /** Rows read per query when scanning; default 500. */
  readonly batchSize?: number;
  /** How long a CA's chain is cached; default 60 s. */
  readonly caChainTtlMs?: number;
}

export interface DirectorySearchOptions {
  /** At most this many entries in the answer. */
  readonly limit: number;
  /** The `cursor` of the previous page. */
  readonly cursor?: string;
  /** Aborts the search between batches of rows (the client abandoned it or went away). */
  readonly signal: AbortSignal;
  /** The bound principal (`user:<id>`), null when anonymous; every entry is public today. */
  readonly principal: string | null;
}

export interface DirectorySearchResult {
  readonly entries: readonly SearchResultEntry[];
  /** Present when more entries match: pass it back for the next page. */
  readonly cursor?: string;
  /** Present when the search did not simply succeed. */
  readonly result?: { readonly resultCode: number; readonly matchedDN?: string; readonly diagnosticMessage?: string };
}

export type DirectoryBindResult = { readonly ok: true; readonly principal: string } | { readonly ok: false };

const DEFAULT_MAX_EXAMINED = 100_000;
const DEFAULT_BATCH = 500;
const DEFAULT_CHAIN_TTL_MS = 60_000;

const PERSON_COLUMNS = `p.user_id, u.email, u.display_name, p.given_name, p.surname, p.uid,
  p.mail_key, p.cn_key, p.sn_key, p.given_name_key, p.uid_key`;
/**
 * user_profiles first: SQLite keeps the order of a CROSS JOIN, so a scan walks the mail index
 * instead of reading every user and sorting; PostgreSQL plans it like any inner join.
 */
const PERSONS_FROM = "user_profiles p CROSS JOIN users u WHERE u.id = p.user_id AND u.status = 'active'";

interface PersonRow extends Row {
  user_id: string;
  email: string;
  display_name: string;
  given_name: string | null;
  surname: string | null;
  uid: string | null;
  mail_key: string;
  cn_key: string | null;
  sn_key: string | null;
  given_name_key: string | null;
  uid_key: string | null;
}

interface CertificateRow extends Row {
  user_id: string;
  ca_id: string;
  der: Uint8Array;
}

/** A place in the result order: the container comes first, then persons by (mail key, user id). */
type Position = { readonly kind: 'container' } | PersonPosition;
type PersonPosition = { readonly kind: 'person'; readonly key: string; readonly id: string };

/** Where a search looks, from its base and scope. */
type Target =
  | { readonly kind: 'subtree'; readonly container: boolean; readonly persons: boolean }
  | { readonly kind: 'person'; readonly person: PersonRecord | undefined }
  | { readonly kind: 'missing'; readonly matchedDN: string };

export class Directory {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #accounts: Accounts | undefined;
  readonly #baseDn: string;
  readonly #base: Dn;
  /** normalizeDn of each suffix of the base: [i] is the DN without its first i RDNs. */
  readonly #suffixes: readonly string[];
  readonly #container: Container;
  readonly #maxExamined: number;
  readonly #batchSize: number;
  readonly #chainTtlMs: number;
  readonly #chains = new Map<string, { certificates: readonly Uint8Array[]; until: number }>();
  #ready: Promise<{ ranges: boolean }> | undefined;

  constructor(options: DirectoryOptions) {
    let base: Dn;
    try {
      base = parseDn(options.baseDn);
    } catch (e) {
      throw new ServiceError(
        'INVALID_ARGUMENT',
        `The directory base DN ${JSON.stringify(options.baseDn)} is not a DN (RFC 4514), e.g. "ou=people,dc=example,dc=org".`,
        { cause: e },
      );
    }
    if (base.length === 0) {
      throw new ServiceError('INVALID_ARGUMENT', 'The directory base DN is empty; give one, e.g. "dc=example,dc=org".');
    }
    this.#db = options.db;
    this.#clock = options.clock;
    this.#accounts = options.accounts;
    this.#baseDn = formatDn(base);
    this.#base = base;
    this.#suffixes = base.map((_, i) => normalizeDn(formatDn(base.slice(i))));
    this.#container = container(this.#baseDn, base);
    this.#maxExamined = positive(options.maxExamined ?? DEFAULT_MAX_EXAMINED, 'maxExamined');
    this.#batchSize = positive(options.batchSize ?? DEFAULT_BATCH, 'batchSize');
    this.#chainTtlMs = options.caChainTtlMs ?? DEFAULT_CHAIN_TTL_MS;
  }

  get baseDn(): string {
    return this.#baseDn;
  }

  async search(request: SearchRequest, options: DirectorySearchOptions): Promise<DirectorySearchResult> {
    const limit = positive(options.limit, 'limit');
    options.signal.throwIfAborted();
    const { ranges } = await this.#prepare();
    let base: Dn;
    try {
      base = parseDn(request.baseObject);
    } catch (e) {
      return failure(ResultCode.invalidDNSyntax, `The base DN is not a valid DN: ${(e as Error).message}`);
    }
    let after: Position | undefined;
    if (options.cursor !== undefined) {
      after = decodeCursor(options.cursor);
      if (after === undefined) {
        return failure(
          ResultCode.unwillingToPerform,
          'The paging cookie is not one this directory issued; start the search again without it.',
        );
      }
    }
    const selection = selectAttributes(request.attributes);
    const target = await this.#target(base, request.scope);
    if (target.kind === 'missing') {
      return {
        entries: [],
        result: {
          resultCode: ResultCode.noSuchObject,
          matchedDN: target.matchedDN,
          diagnosticMessage: `No entry is named ${request.baseObject}; the directory's entries are mail=<address>,${this.#baseDn}.`,
        },
      };
    }
    if (target.kind === 'person') {
      const person = target.person;
      if (person === undefined) return { entries: [] };
      const certificates = await this.#certificates([person.userId]);
      if (evaluate(request.filter, personView(person, certificates.has(person.userId))) !== 'true') {
        return { entries: [] };
      }
      return { entries: await this.#entries([person], selection, request.typesOnly, certificates) };
    }

    const entries: SearchResultEntry[] = [];
    let last: Position | undefined;
    if (target.container && after === undefined && evaluate(request.filter, this.#container.view) === 'true') {
      entries.push(this.#container.entry(selection, request.typesOnly));
      last = { kind: 'container' };
    }
    if (!target.persons) return { entries };
    const found = await this.#findPersons(request.filter, planFilter(request.filter, { ranges }), {
      after: after?.kind === 'person' ? after : undefined,
      want: limit - entries.length,
      signal: options.signal,
    });
    entries.push(...(await this.#entries(found.persons, selection, request.typesOnly, found.certificates)));
    const lastPerson = found.persons.at(-1);
    if (lastPerson !== undefined) last = { kind: 'person', key: lastPerson.mail_key, id: lastPerson.userId };
    if (found.limitHit) {
      return {
        entries,
        result: {
          resultCode: ResultCode.adminLimitExceeded,
          diagnosticMessage:
            `The search read ${this.#maxExamined} entries without finishing; narrow the filter with an ` +
            'equality or initial-substring match on mail, cn, sn, givenName or uid.',
        },
      };
    }
    return found.more && last !== undefined ? { entries, cursor: encodeCursor(last) } : { entries };
  }

  /**
   * A simple bind as `mail=<address>,<baseDn>` or a bare address, checked by the accounts service
   * (with its lockout; no session is opened). The principal is `user:<id>`.
   */
  async bind(dn: string, password: Uint8Array): Promise<DirectoryBindResult> {
    const accounts = this.#accounts;
    const email = this.#bindAddress(dn);
    if (accounts === undefined || email === undefined || password.length === 0) return { ok: false };
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(password);
    } catch {
      return { ok: false };
    }
    try {
      return { ok: true, principal: `user:${await accounts.verifyPassword(email, text)}` };
    } catch (e) {
      if (e instanceof ServiceError && (e.code === 'UNAUTHENTICATED' || e.code === 'ACCOUNT_LOCKED'))
        return { ok: false };
      throw e;
    }
  }

  /** The entry of the active user with this address, with every attribute; undefined when there is none. */
  async entryFor(email: string): Promise<SearchResultEntry | undefined> {
    await this.#prepare();
    const person = await this.#personByAddress(email);
    if (person === undefined) return undefined;
    const [entry] = await this.#entries([person], selectAttributes([]), false);
    return entry;
  }

  /** Once per instance: completes stale search keys and learns how the database orders text. */
  #prepare(): Promise<{ ranges: boolean }> {
    this.#ready ??= (async () => {
      await refreshStaleKeys(this.#db);
      // Prefix ranges need code point order: SQLite's BINARY always, PostgreSQL's only under C/POSIX.
      const row = await this.#db.get<{ bytewise: number } & Row>(
        "SELECT CASE WHEN 'B' < 'a' AND 'a' < 'b' THEN 1 ELSE 0 END AS bytewise",
      );
      return { ranges: Number(row?.bytewise) === 1 };
    })().catch((e: unknown) => {
      this.#ready = undefined;
      throw e;
    });
    return this.#ready;
  }

  async #target(base: Dn, scope: SearchRequest['scope']): Promise<Target> {
    const depth = base.length - this.#base.length;
    if (depth <= 0) {
      // The base itself or one of its ancestors (glue: present so that searches from the suffix work).
      if (normalizeDn(formatDn(base)) !== this.#suffixes[-depth]) return { kind: 'missing', matchedDN: '' };
      if (depth === 0) return { kind: 'subtree', container: scope !== 'one', persons: scope !== 'base' };
      return {
        kind: 'subtree',
        container: scope === 'sub' || (scope === 'one' && depth === -1),
        persons: scope === 'sub',
      };
    }
    if (normalizeDn(formatDn(base.slice(depth))) !== this.#suffixes[0]) return { kind: 'missing', matchedDN: '' };
    const rdn = base[depth - 1]!;
    const address = rdn.length === 1 && resolveAttribute(rdn[0]!.type)?.type.key === 'mail' ? rdn[0]!.value : undefined;
    const person = address === undefined ? undefined : await this.#personByAddress(address);
    if (person === undefined) return { kind: 'missing', matchedDN: this.#baseDn };
    if (depth > 1) return { kind: 'missing', matchedDN: personDn(person.email, this.#base) };
    return { kind: 'person', person: scope === 'one' ? undefined : person };
  }

  /** The active user whose address matches (caseIgnoreIA5Match), preferring the exact spelling. */
  async #personByAddress(address: string): Promise<PersonRecord | undefined> {
    const key = ia5Key(address);
    if (key === undefined) return undefined;
    const rows = await this.#db.all<PersonRow>(
      `SELECT ${PERSON_COLUMNS} FROM ${PERSONS_FROM} AND p.mail_key = ? ORDER BY p.mail_key, p.user_id LIMIT 50`,
      [key],
    );
    const row = rows.find((r) => r.email === address.trim()) ?? rows[0];
    return row && toPerson(row);
  }

  /**
   * Reads candidates in batches and keeps those the filter matches: `want` of them, and whether
   * one more exists (then a cursor is due). Stops at the examined-rows cap.
   */
  async #findPersons(
    filter: Filter,
    plan: Plan,
    options: { after: PersonPosition | undefined; want: number; signal: AbortSignal },
  ): Promise<{
    persons: PersonRecord[];
    more: boolean;
    limitHit: boolean;
    certificates: Map<string, CertificateRow[]> | undefined;
  }> {
    const persons: PersonRecord[] = [];
    if (plan.kind === 'none') return { persons, more: false, limitHit: false, certificates: undefined };
    const needsCertificates = mentionsCertificates(filter);
    const certificates = needsCertificates ? new Map<string, CertificateRow[]>() : undefined;
    let after = options.after;
    let examined = 0;
    for (;;) {
      options.signal.throwIfAborted();
      const batch = Math.min(
        examined === 0 ? Math.max(options.want + 1, 16) : this.#batchSize,
        this.#batchSize,
        this.#maxExamined - examined,
      );
      const { rows, read, last } = await this.#candidates(plan, after, batch);
      examined += read;
      const certs = needsCertificates ? await this.#certificates(rows.map((r) => r.user_id)) : undefined;
      for (const row of rows) {
        const person = toPerson(row);
        const own = certs?.get(person.userId) ?? [];
        if (evaluate(filter, personView(person, own.length > 0)) !== 'true') continue;
        if (persons.length === options.want) return { persons, more: true, limitHit: false, certificates };
        persons.push(person);
        if (own.length > 0) certificates?.set(person.userId, own);
      }
      if (read < batch || last === undefined) return { persons, more: false, limitHit: false, certificates };
      after = last;
      if (examined >= this.#maxExamined) {
        // A full page with more rows unread: let the next page go on rather than fail this one.
        const full = persons.length === options.want;
        return { persons, more: full, limitHit: !full, certificates };
      }
    }
  }

  /**
   * The next `limit` candidates of the plan after `after`, in result order. An index range that is
   * not an equality matches rows in key order, not result order, so the database must sort all of
   * them: that sort reads only the index (the row ids and their order), and a second query fetches
   * the rows of the page — on SQLite thirty times faster than sorting whole joined rows. Disabled
   * users drop out there; they still count as read.
   */
  async #candidates(
    plan: Plan,
    after: PersonPosition | undefined,
    limit: number,
  ): Promise<{ rows: PersonRow[]; read: number; last: PersonPosition | undefined }> {
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (plan.kind === 'keys') {
      const r = rangesSql(plan.ranges);
      conditions.push(r.sql);
      params.push(...r.params);
    }
    if (after !== undefined) {
      conditions.push('(p.mail_key, p.user_id) > (?, ?)');
      params.push(after.key, after.id);
    }
    const where = conditions.map((c) => ` AND ${c}`).join('');
    const sorted = plan.kind === 'keys' && plan.ranges.some((r) => r.lower?.value !== r.upper?.value);
    if (!sorted) {
      const rows = await this.#db.all<PersonRow>(
        `SELECT ${PERSON_COLUMNS} FROM ${PERSONS_FROM}${where} ORDER BY p.mail_key, p.user_id LIMIT ?`,
        [...params, limit],
      );
      const last = rows.at(-1);
      return { rows, read: rows.length, last: last && { kind: 'person', key: last.mail_key, id: last.user_id } };
    }
    const keys = await this.#db.all<{ mail_key: string; user_id: string } & Row>(
      `SELECT p.mail_key, p.user_id FROM user_profiles p WHERE ${conditions.join(' AND ')}
        ORDER BY p.mail_key, p.user_id LIMIT ?`,
      [...params, limit],
    );
    const lastKey = keys.at(-1);
    const last: PersonPosition | undefined = lastKey && { kind: 'person', key: lastKey.mail_key, id: lastKey.user_id };
    if (keys.length === 0) return { rows: [], read: 0, last };
    const found = await this.#db.all<PersonRow>(
      `SELECT ${PERSON_COLUMNS} FROM ${PERSONS_FROM} AND p.user_id IN (${keys.map(() => '?').join(', ')})`,
      keys.map((k) => k.user_id),
    );
    const byId = new Map(found.map((r) => [r.user_id, r]));
    const rows = keys.flatMap((k) => byId.get(k.user_id) ?? []);
    return { rows, read: keys.length, last };
  }

  /** The entries of these persons, their certificates read in one query when the selection wants them. */
  async #entries(
    persons: readonly PersonRecord[],
    selection: AttributeSelection,
    typesOnly: boolean,
    known?: Map<string, CertificateRow[]>,
  ): Promise<SearchResultEntry[]> {
    const withCertificates = wants(selection, 'usercertificate') || wants(selection, 'usersmimecertificate');
    const certificates =
      !withCertificates || persons.length === 0
        ? new Map<string, CertificateRow[]>()
        : (known ?? (await this.#certificates(persons.map((p) => p.userId))));
    const smime = wants(selection, 'usersmimecertificate');
    const chains = smime
      ? await this.#caChains([...new Set([...certificates.values()].flat().map((c) => c.ca_id))])
      : new Map<string, readonly Uint8Array[]>();
    return persons.map((person) => {
      const own = certificates.get(person.userId) ?? [];
      const ders = own.map((c) => c.der);
      const bundle =
        smime && own.length > 0
          ? buildCertsOnly([...ders, ...own.flatMap((c) => chains.get(c.ca_id) ?? [])])
          : undefined;
      return personEntry(
        personDn(person.email, this.#base),
        person,
        { certificates: ders, ...(bundle === undefined ? {} : { smime: bundle }) },
        selection,
        typesOnly,
      );
    });
  }

  /** The currently valid certificates of these users (status valid, notBefore ≤ now < notAfter), by user. */
  async #certificates(userIds: readonly string[]): Promise<Map<string, CertificateRow[]>> {
    const byUser = new Map<string, CertificateRow[]>();
    if (userIds.length === 0) return byUser;
    const now = this.#clock.now().toISOString();
    const rows = await this.#db.all<CertificateRow>(
      `SELECT user_id, ca_id, der FROM certificates
        WHERE user_id IN (${userIds.map(() => '?').join(', ')}) AND status = 'valid' AND not_before <= ? AND not_after > ?
        ORDER BY user_id, not_before, id`,
      [...userIds, now, now],
    );
    for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row]);
    return byUser;
  }

  /** Each CA's certificate and the issuers above it (cas + ca_settings.chain), cached for the TTL. */
  async #caChains(caIds: readonly string[]): Promise<Map<string, readonly Uint8Array[]>> {
    const now = this.#clock.now().getTime();
    const missing = caIds.filter((id) => (this.#chains.get(id)?.until ?? 0) <= now);
    if (missing.length > 0) {
      const rows = await this.#db.all<{ id: string; certificate: Uint8Array; chain: Uint8Array | null } & Row>(
        `SELECT c.id, c.certificate, s.chain FROM cas c LEFT JOIN ca_settings s ON s.ca_id = c.id
          WHERE c.id IN (${missing.map(() => '?').join(', ')})`,
        missing,
      );
      for (const row of rows) {
        const certificates = [row.certificate, ...(row.chain === null ? [] : splitConcatenatedDer(row.chain))];
        this.#chains.set(row.id, { certificates, until: now + this.#chainTtlMs });
      }
    }
    return new Map(caIds.map((id) => [id, this.#chains.get(id)?.certificates ?? []]));
  }

  /** The address named by a bind DN: `mail=<address>,<baseDn>` or the bare address. */
  #bindAddress(dn: string): string | undefined {
    if (!dn.includes('=')) return dn.includes('@') ? dn.trim() : undefined;
    try {
      const parsed = parseDn(dn);
      const rdn = parsed[0];
      if (parsed.length !== this.#base.length + 1 || rdn?.length !== 1) return undefined;
      if (resolveAttribute(rdn[0]!.type)?.type.key !== 'mail') return undefined;
      return normalizeDn(formatDn(parsed.slice(1))) === this.#suffixes[0] ? rdn[0]!.value : undefined;
    } catch {
      return undefined;
    }
  }
}

function toPerson(row: PersonRow): PersonRecord {
  return {
    userId: row.user_id,
    email: row.email,
    displayName: row.display_name,
    givenName: row.given_name,
    surname: row.surname,
    uid: row.uid,
    mail_key: row.mail_key,
    cn_key: row.cn_key ?? '',
    sn_key: row.sn_key ?? '',
    given_name_key: row.given_name_key,
    uid_key: row.uid_key ?? '',
  };
}

/** Whether the filter asks about certificates, which then must be read before it can be evaluated. */
function mentionsCertificates(filter: Filter): boolean {
  switch (filter.type) {
    case 'and':
    case 'or':
      return filter.filters.some(mentionsCertificates);
    case 'not':
      return mentionsCertificates(filter.filter);
    case 'extensible':
      return false;
    default:
      return resolveAttribute(filter.attribute)?.type.syntax === 'binary';
  }
}

function encodeCursor(position: Position): string {
  const text = position.kind === 'container' ? 'c' : `p${position.key}\0${position.id}`;
  return Buffer.from(text, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): Position | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (cursor === '' || Buffer.from(text, 'utf8').toString('base64url') !== cursor) return undefined;
  if (text === 'c') return { kind: 'container' };
  const nul = text.indexOf('\0');
  if (!text.startsWith('p') || nul < 0) return undefined;
  return { kind: 'person', key: text.slice(1, nul), id: text.slice(nul + 1) };
}

function failure(resultCode: number, diagnosticMessage: string): DirectorySearchResult {
  return { entries: [], result: { resultCode, diagnosticMessage } };
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ServiceError('INVALID_ARGUMENT', `The directory's ${name} must be a positive integer, not ${value}.`);
  }
  return value;
}
