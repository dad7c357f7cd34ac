import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineRoute, s } from '../../src/index.ts';
import { request, startTestServer, type TestServer } from '../support/harness.ts';

type Json = Record<string, unknown>;

let t: TestServer;
let doc: Json;
before(async () => {
  t = await startTestServer(
    {},
    {
      routes: () => [
        defineRoute({
          method: 'PATCH',
          path: '/api/v1/users/{userId}/keys/{keyId}',
          summary: 'Update a key.',
          tags: ['keys'],
          auth: 'keys:write',
          params: s.object({ userId: s.string(), keyId: s.integer({ minimum: 1 }) }),
          query: s.object({ dryRun: s.optional(s.boolean()), tag: s.optional(s.array(s.string())) }),
          body: s.object({ label: s.string({ maxLength: 64 }), notify: s.optional(s.string({ format: 'email' })) }),
          responses: {
            200: { description: 'Updated.', schema: s.object({ id: s.integer() }) },
            204: { description: 'Nothing to do.' },
          },
          handler: () => ({ status: 204 }),
        }),
      ],
    },
  );
  const r = await request(`${t.url}/api/openapi.json`);
  assert.equal(r.status, 200);
  doc = r.json();
});
after(() => t.stop());

/** Follows a local `$ref` (`#/a/b`) through the document. */
function resolveRef(ref: string): unknown {
  assert.match(ref, /^#\//, `only local refs: ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc);
}

function* walk(node: unknown): Generator<Json> {
  if (Array.isArray(node)) for (const item of node) yield* walk(item);
  else if (typeof node === 'object' && node !== null) {
    yield node as Json;
    for (const value of Object.values(node)) yield* walk(value);
  }
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1.0 with info, paths and components', () => {
    assert.equal(doc['openapi'], '3.1.0');
    const info = doc['info'] as Json;
    assert.equal(info['title'], 'Sealpost API');
    assert.equal(typeof info['version'], 'string');
    assert.equal(typeof doc['paths'], 'object');
  });

  it('lists every registered route', () => {
    const operations = Object.entries(doc['paths'] as Record<string, Json>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    assert.deepEqual(operations.sort(), [
      'GET /api/openapi.json',
      'GET /api/v1/whoami',
      'GET /healthz',
      'GET /metrics',
      'GET /readyz',
      'PATCH /api/v1/users/{userId}/keys/{keyId}',
    ]);
  });

  it('has only resolvable refs, unique operation ids, declared tags and security schemes', () => {
    for (const node of walk(doc)) {
      if (typeof node['$ref'] === 'string') assert.notEqual(resolveRef(node['$ref']), undefined, node['$ref']);
    }
    const tags = new Set((doc['tags'] as Json[]).map((tag) => tag['name']));
    const schemes = Object.keys((doc['components'] as Json)['securitySchemes'] as Json);
    const ids = new Set<unknown>();
    for (const [path, item] of Object.entries(doc['paths'] as Record<string, Record<string, Json>>)) {
      for (const operation of Object.values(item)) {
        assert.equal(ids.has(operation['operationId']), false, `duplicate operationId in ${path}`);
        ids.add(operation['operationId']);
        for (const tag of operation['tags'] as string[]) assert.ok(tags.has(tag), tag);
        for (const requirement of operation['security'] as Json[]) {
          for (const scheme of Object.keys(requirement)) assert.ok(schemes.includes(scheme), scheme);
        }
        const responses = operation['responses'] as Record<string, Json>;
        assert.ok(Object.keys(responses).length > 0);
        for (const response of Object.values(responses)) assert.equal(typeof response['description'], 'string');
        // Path templating: every {name} is a required path parameter, and nothing else is.
        const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
        const parameters = (operation['parameters'] ?? []) as Json[];
        const inPath = parameters.filter((p) => p['in'] === 'path');
        assert.deepEqual(inPath.map((p) => p['name']).sort(), templated);
        for (const p of inPath) assert.equal(p['required'], true);
      }
    }
  });

  it('describes a route from its schemas, access rule and implied error responses', () => {
    const paths = doc['paths'] as Record<string, Record<string, Json>>;
    const op = paths['/api/v1/users/{userId}/keys/{keyId}']!['patch']!;
    assert.equal(op['operationId'], 'patchApiV1UsersByUserIdKeysByKeyId');
    assert.equal(op['x-sealpost-permission'], 'keys:write');
    assert.deepEqual(op['security'], [{ bearer: [] }, { session: [] }]);
    assert.deepEqual(op['parameters'], [
      { name: 'userId', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'keyId', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
      { name: 'dryRun', in: 'query', required: false, schema: { type: 'boolean' } },
      { name: 'tag', in: 'query', required: false, schema: { type: 'array', items: { type: 'string' } } },
    ]);
    assert.deepEqual(op['requestBody'], {
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: { label: { type: 'string', maxLength: 64 }, notify: { type: 'string', format: 'email' } },
            required: ['label'],
            additionalProperties: false,
          },
        },
      },
    });
    const responses = op['responses'] as Record<string, Json>;
    assert.deepEqual(Object.keys(responses).sort(), [
      '200',
      '204',
      '400',
      '401',
      '403',
      '413',
      '415',
      '422',
      'default',
    ]);
    assert.deepEqual(responses['204'], { description: 'Nothing to do.' });
    assert.deepEqual((responses['422']!['content'] as Json)['application/problem+json'], {
      schema: { $ref: '#/components/schemas/Problem' },
    });
    const health = paths['/healthz']!['get']!;
    assert.deepEqual(health['security'], []);
    assert.deepEqual(Object.keys(health['responses'] as Json).sort(), ['200', 'default']);
    const metrics = (paths['/metrics']!['get']!['responses'] as Record<string, Json>)['200']!;
    assert.deepEqual(Object.keys(metrics['content'] as Json), ['text/plain; version=0.0.4; charset=utf-8']);
  });
});
