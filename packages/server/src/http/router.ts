/**
 * Routes and request input: method + path patterns with `{name}` parameters (the OpenAPI path
 * syntax, so the patterns go into the API description unchanged), query strings, and JSON bodies
 * with a size cap. Each route declares everything the API description needs: the router is also
 * the registry that `openapi.ts` reads.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logging.ts';
import type { Access, Principal } from './auth.ts';
import { HttpError } from './problem.ts';
import { coerceParameters, type FieldError, type Infer, type ObjectSchema, type Schema, validate } from './schema.ts';

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type Method = (typeof METHODS)[number];

export interface ResponseSpec {
  readonly description: string;
  /** The JSON body's schema; absent for empty or non-JSON bodies. */
  readonly schema?: Schema;
  /** For non-JSON bodies, e.g. the metrics text. */
  readonly contentType?: string;
}

/** What a handler returns: a JSON body, a text body, bytes, or none (204 unless a status is given). */
export interface Reply {
  readonly status?: number;
  readonly json?: unknown;
  readonly text?: string;
  /** A binary body (e.g. a DER CRL); `contentType` defaults to application/octet-stream. */
  readonly bytes?: Uint8Array;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
}

type Input<S> = S extends Schema ? Infer<S> : undefined;
type Parameters<S> = S extends ObjectSchema ? Infer<S> : Record<string, string>;

export interface Context<B, Q, P> {
  readonly req: IncomingMessage;
  readonly requestId: string;
  readonly log: Logger;
  /** Whether the client reached us over TLS (directly or through the trusted proxy): cookies get `Secure`. */
  readonly secure: boolean;
  /** The caller; undefined only on public routes. */
  readonly principal: Principal | undefined;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** The request body of a route declaring `rawBody`, with its media type (lower-case, no parameters). */
  readonly rawBody: RawBody | undefined;
}

export interface RawBody {
  readonly type: string;
  readonly bytes: Uint8Array;
}

/** A route taking a non-JSON body (CSV, DER, PEM…): the media types it accepts and its size cap. */
export interface RawBodySpec {
  /** Accepted media types, lower-case, e.g. `application/ocsp-request`. */
  readonly types: readonly string[];
  /** At most this many bytes; default the server's body limit. */
  readonly limit?: number;
  /** Whether a request may leave the body out; default false. */
  readonly optional?: boolean;
}

export interface RouteSpec<
  B extends Schema | undefined,
  Q extends ObjectSchema | undefined,
  P extends ObjectSchema | undefined,
> {
  readonly method: Method;
  /** `/api/v1/users/{id}`: literal segments and whole-segment parameters. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly auth: Access;
  /** Path parameters' schemas; without it every parameter is a non-empty string. */
  readonly params?: P;
  readonly query?: Q;
  /** The JSON body's schema; a route without one (or `rawBody`) accepts no body. */
  readonly body?: B;
  /** Instead of `body`: a non-JSON body, handed over unparsed as `rawBody`. */
  readonly rawBody?: RawBodySpec;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  handler(context: Context<Input<B>, Input<Q>, Parameters<P>>): Reply | Promise<Reply>;
}

/** A route with its input types erased, as the router stores it. */
export interface Route {
  readonly method: Method;
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly auth: Access;
  readonly params?: ObjectSchema;
  readonly query?: ObjectSchema;
  readonly body?: Schema;
  readonly rawBody?: RawBodySpec;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  handler(context: Context<unknown, unknown, Record<string, unknown>>): Reply | Promise<Reply>;
}

/** Declares a route, typing its handler's input from its schemas. */
export function defineRoute<
  B extends Schema | undefined = undefined,
  Q extends ObjectSchema | undefined = undefined,
  P extends ObjectSchema | undefined = undefined,
>(spec: RouteSpec<B, Q, P>): Route {
  if (spec.body !== undefined && spec.rawBody !== undefined) {
    throw new Error(`route ${spec.method} ${spec.path} declares both a JSON body and a raw body`);
  }
  return spec as unknown as Route;
}

type Segment = { readonly literal: string } | { readonly param: string };

