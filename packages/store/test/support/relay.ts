/** A TCP relay to PostgreSQL for the store's and the server's outage tests. */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP relay to PostgreSQL that can be cut, to play an outage. */
export class Relay {
  readonly #target: URL;
  constructor(target: string) {
    this.#target = new URL(target);
  }

  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    const target = this.#target;
    const server = createServer((inbound) => {
      const outbound = connect(Number(target.port || 5432), target.hostname);
      for (const [socket, other] of [
        [inbound, outbound],
        [outbound, inbound],
      ] as const) {
        this.#sockets.add(socket);
        socket.on('error', () => other.destroy());
        socket.on('close', () => {
          this.#sockets.delete(socket);
          other.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise((resolve) => server.close(resolve));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
