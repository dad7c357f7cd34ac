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
