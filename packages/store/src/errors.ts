/**
 * The store's error type: every failure of a database operation surfaces as a StoreError with one of
 * these stable codes, whichever database is underneath, so services can react (a duplicate serial is a
 * UNIQUE_VIOLATION on SQLite and PostgreSQL alike). The driver's error is kept as `cause`.
 */
export const STORE_ERROR_CODES = {
  UNIQUE_VIOLATION: 'A row with the same unique key already exists.',
  FOREIGN_KEY_VIOLATION: 'A referenced row does not exist, or the row is still referenced.',
  CONSTRAINT_VIOLATION: 'A NOT NULL or CHECK constraint was violated.',
  CONFLICT: 'The transaction kept conflicting with concurrent transactions and was given up.',
  UNAVAILABLE: 'The database cannot be reached, or has been closed.',
  QUERY_FAILED: 'The statement is invalid or was used incorrectly.',
  INVALID_CONFIG: 'The database configuration is invalid.',
} as const;

export type StoreErrorCode = keyof typeof STORE_ERROR_CODES;

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? STORE_ERROR_CODES[code], options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
