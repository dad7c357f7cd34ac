/**
 * The domain services one server process runs, built once from the server's dependencies.
 *
 * `Wiring.routes` and `Wiring.access` are synchronous, but building the services needs the database
 * once (the CSRF key below), so route factories take a `ServicesProvider` and handlers await it:
 *
 *   export function caRoutes(services: ServicesProvider): Route[] {
 *     return [defineRoute({ …, handler: async () => ({ json: await (await services()).ca.list() }) })];
 *   }
 *
 * The provider resolves the same `Services` for every call (built at the first one).
 */
import { randomBytes } from 'node:crypto';
import {
  Accounts,
  AuditLog,
  CaService,
  CertificateBook,
  type Clock,
  type Database,
  Directory,
  DirectoryImport,
  DirectoryPublisher,
  KeyArchive,
  KeyRecovery,
  RecipientResolver,
  type Row,
  ServiceError,
  type Principal as ServicePrincipal,
  TrustStore,
  UserDirectory,
  Vault,
} from '@sealpost/services';
import { DEFAULT_BASE_DN } from './config.ts';
import { type ExternalDirectories, openExternalDirectories } from './directories.ts';
import type { Principal } from './http/auth.ts';
import type { Logger } from './logging.ts';
import { onlineRevocationCheck } from './revocation.ts';
import type { ServerDeps } from './server.ts';

export interface Services {
  readonly db: Database;
  readonly clock: Clock;
  readonly log: Logger;
  readonly vault: Vault;
  readonly audit: AuditLog;
  readonly users: UserDirectory;
  readonly accounts: Accounts;
  readonly ca: CaService;
  readonly archive: KeyArchive;
  readonly recovery: KeyRecovery;
  readonly trust: TrustStore;
  readonly book: CertificateBook;
  readonly recipients: RecipientResolver;
  /** The people entries the LDAP key server serves. */
  readonly directory: Directory;
  /** The configured external directories (`directories`), by use. */
  readonly externalDirectories: ExternalDirectories;
  /** Keeps the `publish` directories' certificate values in step with the CA. */
  readonly publisher: DirectoryPublisher;
  readonly directoryImport: DirectoryImport;
}

/** What route factories receive: the process's services, built on first use. */
export type ServicesProvider = () => Promise<Services>;

/** The vault context of the CSRF key; one secret under it, shared by every node. */
export const CSRF_KEY_AAD = 'server/csrf-key/v1';
const CSRF_KEY_BYTES = 32;

export async function createServices(deps: ServerDeps): Promise<Services> {
  const { db, clock, log } = deps;
  const vault = new Vault({ masterKey: deps.masterKey, previousMasterKeys: deps.previousMasterKeys, clock });
  const audit = new AuditLog(clock);
  const archive = new KeyArchive({ vault, audit, clock });
  const csrfKey = await loadCsrfKey(db, vault);
  const trust = new TrustStore({ db, audit, clock });
  const book = new CertificateBook({ db, audit, clock, trust });
  const users = new UserDirectory({ db, audit, clock });
  const accounts = new Accounts({ db, audit, clock, csrfKey });
  const externalDirectories = await openExternalDirectories(deps.directories ?? []);
  return {
    db,
    clock,
    log,
    vault,
    audit,
    users,
    accounts,
    ca: new CaService({ db, vault, audit, clock }),
    archive,
    recovery: new KeyRecovery({ db, archive, audit, clock }),
    trust,
    book,
    recipients: new RecipientResolver({
      book,
      clock,
      directories: externalDirectories.by('lookup'),
      revocation: onlineRevocationCheck({ clock, log }),
    }),
    directory: new Directory({ db, clock, baseDn: deps.ldap?.baseDn ?? DEFAULT_BASE_DN, accounts }),
    externalDirectories,
    publisher: new DirectoryPublisher({ db, audit, clock, targets: externalDirectories.by('publish') }),
    directoryImport: new DirectoryImport({ db, users, audit, clock }),
  };
}

/** One `Services` per server: the provider the wiring hands to route factories. */
export function servicesProvider(deps: ServerDeps): ServicesProvider {
  let services: Promise<Services> | undefined;
  return () => {
    services ??= createServices(deps).catch((e: unknown) => {
      // A failed start (database briefly down) must not stick: the next request tries again.
      services = undefined;
      throw e;
    });
    return services;
  };
}

/**
 * The key of the CSRF tokens must be the same on every node and survive restarts, or every open
 * session's CSRF token would stop matching. It is created on first start and sealed in the vault.
 * Two nodes starting together may both create one; all nodes then use the oldest, so they agree.
 */
async function loadCsrfKey(db: Database, vault: Vault): Promise<Uint8Array> {
  return db.transaction(async (tx) => {
    const oldest = async () =>
      (
        await tx.get<{ id: string } & Row>('SELECT id FROM secrets WHERE aad = ? ORDER BY created_at, id LIMIT 1', [
          Buffer.from(CSRF_KEY_AAD, 'utf8'),
        ])
      )?.id;
    let id = await oldest();
    if (id === undefined) {
      const fresh = randomBytes(CSRF_KEY_BYTES);
      const sealed = await vault.seal(tx, fresh, CSRF_KEY_AAD);
      fresh.fill(0);
      id = (await oldest()) ?? sealed;
    }
    return vault.open(tx, id, CSRF_KEY_AAD);
  });
}

/**
 * The caller as the services know it. The wiring's authenticator is the accounts service, so every
 * principal the server hands a handler carries the session's or token's id as well.
 */
export function callerOf(principal: Principal | undefined): ServicePrincipal {
  if (principal === undefined || !('via' in principal) || !('credentialId' in principal)) {
    throw new ServiceError('UNAUTHENTICATED', 'This request has no caller known to the accounts service.');
  }
  return principal as ServicePrincipal;
}

/** The audit actor of a caller. */
export const actorOf = (principal: ServicePrincipal): string => `user:${principal.userId}`;

/**
 * A record without its null properties: the response schemas declare such fields optional (the
 * schema language has no null), so "absent" is the one way the API says "none".
 */
export function withoutNulls<T extends object>(record: T): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== null)) as {
    [K in keyof T]: Exclude<T[K], null>;
  };
}
