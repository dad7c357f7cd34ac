/** The README's promises, checked as written: the quick start's demo and the library example. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sealpost } from './support/run.ts';

const root = new URL('../../../', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');

test('the quick start: npx sealpost demo runs every step and writes the files it names', (t) => {
  // Inside the repository, so the README's library example can import @sealpost/core as written.
  const dir = mkdtempSync(join(root, 'tmp-demo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = sealpost(['demo', '--json'], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.toString());
  assert.equal(out.status, 'signed');
  for (const file of [
    'ca.crt',
    'alice.crt',
    'alice.key',
    'bob.crt',
    'message.eml',
    'signed.eml',
    'encrypted.eml',
    'decrypted.eml',
  ]) {
    assert.ok(existsSync(join(dir, 'sealpost-demo', file)), file);
  }
  assert.ok(out.steps.length >= 7);
  // The demo's encrypted mail is ordinary S/MIME: OpenSSL opens it with Bob's key.
  const d = spawnSync('openssl', [
    'cms',
    '-decrypt',
    '-in',
    join(dir, 'sealpost-demo', 'encrypted.eml'),
    '-recip',
    join(dir, 'sealpost-demo', 'bob.crt'),
    '-inkey',
    join(dir, 'sealpost-demo', 'bob.key'),
  ]);
  assert.equal(d.status, 0, d.stderr.toString());

  const example = /## The library\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(example, 'README has a library example');
  assert.ok(example.split('\n').filter((l) => l.trim()).length <= 10, 'the example is at most 10 lines');
  const file = join(dir, 'example.ts');
  writeFileSync(file, example);
  const run = spawnSync(process.execPath, [file], { cwd: dir });
  assert.equal(run.status, 0, run.stderr.toString());
  assert.equal(run.stdout.toString().trim(), 'signed');
});

test('the README documents every exit status the CLI uses', async () => {
  const { EXIT } = await import('../src/exit-codes.ts');
  for (const code of Object.values(EXIT)) assert.match(readme, new RegExp(`\\| ${code} \\|`), `exit ${code}`);
});