interface Compiled {
  readonly route: Route;
  readonly segments: readonly Segment[];
}

export interface Match {
  readonly route: Route;
  readonly params: ReadonlyMap<string, readonly string[]>;
}

export class Router {
  readonly #compiled: Compiled[] = [];

  add(...routes: Route[]): this {
    for (const route of routes) {
      const segments = compile(route);
      const shape = shapeOf(segments);
      if (this.#compiled.some((c) => c.route.method === route.method && shapeOf(c.segments) === shape)) {
        throw new Error(`route ${route.method} ${route.path} is registered twice`);
      }
      this.#compiled.push({ route, segments });
      // Literal segments win over parameters, so /users/me is not taken for /users/{id}.
      this.#compiled.sort((a, b) => specificity(b.segments).localeCompare(specificity(a.segments)));
    }
    return this;
  }

  /** The registered routes, in registration-independent order. */
  routes(): Route[] {
    return this.#compiled.map((c) => c.route).sort((a, b) => (a.path === b.path ? 0 : a.path < b.path ? -1 : 1));
  }

  /** The route for a request, or 404 (no such path) / 405 (path exists, method does not). */
  match(method: string, path: string): Match {
    const parts = splitPath(path);
    const allowed = new Set<string>();
    for (const { route, segments } of this.#compiled) {
      const params = matchSegments(segments, parts);
      if (params === undefined) continue;
      // HEAD is GET without the body (RFC 9110 §9.3.2); Node omits the body itself.
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
      allowed.add(route.method);
      if (route.method === 'GET') allowed.add('HEAD');
    }
    if (allowed.size === 0) throw new HttpError('ROUTE_NOT_FOUND', `No resource at ${path}.`);
    const allow = [...allowed].sort().join(', ');
    throw new HttpError('METHOD_NOT_ALLOWED', `${path} supports ${allow}.`, { headers: { allow } });
  }
}

function compile(route: Route): Segment[] {
  if (!route.path.startsWith('/')) throw new Error(`route path ${route.path} must start with /`);
  const segments = route.path
    .slice(1)
    .split('/')
    .map((part): Segment => {
      const m = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(part);
      if (m !== null) return { param: m[1]! };
      if (/[{}]/.test(part)) throw new Error(`route ${route.path}: a parameter must be a whole segment`);
      return { literal: part };
    });
  const names = segments.flatMap((s) => ('param' in s ? [s.param] : []));
  const declared = Object.keys(route.params?.properties ?? {});
  if (route.params !== undefined && declared.sort().join() !== [...names].sort().join()) {
    throw new Error(`route ${route.path}: params must declare exactly ${names.join(', ') || 'nothing'}`);
  }
  if (new Set(names).size !== names.length) throw new Error(`route ${route.path} repeats a parameter`);
  return segments;
}

const shapeOf = (segments: readonly Segment[]) => segments.map((s) => ('param' in s ? '{}' : s.literal)).join('/');
/** Per segment, 1 for a literal and 0 for a parameter: sorting these descending puts literals first. */
const specificity = (segments: readonly Segment[]) => segments.map((s) => ('param' in s ? '0' : '1')).join('');

/** Splits a path into decoded segments; a malformed %-escape is the client's error. */
function splitPath(path: string): string[] {
  return path
    .slice(1)
    .split('/')
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        throw new HttpError('MALFORMED_REQUEST', `The path segment "${part}" has an invalid %-escape.`);
      }
    });
}

function matchSegments(
  segments: readonly Segment[],
  parts: readonly string[],
): Map<string, readonly string[]> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params = new Map<string, readonly string[]>();
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if ('literal' in segment) {
      if (segment.literal !== part) return undefined;
    } else {
      if (part === '') return undefined;
      params.set(segment.param, [part]);
    }
  }
  return params;
}

/** Splits a request target (origin-form, RFC 9112 §3.2.1) into its path and query. */
export function splitTarget(url: string): { path: string; query: Map<string, string[]> } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!path.startsWith('/')) throw new HttpError('MALFORMED_REQUEST', 'The request target must be a path.');
  const query = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(q < 0 ? '' : url.slice(q + 1))) {
    const values = query.get(name);
    if (values === undefined) query.set(name, [value]);
    else values.push(value);
  }
  return { path, query };
}

