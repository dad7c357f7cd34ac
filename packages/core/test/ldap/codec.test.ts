import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { decode } from '../../src/asn1/der.ts';
import { integer, seq, tlv } from '../../src/asn1/encode.ts';
import { isSealpostError } from '../../src/errors.ts';
import {
  decodeLdapMessage,
  decodePagedResults,
  encodeLdapMessage,
  encodePagedResults,
  LDAP_LIMITS,
  type LdapMessage,
  LdapOid,
  type ProtocolOp,
  parseFilter,
  ResultCode,
  readLdapFrame,
} from '../../src/ldap/index.ts';
import { messageArb } from './arbitraries.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const utf8 = (s: string) => new TextEncoder().encode(s);
const throwsCode = (f: () => unknown, code: 'LDAP_MALFORMED' | 'LDAP_LIMIT', message?: RegExp) =>
  assert.throws(f, (e) => isSealpostError(e, code) && (message === undefined || message.test(e.message)));

/** A message around an already encoded protocolOp, for hand-built bad inputs. */
const wrap = (op: Uint8Array, id = 1) => seq(integer(id), op);

test('every protocolOp round trips through encode and decode; encodings are DER-minimal', () => {
  fc.assert(
    fc.property(messageArb, (m) => {
      const bytes = encodeLdapMessage(m);
      assert.deepEqual(decodeLdapMessage(bytes), m);
      assert.equal(readLdapFrame(bytes), bytes.length);
      // DER mode refuses non-minimal lengths and BOOLEANs other than 00/FF.
      decode(bytes);
    }),
    { numRuns: 1000 },
  );
});

test('readLdapFrame waits for a whole message and finds its end in a stream', () => {
  const a = encodeLdapMessage({ id: 1, op: { type: 'delRequest', dn: 'x'.repeat(300) }, controls: [] });
  const b = encodeLdapMessage({ id: 2, op: { type: 'unbindRequest' }, controls: [] });
  for (let n = 0; n < a.length; n++) assert.equal(readLdapFrame(a.subarray(0, n)), null);
  assert.equal(readLdapFrame(Buffer.concat([a, b])), a.length);
  assert.equal(readLdapFrame(b), 7);
  // Non-minimal long form as liblber and AD write it: 30 84 00 00 00 05 ...
  assert.equal(readLdapFrame(hex('3084 00000005 020102 4200')), 11);
  assert.equal(readLdapFrame(hex('3084 0000')), null);
});

test('readLdapFrame rejects headers that can never become a valid message', () => {
  throwsCode(() => readLdapFrame(hex('31 00')), 'LDAP_MALFORMED', /SEQUENCE/);
  throwsCode(() => readLdapFrame(hex('30 80')), 'LDAP_MALFORMED', /indefinite/);
  throwsCode(() => readLdapFrame(hex('30 85 0000000001')), 'LDAP_MALFORMED', /length octets/);
  // 4 GiB announced in six bytes: refused before any of it is buffered.
  throwsCode(() => readLdapFrame(hex('30 84 ffffffff')), 'LDAP_LIMIT');
  throwsCode(() => readLdapFrame(hex('30 82 0400'), { maxMessageBytes: 1024 }), 'LDAP_LIMIT');
  assert.equal(readLdapFrame(hex('30 82 03fc'), { maxMessageBytes: 1024 }), null);
  assert.equal(LDAP_LIMITS.maxMessageBytes, 1024 * 1024);
});

