import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { createRoot, Scratch, useTemplate } from './pki-support.ts';
import { type ApiServer, DIALECTS, startApi } from './support.ts';

/**
 * openssl ocsp against the live responder. Asynchronous: the server answers on this process's event
 * loop, so a synchronous child would wait for a server that cannot run.
 */
function ocsp(scratch: Scratch, url: string, ...extra: string[]): Promise<string> {
  const args = ['ocsp', '-url', url, '-issuer', 'ca.pem', '-cert', 'leaf.pem', '-CAfile', 'ca.pem', ...extra];
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { cwd: scratch.dir });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve(output) : reject(new Error(`openssl ocsp: ${output}`))));
  });
}

for (const dialect of DIALECTS) {
  describe(`public PKI endpoints on ${dialect}`, () => {
    let api: ApiServer;
    const scratch = new Scratch();
    let caId: string;
    let serial: string;

    before(async () => {
      api = await startApi(dialect);
      caId = await createRoot(api.admin, scratch);
      await useTemplate(api.admin, 'signing-only', caId);
      assert.equal(
        (await api.admin.post('/api/v1/users', { email: 'dana@example.org', displayName: 'Dana' })).status,
        201,
      );
      const res = await api.admin.post('/api/v1/certificates', {
        userEmail: 'dana@example.org',
        template: 'signing-only',
      });
      const issued = res.json() as { serial: string; certificatePem: string };
      serial = issued.serial;
      scratch.write('leaf.pem', issued.certificatePem);
    });
    after(async () => {
      scratch.dispose();
      await api.stop();
    });

    const fetchCrl = async () => {
      const res = await fetch(`${api.url}/pki/crl/${caId}.crl`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/pkix-crl');
      scratch.write('ca.crl', new Uint8Array(await res.arrayBuffer()));
    };

    it('answers OCSP (POST, as openssl sends it): good', async () => {
      const out = await ocsp(scratch, `${api.url}/pki/ocsp`);
      assert.match(out, /Response verify OK/);
      assert.match(out, /leaf\.pem: good/);
    });

    it('serves a CRL that openssl verify -crl_check accepts before, and that revokes after', async () => {
      await fetchCrl();
      scratch.must('verify', '-crl_check', '-CAfile', 'ca.pem', '-CRLfile', 'ca.crl', 'leaf.pem');
      const revoked = await api.admin.post(`/api/v1/certificates/${serial}/revoke`, { reason: 'keyCompromise' });
      assert.equal(revoked.status, 200);
      await fetchCrl();
      const r = scratch.openssl('verify', '-crl_check', '-CAfile', 'ca.pem', '-CRLfile', 'ca.crl', 'leaf.pem');
      assert.notEqual(r.status, 0);
      assert.match(r.output, /certificate revoked/);
      assert.match(scratch.must('crl', '-inform', 'DER', '-in', 'ca.crl', '-noout', '-text'), /Key Compromise/);
    });

    it('answers OCSP after the revocation: revoked, by POST and by GET', async () => {
      const out = await ocsp(scratch, `${api.url}/pki/ocsp`);
      assert.match(out, /Response verify OK/);
      assert.match(out, /leaf\.pem: revoked/);
      assert.match(out, /Reason: keyCompromise/);
      // RFC 6960 A.1: GET with the DER request base64- then URL-encoded.
      scratch.must('ocsp', '-issuer', 'ca.pem', '-cert', 'leaf.pem', '-no_nonce', '-reqout', 'req.der');
      const encoded = encodeURIComponent(scratch.read('req.der').toString('base64'));
      const res = await fetch(`${api.url}/pki/ocsp/${encoded}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/ocsp-response');
      scratch.write('resp.der', new Uint8Array(await res.arrayBuffer()));
      const text = scratch.must(
        'ocsp',
        '-respin',
        'resp.der',
        '-issuer',
        'ca.pem',
        '-cert',
        'leaf.pem',
        '-CAfile',
        'ca.pem',
      );
      assert.match(text, /leaf\.pem: revoked/);
    });

    it('answers malformed OCSP requests with OCSP errors, and refuses other media types', async () => {
      const bad = await fetch(`${api.url}/pki/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]),
      });
      assert.equal(bad.status, 200);
      // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED malformedRequest (1) } (RFC 6960 §4.2.1).
      assert.deepEqual([...new Uint8Array(await bad.arrayBuffer())], [0x30, 0x03, 0x0a, 0x01, 0x01]);
      const json = await fetch(`${api.url}/pki/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(json.status, 415);
      const huge = await fetch(`${api.url}/pki/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: new Uint8Array(64 * 1024),
      });
      assert.equal(huge.status, 413);
      assert.equal((await fetch(`${api.url}/pki/ocsp/!!!`)).status, 400);
      assert.equal((await fetch(`${api.url}/pki/crl/no-such-ca.crl`)).status, 404);
    });
  });
}
