/**
 * One client connection of the key server: framing (RFC 4511 §5.1), the session state (who bound,
 * whether TLS is on) and the operations in progress. Requests are handled in arrival order; several
 * searches may run at once, each answering with its entries then its SearchResultDone.
 *
 * Memory is bounded per connection: the input holds at most one message (`maxMessageBytes`; a longer
 * one is refused from its header), at most `maxOutstandingPerConnection` operations run, entries are
 * written only while the socket drains (backpressure), and queued output beyond
 * `maxBufferedOutboundBytes` drops the connection.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import { isSealpostError } from '@sealpost/core';
import {
  type BindRequest,
  type Control,
  decodeLdapMessage,
  decodePagedResults,
  encodeLdapMessage,
  encodePagedResults,
  formatFilter,
  type LdapMessage,
  LdapOid,
  type LdapResult,
  type PagedResults,
  type ProtocolOp,
  ResultCode,
  readLdapFrame,
  type SearchRequest,
  type SearchResultEntry,
} from '@sealpost/core/ldap';
import { selectAttributes } from './attributes.ts';
import type { LdapBackend, LdapSearchPage } from './backend.ts';
import { matchesFilter } from './filter-match.ts';
import { isRootDseSearch } from './root-dse.ts';
import type { LdapServerEvent, LdapServerLimits } from './server.ts';

/** What every connection of one server shares. */
export interface ConnectionContext {
  readonly backend: LdapBackend;
  readonly limits: LdapServerLimits;
  readonly anonymous: boolean;
  readonly requireTlsForBind: boolean;
  /** Set when StartTLS is offered on plain connections. */
  readonly startTls: SecureContext | undefined;
  readonly rootDse: SearchResultEntry;
  readonly log: (event: LdapServerEvent) => void;
}

/** Why an operation's signal was aborted; only a time limit still gets a SearchResultDone. */
const TIME_LIMIT = 'time limit';
const ABANDONED = 'abandoned';
const ENDED = 'session ended';

/** How long a closing connection waits for the client to close its side before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

type ResultType =
  | 'bindResponse'
  | 'searchResultDone'
  | 'modifyResponse'
  | 'addResponse'
  | 'delResponse'
  | 'modifyDnResponse'
  | 'compareResponse'
  | 'extendedResponse';

/** Result fields of an outcome; matchedDN defaults to empty. */
interface Outcome {
  readonly resultCode: number;
  readonly diagnosticMessage?: string;
  readonly matchedDN?: string;
}

const READ_ONLY: Outcome = {
  resultCode: ResultCode.unwillingToPerform,
  diagnosticMessage: 'this directory is read-only',
};

/** The response to each write request, all refused with READ_ONLY. */
const WRITE_RESPONSES = {
  addRequest: 'addResponse',
  modifyRequest: 'modifyResponse',
  delRequest: 'delResponse',
  modifyDnRequest: 'modifyDnResponse',
} as const satisfies Record<string, ResultType>;

export class LdapConnection {
  readonly id: number;
  /** Resolves once the socket has closed and every operation has been aborted. */
  readonly closed: Promise<void>;
  private socket: Socket;
  private secure: boolean;
  private readonly context: ConnectionContext;
  private readonly input = new InputBuffer();
  private readonly operations = new Map<number, AbortController>();
  /** The DN of the last successful simple bind ('' when anonymous) and what the backend called it. */
  private bindDn = '';
  private principal: string | null = null;
  /** A bind or StartTLS is in progress: later requests wait (RFC 4511 §4.2.1, §4.14.1). */
  private holding = false;
  private ended = false;
  private reason: string | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private resolveClosed!: () => void;

  constructor(id: number, socket: Socket, secure: boolean, context: ConnectionContext) {
    this.id = id;
    this.socket = socket;
    this.secure = secure;
    this.context = context;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.attach(socket);
  }

  /** Server shutdown: a Notice of Disconnection, then close. */
  shutdown(): Promise<void> {
    this.disconnect(ResultCode.unavailable, 'the server is shutting down', 'server closing');
    return this.closed;
  }

