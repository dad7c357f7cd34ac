/** `sealpost admin create`: bootstraps accounts directly in the data directory, audited, never with a password on argv. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { verifyChain } from '@sealpost/services';
import { openDatabase } from '@sealpost/store';
import { sealpost, tempDir } from './support/run.ts';

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
