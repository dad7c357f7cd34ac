import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, checkConfig, resolveConfig } from '../src/index.ts';

let cwd: string;
before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'sealpost-config-'));
});
after(() => rm(cwd, { recursive: true, force: true }));

describe('checkConfig', () => {
  it('accepts a complete configuration', () => {
    const config = {
      http: '[::1]:8443',
      dataDir: '/var/lib/sealpost',
      databaseUrl: 'postgres://sealpost@db/sealpost',
      masterKey: { command: ['/usr/bin/kms-unwrap', '--key', 'sealpost'], timeoutMs: 5000 },
      trustProxy: true,
      logLevel: 'warn',
      bodyLimitBytes: 2097152,
      shutdownTimeoutMs: 30000,
    };
    assert.deepEqual(checkConfig(config), { ok: true, config });
    assert.deepEqual(checkConfig({}), { ok: true, config: {} });
  });

  it('names every problem', () => {
    assert.deepEqual(
      checkConfig({
        http: '127.0.0.1:99999',
        databaseUrl: 'mysql://x',
        masterKey: { file: 'k', command: ['c'] },
        trustProxy: 'yes',
        bodyLimitBytes: 10,
        htp: ':80',
      }),
      {
        ok: false,
        problems: [
          'databaseUrl: must match the pattern ^postgres(ql)?://',
          'trustProxy: must be true or false',
          'bodyLimitBytes: must be at least 1024',
          'htp: is not allowed',
          'http: must be HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8080 (got "127.0.0.1:99999")',
          'masterKey: set either "file" or "command"',
        ],
      },
    );
    assert.deepEqual(checkConfig([]), { ok: false, problems: ['the file: must be an object'] });
    assert.deepEqual(checkConfig({ masterKey: { file: 'k', timeoutMs: 5 } }), {
      ok: false,
      problems: ['masterKey/timeoutMs: applies only to "command"'],
    });
  });

  it('checks each previous master key like the master key', () => {
    const config = { previousMasterKeys: [{ file: 'old.key' }, { command: ['kms', 'old'], timeoutMs: 100 }] };
    assert.deepEqual(checkConfig(config), { ok: true, config });
    assert.deepEqual(
      checkConfig({
        previousMasterKeys: [{ file: 'a', command: ['b'] }, {}, { file: 'c', timeoutMs: 5 }, { path: 'd' }, 'e'],
      }),
      {
        ok: false,
        problems: [
          'previousMasterKeys/3/path: is not allowed',
          'previousMasterKeys/4: must be an object',
          'previousMasterKeys/0: set either "file" or "command"',
          'previousMasterKeys/1: set either "file" or "command"',
          'previousMasterKeys/2/timeoutMs: applies only to "command"',
          'previousMasterKeys/3: set either "file" or "command"',
        ],
      },
    );
    assert.deepEqual(checkConfig({ previousMasterKeys: { file: 'old.key' } }), {
      ok: false,
      problems: ['previousMasterKeys: must be an array'],
    });
  });
});

