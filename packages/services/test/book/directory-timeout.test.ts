// A directory that never answers: a real TCP server that accepts and stays silent, behind the
// smallest ExternalDirectory that speaks to it. Resolution must come back with the book's answer
// and the directory reported as failed, having aborted the lookup.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ExternalDirectory } from '../../src/ports/external-directory.ts';
import { TestClock } from '../ca/support.ts';
import { type TestDatabase, targets } from '../secrets/databases.ts';
import { type BookRig, makeLeaf, makeRoot, pem, rig } from './support.ts';

/** Sends the address as a line and reads base64 certificates, one per line, until the server closes. */
function tcpDirectory(
  name: string,
  port: number,
  options: { honourSignal: boolean; sockets: Socket[] },
): ExternalDirectory {
  return {
    name,
    certificatesFor: (address, signal) =>
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        options.sockets.push(socket);
        let text = '';
        socket.on('data', (d: Buffer) => {
          text += d.toString('latin1');
        });
        socket.on('end', () =>
          resolve(
            text
              .split('\n')
              .filter(Boolean)
              .map((l) => Buffer.from(l, 'base64')),
          ),
        );
        socket.on('error', reject);
        socket.write(`${address}\n`);
        if (options.honourSignal) {
          signal.addEventListener('abort', () => {
            socket.destroy();
            reject(signal.reason);
          });
        }
      }),
  };
}

for (const target of targets) {
  describe(`directory lookups are bounded by their timeout (${target.dialect})`, () => {
    let fresh: TestDatabase;
    let r: BookRig;
    let server: Server;
    const accepted: Socket[] = [];
    const clientSockets: Socket[] = [];
    const clock = new TestClock();
    const partner = makeRoot('Partner Root', clock.now());

    before(async () => {
      fresh = await target.fresh();
      r = rig(fresh.db, clock);
      await r.trust.import('user:admin', pem(partner.certificate));
      await r.book.add('user:admin', pem(makeLeaf(partner, 'nina@partner.example', clock.now()).certificate));
      // Reads what clients send (so their hang-up is seen) and never answers.
      server = createServer((socket) => {
        accepted.push(socket);
        socket.resume();
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    });
    after(async () => {
      for (const s of [...accepted, ...clientSockets]) s.destroy();
      server.close();
      await fresh.dispose();
    });

    const port = () => (server.address() as AddressInfo).port;

    it('aborts a lookup that gets no answer and resolves from the book', async () => {
      const directory = tcpDirectory('silent', port(), { honourSignal: true, sockets: clientSockets });
      const resolver = r.resolver({ directories: [directory], lookupTimeoutMs: 200 });
      const before = accepted.length;
      const result = await resolver.resolve(['nina@partner.example', 'nobody@partner.example'], 'u1');
      const [nina, nobody] = result.recipients;
      assert.equal(nina!.status, 'ok');
      assert.equal(nina!.certificates[0]?.entry.source, 'manual');
      assert.deepEqual(nina!.lookupFailures, [{ directory: 'silent', message: 'no answer within 200 ms' }]);
      assert.equal(nobody!.reason, 'no-certificate');
      assert.equal(nobody!.lookupFailures.length, 1);
      // Both lookups reached the server, concurrently, and were hung up when the timeout fired.
      assert.equal(accepted.length - before, 2);
      await Promise.all(accepted.slice(before).map((s) => (s.closed ? undefined : once(s, 'close'))));
      // The failure is cached: the next resolution does not wait on the silent server again.
      await resolver.resolve(['nina@partner.example'], 'u1');
      assert.equal(accepted.length - before, 2);
    });

    it('returns even when the directory ignores the abort signal', async () => {
      const directory = tcpDirectory('deaf', port(), { honourSignal: false, sockets: clientSockets });
      const resolver = r.resolver({ directories: [directory], lookupTimeoutMs: 200 });
      const result = await resolver.resolve(['nina@partner.example'], 'u1');
      assert.deepEqual(result.recipients[0]!.lookupFailures, [
        { directory: 'deaf', message: 'no answer within 200 ms' },
      ]);
      assert.equal(result.canEncrypt, true);
    });
  });
}
