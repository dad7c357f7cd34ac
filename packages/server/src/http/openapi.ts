/**
 * The OpenAPI 3.1 description of the registered routes, generated from the same declarations that
 * validate requests, so the document cannot drift from what the server accepts.
 */
import { CSRF_HEADER, SESSION_COOKIE } from './auth.ts';
import { HTTP_ERROR_CODES, PROBLEM_CONTENT_TYPE } from './problem.ts';
import type { Route } from './router.ts';
import { toJsonSchema } from './schema.ts';

export interface ApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
}

const PROBLEM_REF = '#/components/schemas/Problem';

const PROBLEM_SCHEMA = {
  type: 'object',
  description: 'RFC 9457 problem details with a stable `code`.',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', format: 'uri-reference' },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string' },
    code: { type: 'string', description: 'A stable error code, e.g. VALIDATION_FAILED or UNIQUE_VIOLATION.' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['pointer', 'message'],
        properties: {
          pointer: { type: 'string', description: 'JSON Pointer to the field, e.g. /body/email.' },
          message: { type: 'string' },
        },
      },
    },
    incident: { type: 'string', description: 'For server errors: the id under which the server logged the details.' },
  },
};

const problemResponse = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: PROBLEM_REF } } },
});

/** `getApiV1UsersById` from GET /api/v1/users/{id}: unique because method + path are. */
function operationId(route: Route): string {
  const words = route.path
    .split('/')
    .filter((part) => part !== '')
    .map((part) => (part.startsWith('{') ? `by_${part.slice(1, -1)}` : part))
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/))
    .filter((w) => w !== '');
  return [route.method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('');
}

/** A body without a declared schema: any JSON object, or text. */
const freeForm = (contentType: string) => (/[/+]json\b/.test(contentType) ? { type: 'object' } : { type: 'string' });

function operation(route: Route): Record<string, unknown> {
  const pathParams = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const parameters = [
    ...pathParams.map((name) => {
      const p = route.params?.properties[name];
      const schema =
        p === undefined ? { type: 'string', minLength: 1 } : toJsonSchema(p.kind === 'optional' ? p.schema : p);
      return { name, in: 'path', required: true, schema };
    }),
    ...Object.entries(route.query?.properties ?? {}).map(([name, p]) => ({
      name,
      in: 'query',
      required: p.kind !== 'optional',
      schema: toJsonSchema(p.kind === 'optional' ? p.schema : p),
      ...(p.kind === 'array' ? { explode: true } : {}),
    })),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    const contentType = spec.contentType ?? 'application/json';
    const hasBody = spec.schema !== undefined || spec.contentType !== undefined;
    responses[status] = {
      description: spec.description,
      ...(hasBody
        ? {
            content: {
              [contentType]: { schema: spec.schema === undefined ? freeForm(contentType) : toJsonSchema(spec.schema) },
            },
          }
        : {}),
    };
  }
  const hasInput = route.body !== undefined || route.query !== undefined || route.params !== undefined;
  if (route.body !== undefined || route.rawBody !== undefined) {
    responses['400'] ??= problemResponse(HTTP_ERROR_CODES.MALFORMED_REQUEST);
    responses['413'] ??= problemResponse(HTTP_ERROR_CODES.PAYLOAD_TOO_LARGE);
    responses['415'] ??= problemResponse(HTTP_ERROR_CODES.UNSUPPORTED_MEDIA_TYPE);
  }
  if (hasInput) responses['422'] ??= problemResponse(HTTP_ERROR_CODES.VALIDATION_FAILED);
  if (route.auth !== 'public') {
    responses['401'] ??= problemResponse(HTTP_ERROR_CODES.UNAUTHENTICATED);
    responses['403'] ??= problemResponse(`${HTTP_ERROR_CODES.FORBIDDEN} Or: ${HTTP_ERROR_CODES.CSRF_FAILED}`);
  }
  responses['default'] = problemResponse('Any other error, as problem details.');
  return {
    operationId: operationId(route),
    summary: route.summary,
    ...(route.description === undefined ? {} : { description: route.description }),
    tags: [...route.tags],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body === undefined
      ? {}
      : { requestBody: { required: true, content: { 'application/json': { schema: toJsonSchema(route.body) } } } }),
    ...(route.rawBody === undefined
      ? {}
      : {
          requestBody: {
            required: route.rawBody.optional !== true,
            content: Object.fromEntries(
              route.rawBody.types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }]),
            ),
          },
        }),
    responses,
    security: route.auth === 'public' ? [] : [{ bearer: [] }, { session: [] }],
    ...(route.auth === 'public' || route.auth === 'authenticated' ? {} : { 'x-sealpost-permission': route.auth }),
  };
}

/** The OpenAPI 3.1.0 document for `routes`. */
export function openApiDocument(routes: readonly Route[], info: ApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(route);
  }
  const tags = [...new Set(routes.flatMap((r) => r.tags))].sort().map((name) => ({ name }));
  return {
    openapi: '3.1.0',
    info,
    tags,
    paths,
    components: {
      schemas: { Problem: PROBLEM_SCHEMA },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (spk_…), for machines.' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description: `A browser session. Requests other than GET/HEAD must also send the ${CSRF_HEADER} header.`,
        },
      },
    },
  };
}