test('known answers: hand-checked encodings decode to the expected values', () => {
  // Anonymous simple bind (RFC 4513 §5.1.1): 30 0c | 02 01 01 messageID 1 | 60 07 bindRequest |
  // 02 01 03 version 3 | 04 00 name "" | 80 00 simple "".
  const bind = hex('300c 020101 6007 020103 0400 8000');
  assert.deepEqual(decodeLdapMessage(bind), {
    id: 1,
    op: { type: 'bindRequest', version: 3, name: '', auth: { kind: 'simple', password: new Uint8Array() } },
    controls: [],
  });
  assert.deepEqual(
    encodeLdapMessage({
      id: 1,
      op: { type: 'bindRequest', version: 3, name: '', auth: { kind: 'simple', password: new Uint8Array() } },
      controls: [],
    }),
    bind,
  );
  // A BindResponse with AD's four-octet long-form lengths: 61 84 00000007 | 0a 01 00 success | 04 00 | 04 00.
  assert.deepEqual(decodeLdapMessage(hex('3084 00000010 020101 6184 00000007 0a0100 0400 0400')), {
    id: 1,
    op: { type: 'bindResponse', resultCode: 0, matchedDN: '', diagnosticMessage: '' },
    controls: [],
  });
  // Notice of Disconnection (RFC 4511 §4.4.1): messageID 0, ExtendedResponse 78 | resultCode 52
  // unavailable | responseName [10] 1.3.6.1.4.1.1466.20036.
  const notice = seq(integer(0), tlv(0x78, hex('0a0134 0400 0400'), tlv(0x8a, utf8(LdapOid.noticeOfDisconnection))));
  assert.deepEqual(decodeLdapMessage(notice).op, {
    type: 'extendedResponse',
    resultCode: ResultCode.unavailable,
    matchedDN: '',
    diagnosticMessage: '',
    name: LdapOid.noticeOfDisconnection,
  });
});

