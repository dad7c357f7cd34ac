/**
 * Errors as RFC 9457 problem details (`application/problem+json`). This file is the one place where
 * failures become HTTP statuses: the HTTP layer's own errors, the services' ServiceError codes and
 * the store's StoreError codes. Every problem carries a stable `code` that clients may switch on.
 * Server-side failures (5xx) never show their message: the client gets an incident id, and the log
 * holds the details under the same id.
 */
import { randomUUID } from 'node:crypto';
import {
  LintFailedError,
  SERVICE_ERROR_CODES,
  ServiceError,
  type ServiceErrorCode,
  TemplateError,
} from '@sealpost/services';
import { STORE_ERROR_CODES, StoreError, type StoreErrorCode } from '@sealpost/store';
import type { FieldError } from './schema.ts';

/** The HTTP layer's own failures: routing, request parsing, validation, authentication. */
export const HTTP_ERROR_CODES = {
  ROUTE_NOT_FOUND: 'No resource at this path.',
  METHOD_NOT_ALLOWED: 'This resource does not support the method.',
  UNSUPPORTED_MEDIA_TYPE: 'The request body must be application/json (UTF-8).',
  PAYLOAD_TOO_LARGE: 'The request body is larger than the server accepts.',
  MALFORMED_REQUEST: 'The request is not well-formed (invalid JSON, a bad path or query encoding).',
  VALIDATION_FAILED: 'Some fields of the request are invalid; `errors` lists them.',
  UNAUTHENTICATED: 'Authentication is required: a session cookie or a bearer token.',
  CSRF_FAILED: 'A cookie-authenticated request that changes state needs a valid X-CSRF-Token header.',
  FORBIDDEN: 'The principal lacks the permission for this action.',
  SHUTTING_DOWN: 'The server is shutting down; retry on another instance or later.',
  INTERNAL: 'An unexpected error occurred; the incident id identifies it in the server log.',
} as const;
export type HttpErrorCode = keyof typeof HTTP_ERROR_CODES;

export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly errors: readonly FieldError[];
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    code: HttpErrorCode,
    message?: string,
    extra: { errors?: readonly FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(message ?? HTTP_ERROR_CODES[code]);
    this.name = 'HttpError';
    this.code = code;
    this.errors = extra.errors ?? [];
    this.headers = extra.headers ?? {};
  }
}

interface Mapping {
  readonly status: number;
  /** Whether the error's own message is safe and useful to show the client (only for 4xx). */
  readonly showMessage: boolean;
  /** Seconds after which a retry may succeed (503). */
  readonly retryAfter?: number;
}
const client = (status: number): Mapping => ({ status, showMessage: true });
const server = (status: number, retryAfter?: number): Mapping =>
  retryAfter === undefined ? { status, showMessage: false } : { status, showMessage: false, retryAfter };

/** Typed as complete records, so a new code anywhere fails the typecheck until it is mapped here. */
const HTTP_STATUS: Record<HttpErrorCode, Mapping> = {
  ROUTE_NOT_FOUND: client(404),
  METHOD_NOT_ALLOWED: client(405),
  UNSUPPORTED_MEDIA_TYPE: client(415),
  PAYLOAD_TOO_LARGE: client(413),
  MALFORMED_REQUEST: client(400),
  VALIDATION_FAILED: client(422),
  UNAUTHENTICATED: client(401),
  CSRF_FAILED: client(403),
  FORBIDDEN: client(403),
  SHUTTING_DOWN: server(503, 1),
  INTERNAL: server(500),
};

const SERVICE_STATUS: Record<ServiceErrorCode, Mapping> = {
  INVALID_ARGUMENT: client(422),
  SECRET_NOT_FOUND: client(404),
  NOT_FOUND: client(404),
  CONFLICT: client(409),
  INVALID_STATE: client(409),
  FOUR_EYES: client(403),
  UNAUTHENTICATED: client(401),
  ACCOUNT_LOCKED: { status: 429, showMessage: true, retryAfter: 60 },
  FORBIDDEN: client(403),
  TOO_LARGE: client(413),
  IMPORT_INVALID: client(422),
  TEMPLATE_INVALID: client(422),
  KEY_REJECTED: client(422),
  CSR_INVALID: client(422),
  LINT_FAILED: client(422),
  // An external LDAP/AD directory failed: a gateway problem, shown because it names which directory.
  DIRECTORY_UNAVAILABLE: { status: 502, showMessage: true, retryAfter: 30 },
  DIRECTORY_ERROR: client(502),
  // Integrity and key failures are the server's problem, and their details are for the operator.
  SECRET_TAMPERED: server(500),
  MASTER_KEY_MISMATCH: server(500),
  MASTER_KEY_INVALID: server(500),
  MASTER_KEY_INSECURE: server(500),
  MASTER_KEY_UNAVAILABLE: server(503, 5),
  // A service tried to audit a secret: a bug, not the client's fault.
  AUDIT_SECRET_IN_DETAILS: server(500),
  AUDIT_DETAILS_INVALID: server(500),
};

