/** `sealpost serve` as a user runs it: a child process that says where it listens and stops cleanly on SIGTERM. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sealpost, tempDir } from './support/run.ts';
import { startServe } from './support/serve.ts';

test('serve listens, answers /healthz, and exits 0 on SIGTERM', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const server = await startServe(data);
  t.after(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  // First start made the data directory, its master key (0600) and the SQLite database.
  assert.equal(statSync(join(data, 'master.key')).mode & 0o777, 0o600);
  assert.ok(existsSync(join(data, 'sealpost.db')));
  server.child.kill('SIGTERM');
  const [code] = await once(server.child, 'exit');
  assert.equal(code, 0, server.output());
  assert.match(server.output(), /"msg":"stopped"/);
});

test('serve refuses a bad listen address with status 2 and a clear message', (t) => {
  const r = sealpost(['serve', '--http', 'nowhere', '--data', join(tempDir(t), 'data')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /http: must be HOST:PORT/);
});

test('serve --help names the options and shows an example', () => {
  const r = sealpost(['serve', '--help']);
  assert.equal(r.status, 0);
  assert.match(
    r.stdout.toString(),
    /^Usage: sealpost serve \[--http HOST:PORT\] \[--ldap HOST:PORT\|off\] \[--data DIR\]/,
  );
  assert.match(r.stdout.toString(), /Example:\n {2}sealpost serve /);
});

test('config check: 0 with the effective settings, 2 naming each bad setting', (t) => {
  const dir = tempDir(t);
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ http: '127.0.0.1:9443', dataDir: 'data', logLevel: 'debug' }));
  const ok = sealpost(['config', 'check', '--config', good]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout.toString(), /configuration ok\n {2}listen {5}127\.0\.0\.1:9443\n {2}data {7}.*\/data\n/);

  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ http: 'localhost', logLevel: 'loud', colour: true }));
  const r = sealpost(['config', 'check', '--config', bad, '--json']);
  assert.equal(r.status, 2);
  const report = JSON.parse(r.stdout.toString());
  assert.equal(report.ok, false);
  assert.ok(report.problems.some((p: string) => p.includes('http')));
  assert.ok(report.problems.some((p: string) => p.includes('logLevel')));
  assert.ok(report.problems.some((p: string) => p.includes('colour')));
  assert.match(r.stderr, /the configuration has problems/);

  const missing = sealpost(['config', 'check', '--config', join(dir, 'absent.json')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read the configuration file/);
});
