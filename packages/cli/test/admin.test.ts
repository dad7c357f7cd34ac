/**
 * `sealpost admin create`: bootstraps accounts directly in the data directory, audited, never with a
 * password on argv. `sealpost admin rotate-master-key`: the no-downtime rotation against real servers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { verifyChain } from '@sealpost/services';
import { openDatabase } from '@sealpost/store';
import { sealpost, tempDir } from './support/run.ts';
import { startServe } from './support/serve.ts';

function setup(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, 'correct horse battery staple\n');
  const data = join(dir, 'data');
  const create = (args: string[]) =>
    sealpost(['admin', 'create', ...args, '--password-file', passwordFile, '--data', data], {
      env: { DATABASE_URL: undefined, SEALPOST_CONFIG: undefined },
    });
  return { dir, data, create };
}

test('the first administrator is created once, audited; a second is refused as a conflict', async (t) => {
  const { data, create } = setup(t);
  const r = create(['--email', 'admin@EXAMPLE.org', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const account = JSON.parse(r.stdout.toString());
  assert.equal(account.email, 'admin@example.org');
  assert.equal(account.role, 'admin');

  const again = create(['--email', 'second@example.org']);
  assert.equal(again.status, 15);
  assert.match(again.stderr, /^sealpost admin: An administrator exists already/);

  // Other roles may still be bootstrapped locally; their user is created on the way.
  const operator = create(['--email', 'ops@example.org', '--role', 'operator']);
  assert.equal(operator.status, 0, operator.stderr);
  assert.match(operator.stdout.toString(), /^created operator account ops@example\.org \(user [0-9a-f-]+\)\n$/);

  const db = await openDatabase({ dataDir: data });
  try {
    const rows = await db.all<{ action: string } & Record<string, string>>('SELECT action FROM audit_log ORDER BY seq');
    const actions = rows.map((row) => row.action);
    assert.ok(actions.includes('user.create'), actions.join(', '));
    assert.ok(
      actions.some((a) => a.startsWith('account.')),
      actions.join(', '),
    );
    assert.equal((await verifyChain(db)).ok, true);
  } finally {
    await db.close();
  }
});

test('bad input: unknown role, weak password, no password source — usage errors, nothing created', (t) => {
  const { dir, data, create } = setup(t);
  assert.equal(create(['--email', 'a@example.org', '--role', 'root']).status, 2);
  const weak = join(dir, 'weak');
  writeFileSync(weak, 'short\n');
  const r = sealpost(['admin', 'create', '--email', 'a@example.org', '--password-file', weak, '--data', data]);
  assert.equal(r.status, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  // Standard input is not a terminal here: no prompt, a usage error instead.
  const none = sealpost(['admin', 'create', '--email', 'a@example.org', '--data', data]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /give --password-file FILE/);
  assert.equal(sealpost(['admin', 'create', '--data', data]).status, 2);
});

test('rotate-master-key: nodes run on the new key with the old as previous, rotate, then the new key alone', async (t) => {
  const { dir, data, create } = setup(t);
  const passwordFile = join(dir, 'password');
  assert.equal(create(['--email', 'admin@example.org']).status, 0);
  // The CLI's own configuration and token stay in the test's directory.
  const cliEnv = { XDG_CONFIG_HOME: join(dir, 'config'), SEALPOST_SERVER: '', SEALPOST_TOKEN: '' };
  const noKeys = {
    DATABASE_URL: undefined,
    SEALPOST_CONFIG: undefined,
    SEALPOST_MASTER_KEY: undefined,
    SEALPOST_PREVIOUS_MASTER_KEYS: undefined,
  };
  /** Starts a server under `keys`, logs in (which opens the CSRF key, a vault secret), verifies the audit log. */
  const session = async (keys: NodeJS.ProcessEnv) => {
    const server = await startServe(data, { ...noKeys, ...keys });
    try {
      const login = sealpost(
        ['login', '--server', server.url, '--email', 'admin@example.org', '--password-file', passwordFile],
        { env: cliEnv },
      );
      const audit = login.status === 0 ? sealpost(['audit', 'verify'], { env: cliEnv }) : undefined;
      return { login, audit, output: server.output };
    } finally {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
    }
  };
  const rotate = (args: string[], keys: NodeJS.ProcessEnv) =>
    sealpost(['admin', 'rotate-master-key', '--data', data, ...args], { env: { ...noKeys, ...keys } });

  // The first start creates <data>/master.key and seals the CSRF key under it.
  const first = await session({});
  assert.equal(first.login.status, 0, first.login.stderr);
  const oldKey = readFileSync(join(data, 'master.key'), 'utf8').trim();

  // (a) A new key file.
  const newKeyFile = join(dir, 'new.key');
  const newKey = randomBytes(32).toString('base64');
  writeFileSync(newKeyFile, `${newKey}\n`, { mode: 0o600 });

  // (b) Nodes on the new key with the old one as previous open data keys under either.
  const during = { SEALPOST_MASTER_KEY: newKey, SEALPOST_PREVIOUS_MASTER_KEYS: oldKey };
  const mixed = await session(during);
  assert.equal(mixed.login.status, 0, mixed.login.stderr);
  assert.match(mixed.output(), /"previousMasterKeyIds":\["[0-9a-f]{16}"\]/);

  // (c) The rotation, with the nodes' configuration; re-running it is safe. Key files are never rewritten.
  const rotated = rotate(['--new-key-file', newKeyFile], during);
  assert.equal(rotated.status, 0, rotated.stderr);
  assert.match(
    rotated.stdout.toString(),
    /^re-wrapped 1 data key under master key [0-9a-f]{16} \(from [0-9a-f]{16}\)\n/,
  );
  assert.match(rotated.stdout.toString(), /Last step: make .*new\.key the master key of\nevery node/);
  const again = rotate(['--new-key-file', newKeyFile, '--json'], during);
  assert.equal(again.status, 0, again.stderr);
  const report = JSON.parse(again.stdout.toString());
  assert.equal(report.rewrapped, 0);
  assert.deepEqual(report.remaining, []);
  assert.equal(readFileSync(newKeyFile, 'utf8').trim(), newKey);
  assert.equal(readFileSync(join(data, 'master.key'), 'utf8').trim(), oldKey);

  // (d) The new key alone opens everything; a server holding only the old key refuses to start, saying why.
  const after = await session({ SEALPOST_MASTER_KEY: newKey });
  assert.equal(after.login.status, 0, after.login.stderr);
  assert.equal(after.audit?.status, 0, after.audit?.stderr);
  await assert.rejects(
    startServe(data, noKeys),
    /sealpost serve exited 1: [\s\S]*cannot start: Data key [0-9a-f-]+ is wrapped by master key [0-9a-f]{16}, but this server holds [0-9a-f]{16}\./,
  );

  // Only the new key configured, no previous key given: a usage error naming what to do.
  const none = rotate(['--new-key-file', newKeyFile], { SEALPOST_MASTER_KEY: newKey });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /give the old key as a previous master key/);
  // A missing new key file is created (0600) with a fresh key, which then wraps the data keys.
  const freshFile = join(dir, 'fresh.key');
  const fresh = rotate(['--new-key-file', freshFile, '--json'], { SEALPOST_MASTER_KEY: newKey });
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.equal(statSync(freshFile).mode & 0o777, 0o600);
  assert.equal(JSON.parse(fresh.stdout.toString()).rewrapped, 1);
  // A configured key file that is missing is not created by the rotation.
  const missing = join(dir, 'missing.key');
  const config = join(dir, 'sealpost.json');
  writeFileSync(config, JSON.stringify({ previousMasterKeys: [{ file: missing }] }));
  const noOld = rotate(['--new-key-file', newKeyFile, '--config', config], { SEALPOST_MASTER_KEY: newKey });
  assert.equal(noOld.status, 11, noOld.stderr);
  assert.match(noOld.stderr, /Cannot use the master key file .*missing\.key: it does not exist/);
  assert.equal(existsSync(missing), false);
  assert.doesNotMatch(noOld.stderr, /\n\s+at /);
});
