/** Exit statuses: the CLI's edge mapping of the core error catalogue and verification verdicts. */
import type { ErrorCode, MessageStatus } from '@sealpost/core';

export const EXIT = {
  OK: 0,
  BAD_SIGNATURE: 1,
  LINT_ERRORS: 1,
  USAGE: 2,
  UNTRUSTED: 3,
  SENDER_MISMATCH: 4,
  PARTIALLY_SIGNED: 5,
  NOT_SIGNED: 6,
  MALFORMED: 7,
  DECRYPTION_FAILED: 8,
  NO_RECIPIENT: 9,
  UNSUPPORTED: 10,
  KEY: 11,
  IO: 12,
  /** The server refused the credentials (HTTP 401, 403, 429 lockout). */
  NOT_AUTHORIZED: 13,
  /** The server has no such user, certificate, CA, template, ... (HTTP 404). */
  NOT_FOUND: 14,
  /** It exists already, or is in the wrong state for this (HTTP 409). */
  CONFLICT: 15,
  /** The server failed or is unavailable (HTTP 5xx); the message carries the incident id. */
  SERVER_ERROR: 16,
  /** `audit verify`: the audit chain does not verify. */
  AUDIT_BROKEN: 1,
  INTERNAL: 70,
} as const;

export const EXIT_HELP = `Exit statuses:
  0  success (verify: fully signed, trusted chain, sender matches)
  1  bad signature / cert lint found errors / audit chain broken
  2  usage error
  3  untrusted certificate    4  sender does not match the signer
  5  only partly signed       6  not signed / not S/MIME / still encrypted
  7  malformed input          8  decryption failed
  9  not encrypted to the given keys (recipients resolve: an address has no usable certificate)
 10  unsupported algorithm    11 key or password problem
 12  file could not be read or written, or the server could not be reached
 13  not authorized (bad or missing token, wrong password, permission refused)
 14  not found on the server  15  exists already / wrong state (conflict)
 16  server error (5xx; the message names the incident id)
 70  internal error (a bug: please report it)`;

export function exitForError(code: ErrorCode): number {
  switch (code) {
    case 'ASN1_MALFORMED':
    case 'ASN1_LIMIT':
    case 'PEM_MALFORMED':
    case 'MIME_MALFORMED':
    case 'MIME_LIMIT':
    case 'CERT_MALFORMED':
    case 'CSR_MALFORMED':
    case 'CMS_MALFORMED':
    case 'CMS_LIMIT':
    case 'CRL_MALFORMED':
    case 'OCSP_MALFORMED':
    case 'PKCS12_MALFORMED':
    case 'LDAP_MALFORMED':
    case 'LDAP_LIMIT':
      return EXIT.MALFORMED;
    case 'KEY_MALFORMED':
    case 'KEY_MISMATCH':
    case 'KEY_UNSUITABLE':
    case 'PASSWORD_REQUIRED':
    case 'PASSWORD_WRONG':
      return EXIT.KEY;
    case 'UNSUPPORTED_ALGORITHM':
    case 'UNSUPPORTED_CONTENT':
      return EXIT.UNSUPPORTED;
    case 'NOT_SMIME':
      return EXIT.NOT_SIGNED;
    case 'NO_RECIPIENT':
      return EXIT.NO_RECIPIENT;
    case 'DECRYPTION_FAILED':
      return EXIT.DECRYPTION_FAILED;
    case 'INVALID_ARGUMENT':
      return EXIT.USAGE;
    case 'REVOCATION_UNAVAILABLE':
      return EXIT.IO;
    default:
      return EXIT.INTERNAL;
  }
}

export function exitForStatus(status: MessageStatus): number {
  switch (status) {
    case 'signed':
      return EXIT.OK;
    case 'bad-signature':
      return EXIT.BAD_SIGNATURE;
    case 'untrusted':
      return EXIT.UNTRUSTED;
    case 'sender-mismatch':
      return EXIT.SENDER_MISMATCH;
    case 'partially-signed':
      return EXIT.PARTIALLY_SIGNED;
    case 'not-signed':
    case 'encrypted':
      return EXIT.NOT_SIGNED;
  }
}

/** The operator commands' mapping of the server's HTTP statuses (problem+json answers). */
export function exitForHttpStatus(status: number): number {
  if (status === 401 || status === 403 || status === 429) return EXIT.NOT_AUTHORIZED;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 409) return EXIT.CONFLICT;
  if (status >= 500) return EXIT.SERVER_ERROR;
  // 400, 405, 413, 415, 422: the request itself was wrong.
  return EXIT.USAGE;
}

/** Service and store error codes, for the commands that work on the database directly (`admin create`). */
export function exitForServiceCode(code: string): number {
  switch (code) {
    case 'CONFLICT':
    case 'INVALID_STATE':
    case 'UNIQUE_VIOLATION':
    case 'FOREIGN_KEY_VIOLATION':
      return EXIT.CONFLICT;
    case 'NOT_FOUND':
      return EXIT.NOT_FOUND;
    case 'INVALID_ARGUMENT':
    case 'INVALID_CONFIG':
    case 'CONSTRAINT_VIOLATION':
      return EXIT.USAGE;
    case 'UNAVAILABLE':
      return EXIT.IO;
    case 'MASTER_KEY_MISMATCH':
    case 'MASTER_KEY_INVALID':
    case 'MASTER_KEY_INSECURE':
    case 'MASTER_KEY_UNAVAILABLE':
      return EXIT.KEY;
    default:
      return EXIT.INTERNAL;
  }
}
