/**
 * The error catalogue: every failure Sealpost reports carries one of these stable codes.
 * Codes never change meaning; edges (CLI exit statuses, HTTP, SMTP) map them, the core never does.
 */
export const ERROR_CODES = {
  ASN1_MALFORMED: 'The DER/BER encoding is malformed.',
  ASN1_LIMIT: 'The encoding exceeds a size, depth or element-count limit.',
  PEM_MALFORMED: 'The PEM or base64 text is malformed.',
  MIME_MALFORMED: 'The MIME message is malformed.',
  MIME_LIMIT: 'The MIME message exceeds a size, header or nesting limit.',
  CERT_MALFORMED: 'The certificate is malformed.',
  CSR_MALFORMED: 'The certificate request (PKCS#10) is malformed.',
  CMS_MALFORMED: 'The CMS structure is malformed.',
  CMS_LIMIT: 'The CMS structure exceeds a limit (signers, recipients, certificates, nesting).',
  KEY_MALFORMED: 'The private or public key cannot be read.',
  KEY_MISMATCH: 'The private key does not belong to the certificate.',
  KEY_UNSUITABLE: 'The key or certificate cannot be used for this operation.',
  PASSWORD_REQUIRED: 'The key is encrypted and no password was given.',
  PASSWORD_WRONG: 'The password is wrong.',
  UNSUPPORTED_ALGORITHM: 'The algorithm is not supported.',
  UNSUPPORTED_CONTENT: 'The content type is not supported.',
  NOT_SMIME: 'The message is neither signed nor encrypted with S/MIME.',
  NO_RECIPIENT: 'The message is not encrypted to any of the given keys.',
  DECRYPTION_FAILED: 'The message could not be decrypted.',
  INVALID_ARGUMENT: 'An argument is missing or invalid.',
  CRL_MALFORMED: 'The certificate revocation list (CRL) is malformed.',
  OCSP_MALFORMED: 'The OCSP request or response is malformed.',
  REVOCATION_UNAVAILABLE: 'Revocation information could not be obtained (offline, timeout, size cap or server error).',
  PKCS12_MALFORMED: 'The PKCS#12 file is malformed.',
  LDAP_MALFORMED: 'The LDAP message (RFC 4511), search filter (RFC 4515) or DN (RFC 4514) is malformed.',
  LDAP_LIMIT: 'The LDAP message or filter exceeds a size, nesting or element-count limit.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SealpostError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code], options);
    this.name = 'SealpostError';
    this.code = code;
  }
}

export function fail(code: ErrorCode, message?: string): never {
  throw new SealpostError(code, message);
}

export function isSealpostError(e: unknown, code?: ErrorCode): e is SealpostError {
  return e instanceof SealpostError && (code === undefined || e.code === code);
}
