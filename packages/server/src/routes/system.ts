/** The server's own endpoints: liveness, readiness, metrics, the API description, and whoami. */
import { openApiDocument } from '../http/openapi.ts';
import { defineRoute, type Route, type Router } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { METRICS_CONTENT_TYPE, type Metrics } from '../metrics.ts';

export interface Readiness {
  readonly ready: boolean;
  readonly checks: { readonly database: 'ok' | 'unavailable'; readonly masterKey: 'ok' | 'unavailable' };
  readonly draining: boolean;
}

export interface SystemDeps {
  readonly router: Router;
  readonly metrics: Metrics;
  readonly version: string;
  readonly readiness: () => Promise<Readiness>;
  readonly uptimeSeconds: () => number;
}

const CHECK = s.enum(['ok', 'unavailable']);
const READINESS = s.object({
  ready: s.boolean(),
  draining: s.boolean({ description: 'True once shutdown began: load balancers should stop sending requests.' }),
  checks: s.object({ database: CHECK, masterKey: CHECK }),
});

export function systemRoutes(deps: SystemDeps): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/healthz',
      summary: 'Liveness: the process is up and answering.',
      tags: ['system'],
      auth: 'public',
      responses: { 200: { description: 'Alive.', schema: s.object({ status: s.enum(['ok']) }) } },
      handler: () => ({ json: { status: 'ok' } }),
    }),
    defineRoute({
      method: 'GET',
      path: '/readyz',
      summary: 'Readiness: the database answers and the master key is loaded.',
      tags: ['system'],
      auth: 'public',
      responses: {
        200: { description: 'Ready to serve.', schema: READINESS },
        503: { description: 'Not ready (database unreachable, or shutting down).', schema: READINESS },
      },
      handler: async () => {
        const readiness = await deps.readiness();
        return { status: readiness.ready ? 200 : 503, json: readiness };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/metrics',
      summary: 'Prometheus metrics.',
      tags: ['system'],
      auth: 'public',
      responses: { 200: { description: 'The Prometheus text exposition format.', contentType: METRICS_CONTENT_TYPE } },
      handler: async () => {
        const { checks } = await deps.readiness();
        const text = deps.metrics.render({
          uptimeSeconds: deps.uptimeSeconds(),
          databaseReady: checks.database === 'ok',
        });
        return { text, contentType: METRICS_CONTENT_TYPE };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/openapi.json',
      summary: 'This API, described in OpenAPI 3.1.',
      tags: ['system'],
      auth: 'public',
      responses: { 200: { description: 'The OpenAPI document.', contentType: 'application/json' } },
      handler: () => ({
        json: openApiDocument(deps.router.routes(), {
          title: 'Sealpost API',
          version: deps.version,
          description: 'Errors are RFC 9457 problem details with a stable `code`.',
        }),
      }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/whoami',
      summary: 'The authenticated caller.',
      tags: ['accounts'],
      auth: 'authenticated',
      responses: {
        200: {
          description: 'The principal behind the session cookie or bearer token.',
          schema: s.object({
            userId: s.string(),
            role: s.enum(['admin', 'operator', 'auditor', 'user']),
            scopes: s.optional(s.array(s.string())),
          }),
        },
      },
      handler: ({ principal }) => ({ json: principal }),
    }),
  ];
}
