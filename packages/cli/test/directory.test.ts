/**
 * `sealpost directory` against a real `sealpost serve` configured (SEALPOST_CONFIG) with a real
 * OpenLDAP slapd as its import and publish directory: list, import, and publishing that waits while
 * the directory is down and catches up when it is back.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Slapd } from '../../ldap/test/support/slapd.ts';
import { sealpost } from './support/run.ts';
import { startServe } from './support/serve.ts';

const PEOPLE = 'ou=people,dc=example,dc=org';
const GROUPS = 'ou=groups,dc=example,dc=org';

function person(uid: string, name: string): string {
  return [
    `dn: uid=${uid},${PEOPLE}`,
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${name}`,
    `sn: ${name.split(' ').at(-1)}`,
    `displayName: ${name}`,
    `mail: ${uid}@example.org`,
    '',
  ].join('\n');
}

describe('directory commands against a running server', () => {
  let dir: string;
  let slapd: Slapd;
  let server: Awaited<ReturnType<typeof startServe>>;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[]) => sealpost(args, { env });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealpost-directory-'));
    env = { XDG_CONFIG_HOME: join(dir, 'config'), SEALPOST_SERVER: '', SEALPOST_TOKEN: '' };
    slapd = await Slapd.start({
      load: [
        [
          `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`,
          `dn: ${GROUPS}\nobjectClass: organizationalUnit\nou: groups\n`,
          person('alice', 'Alice Liddell'),
          person('bob', 'Bob Builder'),
          `dn: cn=staff,${GROUPS}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=alice,${PEOPLE}\nmember: uid=bob,${PEOPLE}\n`,
        ].join('\n'),
      ],
    });
    const config = join(dir, 'sealpost.json');
    writeFileSync(
      config,
      JSON.stringify({
        directories: [
          {
            name: 'corp',
            url: slapd.url,
            baseDn: PEOPLE,
            uses: ['import', 'publish'],
            bindDn: slapd.rootDn,
            bindPasswordFile: join(slapd.dir, 'root.pw'),
            groupsBaseDn: GROUPS,
          },
        ],
      }),
    );
    server = await startServe(join(dir, 'data'), { SEALPOST_CONFIG: config });
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'correct horse battery staple\n');
    const admin = ['--email', 'admin@example.org', '--password-file', passwordFile];
    const created = run(['admin', 'create', ...admin, '--data', join(dir, 'data')]);
    assert.equal(created.status, 0, created.stderr);
    const login = run(['login', '--server', server.url, ...admin]);
    assert.equal(login.status, 0, login.stderr);
  });
  after(async () => {
    if (server?.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
    }
    await slapd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('list shows the configured directories', () => {
    const json = run(['directory', 'list', '--json']);
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout.toString()), {
      items: [{ name: 'corp', url: slapd.url, baseDn: PEOPLE, uses: ['import', 'publish'], pending: 0 }],
    });
    const text = run(['directory', 'list']);
    assert.equal(text.status, 0, text.stderr);
    assert.equal(text.stdout.toString(), `corp  ${slapd.url}  ${PEOPLE}  import, publish  (0 pending)\n`);
  });

  test('import creates the users and their groups; an unknown directory is not found', () => {
    const imported = run(['directory', 'import', 'corp']);
    assert.equal(imported.status, 0, imported.stderr);
    assert.equal(
      imported.stdout.toString(),
      'imported from corp: 2 people, 1 groups; created 2, updated 0, disabled 0, enabled 0; joined 2, left 0; skipped 0\n',
    );
    const staff = run(['user', 'list', '--group', 'staff', '--json']);
    assert.equal(staff.status, 0, staff.stderr);
    assert.deepEqual(
      (JSON.parse(staff.stdout.toString()) as { email: string }[]).map((u) => u.email),
      ['alice@example.org', 'bob@example.org'],
    );
    const again = run(['directory', 'import', 'corp', '--json']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout.toString()).created, 0);

    const unknown = run(['directory', 'import', 'nowhere']);
    assert.equal(unknown.status, 14, unknown.stderr);
    assert.match(unknown.stderr, /No directory named "nowhere" is configured/);
    assert.equal(run(['directory', 'import']).status, 2);
  });

  test('publish reports an unreachable directory (exit 16) and catches up once it is back', async () => {
    const ca = run(['ca', 'init', '--name', 'main', '--subject', 'CN=Directory Test CA,O=Example,C=DE', '--json']);
    assert.equal(ca.status, 0, ca.stderr);
    await slapd.halt();
    const issued = run([
      ...['issue', '--user', 'alice@example.org', '--template', 'encryption-only'],
      ...['--out-dir', join(dir, 'alice'), '--json'],
    ]);
    assert.equal(issued.status, 0, issued.stderr);
    const certificate = new X509Certificate(readFileSync(JSON.parse(issued.stdout.toString()).certificateFile));

    const down = run(['directory', 'publish']);
    assert.equal(down.status, 16, down.stderr);
    const lines = down.stdout.toString().trimEnd().split('\n');
    assert.equal(lines[0], 'published 0, removed 0, no entry 0, failed 1');
    assert.match(lines[1]!, /^ {2}failed: corp add alice@example\.org: .* \(DIRECTORY_UNAVAILABLE\)$/);
    assert.equal(lines[2], '  unreachable: corp (the rest waits for the next run)');
    assert.match(run(['directory', 'list']).stdout.toString(), /import, publish {2}\(1 pending\)\n$/);

    await slapd.resume();
    const up = run(['directory', 'publish', '--json']);
    assert.equal(up.status, 0, up.stderr);
    assert.deepEqual(JSON.parse(up.stdout.toString()), {
      published: 1,
      removed: 0,
      noEntry: 0,
      failed: [],
      unreachable: [],
    });
    const values = await slapd.values(`uid=alice,${PEOPLE}`, 'userCertificate;binary');
    assert.deepEqual(values, [Buffer.from(certificate.raw)]);
  });

  test('--help shows the subcommands and examples', () => {
    const help = run(['directory', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout.toString(), /^Usage: sealpost directory list\|import NAME\|publish \[--json\]/);
    assert.match(help.stdout.toString(), /Examples:\n {2}sealpost directory list\n/);
  });
});
