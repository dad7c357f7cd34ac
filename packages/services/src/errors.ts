/**
 * The services' error catalogue: every failure a domain service reports carries one of these stable
 * codes. Codes never change meaning; the edges (HTTP API, CLI) map them to statuses.
 */
export const SERVICE_ERROR_CODES = {
  INVALID_ARGUMENT: 'An argument is missing or invalid.',
  SECRET_NOT_FOUND: 'No stored secret has this id.',
  SECRET_TAMPERED:
    'A stored secret or data key failed its integrity check (altered, moved to another row, or read with the wrong context).',
  MASTER_KEY_MISMATCH: 'The data is wrapped by a master key this server does not hold.',
  MASTER_KEY_INVALID: 'The master key is malformed (it must be 32 bytes, base64-encoded).',
  MASTER_KEY_INSECURE: 'The master key file is readable by other users or is not a regular file.',
  MASTER_KEY_UNAVAILABLE: 'The master key could not be obtained (missing file, failing or slow key command).',
  AUDIT_SECRET_IN_DETAILS: 'Audit details must not contain secrets (passwords, private keys, tokens).',
  AUDIT_DETAILS_INVALID: 'Audit details must be plain JSON data.',
  NOT_FOUND: 'The requested thing (user, account, token, certificate, key, request, anchor...) does not exist.',
  CONFLICT: 'The change conflicts with what is stored (a duplicate, or the thing is already done).',
  INVALID_STATE: 'The request is not in a state that allows this step (e.g. releasing an unapproved recovery).',
  FOUR_EYES: 'A key recovery must be approved by an administrator other than the one who requested it.',
  UNAUTHENTICATED: 'The credentials are wrong, expired or revoked.',
  ACCOUNT_LOCKED: 'Too many failed logins: the account or source is locked for a while.',
  FORBIDDEN: 'The principal lacks the permission for this action.',
  TOO_LARGE: 'The input is larger than the configured limit.',
  IMPORT_INVALID: 'An import contains invalid rows or certificates (the error lists each with its reason).',
  TEMPLATE_INVALID: 'A certificate template field is invalid (the error names the field).',
  KEY_REJECTED: "The key's algorithm or size is not allowed by the template.",
  CSR_INVALID: 'The certificate request is malformed or its signature does not prove possession of the key.',
  LINT_FAILED: 'The certificate to be issued breaks the S/MIME Baseline Requirements (the error lists the findings).',
  DIRECTORY_UNAVAILABLE:
    'An external LDAP directory could not be reached, failed TLS, timed out, dropped the connection or said it is busy; try again later.',
  DIRECTORY_ERROR:
    'An external LDAP directory refused an operation (the error carries the LDAP result code and diagnostic message).',
} as const;

export type ServiceErrorCode = keyof typeof SERVICE_ERROR_CODES;

export class ServiceError extends Error {
  readonly code: ServiceErrorCode;
  constructor(code: ServiceErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? SERVICE_ERROR_CODES[code], options);
    this.name = 'ServiceError';
    this.code = code;
  }
}

export function isServiceError(e: unknown, code?: ServiceErrorCode): e is ServiceError {
  return e instanceof ServiceError && (code === undefined || e.code === code);
}