/**
 * Store errors that reach the edge show the catalogue text, never the driver's message (which names
 * tables and constraints).
 */
const STORE_STATUS: Record<StoreErrorCode, Mapping> = {
  UNIQUE_VIOLATION: client(409),
  FOREIGN_KEY_VIOLATION: client(409),
  CONSTRAINT_VIOLATION: client(422),
  CONFLICT: server(503, 1),
  UNAVAILABLE: server(503, 5),
  QUERY_FAILED: server(500),
  INVALID_CONFIG: server(500),
};

/** The body of an `application/problem+json` response (RFC 9457 §3) with Sealpost's extensions. */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  /** Field errors (VALIDATION_FAILED), each naming its field with a JSON Pointer. */
  readonly errors?: readonly FieldError[];
  /** For 5xx: the id under which the server logged what happened. */
  readonly incident?: string;
  /** LINT_FAILED: the S/MIME BR lint's error findings that blocked issuance. */
  readonly findings?: readonly { readonly rule: string; readonly section: string; readonly message: string }[];
}

export interface Problem {
  readonly document: ProblemDocument;
  readonly headers: Readonly<Record<string, string>>;
  /** The error to log with the incident id, for server-side failures. */
  readonly incident?: { readonly id: string; readonly error: unknown };
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** `type` URIs name the code; they identify the problem type and are not meant to be dereferenced. */
export const problemType = (code: string) => `urn:sealpost:problem:${code.toLowerCase().replaceAll('_', '-')}`;

/** Maps any thrown value to the problem the client sees. */
export function toProblem(e: unknown): Problem {
  let mapping: Mapping;
  let code: string;
  let title: string;
  let errors: readonly FieldError[] | undefined;
  let findings: ProblemDocument['findings'];
  let headers: Record<string, string> = {};
  if (e instanceof HttpError) {
    mapping = HTTP_STATUS[e.code];
    code = e.code;
    title = HTTP_ERROR_CODES[e.code];
    if (e.errors.length > 0) errors = e.errors;
    headers = { ...e.headers };
  } else if (e instanceof ServiceError) {
    mapping = SERVICE_STATUS[e.code];
    code = e.code;
    title = SERVICE_ERROR_CODES[e.code];
    // The template field as a pointer into the request body, e.g. keys.rsaMinBits → /body/keys/rsaMinBits.
    if (e instanceof TemplateError) {
      const at = e.field === '(body)' ? '/body' : `/body/${e.field.replaceAll('.', '/')}`;
      errors = [{ pointer: at, message: e.message }];
    }
    if (e instanceof LintFailedError) {
      findings = e.findings.map((f) => ({ rule: f.rule, section: f.section, message: f.message }));
    }
  } else if (e instanceof StoreError) {
    // The driver's message may name tables and values: show only the catalogue text.
    mapping = { ...STORE_STATUS[e.code], showMessage: false };
    code = e.code;
    title = STORE_ERROR_CODES[e.code];
  } else {
    mapping = HTTP_STATUS.INTERNAL;
    code = 'INTERNAL';
    title = HTTP_ERROR_CODES.INTERNAL;
  }
  if (mapping.retryAfter !== undefined) headers['retry-after'] = String(mapping.retryAfter);
  // RFC 9110 §15.5.2: a 401 names the scheme that would work.
  if (mapping.status === 401) headers['www-authenticate'] = 'Bearer realm="sealpost"';
  const isServerError = mapping.status >= 500;
  const incident = isServerError ? { id: randomUUID(), error: e } : undefined;
  const detail = mapping.showMessage && e instanceof Error ? e.message : title;
  const document: ProblemDocument = {
    type: problemType(code),
    title,
    status: mapping.status,
    detail: incident === undefined ? detail : `${detail} (incident ${incident.id})`,
    code,
    ...(errors === undefined ? {} : { errors }),
    ...(findings === undefined ? {} : { findings }),
    ...(incident === undefined ? {} : { incident: incident.id }),
  };
  return incident === undefined ? { document, headers } : { document, headers, incident };
}
