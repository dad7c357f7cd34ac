/**
 * The gpgsm harness, checked against OpenSSL in both directions so that the interop tests built on
 * it can trust that a failure is about the code under test, not about the harness.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Gpgsm, gpgsmAvailable } from './gpgsm.ts';
import { testPki } from './pki.ts';

const pki = testPki();
const alice = pki.user('alice');
const carol = pki.user('carol');
const work = mkdtempSync(join(tmpdir(), 'sealpost-gpgsm-test-'));
const content = Buffer.concat([Buffer.from('Content-Type: text/plain\r\n\r\nhello gpgsm\r\n'), randomBytes(3000)]);
const contentFile = join(work, 'content.bin');
writeFileSync(contentFile, content);
let gpgsm: Gpgsm;
let seq = 0;

before(async () => {
  gpgsm = await Gpgsm.create({
    trust: [pki.root.certPath],
    certs: [pki.intermediate.certPath],
    identities: [alice, carol],
  });
});

after(() => {
  gpgsm?.close();
  rmSync(work, { recursive: true, force: true });
});

function file(data: Buffer): string {
  const path = join(work, `f${seq++}`);
  writeFileSync(path, data);
  return path;
}

/** `openssl cms` with the given arguments; returns status and stdout. */
function openssl(args: string[]): { status: number; stdout: Buffer; stderr: string } {
  const r = spawnSync('openssl', ['cms', ...args], { maxBuffer: 1 << 28 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString() };
}

function opensslVerify(signature: Buffer, detachedContent?: Buffer) {
  const args = ['-verify', '-inform', 'DER', '-binary', '-in', file(signature), '-CAfile', pki.root.certPath];
  if (detachedContent) args.push('-content', file(detachedContent));
  return openssl(args);
}

function opensslSign(signer: typeof alice, detached: boolean): Buffer {
  const args = ['-sign', '-binary', '-outform', 'DER', '-in', contentFile, '-signer', signer.certPath];
  args.push('-inkey', signer.keyPath, '-certfile', pki.intermediate.certPath);
  if (!detached) args.push('-nodetach');
  const r = openssl(args);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('gpgsm is installed (CI installs the Debian packages gpgsm and gpg-agent)', () => {
  assert.ok(gpgsmAvailable(), 'gpgsm or gpg-agent is missing: apt-get install gpgsm gpg-agent');
});

test('the home is private and holds the trust list with the root fingerprint', () => {
  const mode = Number(execFileSync('stat', ['-c', '%a', gpgsm.home]).toString().trim());
  assert.equal(mode, 700);
  assert.ok(existsSync(join(gpgsm.home, 'trustlist.txt')));
  const list = gpgsm.run(['--list-keys', 'alice@example.org']);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout.toString(), /CN=alice/);
});

for (const detached of [true, false]) {
  const kind = detached ? 'detached' : 'opaque';

  test(`gpgsm signs (${kind}, RSA) and OpenSSL verifies`, () => {
    const sig = gpgsm.sign(content, 'alice@example.org', detached);
    assert.equal(sig[0], 0x30, 'DER, not armored');
    const r = opensslVerify(sig, detached ? content : undefined);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout, content);
  });

  test(`OpenSSL signs (${kind}, RSA) and gpgsm verifies; tampering is caught`, () => {
    const sig = opensslSign(alice, detached);
    const v = gpgsm.verify(sig, detached ? content : undefined);
    assert.ok(v.ok, v.stderr);
    if (!detached) assert.deepEqual(v.content, content);
    const tampered = Buffer.from(content);
    tampered[0]! ^= 1;
    if (detached) {
      assert.equal(gpgsm.verify(sig, tampered).ok, false);
    } else {
      const at = sig.indexOf(content.subarray(0, 32));
      const bad = Buffer.from(sig);
      bad[at]! ^= 1;
      assert.equal(gpgsm.verify(bad).ok, false);
    }
  });
}

test('gpgsm signs with ECDSA P-256 and OpenSSL verifies; OpenSSL signs and gpgsm verifies', () => {
  const sig = gpgsm.sign(content, 'carol@example.org', true);
  const r = opensslVerify(sig, content);
  assert.equal(r.status, 0, r.stderr);
  const v = gpgsm.verify(opensslSign(carol, true), content);
  assert.ok(v.ok, v.stderr);
});

test('a signature from a certificate outside the trusted root does not verify', () => {
  const rogue = pki.rogue;
  const args = ['-sign', '-binary', '-outform', 'DER', '-in', contentFile, '-signer', rogue.certPath];
  const r = openssl([...args, '-inkey', rogue.keyPath, '-certfile', pki.rogueRoot.certPath]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(gpgsm.verify(r.stdout, content).ok, false);
});

test('gpgsm encrypts to alice (default cipher and AES-256) and OpenSSL decrypts', () => {
  for (const der of [
    gpgsm.encrypt(content, ['alice@example.org']),
    gpgsm.encrypt(content, ['alice@example.org'], 'AES256'),
  ]) {
    assert.equal(der[0], 0x30);
    const args = ['-decrypt', '-inform', 'DER', '-binary', '-in', file(der), '-recip', alice.certPath];
    const r = openssl([...args, '-inkey', alice.keyPath]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout, content);
  }
});

test('OpenSSL encrypts to alice (AES-128/192/256-CBC, 3DES) and gpgsm decrypts', () => {
  for (const cipher of ['-aes-128-cbc', '-aes-192-cbc', '-aes-256-cbc', '-des-ede3-cbc']) {
    const args = ['-encrypt', '-binary', '-outform', 'DER', cipher, '-in', contentFile, alice.certPath];
    const r = openssl(args);
    assert.equal(r.status, 0, r.stderr);
    const d = gpgsm.decrypt(r.stdout);
    assert.ok(d.ok, `${cipher}: ${d.stderr}`);
    assert.deepEqual(d.plaintext, content);
  }
});

test('decrypting something not addressed to the identities fails cleanly', () => {
  const bob = pki.user('bob');
  const r = openssl(['-encrypt', '-binary', '-outform', 'DER', '-aes-256-cbc', '-in', contentFile, bob.certPath]);
  assert.equal(r.status, 0, r.stderr);
  const d = gpgsm.decrypt(r.stdout);
  assert.equal(d.ok, false);
  assert.equal(d.plaintext.length, 0);
  assert.match(d.stderr, /NO_SECKEY|DECRYPTION_FAILED/);
});
