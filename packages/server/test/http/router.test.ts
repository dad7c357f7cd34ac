import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { defineRoute, type Route, Router, s } from '../../src/index.ts';
import { request, startTestServer, type TestServer } from '../support/harness.ts';

const routes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/api/items/{id}',
    summary: 'An item.',
    tags: ['test'],
    auth: 'public',
    params: s.object({ id: s.integer({ minimum: 1 }) }),
    responses: { 200: { description: 'The item.' } },
    // The declared schema makes params.id a number.
    handler: ({ params }) => ({ json: { id: params.id, type: typeof params.id } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/items/new',
    summary: 'The literal segment wins over {id}.',
    tags: ['test'],
    auth: 'public',
    responses: { 200: { description: 'A template.' } },
    handler: () => ({ json: { template: true } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/files/{name}',
    summary: 'Undeclared parameters are strings.',
    tags: ['test'],
    auth: 'public',
    responses: { 200: { description: 'The name.' } },
    handler: ({ params }) => ({ json: params }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/search',
    summary: 'Search.',
    tags: ['test'],
    auth: 'public',
    query: s.object({ q: s.string({ minLength: 1 }), limit: s.optional(s.integer({ maximum: 50 })) }),
    responses: { 200: { description: 'Results.' } },
    handler: ({ query }) => ({ json: query }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/items',
    summary: 'Create an item.',
    tags: ['test'],
    auth: 'public',
    body: s.object({ name: s.string({ minLength: 1 }), owner: s.optional(s.string({ format: 'email' })) }),
    responses: { 201: { description: 'Created.' } },
    handler: ({ body }) => ({ status: 201, json: { created: body.name, owner: body.owner ?? null } }),
  }),
];

let t: TestServer;
before(async () => {
  t = await startTestServer({}, { routes: () => routes });
});
after(() => t.stop());

describe('routing', () => {
  it('matches parameters, converts them by schema, and prefers literal segments', async () => {
    assert.deepEqual((await request(`${t.url}/api/items/42`)).json(), { id: 42, type: 'number' });
    assert.deepEqual((await request(`${t.url}/api/items/new`)).json(), { template: true });
    assert.deepEqual((await request(`${t.url}/api/files/a%20b%2Fc`)).json(), { name: 'a b/c' });
  });

  it('validates parameters and reports malformed escapes', async () => {
    const r = await request(`${t.url}/api/items/0`);
    assert.equal(r.status, 422);
    assert.deepEqual(r.json()['errors'], [{ pointer: '/params/id', message: 'must be at least 1' }]);
    const bad = await request(`${t.url}/api/files/%ZZ`);
    assert.equal(bad.status, 400);
    assert.equal(bad.json()['code'], 'MALFORMED_REQUEST');
  });

  it('answers 404 and 405 (with Allow) as problem+json, and HEAD on GET routes', async () => {
    const missing = await request(`${t.url}/api/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['content-type'], 'application/problem+json');
    assert.equal(missing.json()['code'], 'ROUTE_NOT_FOUND');
    const wrong = await request(`${t.url}/api/items`, { method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers['allow'], 'POST');
    const head = await request(`${t.url}/api/items/7`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    assert.equal(head.headers['content-type'], 'application/json; charset=utf-8');
  });

  it('parses and validates the query', async () => {
    assert.deepEqual((await request(`${t.url}/api/search?q=x%20y&limit=5`)).json(), { q: 'x y', limit: 5 });
    const r = await request(`${t.url}/api/search?limit=500&sort=up`);
    assert.equal(r.status, 422);
    assert.deepEqual(r.json()['errors'], [
      { pointer: '/query/q', message: 'is required' },
      { pointer: '/query/limit', message: 'must be at most 50' },
      { pointer: '/query/sort', message: 'is not allowed' },
    ]);
    assert.equal((await request(`${t.url}/api/items/1?x=1`)).status, 422);
  });

  it('refuses duplicate and malformed route declarations', () => {
    const router = new Router().add(routes[0]!);
    assert.throws(
      () => router.add({ ...routes[0]!, path: '/api/items/{other}', params: undefined }),
      /registered twice/,
    );
    assert.throws(() => new Router().add({ ...routes[0]!, path: '/api/items/x{id}' }), /whole segment/);
    assert.throws(
      () => new Router().add({ ...routes[0]!, path: '/api/things/{key}' }),
      /params must declare exactly key/,
    );
  });
});

describe('JSON bodies', () => {
  it('accepts JSON and validates it, naming the field', async () => {
    const ok = await request(`${t.url}/api/items`, { method: 'POST', body: { name: 'n', owner: 'o@example.org' } });
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.json(), { created: 'n', owner: 'o@example.org' });
    const bad = await request(`${t.url}/api/items`, { method: 'POST', body: { name: 'n', owner: 'nobody' } });
    assert.equal(bad.status, 422);
    const problem = bad.json();
    assert.equal(problem['code'], 'VALIDATION_FAILED');
    assert.equal(problem['detail'], '/body/owner: must be an e-mail address');
    assert.deepEqual(problem['errors'], [{ pointer: '/body/owner', message: 'must be an e-mail address' }]);
  });

  it('checks the media type and the JSON syntax', async () => {
    const cases: [Record<string, string>, string, number, string][] = [
      [{ 'content-type': 'text/plain' }, '{"name":"n"}', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [{ 'content-type': 'application/json; charset=latin1' }, '{"name":"n"}', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [{ 'content-type': 'application/json; charset=UTF-8' }, '{"name":"n"}', 201, ''],
      [{}, '{"name":', 400, 'MALFORMED_REQUEST'],
      [{}, '', 400, 'MALFORMED_REQUEST'],
    ];
    for (const [headers, body, status, code] of cases) {
      const r = await request(`${t.url}/api/items`, { method: 'POST', headers, body });
      assert.equal(r.status, status, `${JSON.stringify(headers)} ${body}`);
      if (code !== '') assert.equal(r.json()['code'], code);
    }
    const noBodyRoute = await request(`${t.url}/api/items/1`, { method: 'GET', body: { x: 1 } });
    assert.equal(noBodyRoute.status, 415);
  });

  it('refuses bodies over the limit, declared or streamed', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(1024 * 1024) });
    const declared = await request(`${t.url}/api/items`, { method: 'POST', body: big });
    assert.equal(declared.status, 413);
    assert.equal(declared.json()['code'], 'PAYLOAD_TOO_LARGE');
    assert.equal(declared.headers['connection'], 'close');
    const streamed = await chunkedPost(`${t.url}/api/items`, [
      Buffer.from('{"name":"'),
      Buffer.alloc(1024 * 1024, 'y'),
      Buffer.from('"}'),
    ]);
    assert.equal(streamed, 413);
    const under = JSON.stringify({ name: 'x'.repeat(1024 * 1024 - 20) });
    assert.equal((await request(`${t.url}/api/items`, { method: 'POST', body: under })).status, 201);
  });

  it('honours a configured limit', async () => {
    const small = await startTestServer({ bodyLimitBytes: 1024 }, { routes: () => routes });
    try {
      const r = await request(`${small.url}/api/items`, { method: 'POST', body: { name: 'x'.repeat(1100) } });
      assert.equal(r.status, 413);
      assert.equal(r.json()['detail'], 'The request body must not exceed 1024 bytes.');
    } finally {
      await small.stop();
    }
  });
});

/** POSTs a chunked body (no Content-Length) and returns the status. */
function chunkedPost(url: string, chunks: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    // The server may close the connection before reading everything: that is the point.
    req.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e),
    );
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}
