/**
 * The README's server walk-through, run as written: its ```sh block under "Running the server"
 * goes to bash (with -e and pipefail, so that any failing step fails the test) in an empty
 * directory, with `sealpost` on the PATH and PORT set to a free port. Then OpenSSL checks what it
 * left behind: the PKCS#12 released under four eyes, and the CRL listing the revoked certificate.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, openssl, tempDir } from './support/run.ts';

const root = new URL('../../../', import.meta.url).pathname;

function walkthrough(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const script = /## Running the server: a walk-through\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(script, 'the README has a walk-through with a ```sh block');
  return script;
}

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** The settings a developer's shell may hold that would point the walk-through elsewhere. */
const OUTSIDE = [
  'SEALPOST_SERVER',
  'SEALPOST_TOKEN',
  'SEALPOST_DATA',
  'SEALPOST_HTTP',
  'SEALPOST_LDAP',
  'GNUPGHOME',
  'SEALPOST_CONFIG',
  'SEALPOST_PUBLIC_URL',
  'SEALPOST_MASTER_KEY',
  'DATABASE_URL',
];

test('the README walk-through: serve, admin, CA, auto-enrollment, revocation, four-eyes key recovery', async (t) => {
  const dir = tempDir(t);
  // `sealpost` as a user has it on the PATH, run by the Node that runs the tests.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'sealpost'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(BIN)} "$@"\n`);
  chmodSync(join(bin, 'sealpost'), 0o755);
  const work = join(dir, 'work');
  mkdirSync(work);
  writeFileSync(join(dir, 'walkthrough.sh'), walkthrough());
  const port = await freePort();
  const ldapPort = await freePort();

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of OUTSIDE) delete env[name];
  Object.assign(env, {
    PATH: `${bin}:${process.env['PATH']}`,
    PORT: String(port),
    LDAP_PORT: String(ldapPort),
    // The saved login and mktemp's data directory stay inside the test's directory.
    XDG_CONFIG_HOME: join(dir, 'config'),
    TMPDIR: dir,
  });
  // Its own process group, so that a server the script left behind (a failed step) is stopped too.
  const child = spawn('bash', ['-e', '-o', 'pipefail', join(dir, 'walkthrough.sh')], {
    cwd: work,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group is gone already: the script stopped its server, as it should.
    }
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const [status] = (await once(child, 'exit')) as [number | null];
  assert.equal(status, 0, `the walk-through failed:\n${stderr}\n--- stdout ---\n${stdout}`);

  // Step 7: the key server answered ldapsearch with Bob's certificate, and gpgsm found it through dirmngr.
  const bobEntry = readFileSync(join(work, 'bob.ldif'), 'utf8');
  assert.match(bobEntry, /^dn: mail=bob@example\.org,ou=people,o=sealpost$/m);
  const bobDer = Buffer.from(
    /^userCertificate;binary:: ((?:.+\n(?: .+\n)*))/m.exec(bobEntry)![1]!.replace(/\n ?/g, ''),
    'base64',
  );
  const bobSubject = openssl(['x509', '-inform', 'DER', '-noout', '-ext', 'subjectAltName'], bobDer);
  assert.equal(bobSubject.status, 0, bobSubject.stderr);
  assert.match(bobSubject.stdout.toString(), /email:bob@example\.org/);
  assert.match(readFileSync(join(work, 'bob.gpgsm'), 'utf8'), /bob@example\.org/);
  // Step 8: Alice has no usable certificate (revoked), Bob has one; the command said so and failed.
  assert.match(stdout, /exit status 9/);
  const resolve = readFileSync(join(work, 'resolve.txt'), 'utf8');
  assert.match(resolve, /^alice@example\.org\s+cannot encrypt \(revoked\)/m);
  assert.match(resolve, /^bob@example\.org\s+aes-256-/m);

  // Step 12 stopped the server cleanly.
  assert.match(readFileSync(join(work, 'serve.log'), 'utf8'), /"msg":"stopped"/);

  // The PKCS#12 released under four eyes opens with the password printed once.
  const password = /PKCS#12 password \(shown once, keep it safe\): (\S+)/.exec(
    readFileSync(join(work, 'release.txt'), 'utf8'),
  )?.[1];
  assert.ok(password, 'archive release printed the password');
  const passFile = join(dir, 'p12.pass');
  writeFileSync(passFile, password);
  const p12 = join(work, 'alice-recovered.p12');
  const info = openssl(['pkcs12', '-info', '-noout', '-in', p12, '-passin', `file:${passFile}`]);
  assert.equal(info.status, 0, info.stderr);

  // It holds Alice's auto-enrolled certificate, whose URLs point at the server: the CA was made without any.
  const certificate = openssl(['pkcs12', '-in', p12, '-passin', `file:${passFile}`, '-nokeys', '-clcerts']);
  assert.equal(certificate.status, 0, certificate.stderr);
  const fields = openssl(
    ['x509', '-noout', '-serial', '-ext', 'subjectAltName,crlDistributionPoints,authorityInfoAccess'],
    certificate.stdout,
  );
  assert.equal(fields.status, 0, fields.stderr);
  const text = fields.stdout.toString();
  assert.match(text, /email:alice@example\.org/);
  const base = `http://127.0.0.1:${port}`;
  assert.match(text, new RegExp(`URI:${base}/pki/crl/[0-9a-f-]+\\.crl`));
  assert.ok(text.includes(`OCSP - URI:${base}/pki/ocsp`), text);

  // The revoked certificate is that one, and the CRL the walk-through downloaded lists it.
  const serial = /^revoked ([0-9a-f]+) \(keyCompromise\)$/m.exec(stdout)?.[1];
  assert.ok(serial, 'the walk-through revoked a certificate');
  assert.match(text, new RegExp(`^serial=0*${serial.replace(/^0+/, '')}$`, 'im'));
  const crl = openssl(['crl', '-inform', 'DER', '-in', join(work, 'main.crl'), '-noout', '-text']);
  assert.equal(crl.status, 0, crl.stderr);
  assert.match(crl.stdout.toString(), new RegExp(`Serial Number: 0*${serial.replace(/^0+/, '')}\\n`, 'i'));
});
