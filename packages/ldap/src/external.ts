/**
 * An organisation's or a partner's LDAP directory (OpenLDAP, Active Directory) seen through the
 * services' ports: ExternalDirectory (look up a correspondent's certificates), DirectoryPublishTarget
 * (put Sealpost's certificates into users' entries and take them out), DirectorySource (import
 * people and groups). One connection is kept and reused (requests are multiplexed on it), opened
 * and bound on first use, re-opened when the server dropped it, and closed after a minute idle.
 */
import { type Filter, normalizeDn, parseFilter, ResultCode } from '@sealpost/core/ldap';
import type {
  DirectoryGroup,
  DirectoryPerson,
  DirectoryPublishTarget,
  DirectorySource,
  ExternalDirectory,
} from '@sealpost/services';
import { LdapClient, type LdapEntry, type LdapTlsOptions } from './client.ts';
import { isLdapError, LdapError } from './ldap-error.ts';

export interface LdapDirectoryConfig {
  /** Names the directory in records and messages. */
  readonly name: string;
  /** `ldap://host[:port]` or `ldaps://host[:port]`. */
  readonly url: string;
  /** Where people are searched (subtree). */
  readonly baseDn: string;
  /** Bind as this DN with `bindPassword` (required then); anonymous without. */
  readonly bindDn?: string;
  readonly bindPassword?: string;
  readonly startTls?: boolean;
  readonly tls?: LdapTlsOptions;
  /**
   * The RFC 4515 filter that finds a mailbox's entry; every `{address}` in an assertion value is
   * replaced by the address. Default `(mail={address})`; for Active Directory e.g.
   * `(|(mail={address})(proxyAddresses=smtp:{address}))`.
   */
  readonly filter?: string;
  /** Connecting, and each wait for an answer; default 3000 ms. */
  readonly timeoutMs?: number;
  /** Default `userCertificate;binary` (Active Directory: `userCertificate`). */
  readonly certificateAttribute?: string;
  /** Import: where groups are searched; default `baseDn`. */
  readonly groupsBaseDn?: string;
  /** Import: which entries are people; default `(&(objectClass=person)(mail=*))`. */
  readonly peopleFilter?: string;
  /** Import: which entries are groups; default groupOfNames, groupOfUniqueNames and AD's group. */
  readonly groupFilter?: string;
  /** Import: paged-results page size; default 500 (under Active Directory's MaxPageSize of 1000). */
  readonly pageSize?: number;
}

const PLACEHOLDER = '{address}';
const DEFAULT_TIMEOUT_MS = 3000;
const DEFAULT_PEOPLE_FILTER = '(&(objectClass=person)(mail=*))';
const DEFAULT_GROUP_FILTER = '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))';
const IDLE_MS = 60_000;
const PERSON_ATTRIBUTES = ['mail', 'displayName', 'cn', 'givenName', 'sn', 'uid', 'sAMAccountName'];
/** "No attributes" (RFC 4511 §4.5.1.8): only the DN is wanted. */
const NO_ATTRIBUTES = ['1.1'];
const utf8 = new TextDecoder();

/**
 * Import resolves group members to people through the `member` (groupOfNames, AD group) and
 * `uniqueMember` values: DNs of people found by the people search, or of other groups found by the
 * group search, whose people are included (nested groups, cycles tolerated). `memberOf` is not used:
 * OpenLDAP has it only with an overlay. Limitation: Active Directory returns the members of groups
 * larger than its MaxValRange (1500) in ranges (`member;range=0-1499`), which is not followed.
 */
export class LdapDirectory implements ExternalDirectory, DirectoryPublishTarget, DirectorySource {
  readonly name: string;
  readonly #config: LdapDirectoryConfig;
  readonly #filter: Filter;
  readonly #timeoutMs: number;
  readonly #attribute: string;
  #session: Promise<LdapClient> | undefined;
  #idle: NodeJS.Timeout | undefined;
  #busy = 0;

  constructor(config: LdapDirectoryConfig) {
    this.name = config.name;
    this.#config = config;
    const template = config.filter ?? `(mail=${PLACEHOLDER})`;
    if (!template.includes(PLACEHOLDER)) {
      throw new LdapError('DIRECTORY_ERROR', `Directory ${config.name}: the filter must contain ${PLACEHOLDER}.`);
    }
    // An empty password would make an "unauthenticated" bind (RFC 4513 §5.1.2): anonymous in disguise.
    if (config.bindDn !== undefined && !config.bindPassword) {
      throw new LdapError('DIRECTORY_ERROR', `Directory ${config.name}: bindDn is set, so a bindPassword is needed.`);
    }
    this.#filter = parseFilter(template);
    this.#timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#attribute = config.certificateAttribute ?? 'userCertificate;binary';
  }

