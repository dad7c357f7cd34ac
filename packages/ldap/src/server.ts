/**
 * The read-only LDAPv3 key server (RFC 4511, RFC 4513) that mail clients — Outlook, Thunderbird,
 * gpgsm through dirmngr — query for recipients' certificates. It runs on node:net and node:tls over
 * the codec of `@sealpost/core/ldap`; the entries come from an `LdapBackend`.
 *
 *   const server = await startLdapServer({ backend, port: 389, namingContexts: ['dc=example,dc=org'],
 *     tls: { key, cert }, ldaps: { port: 636 } });
 *   server.address();      // { host, port } of the ldap:// listener (port 0 picks a free one)
 *   server.ldapsAddress(); // of the ldaps:// listener, when configured
 *   server.connections;    // open sessions on both listeners
 *   await server.close();  // stop accepting, send every session a Notice of Disconnection, wait for them
 *
 * Operations: bind (anonymous and simple; SASL answers authMethodNotSupported), unbind, search with
 * the paged results control (RFC 2696), abandon, and the extended operations StartTLS (RFC 4511
 * §4.14) and Who am I? (RFC 4532). Writes answer unwillingToPerform. The server answers the root DSE
 * (RFC 4512 §5.1) itself and applies the attribute selection and the size and time limits to the
 * backend's entries. An undecodable message ends its session with a Notice of Disconnection
 * (protocolError). Events go to `log`, never with a password.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import { SealpostError } from '@sealpost/core';
import { encodeLdapMessage, ResultCode, type SearchScope } from '@sealpost/core/ldap';
import type { LdapBackend } from './backend.ts';
import { LdapConnection, noticeOfDisconnection } from './connection.ts';
import { rootDse } from './root-dse.ts';

export interface LdapServerLimits {
  /** Open sessions across both listeners; a client beyond it gets a Notice of Disconnection (unavailable). */
  readonly maxConnections: number;
  /** Largest request accepted; a longer one ends the session as soon as its header arrives. */
  readonly maxMessageBytes: number;
  /** Searches running at once on one connection; more are answered `busy`. */
  readonly maxOutstandingPerConnection: number;
  /** Most entries one search (or one page) returns, whatever the client's sizeLimit. */
  readonly maxSizeLimit: number;
  /** Longest a search may take, whatever the client's timeLimit. */
  readonly maxTimeLimitSeconds: number;
  /**
   * A session with no traffic for this long is closed; one whose client stops reading its responses
   * for this long is dropped.
   */
  readonly idleTimeoutMs: number;
  /** Responses queued for a client that does not read them; beyond this the session is dropped. */
  readonly maxBufferedOutboundBytes: number;
}

export const DEFAULT_LDAP_SERVER_LIMITS: LdapServerLimits = Object.freeze({
  maxConnections: 4096,
  maxMessageBytes: 128 * 1024,
  maxOutstandingPerConnection: 32,
  maxSizeLimit: 1000,
  maxTimeLimitSeconds: 60,
  idleTimeoutMs: 5 * 60 * 1000,
  maxBufferedOutboundBytes: 1024 * 1024,
});

/** A structured event for the operator's log. Bind events carry the DN, never the password. */
export type LdapServerEvent =
  | { readonly event: 'connect'; readonly connection: number; readonly remote: string; readonly ldaps: boolean }
  | { readonly event: 'refuse'; readonly remote: string; readonly reason: string }
  | { readonly event: 'bind'; readonly connection: number; readonly dn: string; readonly resultCode: number }
  | {
      readonly event: 'search';
      readonly connection: number;
      readonly messageId: number;
      readonly base: string;
      readonly scope: SearchScope;
      readonly filter: string;
      readonly entries: number;
      /** Null when nothing was sent to end it: abandoned, or the session ended. */
      readonly resultCode: number | null;
    }
  | { readonly event: 'startTls'; readonly connection: number; readonly resultCode: number }
  | { readonly event: 'error'; readonly connection: number; readonly message: string }
  | { readonly event: 'disconnect'; readonly connection: number; readonly reason: string };

