import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type Authenticator,
  type Authorize,
  clearSessionCookie,
  defineRoute,
  type Principal,
  s,
  sessionCookie,
  type Wiring,
} from '../../src/index.ts';
import { request, startTestServer, type TestServer } from '../support/harness.ts';

/** The port as the accounts service will implement it, over in-memory credentials. */
class TestAuthenticator implements Authenticator {
  readonly #key = randomBytes(32);
  readonly sessions = new Map<string, Principal>();
  readonly tokens = new Map<string, Principal>();
  async session(token: string) {
    return this.sessions.get(token) ?? null;
  }
  async token(bearer: string) {
    return this.tokens.get(bearer) ?? null;
  }
  csrfToken(sessionToken: string): string {
    return createHmac('sha256', this.#key).update(sessionToken).digest('base64url');
  }
}

const PERMISSIONS: Record<Principal['role'], readonly string[]> = {
  admin: ['things:read', 'things:write'],
  operator: ['things:read', 'things:write'],
  auditor: ['things:read'],
  user: ['things:read'],
};
const authorize: Authorize = (p, permission) =>
  PERMISSIONS[p.role].includes(permission) && (p.scopes === undefined || p.scopes.includes(permission));

const authenticator = new TestAuthenticator();
authenticator.sessions.set('sess-admin', { userId: 'u1', role: 'admin' });
authenticator.sessions.set('sess-user', { userId: 'u2', role: 'user' });
authenticator.tokens.set('spk_admin', { userId: 'u1', role: 'admin' });
authenticator.tokens.set('spk_readonly', { userId: 'u1', role: 'admin', scopes: ['things:read'] });

const wiring: Wiring = {
  access: () => ({ authenticator, authorize }),
  routes: () => [
    defineRoute({
      method: 'POST',
      path: '/api/things',
      summary: 'Make a thing.',
      tags: ['test'],
      auth: 'things:write',
      body: s.object({ n: s.integer() }),
      responses: { 201: { description: 'Made.' } },
      handler: ({ body, principal }) => ({ status: 201, json: { n: body.n, by: principal?.userId } }),
    }),
  ],
};

let t: TestServer;
before(async () => {
  t = await startTestServer({}, wiring);
});
after(() => t.stop());

const csrf = (session: string) => authenticator.csrfToken(session);
const post = (headers: Record<string, string>, body: unknown = { n: 1 }) =>
  request(`${t.url}/api/things`, { method: 'POST', headers, body });

describe('authentication', () => {
  it('requires credentials, with a WWW-Authenticate challenge', async () => {
    const r = await request(`${t.url}/api/v1/whoami`);
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="sealpost"');
    assert.equal(r.json()['code'], 'UNAUTHENTICATED');
    for (const authorization of ['Bearer spk_unknown', 'Basic dTpw', 'Bearer']) {
      assert.equal(
        (await request(`${t.url}/api/v1/whoami`, { headers: { authorization } })).status,
        401,
        authorization,
      );
    }
  });

  it('accepts bearer tokens and session cookies', async () => {
    const bearer = await request(`${t.url}/api/v1/whoami`, { headers: { authorization: 'Bearer spk_readonly' } });
    assert.deepEqual(bearer.json(), { userId: 'u1', role: 'admin', scopes: ['things:read'] });
    const cookie = await request(`${t.url}/api/v1/whoami`, {
      headers: { cookie: 'other=1; sealpost_session=sess-user' },
    });
    assert.deepEqual(cookie.json(), { userId: 'u2', role: 'user' });
  });

  it('does not accept the __Host- cookie over plain HTTP without a trusted proxy', async () => {
    const r = await request(`${t.url}/api/v1/whoami`, { headers: { cookie: '__Host-sealpost_session=sess-user' } });
    assert.equal(r.status, 401);
  });

  it('requires the CSRF token for cookie-authenticated unsafe methods', async () => {
    const cookie = 'sealpost_session=sess-admin';
    assert.equal((await post({ cookie })).json()['code'], 'CSRF_FAILED');
    assert.equal((await post({ cookie, 'x-csrf-token': csrf('sess-user') })).status, 403);
    assert.equal((await post({ cookie, 'x-csrf-token': `${csrf('sess-admin')}x` })).status, 403);
    const ok = await post({ cookie, 'x-csrf-token': csrf('sess-admin') });
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.json(), { n: 1, by: 'u1' });
  });

  it('needs no CSRF token with a bearer token, even when a cookie is also sent', async () => {
    const r = await post({ authorization: 'Bearer spk_admin', cookie: 'sealpost_session=sess-user' });
    assert.equal(r.status, 201);
  });

  it('checks the route permission through authorize, honouring token scopes', async () => {
    const user = await post({ cookie: 'sealpost_session=sess-user', 'x-csrf-token': csrf('sess-user') });
    assert.equal(user.status, 403);
    assert.equal(user.json()['code'], 'FORBIDDEN');
    assert.equal(user.json()['detail'], 'This action needs the permission "things:write".');
    assert.equal((await post({ authorization: 'Bearer spk_readonly' })).status, 403);
  });

  it('authenticates before reading the body', async () => {
    const r = await post({}, { n: 'not a number' });
    assert.equal(r.status, 401);
  });

  it('reads the __Host- cookie behind a trusted TLS proxy', async () => {
    const proxied = await startTestServer({ trustProxy: true }, wiring);
    try {
      const r = await request(`${proxied.url}/api/v1/whoami`, {
        headers: { cookie: '__Host-sealpost_session=sess-user' },
      });
      assert.deepEqual(r.json(), { userId: 'u2', role: 'user' });
      assert.equal(
        (await request(`${proxied.url}/api/v1/whoami`, { headers: { cookie: 'sealpost_session=sess-user' } })).status,
        401,
      );
    } finally {
      await proxied.stop();
    }
  });

  it('lets nobody in when no accounts are wired', async () => {
    const bare = await startTestServer();
    try {
      const r = await request(`${bare.url}/api/v1/whoami`, { headers: { cookie: 'sealpost_session=sess-user' } });
      assert.equal(r.status, 401);
      assert.equal(
        (await request(`${bare.url}/api/v1/whoami`, { headers: { authorization: 'Bearer spk_admin' } })).status,
        401,
      );
    } finally {
      await bare.stop();
    }
  });
});

describe('session cookies', () => {
  it('are HttpOnly, SameSite=Strict, Path=/, and Secure with the __Host- prefix over TLS', () => {
    assert.equal(
      sessionCookie('abc', { secure: true, maxAgeSeconds: 3600 }),
      '__Host-sealpost_session=abc; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=3600',
    );
    assert.equal(sessionCookie('abc', { secure: false }), 'sealpost_session=abc; Path=/; HttpOnly; SameSite=Strict');
    assert.equal(
      clearSessionCookie(true),
      '__Host-sealpost_session=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0',
    );
    assert.throws(() => sessionCookie('a;b', { secure: true }), TypeError);
  });
});
