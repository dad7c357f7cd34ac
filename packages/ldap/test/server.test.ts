/**
 * The key server's protocol behaviour (RFC 4511, 4513, 2696, 4532) seen on the wire: a bare client
 * sends exact PDUs and checks every response, including the ones real clients hide.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  decodePagedResults,
  encodePagedResults,
  type LdapMessage,
  LdapOid,
  type ProtocolOp,
  ResultCode,
  type SearchResultEntry,
} from '@sealpost/core/ldap';
import { eventually, startTestServer } from './support/harness.ts';
import {
  BASE_DN,
  certificateDer,
  MemoryBackend,
  PEOPLE_DN,
  people,
  READER_DN,
  READER_PASSWORD,
} from './support/memory-backend.ts';
import { RawClient, searchMessage } from './support/raw-client.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

function done(messages: readonly LdapMessage[]) {
  const last = messages.at(-1)?.op;
  assert.equal(last?.type, 'searchResultDone');
  return last as Extract<ProtocolOp, { type: 'searchResultDone' }>;
}

function entries(messages: readonly LdapMessage[]): SearchResultEntry[] {
  return messages.flatMap((m) => (m.op.type === 'searchResultEntry' ? [m.op] : []));
}

/** Attribute types and text values of an entry, for compact comparisons. */
function attributes(entry: SearchResultEntry | undefined): Record<string, string[]> {
  return Object.fromEntries((entry?.attributes ?? []).map((a) => [a.type, a.values.map(str)]));
}

function bindMessage(id: number, name: string, password: string, version = 3): LdapMessage {
  return {
    id,
    op: { type: 'bindRequest', version, name, auth: { kind: 'simple', password: bytes(password) } },
    controls: [],
  };
}

async function result(client: RawClient, id: number) {
  const m = await client.next();
  assert.equal(m.id, id);
  return m.op as Extract<ProtocolOp, { resultCode: number }>;
}

describe('root DSE', async () => {
  const { server, port } = await startTestServer();
  after(() => server.close());

  it('returns only objectClass unless operational attributes are asked for (RFC 4512 §5.1)', async () => {
    const client = await RawClient.connect(port);
    client.send(searchMessage(1, { baseObject: '', scope: 'base' }));
    const plain = await client.untilDone(1);
    assert.deepEqual(attributes(entries(plain)[0]), { objectClass: ['top'] });

    client.send(searchMessage(2, { baseObject: '', scope: 'base', attributes: ['+'] }));
    const all = await client.untilDone(2);
    assert.equal(done(all).resultCode, ResultCode.success);
    assert.equal(entries(all)[0]?.objectName, '');
    assert.deepEqual(attributes(entries(all)[0]), {
      namingContexts: [BASE_DN],
      supportedLDAPVersion: ['3'],
      supportedControl: [LdapOid.pagedResults],
      supportedExtension: [LdapOid.whoAmI],
      vendorName: ['Sealpost'],
    });

    client.send(searchMessage(3, { baseObject: '', scope: 'base', attributes: ['NAMINGcontexts', 'vendorname'] }));
    assert.deepEqual(attributes(entries(await client.untilDone(3))[0]), {
      namingContexts: [BASE_DN],
      vendorName: ['Sealpost'],
    });
    client.close();
  });

  it('evaluates the filter against the root DSE', async () => {
    const client = await RawClient.connect(port);
    client.send(searchMessage(1, { baseObject: '', scope: 'base', filter: '(objectClass=person)' }));
    const messages = await client.untilDone(1);
    assert.deepEqual(entries(messages), []);
    assert.equal(done(messages).resultCode, ResultCode.success);
    client.close();
  });
});

