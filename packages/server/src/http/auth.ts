/**
 * Who is calling: a browser with a session cookie, or a machine with a bearer token. The accounts
 * service implements the Authenticator port; this file only reads credentials from the request,
 * enforces CSRF protection where cookies make it necessary, and asks `authorize` about the route's
 * permission.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from './problem.ts';

export type Role = 'admin' | 'operator' | 'auditor' | 'user';

export interface Principal {
  readonly userId: string;
  readonly role: Role;
  /** For API tokens limited to some permissions; absent means the role's full set. */
  readonly scopes?: readonly string[];
}

/** The port the accounts service implements. Each method resolves null for unknown, expired or revoked credentials. */
export interface Authenticator {
  session(token: string): Promise<Principal | null>;
  token(bearer: string): Promise<Principal | null>;
  /** The CSRF token bound to a session (e.g. an HMAC of the session token); the browser sends it back in X-CSRF-Token. */
  csrfToken(sessionToken: string): string;
}

/** Whether the principal holds the permission; supplied at wiring time (the accounts service's role table). */
export type Authorize = (principal: Principal, permission: string) => boolean | Promise<boolean>;

/**
 * A route's access rule: `public` (no credentials read), `authenticated` (any principal), or a
 * permission name passed to `authorize`.
 */
export type Access = 'public' | 'authenticated' | (string & {});

/**
 * The `__Host-` prefix (RFC 6265bis §4.1.3.2) pins the cookie to this host and path `/`, but browsers
 * accept it only with `Secure`. Over plain HTTP (development on loopback) the cookie is therefore
 * named without the prefix.
 */
export const SESSION_COOKIE = '__Host-sealpost_session';
export const INSECURE_SESSION_COOKIE = 'sealpost_session';
export const CSRF_HEADER = 'x-csrf-token';

export const sessionCookieName = (secure: boolean) => (secure ? SESSION_COOKIE : INSECURE_SESSION_COOKIE);

/** The Set-Cookie value that starts a browser session. */
export function sessionCookie(token: string, options: { secure: boolean; maxAgeSeconds?: number }): string {
  if (!/^[A-Za-z0-9._~+/=-]+$/.test(token)) throw new TypeError('a session token must be cookie-safe text');
  const attributes = [`${sessionCookieName(options.secure)}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (options.secure) attributes.push('Secure');
  if (options.maxAgeSeconds !== undefined) attributes.push(`Max-Age=${Math.floor(options.maxAgeSeconds)}`);
  return attributes.join('; ');
}

/** The Set-Cookie value that ends a browser session. */
export function clearSessionCookie(secure: boolean): string {
  return `${sessionCookieName(secure)}=; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}; Max-Age=0`;
}

/** Cookie header pairs (RFC 6265 §5.4); the first occurrence of a name wins. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, pair.slice(eq + 1).trim());
  }
  return cookies;
}

/** Methods that must not change state (RFC 9110 §9.2.1), so they need no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface Credentials {
  readonly principal: Principal;
  readonly via: 'session' | 'bearer';
}

/**
 * Authenticates a request. A bearer token takes precedence over a cookie: a cross-site page cannot
 * set the Authorization header, so bearer requests need no CSRF token. Without an authenticator
 * (no accounts wired in), nobody can authenticate.
 */
export async function authenticate(
  method: string,
  headers: IncomingHttpHeaders,
  secure: boolean,
  authenticator: Authenticator | undefined,
): Promise<Credentials> {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const m = /^Bearer +([^\s]+) *$/i.exec(authorization);
    if (m === null) throw new HttpError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>".');
    const principal = authenticator === undefined ? null : await authenticator.token(m[1]!);
    if (principal === null) throw new HttpError('UNAUTHENTICATED', 'The bearer token is unknown, expired or revoked.');
    return { principal, via: 'bearer' };
  }
  const session = parseCookies(headers.cookie).get(sessionCookieName(secure));
  if (session === undefined || session === '') throw new HttpError('UNAUTHENTICATED');
  const principal = authenticator === undefined ? null : await authenticator.session(session);
  if (principal === null || authenticator === undefined)
    throw new HttpError('UNAUTHENTICATED', 'The session is unknown or has expired; log in again.');
  if (!SAFE_METHODS.has(method)) {
    const sent = headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !sameSecret(sent, authenticator.csrfToken(session))) {
      throw new HttpError('CSRF_FAILED');
    }
  }
  return { principal, via: 'session' };
}

/** Applies a route's access rule: resolves the principal (undefined for public routes) or throws 401/403. */
export async function checkAccess(
  access: Access,
  request: { method: string; headers: IncomingHttpHeaders; secure: boolean },
  authenticator: Authenticator | undefined,
  authorize: Authorize,
): Promise<Principal | undefined> {
  if (access === 'public') return undefined;
  const { principal } = await authenticate(request.method, request.headers, request.secure, authenticator);
  if (access !== 'authenticated' && !(await authorize(principal, access))) {
    throw new HttpError('FORBIDDEN', `This action needs the permission "${access}".`);
  }
  return principal;
}

/** Constant-time comparison; hashing first makes the inputs equal in length without revealing it. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
