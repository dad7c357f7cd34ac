// Who may call what: every authenticated route of the API, for each role,
// against the permission table (packages/services/src/identity/permissions.ts). Allowed calls may
// still fail for other reasons (404 for the made-up ids used here); they must not be refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Role } from '@sealpost/services';
import type { ApiClient, ApiServer } from './support.ts';
import { DIALECTS, PASSWORD, startApi } from './support.ts';

const ALL: readonly Role[] = ['admin', 'operator', 'auditor', 'user'];
const READERS: readonly Role[] = ['admin', 'operator', 'auditor'];
const ADMIN: readonly Role[] = ['admin'];
const TRUST_MANAGERS: readonly Role[] = ['admin', 'operator'];
const AUDITORS: readonly Role[] = ['admin', 'auditor'];
const CA_MANAGERS: readonly Role[] = ['admin', 'operator'];
const CORRESPONDENTS: readonly Role[] = ['admin', 'operator', 'user'];
const BOOK_MANAGERS: readonly Role[] = ['admin', 'operator'];

interface Case {
  readonly method: string;
  /** `{admin}` is replaced by the first administrator's id. */
  readonly path: string;
  readonly body?: (role: Role) => unknown;
  readonly allowed: readonly Role[];
}

const NONE = 'no-such-id';
const MATRIX: readonly Case[] = [
  { method: 'GET', path: '/api/v1/tokens', allowed: ALL },
  { method: 'POST', path: '/api/v1/tokens', body: () => ({ name: 'matrix', scopes: ['self.read'] }), allowed: ALL },
  { method: 'DELETE', path: `/api/v1/tokens/${NONE}`, allowed: ALL },
  {
    method: 'POST',
    path: '/api/v1/accounts',
    body: (r) => ({ email: `acct-${r}@matrix.test`, role: 'user', password: PASSWORD }),
    allowed: ADMIN,
  },
  { method: 'PATCH', path: `/api/v1/accounts/${NONE}`, body: () => ({ role: 'user' }), allowed: ADMIN },
  { method: 'GET', path: '/api/v1/users', allowed: READERS },
  {
    method: 'POST',
    path: '/api/v1/users',
    body: (r) => ({ email: `new-${r}@matrix.test`, displayName: r }),
    allowed: ADMIN,
  },
  {
    method: 'POST',
    path: '/api/v1/users/import',
    body: (r) => ({ csv: `email,display_name,groups\ncsv-${r}@matrix.test,${r},\n` }),
    allowed: ADMIN,
  },
  { method: 'GET', path: '/api/v1/users/me', allowed: ALL },
  { method: 'GET', path: '/api/v1/users/{admin}', allowed: READERS },
  { method: 'PATCH', path: `/api/v1/users/${NONE}`, body: () => ({ displayName: 'X' }), allowed: ADMIN },
  { method: 'GET', path: '/api/v1/groups', allowed: READERS },
  { method: 'POST', path: '/api/v1/groups', body: (r) => ({ name: `group-${r}` }), allowed: ADMIN },
  { method: 'PUT', path: '/api/v1/groups/matrix/members/{admin}', allowed: ADMIN },
  { method: 'DELETE', path: '/api/v1/groups/matrix/members/{admin}', allowed: ADMIN },
  { method: 'GET', path: '/api/v1/trust', allowed: READERS },
  { method: 'POST', path: '/api/v1/trust', body: () => ({ pem: 'no certificates here' }), allowed: TRUST_MANAGERS },
  { method: 'DELETE', path: `/api/v1/trust/${'0'.repeat(64)}`, allowed: TRUST_MANAGERS },
  { method: 'GET', path: '/api/v1/users/me/keys', allowed: ALL },
  { method: 'GET', path: '/api/v1/users/{admin}/keys', allowed: ADMIN },
  { method: 'POST', path: `/api/v1/users/me/keys/${NONE}/recover`, allowed: ALL },
  {
    method: 'POST',
    path: '/api/v1/recovery-requests',
    body: () => ({ archivedKeyId: NONE, reason: 'matrix' }),
    allowed: ADMIN,
  },
  { method: 'GET', path: '/api/v1/recovery-requests', allowed: ADMIN },
  { method: 'POST', path: `/api/v1/recovery-requests/${NONE}/approve`, allowed: ADMIN },
  { method: 'POST', path: `/api/v1/recovery-requests/${NONE}/release`, allowed: ADMIN },
  // CA, templates, certificates, auto-enrollment. Bodies are empty on purpose: an allowed call ends in
  // 422 or 404 (nothing is created), a refused one in 403 before the body is looked at.
  { method: 'GET', path: '/api/v1/cas', allowed: READERS },
  { method: 'POST', path: '/api/v1/cas', body: () => ({}), allowed: CA_MANAGERS },
  { method: 'POST', path: '/api/v1/cas/requests', body: () => ({}), allowed: CA_MANAGERS },
  { method: 'POST', path: `/api/v1/cas/${NONE}/certificate`, body: () => ({}), allowed: CA_MANAGERS },
  { method: 'POST', path: '/api/v1/cas/import', body: () => ({}), allowed: CA_MANAGERS },
  { method: 'GET', path: `/api/v1/cas/${NONE}`, allowed: READERS },
  { method: 'GET', path: '/api/v1/templates', allowed: READERS },
  { method: 'GET', path: `/api/v1/templates/${NONE}`, allowed: READERS },
  { method: 'PUT', path: `/api/v1/templates/${NONE}`, body: () => ({}), allowed: CA_MANAGERS },
  { method: 'GET', path: '/api/v1/certificates', allowed: READERS },
  { method: 'GET', path: `/api/v1/certificates/${NONE}`, allowed: READERS },
  { method: 'POST', path: '/api/v1/certificates', body: () => ({}), allowed: CA_MANAGERS },
  { method: 'POST', path: `/api/v1/certificates/${NONE}/revoke`, body: () => ({}), allowed: CA_MANAGERS },
  { method: 'POST', path: `/api/v1/certificates/${NONE}/renew`, body: () => ({}), allowed: CA_MANAGERS },
  { method: 'GET', path: '/api/v1/groups/matrix/templates', allowed: READERS },
  { method: 'PUT', path: `/api/v1/groups/matrix/templates/${NONE}`, allowed: CA_MANAGERS },
  { method: 'DELETE', path: `/api/v1/groups/matrix/templates/${NONE}`, allowed: CA_MANAGERS },
  // The certificate book and recipient resolution: empty bodies end in 422 (or 415 for a harvest
  // without a message), decisions on a made-up id in 404.
  { method: 'GET', path: '/api/v1/book', allowed: ALL },
  { method: 'POST', path: '/api/v1/book', body: () => ({}), allowed: CORRESPONDENTS },
  { method: 'POST', path: '/api/v1/book/harvest', allowed: CORRESPONDENTS },
  { method: 'POST', path: `/api/v1/book/${NONE}/accept`, body: () => ({}), allowed: ALL },
  { method: 'POST', path: `/api/v1/book/${NONE}/pin`, body: () => ({ scope: 'everyone' }), allowed: BOOK_MANAGERS },
  { method: 'POST', path: '/api/v1/recipients/resolve', body: () => ({ addresses: [] }), allowed: ALL },
  // External directories: none configured here, so an import names an unknown one (404) and
  // publishing has nothing to do (200).
  { method: 'GET', path: '/api/v1/directories', allowed: READERS },
  { method: 'POST', path: `/api/v1/directories/${NONE}/import`, allowed: ADMIN },
  { method: 'POST', path: '/api/v1/directories/publish', allowed: ADMIN },
  { method: 'GET', path: '/api/v1/audit', allowed: AUDITORS },
  { method: 'GET', path: '/api/v1/audit/verify', allowed: AUDITORS },
  // Last: it ends the session.
  { method: 'DELETE', path: '/api/v1/session', allowed: ALL },
];

for (const dialect of DIALECTS) {
  describe(`role matrix (${dialect})`, () => {
    let api: ApiServer;
    const clients = new Map<Role, ApiClient>();
    before(async () => {
      api = await startApi(dialect);
      clients.set('admin', api.admin);
      for (const role of ['operator', 'auditor', 'user'] as const)
        clients.set(role, await api.login(`${role}@matrix.test`, role));
    });
    after(() => api.stop());

    for (const c of MATRIX) {
      test(`${c.method} ${c.path}: ${c.allowed.join(', ')}`, async () => {
        for (const role of ALL) {
          const client = clients.get(role);
          assert.ok(client !== undefined);
          const res = await client.send(c.method, c.path.replace('{admin}', api.adminId), c.body?.(role));
          const what = `${role} ${c.method} ${c.path} → ${res.status} ${res.text}`;
          if (c.allowed.includes(role)) {
            assert.ok(res.status !== 401 && res.status !== 403, `allowed: ${what}`);
          } else {
            assert.equal(res.status, 403, `refused: ${what}`);
            assert.equal(res.json()['code'], 'FORBIDDEN', what);
          }
        }
      });
    }
  });
}
