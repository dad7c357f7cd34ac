import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../core/test/revocation/openssl-ca.ts';
import { fetchBytes } from '../src/http.ts';

/** A loopback server whose behaviour is chosen by the request path. */
function start(handler: (path: string, res: ServerResponse) => void): Promise<{ server: Server; base: string }> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => handler(req.url ?? '/', res));
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ server, base: `http://127.0.0.1:${port}` });
    });
  });
}

describe('fetchBytes against real loopback servers', () => {
  let server: Server;
  let base: string;
  before(async () => {
    ({ server, base } = await start((path, res) => {
      switch (path) {
        case '/ok':
          res.end('hello');
          break;
        case '/stall-headers':
          break; // never answers
        case '/stall-body':
          res.writeHead(200, { 'content-length': '1000' });
          res.write('x'.repeat(10));
          break;
        case '/declared-big':
          res.writeHead(200, { 'content-length': String(1 << 20) });
          res.write('x');
          break;
        case '/chunked-big':
          res.writeHead(200);
          for (let i = 0; i < 64; i++) res.write(Buffer.alloc(1024));
          res.end();
          break;
        case '/redirect':
          res.writeHead(302, { location: '/ok' });
          res.end();
          break;
        case '/loop':
          res.writeHead(301, { location: '/loop' });
          res.end();
          break;
        default:
          res.writeHead(404);
          res.end();
      }
    }));
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const opts = { timeoutMs: 300, maxBytes: 4096 };

  test('a body within the cap, also after a redirect', async () => {
    assert.deepEqual(await fetchBytes(`${base}/ok`, opts), { ok: true, body: Buffer.from('hello') });
    assert.deepEqual(await fetchBytes(`${base}/redirect`, opts), { ok: true, body: Buffer.from('hello') });
  });

  test('a server that stalls before or during the body is cut off by the timeout', async () => {
    for (const path of ['/stall-headers', '/stall-body']) {
      const r = await fetchBytes(`${base}${path}`, opts);
      assert.equal(r.ok, false);
      assert.match((r as { error: string }).error, /did not answer within 300 ms/);
    }
  });

  test('the size cap holds for declared and undeclared lengths', async () => {
    const declared = await fetchBytes(`${base}/declared-big`, opts);
    assert.match((declared as { error: string }).error, /sends 1048576 bytes, more than the 4096-byte cap/);
    const chunked = await fetchBytes(`${base}/chunked-big`, opts);
    assert.match((chunked as { error: string }).error, /sent more than the 4096-byte cap/);
  });

  test('HTTP errors, redirect loops, dead ports and bad URLs are errors, not exceptions', async () => {
    assert.match(((await fetchBytes(`${base}/missing`, opts)) as { error: string }).error, /HTTP 404/);
    assert.match(((await fetchBytes(`${base}/loop`, opts)) as { error: string }).error, /redirected more than 3/);
    const dead = await fetchBytes(`http://127.0.0.1:${await freePort()}/x.crl`, opts);
    assert.match((dead as { error: string }).error, /ECONNREFUSED/);
    assert.match(((await fetchBytes('ldap://example/x', opts)) as { error: string }).error, /only http and https/);
    assert.match(((await fetchBytes('not a url', opts)) as { error: string }).error, /not a valid URL/);
  });
});
