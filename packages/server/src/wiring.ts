/**
 * The Wiring `sealpost serve` runs: the domain routes over one set of services, and the accounts
 * service as the authenticator with the role table of permissions.ts as `authorize`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { can, isPermission } from '@sealpost/services';
import { startKeyServer } from './directories.ts';
import type { Authenticator, Authorize } from './http/auth.ts';
import type { Route } from './http/router.ts';
import { startJobs } from './jobs.ts';
import { accountRoutes } from './routes/accounts.ts';
import { archiveRoutes } from './routes/archive.ts';
import { auditRoutes } from './routes/audit.ts';
import { bookRoutes } from './routes/book.ts';
import { caRoutes } from './routes/ca.ts';
import { certificateRoutes } from './routes/certificates.ts';
import { directoryRoutes } from './routes/directories.ts';
import { enrollmentOf, enrollmentRoutes } from './routes/enrollment.ts';
import { groupRoutes } from './routes/groups.ts';
import { pkiRoutes } from './routes/pki.ts';
import { recipientRoutes } from './routes/recipients.ts';
import { sessionRoutes } from './routes/session.ts';
import { trustRoutes } from './routes/trust.ts';
import { userRoutes } from './routes/users.ts';
import type { ServerDeps, Wiring } from './server.ts';
import { callerOf, type Services, type ServicesProvider, servicesProvider } from './services.ts';

/** Every domain route, over the given services. */
export function domainRoutes(services: ServicesProvider, options: Pick<ServerDeps, 'publicUrl'> = {}): Route[] {
  return [
    ...sessionRoutes(services),
    ...accountRoutes(services),
    ...userRoutes(services),
    ...groupRoutes(services),
    ...trustRoutes(services),
    ...archiveRoutes(services),
    ...auditRoutes(services),
    ...caRoutes(services, options),
    ...certificateRoutes(services),
    ...pkiRoutes(services),
    ...enrollmentRoutes(services),
    ...bookRoutes(services),
    ...recipientRoutes(services),
    ...directoryRoutes(services),
  ];
}

/**
 * Route-level permission check. A `self.*` permission is checked here for the caller's own data;
 * handlers then check that the resource they touch is the caller's (`authorize` with a target).
 */
export const authorizeRoute: Authorize = (principal, permission) =>
  isPermission(permission) &&
  can(callerOf(principal), permission, permission.startsWith('self.') ? { userId: principal.userId } : undefined);

/** How many live sessions the CSRF check remembers the ids of (see `accountsAuthenticator`). */
const SESSION_ID_CACHE = 10_000;

/**
 * The accounts service as the server's Authenticator. The server asks for a session's CSRF token
 * synchronously, by session token, while the accounts service derives it from the session's id;
 * the server always authenticates the session first, so its id is remembered then (by a hash of
 * the token, never the token itself). A session not remembered gets a random token that matches nothing.
 */
export function accountsAuthenticator(services: ServicesProvider): Authenticator {
  const sessionIds = new Map<string, string>();
  let ready: Services | undefined;
  const key = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url');
  return {
    session: async (token) => {
      ready = await services();
      const principal = await ready.accounts.authenticateSession(token);
      if (principal !== null) {
        const k = key(token);
        // Re-inserted so that the map's order is least-recently-used first.
        sessionIds.delete(k);
        sessionIds.set(k, principal.credentialId);
        if (sessionIds.size > SESSION_ID_CACHE) sessionIds.delete(sessionIds.keys().next().value as string);
      }
      return principal;
    },
    token: async (bearer) => (await services()).accounts.authenticateToken(bearer),
    csrfToken: (token) => {
      const sessionId = sessionIds.get(key(token));
      if (sessionId === undefined || ready === undefined) return randomBytes(32).toString('base64url');
      return ready.accounts.csrfToken(sessionId);
    },
  };
}

/**
 * Publishes a holder's certificates to the `publish` directories right after an issuance or a
 * revocation, without holding up the request; what fails here (a directory down) is retried by the
 * directory-publish job, which also removes expired certificates.
 */
function publishOnChange(services: Services): () => void {
  if (services.externalDirectories.by('publish').length === 0) return () => undefined;
  return services.ca.onCertificateChange((change) => {
    if (change.userId === null) return;
    void services.publisher.syncUser(change.userId).then(
      (report) => {
        if (report.failed.length > 0 || report.unreachable.length > 0) {
          services.log.warn('directory publishing incomplete; the directory-publish job retries', { ...report });
        }
      },
      (e: unknown) => services.log.error('directory publishing failed', { error: e }),
    );
  });
}

/** The production wiring; each server started with it gets its own services. */
export const wiring: Wiring = {
  routes: (deps) => domainRoutes(providerFor(deps), deps),
  access: (deps) => ({ authenticator: accountsAuthenticator(providerFor(deps)), authorize: authorizeRoute }),
  background: async (deps) => {
    const services = await providerFor(deps)();
    // Attaches the membership hook at start, so a member who joins a group is enrolled at once.
    enrollmentOf(services);
    const unpublish = publishOnChange(services);
    const jobs = startJobs(services);
    const keyServer =
      deps.ldap === undefined ? undefined : await startKeyServer(deps.ldap, services.directory, deps.log);
    return {
      stop: async () => {
        await keyServer?.close();
        unpublish();
        await jobs.stop();
        await services.externalDirectories.close();
      },
    };
  },
};

const providers = new WeakMap<ServerDeps, ServicesProvider>();

/** `routes` and `access` receive the same deps object; they must share one set of services. */
function providerFor(deps: ServerDeps): ServicesProvider {
  let provider = providers.get(deps);
  if (provider === undefined) {
    provider = servicesProvider(deps);
    providers.set(deps, provider);
  }
  return provider;
}
