/**
 * An LDAPv3 client (RFC 4511) for Sealpost's own connections to external directories: publishing
 * certificates, importing people and groups, looking up partners' certificates. It speaks the
 * protocol through `@sealpost/core/ldap` and adds only the socket: `ldap://` (optionally upgraded by
 * StartTLS, RFC 4511 §4.14) or `ldaps://`, requests multiplexed by message ID, a timeout on every
 * wait for the server, and AbortSignal support. Failures are LdapError (./ldap-error.ts).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import {
  type Control,
  decodeLdapMessage,
  decodePagedResults,
  encodeLdapMessage,
  encodePagedResults,
  type Filter,
  formatFilter,
  type LdapLimits,
  type LdapMessage,
  LdapOid,
  type LdapResult,
  type ModifyOperation,
  type PartialAttribute,
  type ProtocolOp,
  parseFilter,
  ResultCode,
  readLdapFrame,
  type SearchRequest,
  type SearchScope,
} from '@sealpost/core/ldap';
import { LdapError } from './ldap-error.ts';

export interface LdapTlsOptions {
  /** Trusted CA certificates (PEM); default Node's bundled roots. */
  readonly ca?: string | readonly string[];
  /** The name the server certificate must carry (and the SNI name); default the URL's host. */
  readonly servername?: string;
  /** Default true. False accepts any certificate: for a test directory only. */
  readonly rejectUnauthorized?: boolean;
}

export interface LdapClientOptions {
  /** `ldap://host[:389]` or `ldaps://host[:636]`; a DN or other URL parts are ignored. */
  readonly url: string;
  /** Upgrade an `ldap://` connection with StartTLS before anything else is sent. */
  readonly startTls?: boolean;
  readonly tls?: LdapTlsOptions;
  /** For TCP, TLS and StartTLS together; default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Default for operations: how long to wait for the server's next response; default 30 s. */
  readonly timeoutMs?: number;
  /** Aborts connecting. */
  readonly signal?: AbortSignal;
  /** Decoding limits for responses; default CLIENT_LIMITS. */
  readonly limits?: Partial<LdapLimits>;
}

export interface OperationOptions {
  readonly signal?: AbortSignal;
  /** How long to wait for the server's next response (each entry restarts it); default the client's. */
  readonly timeoutMs?: number;
}

export interface SearchOptions extends OperationOptions {
  readonly base: string;
  /** Default `sub`. */
  readonly scope?: SearchScope;
  /** RFC 4515 text or a parsed filter; default `(objectClass=*)`. */
  readonly filter?: string | Filter;
  /** Default all user attributes. */
  readonly attributes?: readonly string[];
  /** Most entries the server returns (sizeLimitExceeded after that); default 0, no client limit. */
  readonly sizeLimit?: number;
  /** Seconds the server may spend; default 0, no client limit. */
  readonly timeLimit?: number;
  /** Ask for pages of this many entries with the RFC 2696 control; the next page is requested as the last one is consumed. */
  readonly pageSize?: number;
}

export interface Modification {
  readonly operation: ModifyOperation;
  readonly type: string;
  /** Strings are sent as UTF-8. A `delete` without values removes the attribute. */
  readonly values?: readonly (string | Uint8Array)[];
}

export type AttributeValues = string | Uint8Array | readonly (string | Uint8Array)[];

/**
 * Responses are trusted more than requests are in the server, but still bounded: a large group's
 * `member` values and an entry with many certificates must fit.
 */
export const CLIENT_LIMITS: Partial<LdapLimits> = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxAttributes: 1024,
  maxValues: 100_000,
};

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_MESSAGE_ID = 0x7fffffff;
/** Entries a search buffers before the socket is paused until the consumer catches up. */
const HIGH_WATER = 1024;
const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder();

/** One entry of a search result, with lookups by attribute description. */
export class LdapEntry {
  readonly dn: string;
  readonly attributes: readonly PartialAttribute[];

  constructor(dn: string, attributes: readonly PartialAttribute[]) {
    this.dn = dn;
    this.attributes = attributes;
  }

  /**
   * The values of `type`, matched case-insensitively; when no description matches whole, one with
   * the same attribute type and other options does (`userCertificate` answers `userCertificate;binary`).
   */
  values(type: string): Uint8Array[] {
    const wanted = type.toLowerCase();
    const exact = this.attributes.filter((a) => a.type.toLowerCase() === wanted);
    if (exact.length > 0) return exact.flatMap((a) => a.values);
    const base = wanted.split(';')[0];
    return this.attributes.filter((a) => a.type.toLowerCase().split(';')[0] === base).flatMap((a) => a.values);
  }

