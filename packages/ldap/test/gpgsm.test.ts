/**
 * GnuPG's S/MIME tool against the key server: gpgsm asks dirmngr, whose LDAP helper (libldap)
 * searches `(|(sn=*alice@example.org*)(|(cn=*…*)(mail=*…*)))` for `userCertificate;binary`. Each test
 * has its own GNUPGHOME with `ldapserver host:port:user:pass:base[:flags]` in dirmngr.conf (GnuPG
 * 2.2.28 and later), and kills its dirmngr afterwards.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer } from './support/harness.ts';
import { BASE_DN, certificateDer } from './support/memory-backend.ts';
import { makeTlsFixture } from './support/tls.ts';

const run = promisify(execFile);

/** gpgsm --list-external-keys through a dirmngr configured with `ldapserver`. */
async function listExternalKeys(ldapserver: string, pattern: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'sealpost-gpgsm-'));
  const gnupg = { ...process.env, ...env, GNUPGHOME: home };
  try {
    await writeFile(join(home, 'dirmngr.conf'), `ldapserver ${ldapserver}\nldaptimeout 10\n`, { mode: 0o600 });
    const r = await run('gpgsm', ['--batch', '--with-colons', '--list-external-keys', pattern], {
      env: gnupg,
      timeout: 60_000,
    });
    return r.stdout;
  } finally {
    await run('gpgconf', ['--kill', 'dirmngr'], { env: gnupg });
    await rm(home, { recursive: true, force: true });
  }
}

/** The `fpr` and `uid` fields of gpgsm's colon listing. */
function listing(colons: string): { fingerprints: string[]; uids: string[] } {
  const records = colons.split('\n').map((line) => line.split(':'));
  return {
    fingerprints: records.filter((r) => r[0] === 'fpr').map((r) => r[9] ?? ''),
    uids: records.filter((r) => r[0] === 'uid').map((r) => r[9] ?? ''),
  };
}

describe('gpgsm through dirmngr', async () => {
  const tls = makeTlsFixture();
  const t = await startTestServer({ tls: { key: tls.key, cert: tls.cert } });
  after(async () => {
    await t.server.close();
    tls.cleanup();
  });
  const alice = createHash('sha1').update(certificateDer('alice')).digest('hex').toUpperCase();

  it("lists alice's certificate found over ldap://", async () => {
    const found = listing(await listExternalKeys(`127.0.0.1:${t.port}:::${BASE_DN}`, 'alice@example.org'));
    assert.deepEqual(found.fingerprints, [alice]);
    assert.ok(found.uids.includes('<alice@example.org>'));
    assert.ok(found.uids.some((u) => u.endsWith('CN=alice')));
  });

  it("lists alice's certificate found over StartTLS", async () => {
    const before = t.events.filter((e) => e.event === 'startTls' && e.resultCode === 0).length;
    const found = listing(
      await listExternalKeys(`127.0.0.1:${t.port}:::${BASE_DN}:starttls`, 'alice@example.org', {
        LDAPTLS_CACERT: tls.caPath,
      }),
    );
    assert.deepEqual(found.fingerprints, [alice]);
    assert.equal(t.events.filter((e) => e.event === 'startTls' && e.resultCode === 0).length, before + 1);
  });

  it('lists nothing for an unknown address', async () => {
    await assert.rejects(
      listExternalKeys(`127.0.0.1:${t.port}:::${BASE_DN}`, 'nobody@example.org'),
      (e: { stderr?: string }) => /No data|not found/i.test(e.stderr ?? ''),
    );
  });
});
