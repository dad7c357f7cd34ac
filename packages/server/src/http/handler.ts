/**
 * The request pipeline: route → access check → input parsing and validation → handler → response,
 * with every failure turned into problem+json, and every request logged once and counted.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../logging.ts';
import type { Metrics } from '../metrics.ts';
import { type Authenticator, type Authorize, checkAccess } from './auth.ts';
import { HttpError, PROBLEM_CONTENT_TYPE, toProblem } from './problem.ts';
import {
  type Match,
  parseParameters,
  type RawBody,
  type Reply,
  type Router,
  readJsonBody,
  readRawBody,
  splitTarget,
} from './router.ts';
import { validate } from './schema.ts';

export interface HandlerOptions {
  readonly router: Router;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly bodyLimit: number;
  /** Behind a TLS-terminating reverse proxy: treat requests as secure and accept its X-Request-Id. */
  readonly trustProxy: boolean;
  readonly authenticator: Authenticator | undefined;
  readonly authorize: Authorize;
  /** True once shutdown began: responses then close their connection. */
  readonly draining: () => boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BASE_HEADERS = new Set(['x-request-id', 'x-content-type-options', 'cache-control']);

export function createRequestHandler(o: HandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = process.hrtime.bigint();
    const forwarded = req.headers['x-request-id'];
    const requestId =
      o.trustProxy && typeof forwarded === 'string' && REQUEST_ID.test(forwarded) ? forwarded : randomUUID();
    const log = o.log.child({ requestId });
    const method = req.method ?? 'GET';
    // The path without the query, which may carry identifiers not meant for logs.
    const path = (req.url ?? '/').split('?')[0]!;
    let route = '(unmatched)';
    o.metrics.requestStarted();
    res.setHeader('x-request-id', requestId);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-store');
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      o.metrics.requestFinished(method, route, res.statusCode, seconds);
      const fields = { method, path, route, status: res.statusCode, durationMs: Math.round(seconds * 1e6) / 1e3 };
      if (res.writableFinished) log.info('request', fields);
      else log.warn('request aborted before the response was sent', fields);
    });
    log.debug('request started', { method, path });
    const secure = (req.socket as Partial<TLSSocket>).encrypted === true || o.trustProxy;
    const respond = async () => {
      const target = splitTarget(req.url ?? '/');
      const match = o.router.match(method, target.path);
      route = match.route.path;
      const principal = await checkAccess(
        match.route.auth,
        { method, headers: req.headers, secure },
        o.authenticator,
        o.authorize,
      );
      const input = await parseInput(req, match, target.query, o.bodyLimit);
      const reply = await match.route.handler({ req, requestId, log, secure, principal, ...input });
      send(res, reply, o.draining());
    };
    respond().catch((e: unknown) => {
      const problem = toProblem(e);
      if (problem.incident !== undefined) {
        log.error('request failed', {
          incident: problem.incident.id,
          method,
          path,
          route,
          error: problem.incident.error,
        });
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Headers a failed handler's reply had set (cookies…) must not ride on the problem response.
      for (const name of res.getHeaderNames()) if (!BASE_HEADERS.has(name)) res.removeHeader(name);
      // Unread request body (e.g. a 413) must not be taken for the next request on this connection.
      const closing = o.draining() || !req.readableEnded;
      send(
        res,
        {
          status: problem.document.status,
          json: problem.document,
          contentType: PROBLEM_CONTENT_TYPE,
          headers: problem.headers,
        },
        closing,
      );
    });
  };
}

async function parseInput(
  req: IncomingMessage,
  match: Match,
  query: ReadonlyMap<string, readonly string[]>,
  bodyLimit: number,
): Promise<{ params: Record<string, unknown>; query: unknown; body: unknown; rawBody: RawBody | undefined }> {
  const { route } = match;
  const params = parseParameters(route.params, match.params, '/params');
  const parsedQuery = parseParameters(route.query, query, '/query');
  const errors = [...params.errors, ...parsedQuery.errors];
  let body: unknown;
  let rawBody: RawBody | undefined;
  if (route.body !== undefined) {
    body = await readJsonBody(req, bodyLimit);
    errors.push(...validate(route.body, body, '/body'));
  } else if (route.rawBody !== undefined) {
    rawBody = await readRawBody(req, route.rawBody, bodyLimit);
  } else if (hasBody(req)) {
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `${route.method} ${route.path} takes no request body.`);
  }
  if (errors.length > 0) {
    const summary = errors.map((e) => `${e.pointer}: ${e.message}`).join('; ');
    throw new HttpError('VALIDATION_FAILED', summary, { errors });
  }
  // The values are validated against the route's own schema: the handler's declared type holds.
  return {
    params: params.value as Record<string, string>,
    query: route.query === undefined ? undefined : parsedQuery.value,
    body,
    rawBody,
  };
}

/** RFC 9112 §6.3: a request has a body when it declares a non-zero length or is chunked. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function send(res: ServerResponse, reply: Reply, closeConnection: boolean): void {
  let payload: string | Uint8Array | undefined;
  if (reply.bytes !== undefined) {
    payload = reply.bytes;
    res.setHeader('content-type', reply.contentType ?? 'application/octet-stream');
  } else if (reply.json !== undefined) {
    payload = JSON.stringify(reply.json);
    res.setHeader('content-type', reply.contentType ?? 'application/json; charset=utf-8');
  } else if (reply.text !== undefined) {
    payload = reply.text;
    res.setHeader('content-type', reply.contentType ?? 'text/plain; charset=utf-8');
  }
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (closeConnection) res.setHeader('connection', 'close');
  res.statusCode = reply.status ?? (payload === undefined ? 204 : 200);
  res.end(payload);
}