describe('search', async () => {
  const { server, port, backend } = await startTestServer();
  after(() => server.close());
  const alice = people()[0];

  it('returns the stored userCertificate;binary for userCertificate, userCertificate;binary and the OID', async () => {
    const client = await RawClient.connect(port);
    for (const [id, wanted] of [
      [1, 'userCertificate'],
      [2, 'USERCERTIFICATE;BINARY'],
      [3, '2.5.4.36'],
    ] as const) {
      client.send(searchMessage(id, { filter: '(mail=alice@example.org)', attributes: [wanted] }));
      const messages = await client.untilDone(id);
      assert.equal(done(messages).resultCode, ResultCode.success);
      const [entry] = entries(messages);
      assert.equal(entry?.objectName, `uid=alice,${PEOPLE_DN}`);
      assert.equal(entry?.attributes.length, 1);
      assert.equal(entry?.attributes[0]?.type, 'userCertificate;binary');
      assert.deepEqual(Buffer.from(entry?.attributes[0]?.values[0] ?? []), certificateDer('alice'));
    }
    client.close();
  });

  it('applies the attribute selection: "*", "1.1", names case-insensitively, typesOnly', async () => {
    const client = await RawClient.connect(port);
    const ask = async (id: number, fields: Parameters<typeof searchMessage>[1]) => {
      client.send(searchMessage(id, { filter: '(uid=alice)', ...fields }));
      return entries(await client.untilDone(id))[0];
    };
    const all = await ask(1, { attributes: ['*'] });
    assert.deepEqual(
      all?.attributes.map((a) => a.type),
      ['objectClass', 'uid', 'cn', 'sn', 'mail', 'userCertificate;binary'],
    );
    assert.deepEqual((await ask(2, { attributes: [] }))?.attributes, all?.attributes);
    assert.deepEqual((await ask(3, { attributes: ['1.1'] }))?.attributes, []);
    assert.deepEqual(attributes(await ask(4, { attributes: ['MAIL', 'commonName', 'unknown'] })), {
      cn: [alice?.name],
      mail: ['alice@example.org'],
    });
    assert.deepEqual(attributes(await ask(5, { attributes: ['1.1', 'rfc822Mailbox'] })), {
      mail: ['alice@example.org'],
    });
    assert.deepEqual(attributes(await ask(6, { attributes: ['mail', 'uid'], typesOnly: true })), { uid: [], mail: [] });
    client.close();
  });

  it('passes the request, the limit and the session to the backend, and its result to the client', async () => {
    const client = await RawClient.connect(port);
    client.send(searchMessage(1, { baseObject: `ou=nowhere,${BASE_DN}` }));
    const missing = done(await client.untilDone(1));
    assert.equal(missing.resultCode, ResultCode.noSuchObject);
    assert.equal(missing.matchedDN, BASE_DN);
    const seen = backend.searches.at(-1);
    assert.equal(seen?.options.limit, 1000);
    assert.equal(seen?.options.principal, null);
    assert.equal(seen?.options.cursor, undefined);

    client.send(searchMessage(2, { baseObject: PEOPLE_DN, scope: 'one', filter: '(|(uid=bob)(cn=carol*))' }));
    const found = await client.untilDone(2);
    assert.deepEqual(
      entries(found).map((e) => e.objectName),
      [`uid=bob,${PEOPLE_DN}`, `uid=carol,${PEOPLE_DN}`],
    );
    client.close();
  });

  it('stops at the client sizeLimit with sizeLimitExceeded, and caps it at maxSizeLimit', async () => {
    const capped = await startTestServer({ limits: { maxSizeLimit: 3 } });
    try {
      const client = await RawClient.connect(capped.port);
      client.send(searchMessage(1, { sizeLimit: 2 }));
      const two = await client.untilDone(1);
      assert.equal(entries(two).length, 2);
      assert.equal(done(two).resultCode, ResultCode.sizeLimitExceeded);

      client.send(searchMessage(2, { sizeLimit: 50 }));
      const three = await client.untilDone(2);
      assert.equal(entries(three).length, 3);
      assert.equal(done(three).resultCode, ResultCode.sizeLimitExceeded);
      assert.equal(capped.backend.searches.at(-1)?.options.limit, 3);

      client.send(searchMessage(3, { sizeLimit: 3, filter: '(uid=*)' }));
      const exact = await client.untilDone(3);
      assert.equal(entries(exact).length, 3);
      assert.equal(done(exact).resultCode, ResultCode.success);
      client.close();
    } finally {
      await capped.server.close();
    }
  });

  it('pages results with the paged results control (RFC 2696), critical or not', async () => {
    const client = await RawClient.connect(port);
    const seen: string[] = [];
    let cookie: Uint8Array = new Uint8Array(0);
    let id = 1;
    do {
      const critical = id % 2 === 0;
      const control = { oid: LdapOid.pagedResults, critical, value: encodePagedResults({ size: 2, cookie }) };
      client.send(searchMessage(id, { attributes: ['1.1'] }, [control]));
      const messages = await client.untilDone(id);
      seen.push(...entries(messages).map((e) => e.objectName));
      const page = done(messages);
      assert.equal(page.resultCode, ResultCode.success);
      const response = messages.at(-1)?.controls.find((c) => c.oid === LdapOid.pagedResults);
      assert.ok(response?.value, 'every page carries the paged results control');
      cookie = decodePagedResults(response.value).cookie;
      id++;
    } while (cookie.length > 0);
    assert.equal(id - 1, 3);
    assert.deepEqual(seen, [
      BASE_DN,
      PEOPLE_DN,
      `uid=alice,${PEOPLE_DN}`,
      `uid=bob,${PEOPLE_DN}`,
      `uid=carol,${PEOPLE_DN}`,
    ]);
    assert.equal(backend.searches.at(-1)?.options.cursor, '4');

    // A page size of 0 abandons the paged search: no entries, an empty cookie.
    const stop = {
      oid: LdapOid.pagedResults,
      critical: true,
      value: encodePagedResults({ size: 0, cookie: bytes('2') }),
    };
    client.send(searchMessage(10, {}, [stop]));
    const stopped = await client.untilDone(10);
    assert.deepEqual(entries(stopped), []);
    const control = stopped.at(-1)?.controls[0];
    assert.deepEqual(decodePagedResults(control?.value ?? new Uint8Array()).cookie, new Uint8Array(0));

    // A malformed control value is a protocol error of that search only.
    client.send(searchMessage(11, {}, [{ oid: LdapOid.pagedResults, critical: true, value: bytes('junk') }]));
    assert.equal(done(await client.untilDone(11)).resultCode, ResultCode.protocolError);
    client.close();
  });

  it('refuses an unknown critical control and ignores an unknown non-critical one (RFC 4511 §4.1.11)', async () => {
    const client = await RawClient.connect(port);
    client.send(searchMessage(1, { filter: '(uid=alice)' }, [{ oid: '1.2.3.4', critical: true }]));
    const refused = await client.untilDone(1);
    assert.deepEqual(entries(refused), []);
    assert.equal(done(refused).resultCode, ResultCode.unavailableCriticalExtension);
    client.send(searchMessage(2, { filter: '(uid=alice)' }, [{ oid: '1.2.3.4', critical: false }]));
    const answered = await client.untilDone(2);
    assert.equal(entries(answered).length, 1);
    assert.equal(done(answered).resultCode, ResultCode.success);
    client.close();
  });

  it('answers the backend failing with other (80), logs it, and keeps the session', async () => {
    const failing = new MemoryBackend({
      beforeSearch: async (request) => {
        if (request.baseObject === 'cn=broken') throw new Error('database unreachable');
      },
    });
    const t = await startTestServer({ backend: failing });
    try {
      const client = await RawClient.connect(t.port);
      client.send(searchMessage(1, { baseObject: 'cn=broken' }));
      const failed = done(await client.untilDone(1));
      assert.equal(failed.resultCode, ResultCode.other);
      assert.doesNotMatch(failed.diagnosticMessage, /database/);
      assert.ok(t.events.some((e) => e.event === 'error' && e.message.includes('database unreachable')));
      client.send(searchMessage(2, { filter: '(uid=bob)' }));
      assert.equal(entries(await client.untilDone(2)).length, 1);
      client.close();
    } finally {
      await t.server.close();
    }
  });
});