  // ------------------------------------------------------------------ socket

  private readonly onData = (chunk: Buffer) => {
    if (this.ended) return;
    this.input.push(chunk);
    this.pump();
  };

  private readonly onError = (error: Error & { code?: string }) => {
    this.reason ??= `socket error: ${error.code ?? error.message}`;
  };

  private readonly onTimeout = () => {
    const stalled = this.socket.writableLength > 0;
    // A search still waiting for the backend is bounded by its time limit, not by the idle timeout.
    if (!stalled && this.operations.size > 0) return;
    if (stalled) this.drop('the client stopped reading its responses');
    else this.close('idle timeout');
  };

  private readonly onClose = () => {
    this.ended = true;
    this.abortAll(ENDED);
    clearTimeout(this.graceTimer);
    this.context.log({ event: 'disconnect', connection: this.id, reason: this.reason ?? 'client closed' });
    this.resolveClosed();
  };

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('timeout', this.onTimeout);
    socket.on('close', this.onClose);
    socket.setTimeout(this.context.limits.idleTimeoutMs);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('error', this.onError);
    socket.off('timeout', this.onTimeout);
    socket.off('close', this.onClose);
    socket.setTimeout(0);
  }

  /** Ends the session after the queued output: the client's FIN, or the grace period, completes it. */
  private close(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.reason ??= reason;
    this.abortAll(ENDED);
    this.socket.end();
    this.graceTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
  }

  /** Ends the session now, discarding queued output. */
  private drop(reason: string): void {
    this.reason ??= reason;
    this.ended = true;
    this.abortAll(ENDED);
    this.socket.destroy();
  }

  /** RFC 4511 §4.4.1: an unsolicited Notice of Disconnection (message ID 0), then close. */
  private disconnect(resultCode: number, diagnosticMessage: string, reason = diagnosticMessage): void {
    if (this.ended) return;
    this.send(noticeOfDisconnection(resultCode, diagnosticMessage));
    this.close(reason);
  }

  private send(message: LdapMessage): void {
    if (this.ended || this.socket.destroyed) return;
    this.socket.write(encodeLdapMessage(message));
    if (this.socket.writableLength > this.context.limits.maxBufferedOutboundBytes) {
      this.drop('output buffer full: the client is not reading its responses');
    }
  }

  private respond(id: number, type: ResultType, outcome: Outcome, controls: readonly Control[] = []): void {
    const result: LdapResult = {
      resultCode: outcome.resultCode,
      matchedDN: outcome.matchedDN ?? '',
      diagnosticMessage: outcome.diagnosticMessage ?? '',
    };
    this.send({ id, op: { type, ...result } as ProtocolOp, controls });
  }

  /** Refuses an operation with `why`, or for a critical control it does not know when there is one. */
  private refuse(id: number, type: ResultType, controls: readonly Control[], why: Outcome): void {
    this.respond(id, type, controlsOutcome(controls, []) ?? why);
  }

  /** Whether an operation may write now: waits while the socket's buffer drains. */
  private async writable(signal: AbortSignal): Promise<boolean> {
    if (this.socket.writableNeedDrain && !signal.aborted) {
      try {
        await once(this.socket, 'drain', { signal });
      } catch {
        return false;
      }
    }
    return !signal.aborted && !this.ended;
  }

  private hold(): void {
    this.holding = true;
    this.socket.pause();
  }

  private release(): void {
    this.holding = false;
    if (this.ended) return;
    this.socket.resume();
    this.pump();
  }

  private abortAll(reason: string): void {
    for (const controller of this.operations.values()) controller.abort(reason);
    this.operations.clear();
  }

  // ------------------------------------------------------------------ requests

  /** Handles every complete message in the input, unless a bind or StartTLS holds the rest back. */
  private pump(): void {
    while (!this.holding && !this.ended) {
      let message: LdapMessage;
      try {
        const length = readLdapFrame(this.input.view(), this.context.limits);
        if (length === null) return;
        message = decodeLdapMessage(this.input.take(length), this.context.limits);
      } catch (e) {
        // RFC 4511 §4.1.1: an undecodable PDU ends the session with protocolError.
        if (!isSealpostError(e)) this.context.log({ event: 'error', connection: this.id, message: String(e) });
        const message = isSealpostError(e) ? e.message : 'the message could not be decoded';
        this.disconnect(ResultCode.protocolError, message, `protocol error: ${message}`);
        return;
      }
      this.dispatch(message);
    }
  }

  private dispatch({ id, op, controls }: LdapMessage): void {
    if (id === 0 || this.operations.has(id)) {
      // RFC 4511 §4.1.1.1: request IDs are non-zero and unique among outstanding requests.
      const problem = id === 0 ? 'message ID 0 is reserved' : `message ID ${id} is already in use`;
      this.disconnect(ResultCode.protocolError, problem, `protocol error: ${problem}`);
      return;
    }
    switch (op.type) {
      case 'bindRequest':
        void this.bind(id, op, controls);
        return;
      case 'unbindRequest':
        this.close('unbind');
        return;
      case 'searchRequest':
        this.search(id, op, controls);
        return;
      case 'abandonRequest': {
        const controller = this.operations.get(op.idToAbandon);
        if (controller === undefined || unsupportedCritical(controls, [])) return;
        controller.abort(ABANDONED);
        this.operations.delete(op.idToAbandon);
        return;
      }
      case 'extendedRequest':
        this.extended(id, op.name, controls);
        return;
      case 'addRequest':
      case 'modifyRequest':
      case 'delRequest':
      case 'modifyDnRequest':
        this.refuse(id, WRITE_RESPONSES[op.type], controls, READ_ONLY);
        return;
      case 'compareRequest':
        this.refuse(id, 'compareResponse', controls, {
          resultCode: ResultCode.unwillingToPerform,
          diagnosticMessage: 'compare is not supported; search with an equality filter instead',
        });
        return;
      default: {
        const problem = `${op.type} is not a request`;
        this.disconnect(ResultCode.protocolError, problem, `protocol error: ${problem}`);
      }
    }
  }

  // ------------------------------------------------------------------ bind

  private async bind(id: number, request: BindRequest, controls: readonly Control[]): Promise<void> {
    // RFC 4511 §4.2.1: operations in progress are abandoned before a bind is processed.
    this.abortAll(ABANDONED);
    this.hold();
    const outcome = await this.authenticate(request, controls).catch((e: unknown) => {
      this.context.log({ event: 'error', connection: this.id, message: `bind: ${errorText(e)}` });
      return { resultCode: ResultCode.other, diagnosticMessage: 'the directory could not check the credentials' };
    });
    this.context.log({ event: 'bind', connection: this.id, dn: request.name, resultCode: outcome.resultCode });
    this.respond(id, 'bindResponse', outcome);
    this.release();
  }

  private async authenticate(request: BindRequest, controls: readonly Control[]): Promise<Outcome> {
    // RFC 4511 §4.2.1: a bind that fails leaves the session anonymous.
    this.bindDn = '';
    this.principal = null;
    const refused = controlsOutcome(controls, []);
    if (refused) return refused;
    if (request.version !== 3) {
      return { resultCode: ResultCode.protocolError, diagnosticMessage: 'only LDAP version 3 is supported' };
    }
    if (request.auth.kind === 'sasl') {
      return {
        resultCode: ResultCode.authMethodNotSupported,
        diagnosticMessage: 'SASL is not supported; use a simple bind',
      };
    }
    const { password } = request.auth;
    if (password.length === 0) {
      if (request.name === '') {
        // RFC 4513 §5.1.1: anonymous bind; refused when the directory is not anonymously readable.
        return this.context.anonymous
          ? { resultCode: ResultCode.success }
          : {
              resultCode: ResultCode.inappropriateAuthentication,
              diagnosticMessage: 'anonymous access is disabled; bind with a DN and password',
            };
      }
      // RFC 4513 §5.1.2: a DN without a password is an unauthenticated bind, refused by default.
      return {
        resultCode: ResultCode.unwillingToPerform,
        diagnosticMessage: 'unauthenticated bind (a DN without a password) is not allowed',
      };
    }
    if (this.context.requireTlsForBind && !this.secure) {
      return {
        resultCode: ResultCode.confidentialityRequired,
        diagnosticMessage: 'use LDAPS or StartTLS before a simple bind: passwords are not accepted in the clear',
      };
    }
    const result = await this.context.backend.bind(request.name, password);
    if (!result.ok) return { resultCode: ResultCode.invalidCredentials, diagnosticMessage: 'invalid credentials' };
    this.bindDn = request.name;
    this.principal = result.principal;
    return { resultCode: ResultCode.success };
  }

  // ------------------------------------------------------------------ extended operations

  private extended(id: number, name: string, controls: readonly Control[]): void {
    if (name === LdapOid.startTls && this.context.startTls !== undefined) {
      this.startTls(id, this.context.startTls, controls);
      return;
    }
    if (name === LdapOid.whoAmI) {
      // RFC 4532 §2.2: the authorization identity, empty when anonymous.
      const refused = controlsOutcome(controls, []);
      const authzId = this.principal === null ? '' : `dn:${this.bindDn}`;
      if (refused) this.respond(id, 'extendedResponse', refused);
      else {
        this.send({
          id,
          op: {
            type: 'extendedResponse',
            resultCode: ResultCode.success,
            matchedDN: '',
            diagnosticMessage: '',
            value: new TextEncoder().encode(authzId),
          },
          controls: [],
        });
      }
      return;
    }
    // RFC 4511 §4.12: an unrecognised request name gets protocolError.
    this.respond(id, 'extendedResponse', {
      resultCode: ResultCode.protocolError,
      diagnosticMessage: `extended operation ${name} is not supported`,
    });
  }

  /** RFC 4511 §4.14 / RFC 4513 §3: answer in the clear, then run the TLS handshake on the same socket. */
  private startTls(id: number, secureContext: SecureContext, controls: readonly Control[]): void {
    const refused =
      controlsOutcome(controls, []) ??
      (this.secure
        ? { resultCode: ResultCode.operationsError, diagnosticMessage: 'TLS is already established' }
        : this.operations.size > 0
          ? { resultCode: ResultCode.operationsError, diagnosticMessage: 'operations are outstanding' }
          : this.input.length > 0
            ? {
                resultCode: ResultCode.operationsError,
                diagnosticMessage: 'requests followed StartTLS before its response',
              }
            : undefined);
    if (refused) {
      this.context.log({ event: 'startTls', connection: this.id, resultCode: refused.resultCode });
      this.respond(id, 'extendedResponse', refused);
      return;
    }
    const plain = this.socket;
    this.hold();
    const response: LdapMessage = {
      id,
      op: {
        type: 'extendedResponse',
        resultCode: ResultCode.success,
        matchedDN: '',
        diagnosticMessage: '',
        name: LdapOid.startTls,
      },
      controls: [],
    };
    plain.write(encodeLdapMessage(response), (error) => {
      if (error || this.ended) {
        this.drop(`socket error: ${error?.message ?? 'closed during StartTLS'}`);
        return;
      }
      this.detach(plain);
      const secure = new TLSSocket(plain, { isServer: true, secureContext });
      this.secure = true;
      this.attach(secure);
      secure.once('secure', () => {
        this.context.log({ event: 'startTls', connection: this.id, resultCode: ResultCode.success });
        this.release();
      });
    });
  }

  // ------------------------------------------------------------------ search

  private search(id: number, request: SearchRequest, controls: readonly Control[]): void {
    const refused = controlsOutcome(controls, [LdapOid.pagedResults]);
    if (refused) {
      this.respond(id, 'searchResultDone', refused);
      return;
    }
    const max = this.context.limits.maxOutstandingPerConnection;
    if (this.operations.size >= max) {
      this.respond(id, 'searchResultDone', {
        resultCode: ResultCode.busy,
        diagnosticMessage: `too many operations in progress on this connection (at most ${max})`,
      });
      return;
    }
    const controller = new AbortController();
    this.operations.set(id, controller);
    const timeLimit = Math.min(request.timeLimit || Infinity, this.context.limits.maxTimeLimitSeconds);
    const timer = setTimeout(() => controller.abort(TIME_LIMIT), timeLimit * 1000);
    this.runSearch(id, request, controls, controller.signal)
      .catch((e: unknown) => {
        if (controller.signal.aborted) return { entries: 0, outcome: aborted(controller.signal) };
        this.context.log({ event: 'error', connection: this.id, message: `search: ${errorText(e)}` });
        return {
          entries: 0,
          outcome: { resultCode: ResultCode.other, diagnosticMessage: 'the directory failed to answer this search' },
        };
      })
      .then(({ entries, outcome, responseControls }: SearchOutcome) => {
        clearTimeout(timer);
        if (this.operations.get(id) === controller) this.operations.delete(id);
        if (outcome !== undefined) this.respond(id, 'searchResultDone', outcome, responseControls);
        this.context.log({
          event: 'search',
          connection: this.id,
          messageId: id,
          base: request.baseObject,
          scope: request.scope,
          filter: formatFilter(request.filter),
          entries,
          resultCode: outcome?.resultCode ?? null,
        });
      });
  }

  private async runSearch(
    id: number,
    request: SearchRequest,
    controls: readonly Control[],
    signal: AbortSignal,
  ): Promise<SearchOutcome> {
    const pagedControl = controls.find((c) => c.oid === LdapOid.pagedResults);
    let paged: PagedResults | undefined;
    if (pagedControl !== undefined) {
      try {
        paged = decodePagedResults(pagedControl.value ?? new Uint8Array(0));
      } catch {
        return {
          entries: 0,
          outcome: {
            resultCode: ResultCode.protocolError,
            diagnosticMessage: 'the paged results control is malformed',
          },
        };
      }
    }
    /** RFC 2696 §3: every response to a paged search carries the control; an empty cookie ends it. */
    const pageControls = (cursor?: string): Control[] =>
      paged === undefined
        ? []
        : [
            {
              oid: LdapOid.pagedResults,
              critical: false,
              value: encodePagedResults({ size: 0, cookie: new TextEncoder().encode(cursor ?? '') }),
            },
          ];

    if (isRootDseSearch(request)) {
      const entries = matchesFilter(this.context.rootDse, request.filter) ? [this.context.rootDse] : [];
      const sent = await this.sendEntries(id, request, entries, signal);
      return sent.done ? { entries: sent.count, outcome: OK, responseControls: pageControls() } : sent.aborted;
    }
    if (!this.context.anonymous && this.principal === null) {
      return {
        entries: 0,
        outcome: {
          resultCode: ResultCode.insufficientAccessRights,
          diagnosticMessage: 'bind first: this directory does not answer anonymous searches',
        },
      };
    }
    // RFC 2696 §3: a page size of zero abandons the paged search.
    if (paged?.size === 0) return { entries: 0, outcome: OK, responseControls: pageControls() };

    const cap = this.context.limits.maxSizeLimit;
    const limit = Math.min(cap, request.sizeLimit || cap, paged?.size || cap);
    const cursor = paged && paged.cookie.length > 0 ? new TextDecoder().decode(paged.cookie) : undefined;
    const page = await untilAborted(
      this.context.backend.search(request, {
        limit,
        ...(cursor === undefined ? {} : { cursor }),
        signal,
        principal: this.principal,
      }),
      signal,
    );
    const sent = await this.sendEntries(id, request, page.entries.slice(0, limit), signal);
    if (!sent.done) return sent.aborted;
    const count = sent.count;
    if (page.result !== undefined && page.result.resultCode !== ResultCode.success) {
      return { entries: count, outcome: page.result, responseControls: pageControls() };
    }
    if (paged !== undefined) return { entries: count, outcome: OK, responseControls: pageControls(page.cursor) };
    if (page.cursor !== undefined) {
      return {
        entries: count,
        outcome: {
          resultCode: ResultCode.sizeLimitExceeded,
          diagnosticMessage: `more than ${limit} entries match; narrow the filter or page the results`,
        },
      };
    }
    return { entries: count, outcome: OK };
  }

  private async sendEntries(
    id: number,
    request: SearchRequest,
    entries: readonly SearchResultEntry[],
    signal: AbortSignal,
  ): Promise<{ done: true; count: number } | { done: false; aborted: SearchOutcome }> {
    let count = 0;
    for (const entry of entries) {
      if (!(await this.writable(signal))) return { done: false, aborted: { entries: count, outcome: aborted(signal) } };
      this.send({ id, op: selectAttributes(entry, request.attributes, request.typesOnly), controls: [] });
      count++;
    }
    if (signal.aborted) return { done: false, aborted: { entries: count, outcome: aborted(signal) } };
    return { done: true, count };
  }
}

