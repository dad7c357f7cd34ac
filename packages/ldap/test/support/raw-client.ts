/**
 * A bare LDAP client over a socket, for what real clients never send: malformed or oversized PDUs,
 * pipelined requests, abandon, and a reader that stops reading. Responses are decoded with the core
 * codec; the interop tests cover the same ground with independent clients.
 */
import { connect, type Socket } from 'node:net';
import {
  type Control,
  decodeLdapMessage,
  encodeLdapMessage,
  type LdapMessage,
  parseFilter,
  readLdapFrame,
  type SearchRequest,
} from '@sealpost/core/ldap';

export class RawClient {
  readonly socket: Socket;
  /** Resolves when the server has closed the connection (or it failed). */
  readonly closed: Promise<void>;
  private input = Buffer.alloc(0);
  private readonly received: LdapMessage[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.input = Buffer.concat([this.input, chunk]);
      for (;;) {
        const length = readLdapFrame(this.input, { maxMessageBytes: 64 * 1024 * 1024 });
        if (length === null) break;
        this.received.push(decodeLdapMessage(this.input.subarray(0, length), { maxMessageBytes: 64 * 1024 * 1024 }));
        this.input = this.input.subarray(length);
      }
      this.wake?.();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  send(message: LdapMessage | Uint8Array): void {
    this.socket.write(message instanceof Uint8Array ? message : encodeLdapMessage(message));
  }

  /** The next message from the server (with message ID `id`, when given); rejects when the connection closes first. */
  async next(id?: number): Promise<LdapMessage> {
    for (;;) {
      const at = this.received.findIndex((m) => id === undefined || m.id === id);
      if (at >= 0) return this.received.splice(at, 1)[0] as LdapMessage;
      if (this.ended) throw new Error('the server closed the connection');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  /** The messages of search `id`, up to and including its SearchResultDone; others stay queued. */
  async untilDone(id: number): Promise<LdapMessage[]> {
    const messages: LdapMessage[] = [];
    for (;;) {
      const m = await this.next(id);
      messages.push(m);
      if (m.op.type === 'searchResultDone') return messages;
    }
  }

  /** Messages received so far and not yet taken. */
  pending(): readonly LdapMessage[] {
    return this.received;
  }

  close(): void {
    this.socket.destroy();
  }
}

export function searchMessage(
  id: number,
  fields: Partial<Omit<SearchRequest, 'filter' | 'type'>> & { filter?: string },
  controls: readonly Control[] = [],
): LdapMessage {
  return {
    id,
    op: {
      type: 'searchRequest',
      baseObject: fields.baseObject ?? 'dc=example,dc=org',
      scope: fields.scope ?? 'sub',
      derefAliases: 0,
      sizeLimit: fields.sizeLimit ?? 0,
      timeLimit: fields.timeLimit ?? 0,
      typesOnly: fields.typesOnly ?? false,
      filter: parseFilter(fields.filter ?? '(objectClass=*)'),
      attributes: fields.attributes ?? [],
    },
    controls,
  };
}