  /** The values of `type` as UTF-8 text. */
  texts(type: string): string[] {
    return this.values(type).map((v) => utf8.decode(v));
  }

  /** The first value of `type` as text, or undefined. */
  text(type: string): string | undefined {
    return this.texts(type)[0];
  }
}

interface Target {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  /** `ldap://host:port`, for messages. */
  readonly label: string;
}

/** A started request, as its owner controls it. */
interface ExchangeHandle {
  readonly id: number;
  /** Suspends the timeout while the consumer lags behind (and restarts it after). */
  hold(on: boolean): void;
  /** Stops waiting: forgets the exchange and sends AbandonRequest, without an error. */
  stop(): void;
}

/** Waits for the responses to one request. */
interface Exchange {
  /** Returns true when the message completes the exchange. */
  onMessage(message: LdapMessage): boolean;
  onError(error: unknown): void;
}

export class LdapClient {
  /** `ldap://host:port` or `ldaps://host:port`, as used in error messages. */
  readonly server: string;
  readonly #timeoutMs: number;
  readonly #limits: Partial<LdapLimits>;
  #socket: Socket;
  #buffer = Buffer.alloc(64 * 1024);
  #length = 0;
  #nextId = 1;
  readonly #exchanges = new Map<number, Exchange>();
  /** Searches whose unread entries are above HIGH_WATER: the socket is paused while any is. */
  readonly #backlogged = new Set<number>();
  #failure: LdapError | undefined;

  private constructor(socket: Socket, server: string, options: LdapClientOptions) {
    this.server = server;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#limits = options.limits ?? CLIENT_LIMITS;
    this.#socket = socket;
    this.#attach(socket);
  }

