import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServiceError } from '@sealpost/services';
import { StoreError } from '@sealpost/store';
import { defineRoute, HttpError, s, toProblem } from '../../src/index.ts';
import { request, startTestServer, type TestServer } from '../support/harness.ts';

describe('problem mapping', () => {
  it('maps service, store and HTTP errors to statuses with stable codes', () => {
    const cases: [unknown, number, string][] = [
      [new ServiceError('NOT_FOUND', 'No user u9.'), 404, 'NOT_FOUND'],
      [new ServiceError('CONFLICT'), 409, 'CONFLICT'],
      [new ServiceError('INVALID_ARGUMENT', 'The e-mail is invalid.'), 422, 'INVALID_ARGUMENT'],
      [new ServiceError('FORBIDDEN'), 403, 'FORBIDDEN'],
      [new ServiceError('UNAUTHENTICATED'), 401, 'UNAUTHENTICATED'],
      [new ServiceError('ACCOUNT_LOCKED'), 429, 'ACCOUNT_LOCKED'],
      [new ServiceError('SECRET_TAMPERED'), 500, 'SECRET_TAMPERED'],
      [
        new StoreError('UNIQUE_VIOLATION', 'duplicate key value violates unique constraint "users_email_key"'),
        409,
        'UNIQUE_VIOLATION',
      ],
      [new StoreError('UNAVAILABLE'), 503, 'UNAVAILABLE'],
      [new StoreError('QUERY_FAILED', 'syntax error at or near "SELEC"'), 500, 'QUERY_FAILED'],
      [new HttpError('CSRF_FAILED'), 403, 'CSRF_FAILED'],
      [new TypeError("Cannot read properties of undefined (reading 'x')"), 500, 'INTERNAL'],
    ];
    for (const [error, status, code] of cases) {
      const { document } = toProblem(error);
      assert.equal(document.status, status, code);
      assert.equal(document.code, code);
      assert.equal(document.type, `urn:sealpost:problem:${code.toLowerCase().replaceAll('_', '-')}`);
    }
  });

  it('shows client errors their message, but never a driver message or a server-side one', () => {
    assert.equal(toProblem(new ServiceError('NOT_FOUND', 'No user u9.')).document.detail, 'No user u9.');
    const unique = toProblem(
      new StoreError('UNIQUE_VIOLATION', 'duplicate key value violates unique constraint "users_email_key"'),
    );
    assert.equal(unique.document.detail, 'A row with the same unique key already exists.');
    assert.equal(unique.incident, undefined);
    const internal = toProblem(new Error('password=hunter2 at /srv/x.ts'));
    assert.ok(internal.incident !== undefined);
    assert.equal(internal.document.incident, internal.incident.id);
    assert.doesNotMatch(JSON.stringify(internal.document), /hunter2|srv/);
  });

  it('adds Retry-After to 503s and 429s', () => {
    assert.equal(toProblem(new StoreError('UNAVAILABLE')).headers['retry-after'], '5');
    assert.equal(toProblem(new StoreError('CONFLICT')).headers['retry-after'], '1');
    assert.equal(toProblem(new ServiceError('ACCOUNT_LOCKED')).headers['retry-after'], '60');
    assert.equal(toProblem(new ServiceError('NOT_FOUND')).headers['retry-after'], undefined);
  });
});

describe('problem responses', () => {
  let t: TestServer;
  const failures: Record<string, () => never> = {
    unavailable: () => {
      throw new StoreError('UNAVAILABLE', 'connect ECONNREFUSED 10.0.0.5:5432 for postgres://sealpost:s3cret@db/x');
    },
    unique: () => {
      throw new StoreError('UNIQUE_VIOLATION', 'duplicate key value violates unique constraint "users_email_key"');
    },
    bug: () => {
      throw new TypeError('secret internals: -----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----');
    },
  };
  before(async () => {
    t = await startTestServer(
      {},
      {
        routes: () => [
          defineRoute({
            method: 'GET',
            path: '/api/fail/{kind}',
            summary: 'Fails.',
            tags: ['test'],
            auth: 'public',
            params: s.object({ kind: s.enum(['unavailable', 'unique', 'bug', 'header']) }),
            responses: { 200: { description: 'Never.' } },
            handler: ({ params }) =>
              params.kind === 'header'
                ? { json: {}, headers: { 'set-cookie': 'a=b', 'x-bad': 'line\nbreak' } }
                : failures[params.kind]!(),
          }),
        ],
      },
    );
  });
  after(() => t.stop());

  it('answers 503 with Retry-After when the database is unavailable', async () => {
    const r = await request(`${t.url}/api/fail/unavailable`);
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '5');
    assert.equal(r.headers['content-type'], 'application/problem+json');
    const problem = r.json();
    assert.equal(problem['code'], 'UNAVAILABLE');
    assert.doesNotMatch(r.text, /ECONNREFUSED|s3cret/);
  });

  it('answers 409 for a unique violation', async () => {
    const r = await request(`${t.url}/api/fail/unique`);
    assert.equal(r.status, 409);
    assert.doesNotMatch(r.text, /users_email_key/);
  });

  it('answers 500 with an incident id that the log shares, without internals', async () => {
    const r = await request(`${t.url}/api/fail/bug`);
    assert.equal(r.status, 500);
    const problem = r.json();
    assert.equal(problem['code'], 'INTERNAL');
    assert.doesNotMatch(r.text, /secret internals|TypeError/);
    const logged = t.logs.records().find((l) => l['incident'] === problem['incident']);
    assert.ok(logged !== undefined, 'the incident is logged');
    assert.equal(logged['level'], 'error');
    assert.equal(logged['requestId'], r.headers['x-request-id']);
    const error = logged['error'] as Record<string, unknown>;
    assert.match(String(error['message']), /^secret internals: \[REDACTED PRIVATE KEY\]$/);
  });

  it('drops the headers of a reply that failed to send', async () => {
    const r = await request(`${t.url}/api/fail/header`);
    assert.equal(r.status, 500);
    assert.equal(r.headers['set-cookie'], undefined);
    assert.equal(r.json()['code'], 'INTERNAL');
  });
});
