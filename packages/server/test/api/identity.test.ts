// The identity, trust, archive and audit API over real HTTP, on SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../support/harness.ts';
import { ADMIN_EMAIL, ApiClient, type ApiServer, DIALECTS, PASSWORD, startApi } from './support.ts';

for (const dialect of DIALECTS) {
  describe(`REST API (${dialect})`, () => {
    let api: ApiServer;
    before(async () => {
      api = await startApi(dialect);
    });
    after(() => api.stop());

    test('login returns the user, role and CSRF token; logout ends the session', async () => {
      const client = new ApiClient(api.url);
      const res = await client.login(ADMIN_EMAIL, PASSWORD);
      assert.match(res.headers['set-cookie']?.[0] ?? '', /^sealpost_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
      const body = res.json() as { role: string; user: { email: string } };
      assert.equal(body.role, 'admin');
      assert.equal(body.user.email, ADMIN_EMAIL);
      const who = await client.get('/api/v1/whoami');
      assert.equal(who.status, 200);
      assert.equal(who.json()['userId'], api.adminId);
      const out = await client.delete('/api/v1/session');
      assert.equal(out.status, 204);
      assert.match(out.headers['set-cookie']?.[0] ?? '', /Max-Age=0/);
      assert.equal((await client.get('/api/v1/whoami')).status, 401);
    });

    test('a wrong password is 401; the body names missing fields', async () => {
      const anonymous = new ApiClient(api.url);
      const wrong = await anonymous.post('/api/v1/session', { email: ADMIN_EMAIL, password: 'not the password' });
      assert.equal(wrong.status, 401);
      const missing = await anonymous.post('/api/v1/session', { email: ADMIN_EMAIL });
      assert.equal(missing.status, 422);
      assert.deepEqual(missing.json()['errors'], [{ pointer: '/body/password', message: 'is required' }]);
    });

    test('cookie-authenticated writes need the CSRF token', async () => {
      const body = { email: 'csrf@example.test', displayName: 'CSRF' };
      const refused = await api.admin.send('POST', '/api/v1/users', body, { csrf: false });
      assert.equal(refused.status, 403);
      assert.equal(refused.json()['code'], 'CSRF_FAILED');
      const forged = await api.admin.send('POST', '/api/v1/users', body, {
        csrf: false,
        headers: { 'x-csrf-token': 'forged' },
      });
      assert.equal(forged.status, 403);
      assert.equal((await api.admin.post('/api/v1/users', body)).status, 201);
    });

    test('bearer tokens: created, shown once, used, limited to their scopes, revoked', async () => {
      const created = await api.admin.post('/api/v1/tokens', { name: 'ci', scopes: ['user.read'] });
      assert.equal(created.status, 201);
      const { id, token } = created.json() as { id: string; token: string };
      assert.match(token, /^spk_[A-Za-z0-9_-]{43}$/);
      const listed = await api.admin.get('/api/v1/tokens');
      assert.ok(!listed.text.includes(token), 'the token is shown only at creation');
      assert.ok((listed.json()['items'] as { id: string }[]).some((t) => t.id === id));
      const machine = new ApiClient(api.url, { bearer: token });
      assert.equal((await machine.get('/api/v1/users')).status, 200);
      // No CSRF token needed, but the scope does not cover writing.
      const write = await machine.post('/api/v1/users', { email: 'bot@example.test', displayName: 'Bot' });
      assert.equal(write.status, 403);
      const beyond = await api.admin.post('/api/v1/tokens', { name: 'x', scopes: ['nope'] });
      assert.equal(beyond.status, 422);
      assert.equal((await api.admin.delete(`/api/v1/tokens/${id}`)).status, 204);
      const revoked = await machine.get('/api/v1/users');
      assert.equal(revoked.status, 401);
      assert.ok(revoked.headers['www-authenticate']);
    });

    test('a user cannot revoke another user’s token', async () => {
      const alice = await api.login('alice.tokens@example.test', 'user');
      const created = await api.admin.post('/api/v1/tokens', { name: 'admin', scopes: ['self.read'] });
      const { id } = created.json() as { id: string };
      assert.equal((await alice.delete(`/api/v1/tokens/${id}`)).status, 404);
    });

    test('repeated failures lock the account: 429 with Retry-After', async () => {
      await api.login('locked@example.test', 'user');
      const anonymous = new ApiClient(api.url);
      for (let i = 0; i < 5; i++) {
        const r = await anonymous.post('/api/v1/session', { email: 'locked@example.test', password: 'wrong password' });
        assert.equal(r.status, 401);
      }
      const locked = await anonymous.post('/api/v1/session', { email: 'locked@example.test', password: PASSWORD });
      assert.equal(locked.status, 429);
      assert.equal(locked.json()['code'], 'ACCOUNT_LOCKED');
      assert.match(String(locked.headers['retry-after']), /^[1-9][0-9]*$/);
    });

    test('users: create, read, list with filters, update, conflicts', async () => {
      const created = await api.admin.post('/api/v1/users', {
        email: 'bob@example.test',
        displayName: 'Bob',
        groups: ['sales'],
      });
      assert.equal(created.status, 201);
      const bob = created.json() as { id: string };
      assert.equal((await api.admin.get(`/api/v1/users/${bob.id}`)).json()['displayName'], 'Bob');
      const dup = await api.admin.post('/api/v1/users', { email: 'bob@example.test', displayName: 'Bob' });
      assert.equal(dup.status, 409);
      const bad = await api.admin.post('/api/v1/users', { email: 'not-an-address', displayName: 'X' });
      assert.equal(bad.status, 422);
      assert.equal((bad.json()['errors'] as { pointer: string }[])[0]?.pointer, '/body/email');
      const sales = await api.admin.get('/api/v1/users?group=sales');
      assert.deepEqual(
        (sales.json()['items'] as { email: string }[]).map((u) => u.email),
        ['bob@example.test'],
      );
      const patched = await api.admin.patch(`/api/v1/users/${bob.id}`, { displayName: 'Robert', status: 'disabled' });
      assert.equal(patched.status, 200);
      assert.equal(patched.json()['status'], 'disabled');
      const disabled = await api.admin.get('/api/v1/users?status=disabled&limit=1');
      assert.equal((disabled.json()['items'] as unknown[]).length, 1);
      assert.equal((await api.admin.get('/api/v1/users/no-such-user')).status, 404);
    });

    test('users: paging with a cursor', async () => {
      for (const n of [1, 2, 3]) {
        await api.admin.post('/api/v1/users', { email: `page${n}@paging.test`, displayName: `P${n}` });
      }
      const first = (await api.admin.get('/api/v1/users?email=page&limit=2')).json();
      assert.equal((first['items'] as unknown[]).length, 2);
      const next = first['next'] as string;
      const second = (
        await api.admin.get(`/api/v1/users?email=page&limit=2&cursor=${encodeURIComponent(next)}`)
      ).json();
      assert.deepEqual(
        (second['items'] as { email: string }[]).map((u) => u.email),
        ['page3@paging.test'],
      );
      assert.equal(second['next'], undefined);
    });

    test('CSV import: best-effort reports bad rows; all-or-nothing imports nothing', async () => {
      const csv =
        'email,display_name,groups\ncsv1@example.test,One,eng\nnot an address,Two,\ncsv3@example.test,Three,eng;ops\n';
      const strict = await api.admin.post('/api/v1/users/import?mode=all-or-nothing', { csv });
      assert.equal(strict.status, 200);
      assert.equal(strict.json()['committed'], false);
      assert.equal(((await api.admin.get('/api/v1/users?email=csv')).json()['items'] as unknown[]).length, 0);
      const lenient = await api.admin.post('/api/v1/users/import?mode=best-effort', { csv });
      const report = lenient.json() as { committed: boolean; created: number; errors: { line: number }[] };
      assert.equal(report.committed, true);
      assert.equal(report.created, 2);
      assert.deepEqual(
        report.errors.map((e) => e.line),
        [3],
      );
      const bad = await api.admin.post('/api/v1/users/import?mode=sometimes', { csv });
      assert.equal(bad.status, 422);
      assert.equal((bad.json()['errors'] as { pointer: string }[])[0]?.pointer, '/query/mode');
    });

    test('groups and membership', async () => {
      assert.equal((await api.admin.post('/api/v1/groups', { name: 'finance' })).status, 201);
      assert.equal((await api.admin.post('/api/v1/groups', { name: 'finance' })).status, 409);
      const carol = (
        await api.admin.post('/api/v1/users', { email: 'carol@example.test', displayName: 'Carol' })
      ).json();
      const member = `/api/v1/groups/finance/members/${String(carol['id'])}`;
      assert.equal((await api.admin.put(member)).status, 204);
      assert.equal((await api.admin.put(member)).status, 204);
      const members = (await api.admin.get('/api/v1/users?group=finance')).json()['items'] as { email: string }[];
      assert.deepEqual(
        members.map((u) => u.email),
        ['carol@example.test'],
      );
      assert.equal((await api.admin.delete(member)).status, 204);
      assert.equal(((await api.admin.get('/api/v1/users?group=finance')).json()['items'] as unknown[]).length, 0);
      const groups = (await api.admin.get('/api/v1/groups')).json()['items'] as { name: string }[];
      assert.ok(groups.some((g) => g.name === 'finance'));
      assert.equal((await api.admin.put('/api/v1/groups/finance/members/nobody')).status, 404);
    });

    test('accounts: an administrator creates logins and changes roles', async () => {
      const created = await api.admin.post('/api/v1/accounts', {
        email: 'olga@example.test',
        role: 'operator',
        password: PASSWORD,
      });
      assert.equal(created.status, 201);
      const olga = new ApiClient(api.url);
      await olga.login('olga@example.test', PASSWORD);
      assert.equal((await olga.get('/api/v1/whoami')).json()['role'], 'operator');
      const demoted = await api.admin.patch(`/api/v1/accounts/${String(created.json()['userId'])}`, { role: 'user' });
      assert.equal(demoted.json()['role'], 'user');
      assert.equal((await olga.get('/api/v1/users')).status, 403);
      const again = await api.admin.post('/api/v1/accounts', {
        email: 'olga@example.test',
        role: 'user',
        password: PASSWORD,
      });
      assert.equal(again.status, 409);
    });

    test('trust: a mixed bundle is imported certificate by certificate, with refusals', async () => {
      const { ca, user } = await issueArchivedKey(api, 'trust-holder@example.test');
      const bundle = [
        ca.pem,
        user.pem,
        '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
      ].join('\n');
      const res = await api.admin.post('/api/v1/trust', { pem: bundle });
      assert.equal(res.status, 200);
      const report = res.json() as {
        imported: { sha256: string; kind: string }[];
        refused: { index: number; reason: string }[];
      };
      assert.equal(report.imported.length, 1);
      assert.equal(report.imported[0]?.kind, 'root');
      assert.deepEqual(
        report.refused.map((r) => [r.index, r.reason]),
        [
          [1, 'not-ca'],
          [2, 'malformed'],
        ],
      );
      const sha256 = report.imported[0]?.sha256 ?? '';
      const again = (await api.admin.post('/api/v1/trust', { pem: ca.pem })).json() as { duplicates: unknown[] };
      assert.equal(again.duplicates.length, 1);
      const listed = (await api.admin.get('/api/v1/trust')).json()['items'] as { sha256: string }[];
      assert.ok(listed.some((a) => a.sha256 === sha256));
      const neither = await api.admin.post('/api/v1/trust', {});
      assert.equal(neither.status, 422);
      assert.equal((await api.admin.delete(`/api/v1/trust/${sha256}`)).status, 204);
      assert.equal((await api.admin.delete(`/api/v1/trust/${sha256}`)).status, 404);
      const der = Buffer.from(ca.pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      const scoped = await api.admin.post('/api/v1/trust?scope=Example.TEST', { base64: der.toString('base64') });
      assert.equal((scoped.json() as { imported: { scopeDomain: string }[] }).imported[0]?.scopeDomain, 'example.test');
    });

    test('key archive: own history and self-recovery; four-eyes recovery across two administrators', async () => {
      const holder = await api.login('holder@example.test', 'user');
      const { user: cert } = await issueArchivedKey(api, 'holder@example.test');
      const history = (await holder.get('/api/v1/users/me/keys')).json()['items'] as { archivedKeyId: string }[];
      assert.deepEqual(
        history.map((k) => k.archivedKeyId),
        [cert.id],
      );
      const own = await holder.post(`/api/v1/users/me/keys/${cert.id}/recover`);
      assert.equal(own.status, 200);
      await assertPkcs12(own.json() as { pkcs12Base64: string; password: string });
      const stranger = await api.login('stranger@example.test', 'user');
      assert.equal((await stranger.post(`/api/v1/users/me/keys/${cert.id}/recover`)).status, 404);
      assert.equal((await stranger.get(`/api/v1/users/${holder.userId}/keys`)).status, 403);

      const second = await api.login('admin2@example.test', 'admin');
      const requested = await api.admin.post('/api/v1/recovery-requests', { archivedKeyId: cert.id, reason: 'left' });
      assert.equal(requested.status, 201);
      const id = String(requested.json()['id']);
      const self = await api.admin.post(`/api/v1/recovery-requests/${id}/approve`);
      assert.equal(self.status, 403);
      assert.equal(self.json()['code'], 'FOUR_EYES');
      assert.equal((await api.admin.post(`/api/v1/recovery-requests/${id}/release`)).status, 409);
      const approved = await second.post(`/api/v1/recovery-requests/${id}/approve`);
      assert.equal(approved.status, 200);
      assert.equal(approved.json()['approvedBy'], second.userId);
      assert.equal((await second.post(`/api/v1/recovery-requests/${id}/approve`)).status, 409);
      assert.equal((await second.post(`/api/v1/recovery-requests/${id}/release`)).status, 403);
      const released = await api.admin.post(`/api/v1/recovery-requests/${id}/release`);
      assert.equal(released.status, 200);
      await assertPkcs12(released.json() as { pkcs12Base64: string; password: string });
      const twice = await api.admin.post(`/api/v1/recovery-requests/${id}/release`);
      assert.equal(twice.status, 409);
      const listed = (await api.admin.get('/api/v1/recovery-requests?status=completed')).json()['items'] as {
        id: string;
      }[];
      assert.ok(listed.some((r) => r.id === id));
    });

    test('audit: entries newest first, paged, and the chain verifies', async () => {
      const first = (await api.admin.get('/api/v1/audit?limit=3')).json();
      const items = first['items'] as { seq: number; action: string }[];
      assert.equal(items.length, 3);
      assert.ok(items[0]!.seq > items[1]!.seq);
      const next = (await api.admin.get(`/api/v1/audit?limit=3&cursor=${String(first['next'])}`)).json();
      assert.equal((next['items'] as { seq: number }[])[0]?.seq, items[2]!.seq - 1);
      const verified = (await api.admin.get('/api/v1/audit/verify')).json();
      assert.equal(verified['ok'], true);
      assert.ok((verified['entries'] as number) > 3);
      assert.equal((verified['head'] as { seq: number }).seq >= items[0]!.seq, true);
    });

    test('the OpenAPI description documents every route of this API', async () => {
      const doc = (await new ApiClient(api.url).get('/api/openapi.json')).json() as {
        paths: Record<string, Record<string, unknown>>;
      };
      for (const [method, path] of OWN_ROUTES) {
        assert.ok(doc.paths[path]?.[method.toLowerCase()], `${method} ${path} is documented`);
      }
    });
  });
}

/** Every route this API adds (the role matrix covers the same list). */
export const OWN_ROUTES: readonly (readonly [string, string])[] = [
  ['POST', '/api/v1/session'],
  ['DELETE', '/api/v1/session'],
  ['GET', '/api/v1/tokens'],
  ['POST', '/api/v1/tokens'],
  ['DELETE', '/api/v1/tokens/{id}'],
  ['POST', '/api/v1/accounts'],
  ['PATCH', '/api/v1/accounts/{userId}'],
  ['GET', '/api/v1/users'],
  ['POST', '/api/v1/users'],
  ['POST', '/api/v1/users/import'],
  ['GET', '/api/v1/users/{id}'],
  ['PATCH', '/api/v1/users/{id}'],
  ['GET', '/api/v1/groups'],
  ['POST', '/api/v1/groups'],
  ['PUT', '/api/v1/groups/{name}/members/{userId}'],
  ['DELETE', '/api/v1/groups/{name}/members/{userId}'],
  ['GET', '/api/v1/trust'],
  ['POST', '/api/v1/trust'],
  ['DELETE', '/api/v1/trust/{sha256}'],
  ['GET', '/api/v1/users/{id}/keys'],
  ['POST', '/api/v1/users/me/keys/{archivedKeyId}/recover'],
  ['POST', '/api/v1/recovery-requests'],
  ['GET', '/api/v1/recovery-requests'],
  ['POST', '/api/v1/recovery-requests/{id}/approve'],
  ['POST', '/api/v1/recovery-requests/{id}/release'],
  ['GET', '/api/v1/audit'],
  ['GET', '/api/v1/audit/verify'],
];

/** A root CA (made once per server) and a certificate for `email` whose server-generated key is archived. */
async function issueArchivedKey(api: ApiServer, email: string) {
  const { ca, users } = api.services;
  let root = (await ca.list()).find((c) => c.name === 'Test Root');
  if (root === undefined) {
    root = await ca.createRoot('system', {
      name: 'Test Root',
      subject: [{ type: 'CN', value: 'Sealpost Test Root' }],
      keyAlgorithm: 'p-256',
      validityDays: 3650,
      crlUrl: 'http://pki.example.test/crl/root.crl',
      ocspUrl: 'http://pki.example.test/ocsp',
      caIssuersUrl: 'http://pki.example.test/ca/root.crt',
    });
    await ca.installDefaultTemplates('system');
  }
  if ((await users.findByEmail(email)) === undefined) await users.create('system', { email, displayName: email });
  const issued = await ca.issue('system', { userEmail: email, template: 'encryption-only', keyAlgorithm: 'p-256' });
  assert.equal(issued.archived, true);
  const der = root.certificate?.der;
  assert.ok(der !== undefined);
  const body = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  const caPem = `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
  return { ca: { pem: caPem }, user: { id: issued.certificate.id, pem: issued.certificate.pem } };
}

/** The PKCS#12 opens with its password in OpenSSL and holds a private key. */
async function assertPkcs12(key: { pkcs12Base64: string; password: string }): Promise<void> {
  const dir = await tempDir();
  try {
    const file = join(dir, 'key.p12');
    await writeFile(file, Buffer.from(key.pkcs12Base64, 'base64'));
    const out = execFileSync('openssl', ['pkcs12', '-in', file, '-passin', 'env:P12_PASSWORD', '-nodes', '-nocerts'], {
      env: { ...process.env, P12_PASSWORD: key.password },
      encoding: 'utf8',
    });
    assert.match(out, /-----BEGIN PRIVATE KEY-----/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
