import { type LdapResult, ResultCode } from '@sealpost/core/ldap';
import { ServiceError } from '@sealpost/services';

/**
 * A failure talking to an external directory. It is a ServiceError, so the edges map it like any
 * other: `DIRECTORY_UNAVAILABLE` for what a retry may cure (connection refused or lost, TLS failure,
 * timeout, the server busy or unavailable), `DIRECTORY_ERROR` for an LDAP result the server chose
 * (no such entry, invalid credentials, a constraint) with its `resultCode` and `diagnosticMessage`.
 * Messages name the server and the operation, never a password.
 */
export class LdapError extends ServiceError {
  /** The RFC 4511 §4.1.9 resultCode when the server answered; undefined for transport failures. */
  readonly resultCode: number | undefined;
  readonly diagnosticMessage: string | undefined;
  readonly matchedDn: string | undefined;

  constructor(
    code: 'DIRECTORY_UNAVAILABLE' | 'DIRECTORY_ERROR',
    message: string,
    options: { cause?: unknown; result?: LdapResult } = {},
  ) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'LdapError';
    this.resultCode = options.result?.resultCode;
    this.diagnosticMessage = options.result?.diagnosticMessage;
    this.matchedDn = options.result?.matchedDN;
  }

  /** The error for a non-success LDAPResult of `operation` ("search of ou=people,…", "bind as cn=…"). */
  static fromResult(server: string, operation: string, result: LdapResult): LdapError {
    const code = TRANSIENT.has(result.resultCode) ? 'DIRECTORY_UNAVAILABLE' : 'DIRECTORY_ERROR';
    const diagnostic = result.diagnosticMessage === '' ? '' : `: ${result.diagnosticMessage}`;
    return new LdapError(
      code,
      `${server}: ${operation} failed with ${resultCodeName(result.resultCode)} (${result.resultCode})${diagnostic}`,
      { result },
    );
  }
}

/** Result codes that say "not now" rather than "no": busy, unavailable. */
const TRANSIENT = new Set<number>([ResultCode.busy, ResultCode.unavailable]);

const NAMES = new Map<number, string>(Object.entries(ResultCode).map(([name, code]) => [code, name]));

export function resultCodeName(code: number): string {
  return NAMES.get(code) ?? `resultCode ${code}`;
}

export function isLdapError(e: unknown, resultCode?: number): e is LdapError {
  return e instanceof LdapError && (resultCode === undefined || e.resultCode === resultCode);
}