/** Path parameters or query values, converted and validated against the route's schema. */
export function parseParameters(
  schema: ObjectSchema | undefined,
  values: ReadonlyMap<string, readonly string[]>,
  at: '/params' | '/query',
): { value: Record<string, unknown>; errors: FieldError[] } {
  if (schema === undefined) {
    // Undeclared query parameters are refused like undeclared body fields; undeclared path parameters are plain strings.
    const errors =
      at === '/query'
        ? [...values.keys()].map((name) => ({ pointer: `/query/${name}`, message: 'is not allowed' }))
        : [];
    return { value: Object.fromEntries([...values].map(([k, v]) => [k, v[0]])), errors };
  }
  const { value, errors } = coerceParameters(schema, values, at);
  return { value, errors: [...errors, ...validate(schema, value, at)] };
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * Reads a JSON request body of at most `limit` bytes. The media type must be application/json, in
 * UTF-8 (RFC 8259 §8.1); a declared Content-Length above the limit is refused before reading.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'];
  const [media, ...parameters] = (type ?? '').split(';').map((p) => p.trim().toLowerCase());
  const charset = parameters
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replaceAll('"', '');
  if (media !== 'application/json' || (charset !== undefined && charset !== 'utf-8')) {
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      type === undefined
        ? 'The request needs a JSON body with Content-Type: application/json.'
        : `The request body is ${type}; it must be application/json (UTF-8).`,
    );
  }
  const tooLarge = () => new HttpError('PAYLOAD_TOO_LARGE', `The request body must not exceed ${limit} bytes.`);
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > limit) throw tooLarge();
  const chunks = await readAtMost(req, limit, tooLarge);
  const size = chunks.reduce((n, c) => n + c.length, 0);
  if (size === 0) throw new HttpError('MALFORMED_REQUEST', 'The request body is empty; it must be JSON.');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, size));
  } catch {
    throw new HttpError('MALFORMED_REQUEST', 'The request body is not valid UTF-8.');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError('MALFORMED_REQUEST', `The request body is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Reads a non-JSON request body: its media type must be one of `spec.types` (parameters such as
 * charset are ignored) and it must fit in the limit. An empty body is refused unless optional.
 */
export async function readRawBody(
  req: IncomingMessage,
  spec: RawBodySpec,
  limit: number,
): Promise<RawBody | undefined> {
  const type = req.headers['content-type'];
  const media = (type ?? '').split(';')[0]!.trim().toLowerCase();
  const max = spec.limit ?? limit;
  const tooLarge = () => new HttpError('PAYLOAD_TOO_LARGE', `The request body must not exceed ${max} bytes.`);
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > max) throw tooLarge();
  if (type === undefined && spec.optional === true && declared === 0) return undefined;
  if (!spec.types.includes(media)) {
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `The request body ${type === undefined ? 'has no Content-Type' : `is ${type}`}; it must be ${spec.types.join(' or ')}.`,
    );
  }
  const chunks = await readAtMost(req, max, tooLarge);
  const size = chunks.reduce((n, c) => n + c.length, 0);
  if (size === 0) {
    if (spec.optional === true) return undefined;
    throw new HttpError('MALFORMED_REQUEST', `The request body is empty; it must be ${spec.types.join(' or ')}.`);
  }
  return { type: media, bytes: Buffer.concat(chunks, size) };
}

/**
 * Collects the body, or rejects as soon as it exceeds the limit. It stops reading rather than
 * destroying the request, so the 413 can still be sent (with Connection: close, which drops the rest).
 */
function readAtMost(req: IncomingMessage, limit: number, tooLarge: () => Error): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (error?: unknown) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (error === undefined) resolve(chunks);
      else {
        req.pause();
        reject(error);
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = (e: Error) => done(e);
    const onAborted = () => done(new HttpError('MALFORMED_REQUEST', 'The client aborted the request body.'));
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}