describe('resolveConfig', () => {
  it('uses the defaults without a file', async () => {
    assert.deepEqual(await resolveConfig({ options: {}, env: {}, cwd }), {
      http: '127.0.0.1:8080',
      dataDir: join(cwd, 'sealpost-data'),
      masterKey: { path: join(cwd, 'sealpost-data', 'master.key') },
      trustProxy: false,
      logLevel: 'info',
      bodyLimitBytes: 1048576,
      shutdownTimeoutMs: 10000,
      ldap: {
        listen: '127.0.0.1:1389',
        baseDn: 'ou=people,o=sealpost',
        anonymous: true,
        maxConnections: 10000,
      },
      directories: [],
    });
  });

  it('layers the file, then the environment, then options; file paths are relative to the file', async () => {
    const etc = await mkdtemp(join(cwd, 'etc-'));
    const file = join(etc, 'server.json');
    await writeFile(
      file,
      JSON.stringify({
        http: '0.0.0.0:80',
        dataDir: 'data',
        masterKey: { file: 'keys/master.key' },
        logLevel: 'debug',
      }),
    );
    const fromFile = await resolveConfig({ options: { config: file }, env: {}, cwd });
    assert.equal(fromFile.http, '0.0.0.0:80');
    assert.equal(fromFile.dataDir, join(etc, 'data'));
    assert.deepEqual(fromFile.masterKey, { path: join(etc, 'keys', 'master.key') });
    assert.equal(fromFile.logLevel, 'debug');

    const env = {
      SEALPOST_CONFIG: file,
      SEALPOST_HTTP: ':9000',
      SEALPOST_DATA: '/srv/sealpost',
      DATABASE_URL: 'postgresql://db/x',
      SEALPOST_MASTER_KEY: 'AAAA',
      SEALPOST_LOG_LEVEL: 'error',
      SEALPOST_TRUST_PROXY: '1',
    };
    const fromEnv = await resolveConfig({ options: {}, env, cwd });
    assert.deepEqual(fromEnv, {
      http: ':9000',
      dataDir: '/srv/sealpost',
      databaseUrl: 'postgresql://db/x',
      masterKey: { base64: 'AAAA' },
      trustProxy: true,
      logLevel: 'error',
      bodyLimitBytes: 1048576,
      shutdownTimeoutMs: 10000,
      ldap: { listen: '127.0.0.1:1389', baseDn: 'ou=people,o=sealpost', anonymous: true, maxConnections: 10000 },
      directories: [],
    });
    const fromOptions = await resolveConfig({ options: { http: '127.0.0.1:1', dataDir: 'here' }, env, cwd });
    assert.equal(fromOptions.http, '127.0.0.1:1');
    assert.equal(fromOptions.dataDir, join(cwd, 'here'));
  });

  it('takes previous master keys from the file (never creating a key file), or from the environment', async () => {
    const etc = await mkdtemp(join(cwd, 'etc-'));
    const file = join(etc, 'server.json');
    await writeFile(
      file,
      JSON.stringify({ previousMasterKeys: [{ file: 'old.key' }, { command: ['kms', 'unwrap'], timeoutMs: 50 }] }),
    );
    assert.deepEqual((await resolveConfig({ options: { config: file }, env: {}, cwd })).previousMasterKeys, [
      { path: join(etc, 'old.key'), create: false },
      { command: ['kms', 'unwrap'], timeoutMs: 50 },
    ]);
    const env = { SEALPOST_PREVIOUS_MASTER_KEYS: 'AAAA, BBB+/w==' };
    assert.deepEqual((await resolveConfig({ options: { config: file }, env, cwd })).previousMasterKeys, [
      { base64: 'AAAA' },
      { base64: 'BBB+/w==' },
    ]);
    // Keys are secrets: a bad value is named, not echoed.
    await assert.rejects(
      resolveConfig({ options: {}, env: { SEALPOST_PREVIOUS_MASTER_KEYS: 'AAAA,,not base64!' }, cwd }),
      (e: unknown) => {
        assert.deepEqual((e as ConfigError).problems, [
          'SEALPOST_PREVIOUS_MASTER_KEYS: must be base64 keys separated by commas',
        ]);
        return true;
      },
    );
  });

  it('configures the LDAP key server and external directories; --ldap off turns the key server off', async () => {
    const etc = await mkdtemp(join(cwd, 'etc-'));
    const file = join(etc, 'server.json');
    await writeFile(
      file,
      JSON.stringify({
        ldap: {
          listen: '0.0.0.0:389',
          ldapsListen: '0.0.0.0:636',
          tls: { certFile: 'tls/ldap.pem', keyFile: 'tls/ldap.key' },
          baseDn: 'ou=people,dc=example,dc=org',
          anonymous: false,
        },
        directories: [
          {
            name: 'partner',
            url: 'ldaps://ldap.partner.example',
            baseDn: 'dc=partner,dc=example',
            uses: ['lookup'],
          },
          {
            name: 'ad',
            url: 'ldap://dc1.example.org',
            baseDn: 'dc=example,dc=org',
            uses: ['publish', 'import'],
            bindDn: 'cn=sealpost,ou=services,dc=example,dc=org',
            bindPasswordFile: 'ad.pass',
            startTls: true,
            caFile: 'ad-ca.pem',
          },
        ],
      }),
    );
    const config = await resolveConfig({ options: { config: file }, env: {}, cwd });
    assert.deepEqual(config.ldap, {
      listen: '0.0.0.0:389',
      ldapsListen: '0.0.0.0:636',
      tls: { certFile: join(etc, 'tls', 'ldap.pem'), keyFile: join(etc, 'tls', 'ldap.key') },
      baseDn: 'ou=people,dc=example,dc=org',
      anonymous: false,
      maxConnections: 10000,
    });
    assert.deepEqual(config.directories, [
      {
        name: 'partner',
        url: 'ldaps://ldap.partner.example',
        baseDn: 'dc=partner,dc=example',
        uses: ['lookup'],
        startTls: false,
        filter: '(mail={address})',
        timeoutMs: 3000,
      },
      {
        name: 'ad',
        url: 'ldap://dc1.example.org',
        baseDn: 'dc=example,dc=org',
        uses: ['publish', 'import'],
        bindDn: 'cn=sealpost,ou=services,dc=example,dc=org',
        bindPasswordFile: join(etc, 'ad.pass'),
        startTls: true,
        caFile: join(etc, 'ad-ca.pem'),
        filter: '(mail={address})',
        timeoutMs: 3000,
      },
    ]);
    assert.equal(
      (await resolveConfig({ options: { config: file }, env: { SEALPOST_LDAP: ':1389' }, cwd })).ldap?.listen,
      ':1389',
    );
    assert.equal((await resolveConfig({ options: { config: file, ldap: 'off' }, env: {}, cwd })).ldap, undefined);
    await assert.rejects(resolveConfig({ options: { ldap: 'ldap://x' }, env: {}, cwd }), /ldap: must be HOST:PORT/);
    assert.deepEqual(
      checkConfig({
        ldap: { listen: 'everywhere', ldapsListen: ':636' },
        directories: [
          { name: 'a', url: 'ldaps://x', baseDn: 'o=x', uses: ['lookup'], startTls: true },
          { name: 'a', url: 'ldap://y', baseDn: 'o=y', uses: ['publish'], bindDn: 'cn=me' },
          { name: 'b', url: 'http://z', baseDn: 'o=z', uses: [] },
        ],
      }),
      {
        ok: false,
        problems: [
          'directories/2/url: must match the pattern ^ldaps?://',
          'directories/2/uses: must have at least 1 item',
          'ldap/listen: must be HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8080 (got "everywhere") or "off"',
          'ldap/ldapsListen: needs ldap/tls (the certificate and key LDAPS presents)',
          'directories/0/startTls: ldaps:// is TLS already',
          'directories/1/name: "a" is used twice',
          'directories/1: set both "bindDn" and "bindPasswordFile", or neither (anonymous)',
        ],
      },
    );
  });

  it('reads ./sealpost.json when present', async () => {
    const here = await mkdtemp(join(cwd, 'cwd-'));
    await writeFile(join(here, 'sealpost.json'), JSON.stringify({ shutdownTimeoutMs: 1 }));
    assert.equal((await resolveConfig({ options: {}, env: {}, cwd: here })).shutdownTimeoutMs, 1);
  });

  it('reports a missing or invalid file and bad environment values clearly', async () => {
    const missing = join(cwd, 'missing.json');
    await assert.rejects(resolveConfig({ options: { config: missing }, env: {}, cwd }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.problems[0]!, /^cannot read the configuration file .*missing\.json/);
      return true;
    });
    const broken = join(cwd, 'broken.json');
    await writeFile(broken, '{"http": ');
    await assert.rejects(
      resolveConfig({ options: { config: broken }, env: {}, cwd }),
      /broken\.json is not valid JSON/,
    );
    await assert.rejects(
      resolveConfig({ options: {}, env: { SEALPOST_TRUST_PROXY: 'maybe', DATABASE_URL: 'sqlite:x' }, cwd }),
      (e: unknown) => {
        assert.deepEqual((e as ConfigError).problems, [
          'SEALPOST_TRUST_PROXY: must be true or false (got "maybe")',
          'DATABASE_URL: must be a postgres:// URL',
        ]);
        return true;
      },
    );
    await assert.rejects(resolveConfig({ options: { http: 'nope' }, env: {}, cwd }), /http: must be HOST:PORT/);
  });
});
