/**
 * The operator workflow against a real server: `sealpost serve` as a child process, then
 * admin create → login → ca init → user add → issue → revoke → ca crl → audit verify, with
 * OpenSSL checking the PKCS#12 and the CRL.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testPki } from '../../core/test/support/pki.ts';
import { openssl, sealpost, tempDir } from './support/run.ts';
import { startServe } from './support/serve.ts';

describe('operator commands against a running server', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startServe>>;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealpost-operator-'));
    // The CLI configuration and token go into the test's directory, not the user's home.
    env = { XDG_CONFIG_HOME: join(dir, 'config'), SEALPOST_SERVER: '', SEALPOST_TOKEN: '' };
    server = await startServe(join(dir, 'data'));
  });
  after(async () => {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[]) => sealpost(args, { env });

  test('admin create, login, and the whole issuing workflow', async () => {
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'correct horse battery staple\n');
    const created = run([
      'admin',
      'create',
      '--email',
      'admin@example.org',
      '--password-file',
      passwordFile,
      '--data',
      join(dir, 'data'),
    ]);
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout.toString(), /created admin account admin@example\.org/);
    // A second administrator cannot be bootstrapped: that is the API's job now.
    const again = run([
      'admin',
      'create',
      '--email',
      'other@example.org',
      '--password-file',
      passwordFile,
      '--data',
      join(dir, 'data'),
    ]);
    assert.equal(again.status, 15, again.stderr);

    const login = run([
      'login',
      '--server',
      server.url,
      '--email',
      'admin@example.org',
      '--password-file',
      passwordFile,
    ]);
    assert.equal(login.status, 0, login.stderr);
    const tokenFile = join(dir, 'config', 'sealpost', 'token');
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    assert.match(readFileSync(tokenFile, 'utf8'), /^spk_/);
    const saved = JSON.parse(readFileSync(join(dir, 'config', 'sealpost', 'cli.json'), 'utf8'));
    assert.deepEqual(saved, { server: server.url, tokenFile });

    const ca = run([
      'ca',
      'init',
      '--name',
      'main',
      '--subject',
      'CN=Test S/MIME CA,O=Example,C=DE',
      '--crl-url',
      'http://pki.example.org/main.crl',
      '--json',
    ]);
    assert.equal(ca.status, 0, ca.stderr);
    const caId = JSON.parse(ca.stdout.toString()).id as string;

    const user = run(['user', 'add', '--email', 'alice@example.org', '--name', 'Alice Example']);
    assert.equal(user.status, 0, user.stderr);
    const list = run(['user', 'list', '--json']);
    assert.equal(list.status, 0, list.stderr);
    assert.ok(JSON.parse(list.stdout.toString()).some((u: { email: string }) => u.email === 'alice@example.org'));

    const outDir = join(dir, 'alice');
    const issued = run([
      'issue',
      '--user',
      'alice@example.org',
      '--template',
      'encryption-only',
      '--out-dir',
      outDir,
      '--json',
    ]);
    assert.equal(issued.status, 0, issued.stderr);
    const result = JSON.parse(issued.stdout.toString());
    assert.ok(result.pkcs12File, 'a server-generated key comes as PKCS#12');
    assert.equal(statSync(result.pkcs12File).mode & 0o777, 0o600);
    const password = /PKCS#12 password \(shown once, keep it safe\): (\S+)/.exec(issued.stderr)?.[1];
    assert.ok(password, 'the password is printed once on stderr');
    const passFile = join(dir, 'p12pass');
    writeFileSync(passFile, password);
    const info = openssl(['pkcs12', '-info', '-noout', '-in', result.pkcs12File, '-passin', `file:${passFile}`]);
    assert.equal(info.status, 0, info.stderr);
    const x509 = openssl(['x509', '-in', result.certificateFile, '-noout', '-email']);
    assert.equal(x509.status, 0, x509.stderr);
    assert.match(x509.stdout.toString(), /alice@example\.org/);

    const revoked = run(['revoke', result.serial, '--reason', 'keyCompromise']);
    assert.equal(revoked.status, 0, revoked.stderr);

    const crlFile = join(dir, 'main.crl');
    const crl = run(['ca', 'crl', caId, '--out', crlFile]);
    assert.equal(crl.status, 0, crl.stderr);
    const text = openssl(['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout.toString().toUpperCase(), new RegExp(result.serial.replace(/^0+/, '').toUpperCase()));

    // A key that stays with its owner: a CSR, and no PKCS#12 back.
    const csrKey = join(dir, 'bob.key');
    const csrFile = join(dir, 'bob.csr');
    const req = openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      csrKey,
      '-subj',
      '/CN=Bob',
      '-outform',
      'DER',
      '-out',
      csrFile,
    ]);
    assert.equal(req.status, 0, req.stderr);
    assert.equal(run(['user', 'add', '--email', 'bob@example.org', '--group', 'staff']).status, 0);
    const fromCsr = run([
      'issue',
      '--user',
      'bob@example.org',
      '--template',
      'signing-only',
      '--csr',
      csrFile,
      '--out-dir',
      join(dir, 'bob'),
      '--json',
    ]);
    assert.equal(fromCsr.status, 0, fromCsr.stderr);
    const bobCert = JSON.parse(fromCsr.stdout.toString());
    assert.equal(bobCert.pkcs12File, undefined);
    assert.doesNotMatch(fromCsr.stderr, /PKCS#12 password/);
    const samekey = openssl(['x509', '-in', bobCert.certificateFile, '-noout', '-pubkey']);
    const csrPub = openssl(['pkey', '-in', csrKey, '-pubout']);
    assert.equal(samekey.stdout.toString(), csrPub.stdout.toString());

    const groups = run(['group', 'list']);
    assert.equal(groups.status, 0, groups.stderr);
    assert.match(groups.stdout.toString(), /^staff$/m);
    assert.equal(run(['group', 'add-member', 'staff', 'alice@example.org']).status, 0);
    assert.equal(run(['group', 'remove-member', 'staff', 'alice@example.org']).status, 0);
    assert.equal(run(['user', 'list', '--group', 'staff', '--json']).status, 0);

    const templates = run(['template', 'list']);
    assert.equal(templates.status, 0, templates.stderr);
    assert.match(templates.stdout.toString(), /^dual-use /m);
    const edited = run(['template', 'edit', 'dual-use', '--set', 'validityDays=200', '--json']);
    assert.equal(edited.status, 0, edited.stderr);
    assert.equal(JSON.parse(run(['template', 'show', 'dual-use', '--json']).stdout.toString()).validityDays, 200);
    const badEdit = run(['template', 'edit', 'dual-use', '--set', 'validityDays=9000']);
    assert.equal(badEdit.status, 2, badEdit.stderr);

    const csv = join(dir, 'users.csv');
    writeFileSync(csv, 'email,display_name,groups\ncarol@example.org,Carol,staff\nnot-an-address,Bad,\n');
    const refused = run(['user', 'import', csv]);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stdout.toString(), /nothing imported[\s\S]*line 3:/);
    const partial = run(['user', 'import', csv, '--best-effort']);
    assert.equal(partial.status, 0, partial.stderr);
    assert.match(partial.stdout.toString(), /1 created/);

    // An outside root (OpenSSL-made) as a trust anchor for one domain; DER travels as base64.
    const der = join(dir, 'partner-root.der');
    assert.equal(openssl(['x509', '-in', testPki().root.certPath, '-outform', 'DER', '-out', der]).status, 0);
    const trusted = run(['trust', 'import', der, '--scope', 'partner.example', '--json']);
    assert.equal(trusted.status, 0, trusted.stderr);
    const report = JSON.parse(trusted.stdout.toString());
    assert.equal(report.imported.length + report.refused.length, 1);

    // Four-eyes recovery of Alice's archived key: this admin requests, a second approves, the requester releases.
    const history = run(['archive', 'keys', '--user', 'alice@example.org', '--json']);
    assert.equal(history.status, 0, history.stderr);
    assert.ok(JSON.parse(history.stdout.toString()).some((k: { serial: string }) => k.serial === result.serial));
    const requested = run([
      'archive',
      'request',
      '--user',
      'alice@example.org',
      '--serial',
      result.serial,
      '--reason',
      'mailbox audit',
      '--json',
    ]);
    assert.equal(requested.status, 0, requested.stderr);
    const requestId = JSON.parse(requested.stdout.toString()).id as string;
    assert.equal(run(['archive', 'approve', requestId]).status, 13, 'the requester cannot approve');
    const secondPassword = join(dir, 'password2');
    writeFileSync(secondPassword, 'another long passphrase\n');
    const token = readFileSync(tokenFile, 'utf8').trim();
    const made = await fetch(`${server.url}/api/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'second@example.org', role: 'admin', password: 'another long passphrase' }),
    });
    assert.equal(made.status, 201, await made.text());
    const secondEnv = { ...env, XDG_CONFIG_HOME: join(dir, 'config2') };
    const second = (args: string[]) => sealpost(args, { env: secondEnv });
    assert.equal(
      second(['login', '--server', server.url, '--email', 'second@example.org', '--password-file', secondPassword])
        .status,
      0,
    );
    const approved = second(['archive', 'approve', requestId]);
    assert.equal(approved.status, 0, approved.stderr);
    const recoveredFile = join(dir, 'alice-recovered.p12');
    const released = run(['archive', 'release', requestId, '--out', recoveredFile]);
    assert.equal(released.status, 0, released.stderr);
    assert.equal(statSync(recoveredFile).mode & 0o777, 0o600);
    const recoveredPassword = /PKCS#12 password \(shown once, keep it safe\): (\S+)/.exec(released.stderr)?.[1];
    assert.ok(recoveredPassword);
    writeFileSync(passFile, recoveredPassword);
    const recoveredInfo = openssl(['pkcs12', '-info', '-noout', '-in', recoveredFile, '-passin', `file:${passFile}`]);
    assert.equal(recoveredInfo.status, 0, recoveredInfo.stderr);
    assert.equal(run(['archive', 'release', requestId, '--out', recoveredFile]).status, 15, 'released only once');

    const verified = run(['audit', 'verify']);
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(verified.stdout.toString(), /audit chain intact: \d+ entries/);
  });

  test('a bad token: the not-authorized exit status and one line naming the code', () => {
    const bad = join(dir, 'bad-token');
    writeFileSync(bad, `spk_${'A'.repeat(43)}\n`);
    const r = run(['user', 'list', '--server', server.url, '--token-file', bad]);
    assert.equal(r.status, 13, r.stderr);
    assert.match(r.stderr, /^sealpost user: .*\(UNAUTHENTICATED, HTTP 401\)\n$/);
    const json = run(['user', 'list', '--server', server.url, '--token-file', bad, '--json']);
    assert.equal(JSON.parse(json.stdout.toString()).error.code, 'UNAUTHENTICATED');
  });

  test('an unreachable server is an I/O failure, not a crash', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const r = run(['ca', 'show', '--server', `http://127.0.0.1:${port}`, '--token-file', join(dir, 'bad-token')]);
    assert.equal(r.status, 12, r.stderr);
    assert.match(r.stderr, /cannot reach the server at http:\/\/127\.0\.0\.1:\d+: connection refused/);
  });
});

describe('help', () => {
  for (const cmd of [
    'serve',
    'config',
    'admin',
    'login',
    'account',
    'ca',
    'template',
    'user',
    'group',
    'issue',
    'revoke',
    'trust',
    'archive',
    'audit',
  ]) {
    test(`${cmd} --help shows usage and an example`, () => {
      const r = sealpost([cmd, '--help']);
      assert.equal(r.status, 0);
      assert.match(r.stdout.toString(), new RegExp(`^Usage: sealpost ${cmd}`));
      assert.match(r.stdout.toString(), /Examples?:\n {2}sealpost /);
    });
  }
  test('without a server configured, an operator command says how to configure one', (t) => {
    const r = sealpost(['audit', 'verify'], { env: { XDG_CONFIG_HOME: tempDir(t), SEALPOST_SERVER: '' } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no server: give --server URL, set SEALPOST_SERVER, or run "sealpost login" once/);
  });
});
