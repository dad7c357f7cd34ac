/**
 * The key server under hostile or broken clients: malformed and oversized PDUs, deep filters,
 * partial data, thousands of idle sessions, a full connection table, idle and stalled sessions, and
 * clients that never read. Each time the server must end only the offending session and go on
 * answering the others.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { encodeLdapMessage, type Filter, LdapOid, ResultCode } from '@sealpost/core/ldap';
import { eventually, startTestServer, type TestServer } from './support/harness.ts';
import { MemoryBackend, PEOPLE_DN, people } from './support/memory-backend.ts';
import { RawClient, searchMessage } from './support/raw-client.ts';

/** Expects the Notice of Disconnection (RFC 4511 §4.4.1) with `resultCode`, then the close. */
async function expectNotice(client: RawClient, resultCode: number): Promise<string> {
  const notice = await client.next();
  assert.equal(notice.id, 0);
  assert.ok(notice.op.type === 'extendedResponse');
  assert.equal(notice.op.name, LdapOid.noticeOfDisconnection);
  assert.equal(notice.op.resultCode, resultCode);
  await client.closed;
  return notice.op.diagnosticMessage;
}

/** A normal client still gets its answer. */
async function stillServes(port: number): Promise<void> {
  const client = await RawClient.connect(port);
  client.send(searchMessage(1, { filter: '(uid=alice)', attributes: ['mail'] }));
  const messages = await client.untilDone(1);
  assert.equal(messages.length, 2);
  client.close();
}

/** A search whose filter is `(!(!(…(cn=x)…)))`, `depth` levels deep, as BER. */
function deepFilterSearch(depth: number): Uint8Array {
  let filter: Filter = { type: 'equality', attribute: 'cn', value: new TextEncoder().encode('x') };
  for (let i = 1; i < depth; i++) filter = { type: 'not', filter };
  const message = searchMessage(1, {});
  assert.ok(message.op.type === 'searchRequest');
  return encodeLdapMessage({ ...message, op: { ...message.op, filter } });
}

