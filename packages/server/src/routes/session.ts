/** Browser sessions: log in (a cookie and its CSRF token) and log out. */
import { clearSessionCookie, parseCookies, sessionCookie, sessionCookieName } from '../http/auth.ts';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import type { ServicesProvider } from '../services.ts';
import { ROLE, USER } from './shapes.ts';

export function sessionRoutes(services: ServicesProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/api/v1/session',
      summary: 'Log in with an e-mail address and password.',
      description:
        'Sets the session cookie and returns the CSRF token to send as X-CSRF-Token with every unsafe request. ' +
        'Repeated failures lock the account (and the source address) for a while: 429 ACCOUNT_LOCKED with Retry-After.',
      tags: ['session'],
      auth: 'public',
      body: s.object({
        email: s.string({ minLength: 1, maxLength: 320 }),
        password: s.string({ minLength: 1, maxLength: 1024 }),
      }),
      responses: {
        200: {
          description: 'Logged in; the Set-Cookie header carries the session.',
          schema: s.object({
            user: USER,
            role: ROLE,
            csrfToken: s.string(),
            expiresAt: s.string({ format: 'date-time' }),
          }),
        },
        401: { description: 'Unknown address or wrong password (UNAUTHENTICATED).' },
        429: { description: 'Too many failures: ACCOUNT_LOCKED, with Retry-After.' },
      },
      handler: async ({ body, req, secure }) => {
        const { accounts, users, clock } = await services();
        const result = await accounts.login(body.email, body.password, req.socket.remoteAddress ?? 'unknown');
        const user = await users.get(result.principal.userId);
        const maxAgeSeconds = (Date.parse(result.expiresAt) - clock.now().getTime()) / 1000;
        return {
          json: { user, role: result.principal.role, csrfToken: result.csrfToken, expiresAt: result.expiresAt },
          headers: { 'set-cookie': sessionCookie(result.token, { secure, maxAgeSeconds }) },
        };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/session',
      summary: 'Log out: end the session of the cookie.',
      tags: ['session'],
      auth: 'authenticated',
      responses: { 204: { description: 'The session is over; the cookie is cleared.' } },
      handler: async ({ req, secure }) => {
        const token = parseCookies(req.headers.cookie).get(sessionCookieName(secure));
        if (token !== undefined) await (await services()).accounts.logout(token);
        return { headers: { 'set-cookie': clearSessionCookie(secure) } };
      },
    }),
  ];
}
