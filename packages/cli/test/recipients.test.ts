/**
 * The certificate book and recipient resolution from the command line, against a real
 * `sealpost serve`: harvest a message signed by OpenSSL, add certificates, review a key change,
 * and resolve recipients with the reasons in words and the exit status that says "cannot encrypt".
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Identity, testPki } from '../../core/test/support/pki.ts';
import { openssl, sealpost } from './support/run.ts';
import { startServe } from './support/serve.ts';

const pki = testPki();

describe('book and recipients commands against a running server', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startServe>>;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[]) => sealpost(args, { env });

  /** A message from `from` clear-signed by OpenSSL, written to a file. */
  const signed = (signer: Identity, from: string, name: string): string => {
    const body = join(dir, 'body.txt');
    writeFileSync(body, 'Content-Type: text/plain\r\n\r\nHello from the CLI test.\r\n');
    const out = join(dir, name);
    const r = openssl([
      ...['cms', '-sign', '-in', body, '-signer', signer.certPath, '-inkey', signer.keyPath],
      ...['-certfile', pki.intermediate.certPath, '-from', from, '-to', 'x@example.net', '-subject', 'hi', '-out', out],
    ]);
    assert.equal(r.status, 0, r.stderr);
    return out;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealpost-recipients-'));
    env = { XDG_CONFIG_HOME: join(dir, 'config'), SEALPOST_SERVER: '', SEALPOST_TOKEN: '' };
    server = await startServe(join(dir, 'data'));
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'correct horse battery staple\n');
    const admin = ['--email', 'admin@example.org', '--password-file', passwordFile];
    assert.equal(run(['admin', 'create', ...admin, '--data', join(dir, 'data')]).status, 0);
    const login = run(['login', '--server', server.url, ...admin]);
    assert.equal(login.status, 0, login.stderr);
    const trust = run(['trust', 'import', pki.root.certPath]);
    assert.equal(trust.status, 0, trust.stderr);
  });
  after(async () => {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('harvest records a validly signed message and refuses others with the verify exit status', () => {
    const alice = pki.user('alice');
    const ok = run(['book', 'harvest', signed(alice, alice.email, 'alice.eml')]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout.toString(), /^harvested: validly signed by alice@example\.org/);
    assert.match(ok.stdout.toString(), /alice@example\.org {2}harvested/);

    const untrusted = run(['book', 'harvest', signed(pki.rogue, 'alice@example.org', 'rogue.eml')]);
    assert.equal(untrusted.status, 3, untrusted.stderr);
    assert.match(untrusted.stdout.toString(), /^not harvested \(untrusted\): /);
    const mismatch = run(['book', 'harvest', signed(alice, 'mallory@example.org', 'mallory.eml'), '--json']);
    assert.equal(mismatch.status, 4);
    assert.equal(JSON.parse(mismatch.stdout.toString()).reason, 'sender-mismatch');
  });

  test('recipients resolve: one line per address, the reason in words, exit 9 when it cannot encrypt', () => {
    for (const name of ['signer', 'expired'] as const) {
      const added = run(['book', 'add', pki.user(name).certPath]);
      assert.equal(added.status, 0, added.stderr);
      assert.match(added.stdout.toString(), new RegExp(`^added .*${name}@example\\.org {2}manual`));
    }
    const ok = run(['recipients', 'resolve', 'alice@example.org']);
    assert.equal(ok.status, 0, ok.stderr);
    const [line, verdict] = ok.stdout.toString().trimEnd().split('\n');
    assert.match(line!, /^alice@example\.org {2}aes-256-cbc {2}harvested {2}emailAddress=alice@example\.org, CN=alice/);
    assert.match(verdict!, /^can encrypt to all 1 with aes-256-cbc/);

    const addresses = ['alice@example.org', 'signer@example.org', 'expired@example.org', 'nobody@example.org'];
    const none = run(['recipients', 'resolve', ...addresses]);
    assert.equal(none.status, 9, none.stderr);
    const lines = none.stdout.toString().trimEnd().split('\n');
    assert.match(lines[1]!, /^signer@example\.org {3}cannot encrypt \(signing-only\): .*may only sign/);
    assert.match(lines[2]!, /^expired@example\.org {2}cannot encrypt \(expired\): .*expired on 2021-01-01/);
    assert.match(lines[3]!, /^nobody@example\.org {3}cannot encrypt \(no-certificate\): No certificate is known/);
    assert.equal(lines[4], 'cannot encrypt: 3 of 4 recipient(s) have no usable certificate');

    const json = run(['recipients', 'resolve', ...addresses, '--json']);
    assert.equal(json.status, 9);
    const answer = JSON.parse(json.stdout.toString());
    assert.equal(answer.canEncrypt, false);
    assert.deepEqual(
      answer.recipients.map((r: { reason?: string }) => r.reason ?? null),
      [null, 'signing-only', 'expired', 'no-certificate'],
    );
    assert.equal(run(['recipients', 'resolve']).status, 2);
  });

  test('a key change waits for review until accepted or pinned', () => {
    // Alice's address, in a certificate from a CA nobody trusts.
    const added = run(['book', 'add', pki.rogue.certPath, '--json']);
    assert.equal(added.status, 0, added.stderr);
    const change = JSON.parse(added.stdout.toString()).items[0];
    assert.equal(change.pending, true);
    const pending = run(['book', 'list', '--pending']);
    assert.equal(pending.status, 0, pending.stderr);
    assert.match(
      pending.stdout.toString(),
      new RegExp(`^${change.id} {2}alice@example\\.org {2}manual .*\\[PENDING key change\\]`),
    );

    const resolved = () => JSON.parse(run(['recipients', 'resolve', 'alice@example.org', '--json']).stdout.toString());
    assert.equal(resolved().recipients[0].certificates[0].source, 'harvested');
    const mine = run(['book', 'accept', change.id]);
    assert.equal(mine.status, 0, mine.stderr);
    assert.match(mine.stdout.toString(), /^accept for you: .*\[PENDING key change, accepted by you\]/);
    const pinned = run(['book', 'pin', change.id, '--for-everyone']);
    assert.equal(pinned.status, 0, pinned.stderr);
    assert.match(pinned.stdout.toString(), /pinned for everyone/);
    assert.equal(resolved().recipients[0].certificates[0].sha256, change.sha256);
    const list = JSON.parse(run(['book', 'list', '--address', 'alice@example.org', '--json']).stdout.toString());
    assert.deepEqual(
      list.map((e: { source: string; pending: boolean }) => [e.source, e.pending]),
      [
        ['harvested', false],
        ['manual', false],
      ],
    );
    assert.equal(run(['book', 'reject', 'no-such-id']).status, 14);
  });

  test('--help documents the subcommands and the exit status', () => {
    const book = run(['book', '--help']);
    assert.equal(book.status, 0);
    for (const word of ['list', 'add', 'harvest', 'accept', 'pin', 'reject', '--for-everyone']) {
      assert.ok(book.stdout.toString().includes(word), word);
    }
    const recipients = run(['recipients', '--help']);
    assert.equal(recipients.status, 0);
    assert.match(recipients.stdout.toString(), /9 \(no recipient\)/);
  });
});