/** RFC 4511 §4.4.1: the unsolicited notification (message ID 0) a server sends before it ends a session. */
export function noticeOfDisconnection(resultCode: number, diagnosticMessage: string): LdapMessage {
  return {
    id: 0,
    op: { type: 'extendedResponse', resultCode, matchedDN: '', diagnosticMessage, name: LdapOid.noticeOfDisconnection },
    controls: [],
  };
}

interface SearchOutcome {
  readonly entries: number;
  /** Undefined when nothing more may be sent: abandoned, or the session ended. */
  readonly outcome: Outcome | undefined;
  readonly responseControls?: readonly Control[];
}

const OK: Outcome = { resultCode: ResultCode.success };

/** The SearchResultDone owed to an aborted search: only a time limit has one. */
function aborted(signal: AbortSignal): Outcome | undefined {
  return signal.reason === TIME_LIMIT
    ? { resultCode: ResultCode.timeLimitExceeded, diagnosticMessage: 'the time limit was reached' }
    : undefined;
}

/** The backend's answer, or a rejection as soon as the operation is aborted (a backend may ignore its signal). */
function untilAborted(promise: Promise<LdapSearchPage>, signal: AbortSignal): Promise<LdapSearchPage> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (page) => {
        signal.removeEventListener('abort', onAbort);
        resolve(page);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** RFC 4511 §4.1.11: a critical control the server does not know, or not for this operation. */
function unsupportedCritical(controls: readonly Control[], known: readonly string[]): Control | undefined {
  return controls.find((c) => c.critical && !known.includes(c.oid));
}

function controlsOutcome(controls: readonly Control[], known: readonly string[]): Outcome | undefined {
  const control = unsupportedCritical(controls, known);
  return control === undefined
    ? undefined
    : {
        resultCode: ResultCode.unavailableCriticalExtension,
        diagnosticMessage: `critical control ${control.oid} is not supported here`,
      };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Received bytes not yet handled. Appends grow the buffer by doubling, so a message trickled in a
 * byte at a time costs linear time; a message arriving whole in one chunk is used without a copy.
 */
class InputBuffer {
  private data: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  view(): Buffer {
    return this.data.subarray(this.start, this.end);
  }

  push(chunk: Buffer): void {
    if (this.length === 0) {
      this.data = chunk;
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    if (this.end + chunk.length > this.data.length) {
      // A fresh buffer, never an in-place move: messages already taken may still be read.
      const next = Buffer.allocUnsafe(Math.max(this.length + chunk.length, this.data.length * 2));
      this.data.copy(next, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      this.data = next;
    }
    chunk.copy(this.data, this.end);
    this.end += chunk.length;
  }

  take(length: number): Buffer {
    const bytes = this.data.subarray(this.start, this.start + length);
    this.start += length;
    return bytes;
  }
}
