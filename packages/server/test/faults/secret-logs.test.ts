// Every secret a whole flow handles — passwords, API tokens, session cookies, PKCS#12 files and
// their passwords, private keys — stays out of the server's output, at the most verbose log level.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { createRoot, Scratch, useTemplate } from '../api/pki-support.ts';
import { ADMIN_EMAIL, ApiClient, PASSWORD } from '../api/support.ts';
import { request, tempDir } from '../support/harness.ts';
import { bootstrap, openssl, spawnNode } from './support.ts';

interface Pkcs12 {
  base64: string;
  password: string;
}

describe('secrets never reach the logs', () => {
  const scratch = new Scratch();
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    scratch.dispose();
    for (const c of cleanups.reverse()) await c();
  });

  it('keeps passwords, tokens, cookies, PKCS#12 files and private keys out of stdout and stderr', async () => {
    const dataDir = await tempDir();
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    await bootstrap({ dataDir });
    const node = await spawnNode({ dataDir }, { SEALPOST_LOG_LEVEL: 'debug' });
    cleanups.push(async () => void (await node.stop('SIGKILL')));
    const secrets = new Map<string, string>([['the first admin’s password', PASSWORD]]);

    const wrongPassword = `wrong-${randomBytes(12).toString('hex')}`;
    secrets.set('a wrong password', wrongPassword);
    const refused = await request(`${node.url}/api/v1/session`, {
      method: 'POST',
      body: { email: ADMIN_EMAIL, password: wrongPassword },
    });
    assert.equal(refused.status, 401, refused.text);

    const admin = new ApiClient(node.url);
    await admin.login(ADMIN_EMAIL, PASSWORD);
    secrets.set('the session cookie', admin.cookie!.split('=')[1]!);
    secrets.set('the CSRF token', admin.csrfToken!);
    const caId = await createRoot(admin, scratch);
    await useTemplate(admin, 'encryption-only', caId);

    const created = await admin.post('/api/v1/tokens', { name: 'ci', scopes: ['certificate.issue'] });
    assert.equal(created.status, 201, created.text);
    const token = String(created.json()['token']);
    assert.match(token, /^spk_/);
    secrets.set('the API token', token).set('the API token without its prefix', token.slice('spk_'.length));
    const forged = `spk_${randomBytes(24).toString('base64url')}`;
    secrets.set('a forged API token', forged.slice('spk_'.length));
    assert.equal((await new ApiClient(node.url, { bearer: forged }).get('/api/v1/whoami')).status, 401);

    const frankPassword = `frank-${randomBytes(12).toString('hex')}`;
    const secondPassword = `second-${randomBytes(12).toString('hex')}`;
    secrets.set('a user’s password', frankPassword).set('the second admin’s password', secondPassword);
    for (const [email, role, password] of [
      ['frank@example.org', 'user', frankPassword],
      ['second@example.test', 'admin', secondPassword],
    ] as const) {
      const res = await admin.post('/api/v1/accounts', { email, role, password });
      assert.equal(res.status, 201, res.text);
    }

    const machine = new ApiClient(node.url, { bearer: token });
    const issued = await machine.post('/api/v1/certificates', {
      userEmail: 'frank@example.org',
      template: 'encryption-only',
    });
    assert.equal(issued.status, 201, issued.text);
    const certificateId = (issued.json()['certificate'] as { id: string }).id;
    const files: Pkcs12[] = [
      { base64: String(issued.json()['pkcs12Base64']), password: String(issued.json()['pkcs12Password']) },
    ];

    const frank = new ApiClient(node.url);
    await frank.login('frank@example.org', frankPassword);
    const own = await frank.post(`/api/v1/users/me/keys/${certificateId}/recover`);
    assert.equal(own.status, 200, own.text);
    files.push({ base64: String(own.json()['pkcs12Base64']), password: String(own.json()['password']) });

    const second = new ApiClient(node.url);
    await second.login('second@example.test', secondPassword);
    const asked = await admin.post('/api/v1/recovery-requests', { archivedKeyId: certificateId, reason: 'Frank left' });
    assert.equal(asked.status, 201, asked.text);
    const requestId = String(asked.json()['id']);
    assert.equal((await second.post(`/api/v1/recovery-requests/${requestId}/approve`)).status, 200);
    const released = await admin.post(`/api/v1/recovery-requests/${requestId}/release`);
    assert.equal(released.status, 200, released.text);
    files.push({ base64: String(released.json()['pkcs12Base64']), password: String(released.json()['password']) });

    for (const [i, file] of files.entries()) {
      secrets.set(`PKCS#12 file ${i}`, file.base64).set(`the password of PKCS#12 file ${i}`, file.password);
      // A log that cut the file short would still leak: look for a piece from its middle too.
      const middle = Math.floor(file.base64.length / 2);
      secrets.set(`a piece of PKCS#12 file ${i}`, file.base64.slice(middle, middle + 32));
      scratch.write(`file${i}.p12`, Buffer.from(file.base64, 'base64'));
      const key = await openssl(
        scratch.dir,
        'pkcs12',
        '-in',
        `file${i}.p12`,
        '-passin',
        `pass:${file.password}`,
        '-nocerts',
        '-nodes',
      );
      assert.equal(key.status, 0, key.output);
      const pem = /-----BEGIN PRIVATE KEY-----\n([\s\S]+?)\n-----END PRIVATE KEY-----/.exec(key.output);
      assert.ok(pem !== null, key.output);
      for (const [j, line] of pem[1]!.split('\n').entries()) secrets.set(`line ${j} of private key ${i}`, line);
    }

    assert.equal(await node.stop('SIGTERM'), 0);
    const output = node.output();
    // The flow was logged (the check below is not looking at an empty log).
    const logged = node.records().filter((r) => r['msg'] === 'request');
    for (const path of ['/api/v1/session', '/api/v1/tokens', '/api/v1/certificates', '/api/v1/accounts']) {
      assert.ok(
        logged.some((r) => r['path'] === path),
        `a log record of ${path}`,
      );
    }
    assert.ok(logged.some((r) => String(r['path']).endsWith('/release') && r['status'] === 200));
    for (const [what, secret] of secrets) {
      assert.ok(secret.length >= 8, `${what} is long enough to be searched for`);
      assert.ok(!output.includes(secret), `${what} is in the server output`);
    }
    assert.doesNotMatch(output, /PRIVATE KEY/);
  });
});