describe('concurrent operations, abandon and time limits', () => {
  it('runs several searches at once on one connection, each answered in order', async () => {
    const gates = new Map<string, () => void>();
    const backend = new MemoryBackend({
      beforeSearch: (request) =>
        request.baseObject === PEOPLE_DN ? new Promise((resolve) => gates.set('people', resolve)) : Promise.resolve(),
    });
    const t = await startTestServer({ backend });
    try {
      const client = await RawClient.connect(t.port);
      client.send(searchMessage(1, { baseObject: PEOPLE_DN, filter: '(uid=*)', attributes: ['uid'] }));
      client.send(searchMessage(2, { filter: '(uid=carol)', attributes: ['uid'] }));
      // The second search finishes while the first still waits for the backend.
      const second = await client.untilDone(2);
      assert.deepEqual(entries(second).map(attributes), [{ uid: ['carol'] }]);
      await eventually(() => gates.has('people'));
      gates.get('people')?.();
      const first = await client.untilDone(1);
      assert.deepEqual(
        entries(first).map((e) => attributes(e).uid?.[0]),
        ['alice', 'bob', 'carol'],
      );
      client.close();
    } finally {
      await t.server.close();
    }
  });

  it('answers busy beyond maxOutstandingPerConnection', async () => {
    const backend = new MemoryBackend({
      beforeSearch: (_, { signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve())),
    });
    const t = await startTestServer({ backend, limits: { maxOutstandingPerConnection: 2 } });
    try {
      const client = await RawClient.connect(t.port);
      for (const id of [1, 2, 3]) client.send(searchMessage(id, {}));
      assert.equal(done(await client.untilDone(3)).resultCode, ResultCode.busy);
      client.close();
    } finally {
      await t.server.close();
    }
  });

  it('abandon aborts the backend search and sends nothing more for it (RFC 4511 §4.11)', async () => {
    const signals: AbortSignal[] = [];
    const backend = new MemoryBackend({
      beforeSearch: async (request, { signal }) => {
        if (request.baseObject !== PEOPLE_DN) return;
        signals.push(signal);
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      },
    });
    const t = await startTestServer({ backend });
    try {
      const client = await RawClient.connect(t.port);
      client.send(searchMessage(1, { baseObject: PEOPLE_DN }));
      await eventually(() => signals.length === 1);
      client.send({ id: 2, op: { type: 'abandonRequest', idToAbandon: 1 }, controls: [] });
      await eventually(() => signals[0]?.aborted === true);
      assert.equal(signals[0]?.reason, 'abandoned');
      // Abandoning an unknown ID is harmless; the session goes on and nothing arrived for search 1.
      client.send({ id: 3, op: { type: 'abandonRequest', idToAbandon: 99 }, controls: [] });
      client.send(searchMessage(4, { filter: '(uid=alice)', attributes: ['1.1'] }));
      const after = await client.untilDone(4);
      assert.ok(after.every((m) => m.id === 4));
      const logged = t.events.find((e) => e.event === 'search' && e.messageId === 1);
      assert.equal(logged?.event === 'search' && logged.resultCode, null);
      client.close();
    } finally {
      await t.server.close();
    }
  });

  it('ends a search at its time limit with timeLimitExceeded, capped by maxTimeLimitSeconds', async () => {
    const signals: AbortSignal[] = [];
    const backend = new MemoryBackend({
      // A backend that ignores its signal: the server still answers at the limit.
      beforeSearch: (_, { signal }) => {
        signals.push(signal);
        return new Promise(() => {});
      },
    });
    const t = await startTestServer({ backend, limits: { maxTimeLimitSeconds: 1 } });
    try {
      const client = await RawClient.connect(t.port);
      client.send(searchMessage(1, { timeLimit: 3600 }));
      const timedOut = await client.untilDone(1);
      assert.equal(done(timedOut).resultCode, ResultCode.timeLimitExceeded);
      assert.equal(signals[0]?.reason, 'time limit');
      client.close();
    } finally {
      await t.server.close();
    }
  });
});