  /** Connects (and runs StartTLS if asked); rejects with DIRECTORY_UNAVAILABLE or the signal's reason. */
  static async connect(options: LdapClientOptions): Promise<LdapClient> {
    const target = parseUrl(options.url);
    if (target.secure && options.startTls) {
      throw new LdapError('DIRECTORY_ERROR', `${target.label}: StartTLS is for ldap:// URLs; ldaps:// is TLS already.`);
    }
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const reason = () =>
      options.signal?.aborted
        ? options.signal.reason
        : new LdapError('DIRECTORY_UNAVAILABLE', `${target.label}: connecting timed out after ${timeoutMs} ms.`);
    const tls = tlsOptions(target, options.tls);
    const socket = await open(
      target,
      signal,
      reason,
      target.secure ? () => tlsConnect({ host: target.host, port: target.port, ...tls }) : undefined,
    );
    const client = new LdapClient(socket, target.label, options);
    if (!options.startTls) return client;
    try {
      await client.#request(
        { type: 'extendedRequest', name: LdapOid.startTls },
        [],
        'StartTLS',
        { signal, timeoutMs },
        reason,
      );
      client.#detach(socket);
      const secure = await open(target, signal, reason, () => tlsConnect({ socket, host: target.host, ...tls }));
      client.#socket = secure;
      client.#attach(secure);
      return client;
    } catch (e) {
      client.close();
      throw e;
    }
  }

  /** False once the connection failed or was closed; a new client is needed then. */
  get connected(): boolean {
    return this.#failure === undefined;
  }

  /** Simple bind (RFC 4511 §4.2); a wrong password is DIRECTORY_ERROR with resultCode invalidCredentials (49). */
  async bind(dn: string, password: string | Uint8Array, options: OperationOptions = {}): Promise<void> {
    const secret = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
    await this.#request(
      { type: 'bindRequest', version: 3, name: dn, auth: { kind: 'simple', password: secret } },
      [],
      `bind as ${JSON.stringify(dn)}`,
      options,
    );
  }

  /**
   * Searches and yields entries as they arrive; with `pageSize`, page after page (RFC 2696) until the
   * server's cookie is empty. Referrals and continuation references are skipped. Breaking out of the
   * loop abandons the search. Any result other than success throws, after the entries before it.
   */
  async *search(options: SearchOptions): AsyncGenerator<LdapEntry, void, undefined> {
    const request: SearchRequest = {
      type: 'searchRequest',
      baseObject: options.base,
      scope: options.scope ?? 'sub',
      derefAliases: 0,
      sizeLimit: options.sizeLimit ?? 0,
      timeLimit: options.timeLimit ?? 0,
      typesOnly: false,
      filter: typeof options.filter === 'object' ? options.filter : parseFilter(options.filter ?? '(objectClass=*)'),
      attributes: options.attributes ?? [],
    };
    let cookie: Uint8Array = EMPTY;
    do {
      const controls: Control[] =
        options.pageSize === undefined
          ? []
          : [
              {
                oid: LdapOid.pagedResults,
                critical: false,
                value: encodePagedResults({ size: options.pageSize, cookie }),
              },
            ];
      const done = yield* this.#searchOnce(request, controls, options);
      const paged = done.controls.find((c) => c.oid === LdapOid.pagedResults);
      cookie = options.pageSize !== undefined && paged?.value ? decodePagedResults(paged.value).cookie : EMPTY;
    } while (cookie.length > 0);
  }

  /** All entries of a search, in an array. */
  async searchAll(options: SearchOptions): Promise<LdapEntry[]> {
    const entries: LdapEntry[] = [];
    for await (const entry of this.search(options)) entries.push(entry);
    return entries;
  }

  /** Modify (RFC 4511 §4.6): the changes apply together or not at all. */
  async modify(dn: string, changes: readonly Modification[], options: OperationOptions = {}): Promise<void> {
    await this.#request(
      {
        type: 'modifyRequest',
        object: dn,
        changes: changes.map((c) => ({
          operation: c.operation,
          modification: { type: c.type, values: (c.values ?? []).map(bytes) },
        })),
      },
      [],
      `modify of ${JSON.stringify(dn)}`,
      options,
    );
  }

  async add(dn: string, attributes: Readonly<Record<string, AttributeValues>>, options: OperationOptions = {}) {
    await this.#request(
      {
        type: 'addRequest',
        entry: dn,
        attributes: Object.entries(attributes).map(([type, v]) => ({
          type,
          values: (typeof v === 'string' || v instanceof Uint8Array ? [v] : v).map(bytes),
        })),
      },
      [],
      `add of ${JSON.stringify(dn)}`,
      options,
    );
  }

  async delete(dn: string, options: OperationOptions = {}): Promise<void> {
    await this.#request({ type: 'delRequest', dn }, [], `delete of ${JSON.stringify(dn)}`, options);
  }

  /** Sends UnbindRequest (RFC 4511 §4.3) and closes the connection; pending operations fail. */
  async unbind(): Promise<void> {
    if (this.#failure) return;
    const socket = this.#socket;
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // Once the request is flushed the connection is ours to close (RFC 4511 §4.3); not waiting for the server's FIN.
    socket.end(encodeLdapMessage({ id: this.#takeId(), op: { type: 'unbindRequest' }, controls: [] }), () =>
      socket.destroy(),
    );
    this.#fail(new LdapError('DIRECTORY_UNAVAILABLE', `${this.server}: the connection was closed by unbind.`));
    await closed;
  }

  /** Drops the connection at once. */
  close(): void {
    this.#fail(new LdapError('DIRECTORY_UNAVAILABLE', `${this.server}: the connection was closed.`));
    this.#socket.destroy();
  }

  /** Sends one request and resolves with its final response; a non-success result rejects. */
  async #request(
    op: ProtocolOp,
    controls: readonly Control[],
    what: string,
    options: OperationOptions,
    abortReason?: () => unknown,
  ): Promise<LdapMessage> {
    const response = await new Promise<LdapMessage>((resolve, reject) => {
      this.#start(op, controls, what, options, abortReason, {
        onMessage: (message) => {
          if (message.op.type === 'intermediateResponse') return false;
          resolve(message);
          return true;
        },
        onError: reject,
      });
    });
    const result = response.op as Partial<LdapResult>;
    if (result.resultCode !== ResultCode.success) {
      throw LdapError.fromResult(this.server, what, response.op as LdapResult);
    }
    return response;
  }

  /** Runs one search request (one page); yields its entries and returns its SearchResultDone. */
  async *#searchOnce(
    request: SearchRequest,
    controls: readonly Control[],
    options: OperationOptions,
  ): AsyncGenerator<LdapEntry, LdapMessage, undefined> {
    const what = `search of ${JSON.stringify(request.baseObject)} for ${formatFilter(request.filter)}`;
    const queue: LdapEntry[] = [];
    let head = 0;
    let done: LdapMessage | undefined;
    let failed: { error: unknown } | undefined;
    let wake: (() => void) | undefined;
    const backlog = (full: boolean) => {
      this.#backlog(exchange.id, full);
      exchange.hold(full);
    };
    const exchange = this.#start(request, controls, what, options, undefined, {
      onMessage: (message) => {
        if (message.op.type === 'searchResultEntry') {
          queue.push(new LdapEntry(message.op.objectName, message.op.attributes));
          if (queue.length - head === HIGH_WATER) backlog(true);
        } else if (message.op.type === 'searchResultDone') {
          done = message;
        }
        wake?.();
        return done !== undefined;
      },
      onError: (error) => {
        failed = { error };
        wake?.();
      },
    });
    try {
      for (;;) {
        // An abort or a failure stops the iteration at once, before the entries still queued.
        while (head < queue.length && !failed) {
          // Also when this page was complete before the abort: an aborted search yields nothing more.
          options.signal?.throwIfAborted();
          const entry = queue[head]!;
          queue[head++] = undefined as unknown as LdapEntry;
          if (head === queue.length) {
            queue.length = 0;
            head = 0;
            backlog(false);
          }
          yield entry;
        }
        if (failed) throw failed.error;
        if (done) {
          const result = done.op as LdapResult;
          if (result.resultCode !== ResultCode.success) throw LdapError.fromResult(this.server, what, result);
          return done;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      this.#backlog(exchange.id, false);
      // The consumer stopped early (break, throw): tell the server, forget the exchange.
      exchange.stop();
    }
  }

  /**
   * Registers the exchange, sends the request and arms its timeout (restarted by every response)
   * and abort handling. The handle holds the timeout while the consumer, not the server, is slow,
   * and stops an exchange the consumer gave up on (abandoning it).
   */
  #start(
    op: ProtocolOp,
    controls: readonly Control[],
    what: string,
    options: OperationOptions,
    abortReason: (() => unknown) | undefined,
    exchange: Exchange,
  ): ExchangeHandle {
    const id = this.#takeId();
    const signal = options.signal;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let held = false;
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.#exchanges.delete(id);
    };
    const cancel = (error: unknown) => {
      if (!this.#exchanges.has(id)) return;
      finish();
      this.#abandon(id);
      exchange.onError(error);
    };
    const arm = () => {
      clearTimeout(timer);
      if (held) return;
      timer = setTimeout(
        () =>
          cancel(
            new LdapError(
              'DIRECTORY_UNAVAILABLE',
              `${this.server}: ${what} timed out after ${timeoutMs} ms without an answer.`,
            ),
          ),
        timeoutMs,
      );
    };
    const onAbort = () => cancel(abortReason ? abortReason() : signal?.reason);
    const handle: ExchangeHandle = {
      id,
      hold: (on) => {
        held = on;
        if (this.#exchanges.has(id)) arm();
      },
      stop: () => {
        if (!this.#exchanges.has(id)) return;
        finish();
        this.#abandon(id);
      },
    };
    if (signal?.aborted || this.#failure) {
      exchange.onError(this.#failure ?? (abortReason ? abortReason() : signal?.reason));
      return handle;
    }
    this.#exchanges.set(id, {
      onMessage: (message) => {
        const last = exchange.onMessage(message);
        if (last) finish();
        else arm();
        return last;
      },
      onError: (error) => {
        finish();
        exchange.onError(error);
      },
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    arm();
    this.#socket.write(encodeLdapMessage({ id, op, controls }));
    return handle;
  }

  /** AbandonRequest (RFC 4511 §4.11) for a request we stopped waiting for; the server sends no answer. */
  #abandon(id: number): void {
    if (this.#failure) return;
    this.#socket.write(
      encodeLdapMessage({ id: this.#takeId(), op: { type: 'abandonRequest', idToAbandon: id }, controls: [] }),
    );
  }

  #takeId(): number {
    const id = this.#nextId;
    this.#nextId = id === MAX_MESSAGE_ID ? 1 : id + 1;
    return id;
  }

  #backlog(id: number, full: boolean): void {
    if (full) this.#backlogged.add(id);
    else this.#backlogged.delete(id);
    if (this.#backlogged.size > 0) this.#socket.pause();
    else this.#socket.resume();
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#length + chunk.length > this.#buffer.length) {
      const grown = Buffer.alloc(Math.max(this.#buffer.length * 2, this.#length + chunk.length));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    chunk.copy(this.#buffer, this.#length);
    this.#length += chunk.length;
    let start = 0;
    try {
      for (;;) {
        const size = readLdapFrame(this.#buffer.subarray(start, this.#length), this.#limits);
        if (size === null) break;
        // A copy: decoded values point into their input, and the buffer is reused.
        const message = decodeLdapMessage(this.#buffer.slice(start, start + size), this.#limits);
        start += size;
        this.#dispatch(message);
        if (this.#failure) return;
      }
    } catch (e) {
      this.#fail(
        new LdapError('DIRECTORY_UNAVAILABLE', `${this.server}: the server sent a malformed LDAP message.`, {
          cause: e,
        }),
      );
      this.#socket.destroy();
      return;
    }
    this.#buffer.copyWithin(0, start, this.#length);
    this.#length -= start;
  };

  #dispatch(message: LdapMessage): void {
    if (message.id === 0) {
      // Unsolicited notification (RFC 4511 §4.4), e.g. Notice of Disconnection: the server is going away.
      const result = message.op as Partial<LdapResult>;
      this.#fail(
        new LdapError(
          'DIRECTORY_UNAVAILABLE',
          `${this.server}: the server ended the connection${result.diagnosticMessage ? `: ${result.diagnosticMessage}` : ''}.`,
        ),
      );
      this.#socket.destroy();
      return;
    }
    // Answers to abandoned or timed-out requests have no exchange any more.
    this.#exchanges.get(message.id)?.onMessage(message);
  }

  readonly #onError = (error: Error): void => {
    this.#fail(
      new LdapError('DIRECTORY_UNAVAILABLE', `${this.server}: connection failed: ${error.message}`, { cause: error }),
    );
  };

  readonly #onClose = (): void => {
    this.#fail(new LdapError('DIRECTORY_UNAVAILABLE', `${this.server}: the server closed the connection.`));
  };

  #attach(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  #detach(socket: Socket): void {
    socket.off('data', this.#onData);
    socket.off('error', this.#onError);
    socket.off('close', this.#onClose);
  }

  /** Marks the connection dead (first reason wins) and fails every waiting exchange with it. */
  #fail(error: LdapError): void {
    if (this.#failure) return;
    this.#failure = error;
    const exchanges = [...this.#exchanges.values()];
    this.#exchanges.clear();
    for (const exchange of exchanges) exchange.onError(error);
  }
}

function bytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function parseUrl(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw new LdapError(
      'DIRECTORY_ERROR',
      `${JSON.stringify(url)} is not an LDAP URL (ldap://host:port or ldaps://host:port).`,
      {
        cause: e,
      },
    );
  }
  const secure = parsed.protocol === 'ldaps:';
  if ((!secure && parsed.protocol !== 'ldap:') || parsed.hostname === '') {
    throw new LdapError(
      'DIRECTORY_ERROR',
      `${JSON.stringify(url)} is not an LDAP URL (ldap://host:port or ldaps://host:port).`,
    );
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port === '' ? (secure ? 636 : 389) : Number(parsed.port);
  return { secure, host, port, label: `${secure ? 'ldaps' : 'ldap'}://${parsed.host}` };
}

function tlsOptions(target: Target, tls: LdapTlsOptions = {}): ConnectionOptions {
  return {
    ...(tls.ca === undefined ? {} : { ca: typeof tls.ca === 'string' ? tls.ca : [...tls.ca] }),
    // SNI takes host names only; the identity check falls back to `host` (an IP address) without it.
    ...(tls.servername !== undefined
      ? { servername: tls.servername }
      : /^[\d.]+$|:/.test(target.host)
        ? {}
        : { servername: target.host }),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  };
}

/**
 * Opens a TCP connection, or a TLS one through `secure` (new, or over an existing socket for
 * StartTLS); settles on the connect event, an error, or the signal.
 */
function open(
  target: Target,
  signal: AbortSignal,
  reason: () => unknown,
  secure: (() => Socket) | undefined,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(reason());
      return;
    }
    const socket = secure ? secure() : netConnect({ host: target.host, port: target.port });
    const ready = secure ? 'secureConnect' : 'connect';
    const cleanup = () => {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off(ready, onReady);
    };
    const onReady = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (error: Error) => {
      cleanup();
      socket.destroy();
      const what = secure ? 'TLS with' : 'connecting to';
      reject(
        new LdapError('DIRECTORY_UNAVAILABLE', `${target.label}: ${what} the server failed: ${error.message}`, {
          cause: error,
        }),
      );
    };
    const onAbort = () => {
      cleanup();
      socket.destroy();
      reject(reason());
    };
    socket.once(ready, onReady);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