/** Answers ldapsearch as a directory would and records every message it sends. */
async function captureLdapsearch(
  args: string[],
): Promise<{ frames: Uint8Array[]; received: LdapMessage[]; stdout: string; code: number }> {
  const frames: Uint8Array[] = [];
  const received: LdapMessage[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let buf = Buffer.alloc(0);
    const send = (id: number, op: ProtocolOp, controls: LdapMessage['controls'] = []) =>
      socket.write(encodeLdapMessage({ id, op, controls }));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (let n = readLdapFrame(buf); n !== null; n = readLdapFrame(buf)) {
        frames.push(buf.subarray(0, n));
        const m = decodeLdapMessage(buf.subarray(0, n));
        buf = buf.subarray(n);
        received.push(m);
        const done = { resultCode: ResultCode.success, matchedDN: '', diagnosticMessage: '' };
        if (m.op.type === 'bindRequest') send(m.id, { type: 'bindResponse', ...done });
        if (m.op.type === 'searchRequest') {
          send(m.id, {
            type: 'searchResultEntry',
            objectName: 'uid=alice,ou=people,dc=example,dc=org',
            attributes: [
              { type: 'mail', values: [utf8('alice@example.org')] },
              { type: 'userCertificate;binary', values: [hex('3003020101')] },
            ],
          });
          const paged = {
            oid: LdapOid.pagedResults,
            critical: false,
            value: encodePagedResults({ size: 0, cookie: new Uint8Array() }),
          };
          send(m.id, { type: 'searchResultDone', ...done }, [paged]);
        }
        if (m.op.type === 'unbindRequest') socket.end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  try {
    const child = spawn('ldapsearch', ['-x', '-H', `ldap://127.0.0.1:${port}`, ...args], {
      // LDAPNOINIT: no ldap.conf or ~/.ldaprc may change what is sent.
      env: { ...process.env, LDAPNOINIT: '1' },
      timeout: 20_000,
    });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const [code] = (await once(child, 'close')) as [number];
    return { frames, received, stdout, code };
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
}

test('known answers: decodes what OpenLDAP ldapsearch sends, and ldapsearch reads our responses', async () => {
  const { frames, received, stdout, code } = await captureLdapsearch([
    '-b',
    'ou=people,dc=example,dc=org',
    '-E',
    'pr=10/noprompt',
    '(&(mail=alice@example.org)(objectClass=*))',
    'mail',
    'userCertificate;binary',
  ]);
  assert.equal(code, 0, stdout);
  assert.deepEqual(
    received.map((m) => m.op.type),
    ['bindRequest', 'searchRequest', 'unbindRequest'],
  );
  const [bind, search] = received as [LdapMessage, LdapMessage];
  assert.deepEqual(bind.op, {
    type: 'bindRequest',
    version: 3,
    name: '',
    auth: { kind: 'simple', password: new Uint8Array() },
  });
  assert.deepEqual(search.op, {
    type: 'searchRequest',
    baseObject: 'ou=people,dc=example,dc=org',
    scope: 'sub',
    derefAliases: 0,
    sizeLimit: 0,
    timeLimit: 0,
    typesOnly: false,
    filter: parseFilter('(&(mail=alice@example.org)(objectClass=*))'),
    attributes: ['mail', 'userCertificate;binary'],
  });
  assert.equal(search.controls.length, 1);
  const control = search.controls[0]!;
  assert.equal(control.oid, LdapOid.pagedResults);
  assert.equal(control.critical, false);
  assert.deepEqual(decodePagedResults(control.value!), { size: 10, cookie: new Uint8Array() });
  // Re-encoding reproduces ldapsearch's exact bytes: liblber writes minimal lengths too.
  assert.deepEqual(received.map(encodeLdapMessage), frames);
  assert.match(stdout, /^dn: uid=alice,ou=people,dc=example,dc=org$/m);
  assert.match(stdout, /^mail: alice@example.org$/m);
  assert.match(stdout, new RegExp(`^userCertificate;binary:: ${hex('3003020101').toString('base64')}$`, 'm'));
});

test('decoders are lenient where RFC 4511 and X.690 allow', () => {
  // BOOLEAN TRUE as 01 (X.690 §8.2.2): typesOnly.
  const search = (typesOnly: string, tail = '') =>
    wrap(tlv(0x63, hex(`0400 0a0100 0a0100 020100 020100 0101${typesOnly} 8702636e 3000 ${tail}`)));
  assert.equal((decodeLdapMessage(search('01')).op as { typesOnly: boolean }).typesOnly, true);
  assert.equal((decodeLdapMessage(search('00')).op as { typesOnly: boolean }).typesOnly, false);
  // Unknown trailing SEQUENCE components are ignored (RFC 4511 §4).
  assert.equal(decodeLdapMessage(search('00', '8501ff')).op.type, 'searchRequest');
  const done = wrap(tlv(0x65, hex('0a0100 0400 0400 9f6400')));
  assert.equal(decodeLdapMessage(done).op.type, 'searchResultDone');
});

test('decoders reject what RFC 4511 forbids, with LDAP_MALFORMED', () => {
  const good = encodeLdapMessage({
    id: 5,
    op: { type: 'compareRequest', entry: 'cn=a', attribute: 'mail', value: utf8('x') },
    controls: [{ oid: '1.2.3', critical: true }],
  });
  // Truncated at every point, and with trailing bytes.
  for (let n = 0; n < good.length; n++) throwsCode(() => decodeLdapMessage(good.subarray(0, n)), 'LDAP_MALFORMED');
  throwsCode(() => decodeLdapMessage(Buffer.concat([good, hex('00')])), 'LDAP_MALFORMED', /trailing/);
  // Indefinite lengths, anywhere (RFC 4511 §5.1).
  throwsCode(() => decodeLdapMessage(hex('3080 020101 4200 0000')), 'LDAP_MALFORMED', /indefinite/);
  throwsCode(() => decodeLdapMessage(hex('300f 020101 6e80 0400 3004 0400 0400 0000')), 'LDAP_MALFORMED', /indefinite/);
  // A constructed OCTET STRING as the DN of a DelRequest's sibling: CompareRequest entry.
  throwsCode(
    () => decodeLdapMessage(hex('3011 020101 6e0c 2404 0402 636e 3004 0400 0400')),
    'LDAP_MALFORMED',
    /constructed/,
  );
  // messageID outside 0..2^31-1.
  throwsCode(() => decodeLdapMessage(hex('3009 0205 0080000000 4200')), 'LDAP_MALFORMED', /messageID/);
  throwsCode(() => decodeLdapMessage(hex('3005 0201ff 4200')), 'LDAP_MALFORMED', /messageID/);
  // Unknown protocolOp: the tag number is in the message.
  throwsCode(() => decodeLdapMessage(hex('3005 020101 5e00')), 'LDAP_MALFORMED', /APPLICATION 30/);
  // Wrong tags: a primitive SearchRequest, a universal tag as protocolOp, a NULL messageID.
  throwsCode(() => decodeLdapMessage(hex('3005 020101 4300')), 'LDAP_MALFORMED', /searchRequest/);
  throwsCode(() => decodeLdapMessage(hex('3005 020101 0400')), 'LDAP_MALFORMED', /APPLICATION/);
  throwsCode(() => decodeLdapMessage(hex('3004 0500 4200')), 'LDAP_MALFORMED', /messageID/);
  // Invalid UTF-8 in an LDAPDN (a lone continuation byte).
  throwsCode(() => decodeLdapMessage(wrap(tlv(0x4a, hex('636e3d80')))), 'LDAP_MALFORMED', /UTF-8/);
  // Out-of-range enumerations and versions.
  throwsCode(() => decodeLdapMessage(wrap(hex('6007 020100 0400 8000'))), 'LDAP_MALFORMED', /version/);
  throwsCode(
    () => decodeLdapMessage(wrap(tlv(0x63, hex('0400 0a0103 0a0100 020100 020100 010100 8702636e 3000')))),
    'LDAP_MALFORMED',
    /scope/,
  );
  // An unsupported authentication choice and a control type that is not an OID.
  throwsCode(() => decodeLdapMessage(wrap(hex('6007 020103 0400 8900'))), 'LDAP_MALFORMED', /authentication/);
  throwsCode(() => decodeLdapMessage(hex('300c 020101 4200 a005 3003 040178')), 'LDAP_MALFORMED', /control 1 type/);
});

test('decoders enforce limits with LDAP_LIMIT', () => {
  const entry = (attributes: number, values: number): LdapMessage => ({
    id: 1,
    op: {
      type: 'searchResultEntry',
      objectName: 'cn=x',
      attributes: Array.from({ length: attributes }, (_, i) => ({
        type: `a${i}`,
        values: Array.from({ length: values }, () => utf8('v')),
      })),
    },
    controls: [],
  });
  decodeLdapMessage(encodeLdapMessage(entry(LDAP_LIMITS.maxAttributes, 4)));
  throwsCode(() => decodeLdapMessage(encodeLdapMessage(entry(LDAP_LIMITS.maxAttributes + 1, 1))), 'LDAP_LIMIT');
  throwsCode(() => decodeLdapMessage(encodeLdapMessage(entry(1, 11)), { maxValues: 10 }), 'LDAP_LIMIT');
  const big = encodeLdapMessage({ id: 1, op: { type: 'delRequest', dn: 'x'.repeat(2000) }, controls: [] });
  throwsCode(() => decodeLdapMessage(big, { maxMessageBytes: 1000 }), 'LDAP_LIMIT');
  const controls = Array.from({ length: LDAP_LIMITS.maxControls + 1 }, () => ({ oid: '1.2.3', critical: false }));
  throwsCode(
    () => decodeLdapMessage(encodeLdapMessage({ id: 1, op: { type: 'unbindRequest' }, controls })),
    'LDAP_LIMIT',
  );
});

test('encoders refuse values a peer would reject', () => {
  const bad: LdapMessage[] = [
    { id: 2 ** 31, op: { type: 'unbindRequest' }, controls: [] },
    { id: -1, op: { type: 'unbindRequest' }, controls: [] },
    { id: 1, op: { type: 'unbindRequest' }, controls: [{ oid: 'not-an-oid', critical: false }] },
    { id: 1, op: { type: 'searchResultReference', uris: [] }, controls: [] },
    { id: 1, op: { type: 'extendedRequest', name: 'startTLS' }, controls: [] },
  ];
  for (const m of bad)
    assert.throws(
      () => encodeLdapMessage(m),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
});