export interface LdapServerOptions {
  readonly backend: LdapBackend;
  /** Address of the ldap:// listener; 127.0.0.1 by default. */
  readonly host?: string;
  /** Port of the ldap:// listener (389 is the standard one); 0 picks a free port. */
  readonly port: number;
  /** Server certificate and key (PEM) for LDAPS and StartTLS. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** An ldaps:// listener (636 is the standard port); needs `tls`. Its host defaults to `host`. */
  readonly ldaps?: { readonly host?: string; readonly port: number };
  /** Offer StartTLS on the ldap:// listener; true by default when `tls` is given. */
  readonly startTls?: boolean;
  /** The base DNs the directory holds, advertised in the root DSE. */
  readonly namingContexts: readonly string[];
  /**
   * Answer searches without a bind; true by default. When false, only the root DSE is readable
   * anonymously: other searches answer insufficientAccessRights and an anonymous bind
   * inappropriateAuthentication (RFC 4513 §5.1.1).
   */
  readonly anonymous?: boolean;
  /** Refuse simple binds (confidentialityRequired) outside TLS; true by default when `tls` is given. */
  readonly requireTlsForBind?: boolean;
  readonly limits?: Partial<LdapServerLimits>;
  readonly log?: (event: LdapServerEvent) => void;
}

export interface LdapServer {
  /** Where the ldap:// listener is bound (the actual port when 0 was asked for). */
  address(): { readonly host: string; readonly port: number };
  /** Where the ldaps:// listener is bound; undefined without one. */
  ldapsAddress(): { readonly host: string; readonly port: number } | undefined;
  /** Open sessions on both listeners. */
  readonly connections: number;
  /** Stops accepting, ends every session with a Notice of Disconnection (unavailable); resolves once all are closed. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_HOST = '127.0.0.1';

export async function startLdapServer(options: LdapServerOptions): Promise<LdapServer> {
  const limits: LdapServerLimits = { ...DEFAULT_LDAP_SERVER_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new SealpostError('INVALID_ARGUMENT', `LDAP server limit ${name} must be a positive integer`);
    }
  }
  if (options.tls === undefined && (options.ldaps !== undefined || options.startTls === true)) {
    throw new SealpostError('INVALID_ARGUMENT', 'LDAPS and StartTLS need a certificate and key (tls)');
  }
  const secureContext: SecureContext | undefined = options.tls
    ? createSecureContext({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' })
    : undefined;
  const startTls = secureContext !== undefined && options.startTls !== false;
  const log = options.log ?? (() => {});
  const context = {
    backend: options.backend,
    limits,
    anonymous: options.anonymous ?? true,
    requireTlsForBind: options.requireTlsForBind ?? secureContext !== undefined,
    startTls: startTls ? secureContext : undefined,
    rootDse: rootDse({ namingContexts: options.namingContexts, startTls }),
    log,
  };

  const sessions = new Set<LdapConnection>();
  let nextId = 1;
  const accept = (socket: Socket, ldaps: boolean) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', () => {});
    if (sessions.size >= limits.maxConnections) {
      log({ event: 'refuse', remote, reason: `${limits.maxConnections} connections are open` });
      refuse(socket, ldaps);
      return;
    }
    socket.setNoDelay(true);
    const id = nextId++;
    const transport = ldaps && secureContext ? new TLSSocket(socket, { isServer: true, secureContext }) : socket;
    const session = new LdapConnection(id, transport, ldaps, context);
    sessions.add(session);
    log({ event: 'connect', connection: id, remote, ldaps });
    void session.closed.then(() => sessions.delete(session));
  };

  const plain = createServer((socket) => accept(socket, false));
  const secure = options.ldaps ? createServer((socket) => accept(socket, true)) : undefined;
  const host = options.host ?? DEFAULT_HOST;
  try {
    await listen(plain, host, options.port);
    if (secure && options.ldaps) await listen(secure, options.ldaps.host ?? host, options.ldaps.port);
  } catch (e) {
    plain.close();
    secure?.close();
    throw e;
  }

  let closing: Promise<void> | undefined;
  return {
    address: () => addressOf(plain),
    ldapsAddress: () => (secure ? addressOf(secure) : undefined),
    get connections() {
      return sessions.size;
    },
    close() {
      closing ??= Promise.all([
        stop(plain),
        ...(secure ? [stop(secure)] : []),
        ...[...sessions].map((s) => s.shutdown()),
      ]).then(() => undefined);
      return closing;
    },
  };
}

/** A client beyond maxConnections: told why (RFC 4511 §4.4.1) where it can be, then closed. */
function refuse(socket: Socket, ldaps: boolean): void {
  const timer = setTimeout(() => socket.destroy(), 1000);
  socket.on('close', () => clearTimeout(timer));
  if (ldaps) {
    // No TLS session yet to carry a notice.
    socket.end();
    return;
  }
  socket.end(encodeLdapMessage(noticeOfDisconnection(ResultCode.unavailable, 'too many connections; try again later')));
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function addressOf(server: Server): { host: string; port: number } {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new SealpostError('INVALID_ARGUMENT', 'not listening');
  return { host: address.address, port: address.port };
}