describe('bind and session', async () => {
  it('accepts anonymous and simple binds, refuses SASL, LDAPv2 and unauthenticated binds', async () => {
    const t = await startTestServer();
    try {
      const client = await RawClient.connect(t.port);
      client.send(bindMessage(1, '', ''));
      assert.equal((await result(client, 1)).resultCode, ResultCode.success);
      client.send(bindMessage(2, READER_DN, 'wrong'));
      assert.equal((await result(client, 2)).resultCode, ResultCode.invalidCredentials);
      client.send(bindMessage(3, READER_DN, ''));
      assert.equal((await result(client, 3)).resultCode, ResultCode.unwillingToPerform);
      client.send(bindMessage(4, READER_DN, READER_PASSWORD, 2));
      assert.equal((await result(client, 4)).resultCode, ResultCode.protocolError);
      client.send({
        id: 5,
        op: { type: 'bindRequest', version: 3, name: '', auth: { kind: 'sasl', mechanism: 'EXTERNAL' } },
        controls: [],
      });
      assert.equal((await result(client, 5)).resultCode, ResultCode.authMethodNotSupported);

      const whoAmI = { id: 0, op: { type: 'extendedRequest' as const, name: LdapOid.whoAmI }, controls: [] };
      client.send({ ...whoAmI, id: 6 });
      const anonymous = await result(client, 6);
      assert.equal(anonymous.type === 'extendedResponse' && str(anonymous.value ?? new Uint8Array()), '');

      client.send(bindMessage(7, READER_DN, READER_PASSWORD));
      assert.equal((await result(client, 7)).resultCode, ResultCode.success);
      client.send({ ...whoAmI, id: 8 });
      const bound = await result(client, 8);
      assert.equal(bound.type === 'extendedResponse' && str(bound.value ?? new Uint8Array()), `dn:${READER_DN}`);
      client.send(searchMessage(9, { filter: '(uid=bob)' }));
      await client.untilDone(9);
      assert.equal(t.backend.searches.at(-1)?.options.principal, 'reader');

      // A failed bind leaves the session anonymous (RFC 4511 §4.2.1).
      client.send(bindMessage(10, READER_DN, 'wrong'));
      await result(client, 10);
      client.send(searchMessage(11, { filter: '(uid=bob)' }));
      await client.untilDone(11);
      assert.equal(t.backend.searches.at(-1)?.options.principal, null);
      client.close();

      const logged = JSON.stringify(t.events);
      assert.match(logged, /"event":"bind"/);
      assert.doesNotMatch(logged, new RegExp(READER_PASSWORD));
    } finally {
      await t.server.close();
    }
  });

  it('without anonymous access, answers the root DSE but nothing else until a bind', async () => {
    const t = await startTestServer({ anonymous: false });
    try {
      const client = await RawClient.connect(t.port);
      client.send(searchMessage(1, { baseObject: '', scope: 'base' }));
      assert.equal(entries(await client.untilDone(1)).length, 1);
      client.send(searchMessage(2, {}));
      assert.equal(done(await client.untilDone(2)).resultCode, ResultCode.insufficientAccessRights);
      client.send(bindMessage(3, '', ''));
      assert.equal((await result(client, 3)).resultCode, ResultCode.inappropriateAuthentication);
      client.send(bindMessage(4, READER_DN, READER_PASSWORD));
      assert.equal((await result(client, 4)).resultCode, ResultCode.success);
      client.send(searchMessage(5, { filter: '(uid=carol)' }));
      assert.equal(entries(await client.untilDone(5)).length, 1);
      client.close();
    } finally {
      await t.server.close();
    }
  });

  it('with requireTlsForBind, refuses a simple bind in the clear with confidentialityRequired', async () => {
    const t = await startTestServer({ requireTlsForBind: true });
    try {
      const client = await RawClient.connect(t.port);
      client.send(bindMessage(1, READER_DN, READER_PASSWORD));
      assert.equal((await result(client, 1)).resultCode, ResultCode.confidentialityRequired);
      client.close();
    } finally {
      await t.server.close();
    }
  });

  it('is read-only: writes answer unwillingToPerform, as does compare', async () => {
    const t = await startTestServer();
    try {
      const client = await RawClient.connect(t.port);
      const requests: [ProtocolOp, string][] = [
        [{ type: 'addRequest', entry: `uid=eve,${PEOPLE_DN}`, attributes: [] }, 'addResponse'],
        [{ type: 'modifyRequest', object: `uid=bob,${PEOPLE_DN}`, changes: [] }, 'modifyResponse'],
        [{ type: 'delRequest', dn: `uid=bob,${PEOPLE_DN}` }, 'delResponse'],
        [
          { type: 'modifyDnRequest', entry: `uid=bob,${PEOPLE_DN}`, newRdn: 'uid=robert', deleteOldRdn: true },
          'modifyDnResponse',
        ],
        [
          { type: 'compareRequest', entry: `uid=bob,${PEOPLE_DN}`, attribute: 'uid', value: bytes('bob') },
          'compareResponse',
        ],
      ];
      for (const [i, [op, responseType]] of requests.entries()) {
        client.send({ id: i + 1, op, controls: [] });
        const response = await result(client, i + 1);
        assert.equal(response.type, responseType);
        assert.equal(response.resultCode, ResultCode.unwillingToPerform);
      }
      assert.equal(t.backend.searches.length, 0);
      client.close();
    } finally {
      await t.server.close();
    }
  });

  it('answers an unknown extended operation, and StartTLS without a certificate, with protocolError', async () => {
    const t = await startTestServer();
    try {
      const client = await RawClient.connect(t.port);
      client.send({ id: 1, op: { type: 'extendedRequest', name: '1.2.3.4.5' }, controls: [] });
      assert.equal((await result(client, 1)).resultCode, ResultCode.protocolError);
      client.send({ id: 2, op: { type: 'extendedRequest', name: LdapOid.startTls }, controls: [] });
      assert.equal((await result(client, 2)).resultCode, ResultCode.protocolError);
      client.send(searchMessage(3, { filter: '(uid=bob)' }));
      assert.equal(entries(await client.untilDone(3)).length, 1);
      client.close();
    } finally {
      await t.server.close();
    }
  });

  it('unbind closes the session', async () => {
    const t = await startTestServer();
    try {
      const client = await RawClient.connect(t.port);
      client.send({ id: 1, op: { type: 'unbindRequest' }, controls: [] });
      await client.closed;
      assert.deepEqual(client.pending(), []);
      await eventually(() => t.server.connections === 0);
      assert.ok(t.events.some((e) => e.event === 'disconnect' && e.reason === 'unbind'));
    } finally {
      await t.server.close();
    }
  });

  it('close() sends every session a Notice of Disconnection (unavailable) and waits for it', async () => {
    const t = await startTestServer();
    const client = await RawClient.connect(t.port);
    client.send(searchMessage(1, { filter: '(uid=bob)' }));
    await client.untilDone(1);
    await t.server.close();
    const notice = await client.next();
    assert.equal(notice.id, 0);
    assert.equal(notice.op.type, 'extendedResponse');
    assert.equal(notice.op.type === 'extendedResponse' && notice.op.name, LdapOid.noticeOfDisconnection);
    assert.equal(notice.op.type === 'extendedResponse' && notice.op.resultCode, ResultCode.unavailable);
    await client.closed;
    assert.equal(t.server.connections, 0);
  });
});