  /**
   * The filter for one mailbox: the template with the address put into its assertion values. The
   * values are bytes in the parsed filter, so nothing in the address can change the filter's shape
   * (formatFilter shows it escaped per RFC 4515).
   */
  filterFor(address: string): Filter {
    return fill(this.#filter, address);
  }

  /** ExternalDirectory: the DER certificates in the entries of the mailbox; [] when there is none. */
  async certificatesFor(address: string, signal: AbortSignal): Promise<Uint8Array[]> {
    const entries = await this.#use(signal, (client) =>
      client.searchAll({
        base: this.#config.baseDn,
        filter: this.filterFor(address),
        attributes: [this.#attribute],
        signal,
        timeoutMs: this.#timeoutMs,
      }),
    );
    // An entry found twice (aliases, overlapping filter branches) gives its certificates once.
    const unique = new Map<string, Uint8Array>();
    for (const der of entries.flatMap((e) => e.values(this.#attribute)))
      unique.set(Buffer.from(der).toString('base64'), der);
    return [...unique.values()];
  }

  /** DirectoryPublishTarget: adds the value to the mailbox's one entry. */
  async addCertificate(address: string, der: Uint8Array): Promise<'added' | 'present' | 'no-entry'> {
    return this.#change(address, der, 'add', 'added', 'present', ResultCode.attributeOrValueExists);
  }

  /** DirectoryPublishTarget: removes exactly this value from the mailbox's entry; other values stay. */
  async removeCertificate(address: string, der: Uint8Array): Promise<'removed' | 'absent' | 'no-entry'> {
    return this.#change(address, der, 'delete', 'removed', 'absent', ResultCode.noSuchAttribute);
  }

  /** DirectorySource: the people under baseDn, page by page. */
  async *people(signal: AbortSignal): AsyncGenerator<DirectoryPerson, void, undefined> {
    const client = await this.#open(signal);
    this.#busy++;
    try {
      for await (const entry of client.search({
        base: this.#config.baseDn,
        filter: this.#config.peopleFilter ?? DEFAULT_PEOPLE_FILTER,
        attributes: PERSON_ATTRIBUTES,
        pageSize: this.#config.pageSize ?? 500,
        signal,
        timeoutMs: this.#timeoutMs,
      })) {
        const person = toPerson(entry);
        if (person) yield person;
      }
    } finally {
      this.#release();
    }
  }

  /** DirectorySource: the groups under groupsBaseDn, members resolved to addresses. */
  async *groups(signal: AbortSignal): AsyncGenerator<DirectoryGroup, void, undefined> {
    const client = await this.#open(signal);
    this.#busy++;
    try {
      const page = { pageSize: this.#config.pageSize ?? 500, signal, timeoutMs: this.#timeoutMs };
      const mailOf = new Map<string, string>();
      for await (const entry of client.search({
        ...page,
        base: this.#config.baseDn,
        filter: this.#config.peopleFilter ?? DEFAULT_PEOPLE_FILTER,
        attributes: ['mail'],
      })) {
        const mail = entry.text('mail');
        const key = dnKey(entry.dn);
        if (mail !== undefined && key !== undefined) mailOf.set(key, mail);
      }
      const groups = new Map<string, { name: string; members: string[] }>();
      for await (const entry of client.search({
        ...page,
        base: this.#config.groupsBaseDn ?? this.#config.baseDn,
        filter: this.#config.groupFilter ?? DEFAULT_GROUP_FILTER,
        attributes: ['cn', 'member', 'uniqueMember'],
      })) {
        const key = dnKey(entry.dn);
        const name = entry.text('cn');
        if (key === undefined || name === undefined) continue;
        const members = [...entry.texts('member'), ...entry.texts('uniqueMember').map(withoutUid)];
        groups.set(key, { name, members: members.flatMap((m) => dnKey(m) ?? []) });
      }
      for (const [key, group] of groups) {
        const mails = new Set<string>();
        const visited = new Set<string>([key]);
        const pending = [...group.members];
        for (let dn = pending.pop(); dn !== undefined; dn = pending.pop()) {
          const mail = mailOf.get(dn);
          if (mail !== undefined) mails.add(mail);
          const nested = groups.get(dn);
          if (nested && !visited.has(dn)) {
            visited.add(dn);
            pending.push(...nested.members);
          }
        }
        yield { name: group.name, memberMails: [...mails].sort() };
      }
    } finally {
      this.#release();
    }
  }

  /** Closes the connection (unbind); the next call opens a new one. */
  async close(): Promise<void> {
    clearTimeout(this.#idle);
    const session = this.#session;
    this.#session = undefined;
    const client = await session?.catch(() => undefined);
    await client?.unbind();
  }

  /**
   * Adds or deletes one value of the mailbox's entry: `done` when the directory changed, `already`
   * when it answered `alreadyCode` (the value was there, or was not).
   */
  async #change<D extends string, A extends string>(
    address: string,
    der: Uint8Array,
    operation: 'add' | 'delete',
    done: D,
    already: A,
    alreadyCode: number,
  ): Promise<D | A | 'no-entry'> {
    return this.#use(undefined, async (client) => {
      const entries = await client.searchAll({
        base: this.#config.baseDn,
        filter: this.filterFor(address),
        attributes: NO_ATTRIBUTES,
        timeoutMs: this.#timeoutMs,
      });
      if (entries.length === 0) return 'no-entry';
      if (entries.length > 1) {
        throw new LdapError(
          'DIRECTORY_ERROR',
          `Directory ${this.name}: ${entries.length} entries match ${address} (${entries.map((e) => e.dn).join('; ')}); make the filter select one.`,
        );
      }
      try {
        await client.modify(entries[0]!.dn, [{ operation, type: this.#attribute, values: [der] }], {
          timeoutMs: this.#timeoutMs,
        });
        return done;
      } catch (e) {
        // noSuchObject: the entry went away between the search and the change.
        if (isLdapError(e, ResultCode.noSuchObject)) return 'no-entry';
        if (isLdapError(e, alreadyCode)) return already;
        throw e;
      }
    });
  }

  /**
   * Runs `work` on the shared connection. A connection that had died unnoticed (the server closes
   * idle ones) fails the first request: then the work is tried once more on a fresh connection.
   */
  async #use<T>(signal: AbortSignal | undefined, work: (client: LdapClient) => Promise<T>): Promise<T> {
    const reused = this.#session !== undefined;
    const client = await this.#open(signal);
    this.#busy++;
    try {
      return await work(client);
    } catch (e) {
      if (!reused || client.connected || !isLdapError(e) || e.code !== 'DIRECTORY_UNAVAILABLE' || signal?.aborted) {
        throw e;
      }
      return await work(await this.#open(signal));
    } finally {
      this.#release();
    }
  }

  /** The shared connection, opened and bound if there is none (or it died). */
  async #open(signal: AbortSignal | undefined): Promise<LdapClient> {
    clearTimeout(this.#idle);
    const current = this.#session;
    if (current) {
      const client = await current.catch(() => undefined);
      if (client?.connected) return client;
      if (this.#session === current) this.#session = undefined;
    }
    // Shared by every caller, so not bound to one caller's signal: each caller stops waiting on its own.
    this.#session ??= this.#connect();
    const session = this.#session;
    session.catch(() => {
      if (this.#session === session) this.#session = undefined;
    });
    if (signal === undefined) return session;
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      session.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async #connect(): Promise<LdapClient> {
    const config = this.#config;
    const client = await LdapClient.connect({
      url: config.url,
      ...(config.startTls === undefined ? {} : { startTls: config.startTls }),
      ...(config.tls === undefined ? {} : { tls: config.tls }),
      connectTimeoutMs: this.#timeoutMs,
      timeoutMs: this.#timeoutMs,
    });
    if (config.bindDn !== undefined) {
      try {
        await client.bind(config.bindDn, config.bindPassword!, { timeoutMs: this.#timeoutMs });
      } catch (e) {
        client.close();
        throw e;
      }
    }
    return client;
  }

  #release(): void {
    this.#busy--;
    if (this.#busy > 0) return;
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => void this.close(), IDLE_MS);
    this.#idle.unref();
  }
}

/** The filter with every `{address}` in its assertion values replaced. */
function fill(filter: Filter, address: string): Filter {
  const put = (value: Uint8Array): Uint8Array => {
    const text = utf8.decode(value);
    return text.includes(PLACEHOLDER) ? Buffer.from(text.replaceAll(PLACEHOLDER, address), 'utf8') : value;
  };
  switch (filter.type) {
    case 'and':
    case 'or':
      return { ...filter, filters: filter.filters.map((f) => fill(f, address)) };
    case 'not':
      return { ...filter, filter: fill(filter.filter, address) };
    case 'present':
      return filter;
    case 'substrings':
      return {
        ...filter,
        ...(filter.initial ? { initial: put(filter.initial) } : {}),
        any: filter.any.map(put),
        ...(filter.final ? { final: put(filter.final) } : {}),
      };
    default:
      return { ...filter, value: put(filter.value) };
  }
}

function toPerson(entry: LdapEntry): DirectoryPerson | undefined {
  const mail = entry.text('mail');
  if (mail === undefined) return undefined;
  const givenName = entry.text('givenName');
  const surname = entry.text('sn');
  const uid = entry.text('uid') ?? entry.text('sAMAccountName');
  return {
    dn: entry.dn,
    mail,
    displayName: entry.text('displayName') ?? entry.text('cn') ?? mail,
    ...(givenName === undefined ? {} : { givenName }),
    ...(surname === undefined ? {} : { surname }),
    ...(uid === undefined ? {} : { uid }),
  };
}

/** The normalized DN (case, spacing, escapes), or undefined when it does not parse. */
function dnKey(dn: string): string | undefined {
  try {
    return normalizeDn(dn);
  } catch {
    return undefined;
  }
}

/** uniqueMember is NameAndOptionalUID (RFC 4517 §3.3.21): a DN, optionally followed by #'0101'B. */
function withoutUid(value: string): string {
  return value.replace(/#'[01]*'B$/, '');
}
