import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildOcspRequest, isSealpostError } from '@sealpost/core';
import { createTestCa, freePort, type TestCa } from '../../core/test/revocation/openssl-ca.ts';
import { gatherRevocationData, revocationPolicy } from '../src/gather.ts';

describe('gathering from an OpenSSL CA over loopback HTTP', () => {
  let ca: TestCa;
  let crlServer: Server;
  let crlRequests = 0;
  /** What the CRL server sends for any path but /ca.crl: an OCSP answer without our nonce. */
  let replay: Buffer = Buffer.alloc(0);
  let cacheDir: string;

  before(async () => {
    const crlPort = await freePort();
    const ocspPort = await freePort();
    ca = createTestCa(`http://127.0.0.1:${crlPort}/ca.crl`, `http://127.0.0.1:${ocspPort}/`);
    crlServer = createServer((req, res) => {
      if (req.url === '/ca.crl') {
        crlRequests++;
        res.end(ca.crl());
      } else {
        res.end(replay);
      }
    });
    await new Promise<void>((r) => crlServer.listen(crlPort, '127.0.0.1', r));
    await ca.serveOcsp(ocspPort, 'responder');
    cacheDir = mkdtempSync(join(tmpdir(), 'sealpost-crl-cache-'));
  });
  after(() => {
    crlServer.closeAllConnections();
    crlServer.close();
    ca.cleanup();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  test('OCSP answers good and revoked; no CRL is downloaded when OCSP suffices', async () => {
    const before = crlRequests;
    const good = await revocationPolicy([ca.good, ca.ca]);
    assert.equal(good.mode, 'soft-fail');
    assert.deepEqual(pick(good.check(ca.good, ca.ca, new Date())), ['good', 'ocsp']);
    const revoked = await revocationPolicy([ca.revoked, ca.ca], { ocspHash: 'sha256' });
    const s = revoked.check(ca.revoked, ca.ca, new Date());
    assert.deepEqual(pick(s), ['revoked', 'ocsp']);
    assert.equal(s.reason, 'keyCompromise');
    assert.equal(crlRequests, before);
  });

  test('an OCSP "unknown" falls back to the CRL from the distribution point', async () => {
    const data = await gatherRevocationData([ca.stranger, ca.ca]);
    assert.equal(data.ocspResponses.length, 1);
    assert.equal(data.crls.length, 1);
    const policy = await revocationPolicy([ca.stranger, ca.ca]);
    assert.deepEqual(pick(policy.check(ca.stranger, ca.ca, new Date())), ['good', 'crl']);
  });

  test('CRLs are cached by URL until their nextUpdate; offline uses only files and the cache', async () => {
    const first = await gatherRevocationData([ca.revoked, ca.ca], { ocsp: false, cacheDir });
    assert.equal(first.crls.length, 1);
    assert.equal(readdirSync(cacheDir).filter((f) => f.endsWith('.crl')).length, 1);
    const count = crlRequests;
    const second = await gatherRevocationData([ca.revoked, ca.ca], { ocsp: false, cacheDir });
    assert.equal(second.crls.length, 1);
    assert.equal(crlRequests, count);
    const offline = await revocationPolicy([ca.revoked, ca.ca], { offline: true, cacheDir });
    assert.deepEqual(pick(offline.check(ca.revoked, ca.ca, new Date())), ['revoked', 'crl']);
    // Past the cached CRL's nextUpdate it is fetched again.
    await gatherRevocationData([ca.revoked, ca.ca], {
      ocsp: false,
      cacheDir,
      now: new Date(Date.now() + 8 * 86400_000),
    });
    assert.equal(crlRequests, count + 1);
  });

  test('offline without a cache touches no network and says so', async () => {
    const count = crlRequests;
    const data = await gatherRevocationData([ca.good, ca.ca], {
      offline: true,
      crlFiles: [join(ca.dir, 'ca.crl.pem')],
    });
    assert.equal(crlRequests, count);
    assert.equal(data.crls.length, 1);
    assert.equal(data.ocspResponses.length, 0);
    assert.match(data.notes.join('\n'), /Offline: the CRL at http:\/\/127\.0\.0\.1:\d+\/ca\.crl was not fetched/);
  });

  test('a missing CRL file is a note', async () => {
    const data = await gatherRevocationData([ca.good, ca.ca], { offline: true, crlFiles: [join(ca.dir, 'nope.crl')] });
    assert.match(data.notes[0]!, /The CRL file .*nope\.crl cannot be read/);
  });

  test('an OCSP answer without our nonce is ignored; a dead CRL server is a note', async () => {
    // A second CA whose leaves send OCSP requests to a server that replays a nonce-less answer.
    const port = (crlServer.address() as { port: number }).port;
    const other = createTestCa(`http://127.0.0.1:${await freePort()}/dead.crl`, `http://127.0.0.1:${port}/replay`);
    try {
      replay = other.respond(buildOcspRequest([{ certificate: other.good, issuer: other.ca }], { nonce: false }).der);
      const data = await gatherRevocationData([other.good, other.ca]);
      assert.deepEqual(data.ocspResponses, []);
      assert.deepEqual(data.crls, []);
      const notes = data.notes.join('\n');
      assert.match(notes, /did not echo the request nonce/);
      assert.match(notes, /dead\.crl: connect ECONNREFUSED/);
      // Without a nonce the same answer is taken.
      const plain = await gatherRevocationData([other.good, other.ca], { nonce: false });
      assert.equal(plain.ocspResponses.length, 1);
    } finally {
      other.cleanup();
    }
  });

  test('size caps apply to CRLs and OCSP answers', async () => {
    const data = await gatherRevocationData([ca.good, ca.ca], { maxOcspBytes: 10, maxCrlBytes: 10 });
    assert.deepEqual([data.crls.length, data.ocspResponses.length], [0, 0]);
    assert.equal(data.notes.filter((n) => /more than the 10-byte cap/.test(n)).length, 2);
  });

  test('bad arguments throw INVALID_ARGUMENT', async () => {
    await assert.rejects(gatherRevocationData([]), (e) => isSealpostError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(gatherRevocationData([ca.good], { timeoutMs: -1 }), (e) =>
      isSealpostError(e, 'INVALID_ARGUMENT'),
    );
  });
});

const pick = (s: { status: string; source?: string }) => [s.status, s.source];