describe('malformed input', async () => {
  const t = await startTestServer({ limits: { maxMessageBytes: 4096 } });
  after(() => t.server.close());

  it('reassembles PDUs split byte by byte and handles several PDUs in one chunk', async () => {
    const client = await RawClient.connect(t.port);
    const pdus = [1, 2, 3].map((id) =>
      encodeLdapMessage(searchMessage(id, { filter: '(uid=bob)', attributes: ['uid'] })),
    );
    const first = pdus[0] as Uint8Array;
    for (const byte of first) {
      client.socket.write(new Uint8Array([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    client.socket.write(Buffer.concat([pdus[1] as Uint8Array, pdus[2] as Uint8Array]));
    for (const id of [1, 2, 3]) {
      const messages = await client.untilDone(id);
      assert.equal(messages.length, 2);
    }
    client.close();
  });

  for (const [name, bytes] of [
    ['a byte that starts no SEQUENCE', Buffer.from([0x04, 0x00])],
    ['an indefinite length', Buffer.from([0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00])],
    ['a truncated inner element', Buffer.from([0x30, 0x05, 0x02, 0x01, 0x01, 0x63, 0x10])],
    ['an unknown application tag', Buffer.from([0x30, 0x05, 0x02, 0x01, 0x01, 0x7e, 0x00])],
    [
      'a response sent as a request',
      Buffer.from(
        encodeLdapMessage({
          id: 1,
          op: { type: 'searchResultDone', resultCode: 0, matchedDN: '', diagnosticMessage: '' },
          controls: [],
        }),
      ),
    ],
    ['message ID 0', Buffer.from(encodeLdapMessage(searchMessage(0, {})))],
  ] as const) {
    it(`ends the session on ${name} with a Notice of Disconnection (protocolError)`, async () => {
      const client = await RawClient.connect(t.port);
      client.socket.write(bytes);
      await expectNotice(client, ResultCode.protocolError);
      await stillServes(t.port);
    });
  }

  it('refuses a message longer than maxMessageBytes from its header, without waiting for the body', async () => {
    const client = await RawClient.connect(t.port);
    // The header announces 1 GiB; only the header is ever sent.
    client.socket.write(Buffer.from([0x30, 0x84, 0x40, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01]));
    const message = await expectNotice(client, ResultCode.protocolError);
    assert.match(message, /exceeds the limit of 4096 bytes/);
    await stillServes(t.port);
  });

  it('refuses a huge filter that exceeds maxMessageBytes', async () => {
    const client = await RawClient.connect(t.port);
    const filter = `(|${Array.from({ length: 400 }, (_, i) => `(mail=someone${i}@example.org)`).join('')})`;
    const pdu = encodeLdapMessage(searchMessage(1, { filter }));
    assert.ok(pdu.length > 4096);
    client.send(pdu);
    await expectNotice(client, ResultCode.protocolError);
  });

  it('refuses a filter nested deeper than the codec allows', async () => {
    const client = await RawClient.connect(t.port);
    client.send(deepFilterSearch(200));
    await expectNotice(client, ResultCode.protocolError);
    await stillServes(t.port);
  });

  it('refuses a message ID already in use by an outstanding operation', async () => {
    const slow = await startTestServer({
      backend: new MemoryBackend({
        beforeSearch: (_, { signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve())),
      }),
    });
    try {
      const client = await RawClient.connect(slow.port);
      client.send(searchMessage(7, {}));
      client.send(searchMessage(7, {}));
      await expectNotice(client, ResultCode.protocolError);
      await eventually(() => slow.backend.searches[0]?.options.signal.aborted === true);
    } finally {
      await slow.server.close();
    }
  });
});

describe('sessions', () => {
  it('aborts the backend search when the client unbinds mid-search', async () => {
    const t = await startTestServer({
      backend: new MemoryBackend({
        beforeSearch: (_, { signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve())),
      }),
    });
    try {
      const client = await RawClient.connect(t.port);
      client.send(searchMessage(1, {}));
      await eventually(() => t.backend.searches.length === 1);
      client.send({ id: 2, op: { type: 'unbindRequest' }, controls: [] });
      await client.closed;
      assert.equal(t.backend.searches[0]?.options.signal.reason, 'session ended');
      assert.deepEqual(client.pending(), []);
    } finally {
      await t.server.close();
    }
  });

  it('holds 2,000 idle sessions and still serves a normal client', async () => {
    const t = await startTestServer();
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 2000; i++) {
        idle.push(
          await new Promise<Socket>((resolve, reject) => {
            const s = connect({ port: t.port, host: '127.0.0.1' }, () => resolve(s));
            s.on('error', reject);
          }),
        );
      }
      await eventually(() => t.server.connections === 2000);
      await stillServes(t.port);
      await eventually(() => t.server.connections === 2000);
    } finally {
      for (const s of idle) s.destroy();
      await t.server.close();
    }
  });

  it('tells a client beyond maxConnections why and closes it; a freed slot is reused', async () => {
    const t = await startTestServer({ limits: { maxConnections: 2 } });
    try {
      const a = await RawClient.connect(t.port);
      const b = await RawClient.connect(t.port);
      await eventually(() => t.server.connections === 2);
      const refused = await RawClient.connect(t.port);
      assert.match(await expectNotice(refused, ResultCode.unavailable), /too many connections/);
      assert.ok(t.events.some((e) => e.event === 'refuse'));
      a.close();
      await eventually(() => t.server.connections === 1);
      await stillServes(t.port);
      b.close();
    } finally {
      await t.server.close();
    }
  });

  it('closes a session idle for idleTimeoutMs', async () => {
    const t = await startTestServer({ limits: { idleTimeoutMs: 100 } });
    try {
      const client = await RawClient.connect(t.port);
      await client.closed;
      await eventually(() => t.events.some((e) => e.event === 'disconnect' && e.reason === 'idle timeout'));
    } finally {
      await t.server.close();
    }
  });
});

describe('clients that do not read', () => {
  /** Tens of megabytes of entries, more than the kernel's socket buffers hold, so the server must wait. */
  const ENTRIES = 30_000;
  const big = () => new MemoryBackend({ people: people(ENTRIES) });

  /** Connects and never reads: the socket stays paused. */
  async function deaf(t: TestServer): Promise<Socket> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ port: t.port, host: '127.0.0.1' }, () => resolve(s));
      s.on('error', reject);
    });
    socket.pause();
    return socket;
  }

  it('drops a client that keeps sending requests without reading once maxBufferedOutboundBytes is exceeded', async () => {
    const t = await startTestServer({
      backend: big(),
      limits: { maxBufferedOutboundBytes: 256 * 1024, maxSizeLimit: ENTRIES },
    });
    try {
      const socket = await deaf(t);
      socket.on('error', () => {});
      // A big search fills the socket buffers; the server then waits for them to drain.
      socket.write(encodeLdapMessage(searchMessage(1, { baseObject: PEOPLE_DN })));
      // Every further request gets an answer that can only be queued.
      const floods = setInterval(() => {
        if (socket.destroyed) return;
        const pdus = Array.from({ length: 64 }, (_, i) =>
          encodeLdapMessage({ id: 1000 + i, op: { type: 'extendedRequest', name: '1.2.3' }, controls: [] }),
        );
        socket.write(Buffer.concat(pdus));
      }, 5);
      try {
        await eventually(() =>
          t.events.some((e) => e.event === 'disconnect' && e.reason.startsWith('output buffer full')),
        );
      } finally {
        clearInterval(floods);
      }
      await stillServes(t.port);
      socket.destroy();
    } finally {
      await t.server.close();
    }
  });

  it('drops a client that stopped reading a big search once it has stalled for idleTimeoutMs', async () => {
    const t = await startTestServer({ backend: big(), limits: { idleTimeoutMs: 300, maxSizeLimit: ENTRIES } });
    try {
      const socket = await deaf(t);
      socket.on('error', () => {});
      socket.write(encodeLdapMessage(searchMessage(1, { baseObject: PEOPLE_DN })));
      await eventually(() =>
        t.events.some((e) => e.event === 'disconnect' && e.reason === 'the client stopped reading its responses'),
      );
      await stillServes(t.port);
      socket.destroy();
    } finally {
      await t.server.close();
    }
  });
});
