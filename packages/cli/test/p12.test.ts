import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { testPki } from '../../core/test/support/pki.ts';
import { openssl, sealpost, tempDir } from './support/run.ts';

const pki = testPki();
const alice = pki.user('alice');
const PASSWORD = 'correct horse ☺';

function passwordFile(dir: string, password = PASSWORD): string {
  const path = join(dir, 'password.txt');
  writeFileSync(path, `${password}\n`);
  return path;
}

/** `openssl pkcs12 -export` of a test identity, with the chain. */
function opensslP12(dir: string, who: typeof alice, extra: string[] = []): string {
  const out = join(dir, `${who.name}.p12`);
  const r = openssl([
    'pkcs12',
    '-export',
    '-in',
    who.certPath,
    '-inkey',
    who.keyPath,
    '-certfile',
    pki.chainPath,
    '-name',
    `${who.name} S/MIME`,
    '-passout',
    `file:${passwordFile(dir)}`,
    '-out',
    out,
    ...extra,
  ]);
  assert.equal(r.status, 0, r.stderr);
  return out;
}

function json(stdout: Buffer) {
  return JSON.parse(stdout.toString());
}

describe('p12 help and usage', () => {
  test('p12 --help shows the three subcommands and an example', () => {
    const r = sealpost(['p12', '--help']);
    assert.equal(r.status, 0);
    const text = r.stdout.toString();
    assert.match(text, /^Usage: sealpost p12 inspect/);
    assert.match(text, /import .*export/s);
    assert.match(text, /Example:\n {2}sealpost p12 /);
    assert.match(sealpost(['--help']).stdout.toString(), /\n {2}p12 /);
  });
  test('a missing or unknown subcommand, or an option of another subcommand, is a usage error', () => {
    assert.equal(sealpost(['p12']).status, 2);
    assert.match(sealpost(['p12', 'frob']).stderr, /unknown subcommand "frob"/);
    const r = sealpost(['p12', 'inspect', 'x.p12', '--profile', 'compat']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--profile is not an option of "p12 inspect"/);
    assert.equal(sealpost(['p12', 'export', '--cert', alice.certPath]).status, 2);
    assert.equal(sealpost(['p12', 'import', 'x.p12']).status, 2);
  });
});

describe('p12 export, read by OpenSSL', () => {
  test('modern (default): OpenSSL 3 reads key and chain with the given password', (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'alice.p12');
    const pw = passwordFile(dir);
    const r = sealpost([
      'p12',
      'export',
      '--cert',
      alice.certPath,
      '--key',
      alice.keyPath,
      '--chain',
      pki.chainPath,
      '--password-file',
      pw,
      '--name',
      'Alice Mail',
      '--out',
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const info = openssl(['pkcs12', '-info', '-noenc', '-in', out, '-passin', `file:${pw}`]);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stderr, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC/);
    assert.match(info.stderr, /MAC: sha256/);
    const pem = info.stdout.toString();
    assert.match(pem, /friendlyName: Alice Mail/);
    assert.equal(pem.match(/BEGIN CERTIFICATE/g)?.length, 3);
    const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(pem)![0];
    assert.ok(new X509Certificate(alice.cert).checkPrivateKey(createPrivateKey(key)));
  });

  test('compat with a generated password: printed once on stderr, and openssl -legacy opens the file', (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'alice.p12');
    const r = sealpost([
      'p12',
      'export',
      '--cert',
      alice.certPath,
      '--key',
      alice.keyPath,
      '--profile',
      'compat',
      '--out',
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const m = /shown only this once.*\n([A-Za-z0-9]{20})\n$/.exec(r.stderr);
    assert.ok(m, r.stderr);
    const info = openssl(['pkcs12', '-legacy', '-info', '-nokeys', '-in', out, '-passin', `pass:${m[1]}`]);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stderr, /PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC/);
    assert.match(info.stderr, /MAC: sha1/);
    assert.doesNotMatch(r.stdout.toString(), new RegExp(m[1]!));
  });

  test('--json carries the generated password instead of stderr; --no-chain leaves the chain out', (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'alice.p12');
    const bundle = join(dir, 'bundle.pem');
    writeFileSync(bundle, Buffer.concat([alice.cert, pki.intermediate.cert]));
    const r = sealpost(['p12', 'export', '--cert', bundle, '--key', alice.keyPath, '--out', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const result = json(r.stdout);
    assert.equal(result.passwordGenerated, true);
    assert.equal(result.certificates, 2);
    assert.match(result.password, /^[A-Za-z0-9]{20}$/);
    assert.doesNotMatch(r.stderr, new RegExp(result.password));
    const alone = sealpost([
      'p12',
      'export',
      '--cert',
      bundle,
      '--key',
      alice.keyPath,
      '--out',
      out,
      '--no-chain',
      '--json',
    ]);
    assert.equal(json(alone.stdout).certificates, 1);
  });

  test('an encrypted key is opened with --key-password-file; a key of another certificate is refused', (t) => {
    const dir = tempDir(t);
    const encrypted = join(dir, 'alice.enc.key');
    const keyPw = passwordFile(dir, 'key secret');
    const enc = openssl(['pkey', '-in', alice.keyPath, '-aes256', '-passout', `file:${keyPw}`, '-out', encrypted]);
    assert.equal(enc.status, 0, enc.stderr);
    const args = ['p12', 'export', '--cert', alice.certPath, '--key', encrypted, '--out', join(dir, 'a.p12'), '--json'];
    assert.equal(sealpost(args).status, 11);
    assert.equal(sealpost([...args, '--key-password-file', keyPw]).status, 0);
    const wrong = sealpost([
      'p12',
      'export',
      '--cert',
      alice.certPath,
      '--key',
      pki.user('bob').keyPath,
      '--out',
      join(dir, 'b.p12'),
      '--json',
    ]);
    assert.equal(wrong.status, 11);
    assert.equal(json(wrong.stdout).error.code, 'KEY_MISMATCH');
  });
});

describe('p12 import of what OpenSSL writes', () => {
  for (const [label, extra] of [
    ['OpenSSL 3 default (AES-256-CBC)', []],
    ['-legacy (RC2-40, 3DES)', ['-legacy']],
  ] as const) {
    test(label, (t) => {
      const dir = tempDir(t);
      const p12 = opensslP12(dir, alice, [...extra]);
      const outDir = join(dir, 'out');
      const r = sealpost(['p12', 'import', p12, '--out-dir', outDir, '--password-file', passwordFile(dir), '--json']);
      assert.equal(r.status, 0, r.stderr);
      const result = json(r.stdout);
      assert.equal(result.keyEncrypted, false);
      const [id] = result.identities;
      assert.equal(id.friendlyName, 'alice S/MIME');
      assert.equal(id.purpose, 'dual-use');
      assert.equal(id.askPurposes, true);
      assert.equal(id.chainLength, 2);
      assert.deepEqual(readdirSync(outDir).sort(), [
        'alice_S_MIME.chain.pem',
        'alice_S_MIME.crt.pem',
        'alice_S_MIME.key.pem',
      ]);
      assert.equal(statSync(id.files.key).mode & 0o777, 0o600);
      const key = createPrivateKey(readFileSync(id.files.key));
      assert.ok(new X509Certificate(readFileSync(id.files.certificate)).checkPrivateKey(key));
      const chain = readFileSync(id.files.chain, 'latin1').match(
        /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
      )!;
      assert.deepEqual(
        chain.map((c) => new X509Certificate(c).subject),
        ['CN=Sealpost Test Intermediate', 'CN=Sealpost Test Root'],
      );
      // OpenSSL reads the PEM files back: the imported pair signs.
      const sig = openssl(
        ['cms', '-sign', '-signer', id.files.certificate, '-inkey', id.files.key, '-outform', 'DER'],
        Buffer.from('x'),
      );
      assert.equal(sig.status, 0, sig.stderr);
    });
  }

  test('single-purpose identities import without asking', (t) => {
    const dir = tempDir(t);
    for (const [who, purpose] of [
      ['signer', 'signing'],
      ['encrypter', 'encryption'],
    ] as const) {
      const p12 = opensslP12(dir, pki.user(who));
      const r = sealpost([
        'p12',
        'import',
        p12,
        '--out-dir',
        join(dir, who),
        '--password-file',
        passwordFile(dir),
        '--json',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const [id] = json(r.stdout).identities;
      assert.equal(id.purpose, purpose);
      assert.equal(id.askPurposes, false);
    }
  });

  test('text output names the files and warns that the key is unencrypted; --encrypt-key encrypts it', (t) => {
    const dir = tempDir(t);
    const p12 = opensslP12(dir, alice);
    const pw = passwordFile(dir);
    const r = sealpost(['p12', 'import', p12, '--out-dir', join(dir, 'plain'), '--password-file', pw]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /purpose: dual-use — choose which purposes to enable/);
    assert.match(r.stderr, /UNENCRYPTED/);
    const e = sealpost(['p12', 'import', p12, '--out-dir', join(dir, 'enc'), '--password-file', pw, '--encrypt-key']);
    assert.equal(e.status, 0, e.stderr);
    const keyPath = join(dir, 'enc', 'alice_S_MIME.key.pem');
    assert.match(readFileSync(keyPath, 'latin1'), /BEGIN ENCRYPTED PRIVATE KEY/);
    assert.equal(openssl(['pkey', '-in', keyPath, '-passin', `file:${pw}`, '-noout']).status, 0);
  });

  test('existing files are never overwritten (exit 12)', (t) => {
    const dir = tempDir(t);
    const p12 = opensslP12(dir, alice);
    const args = ['p12', 'import', p12, '--out-dir', join(dir, 'out'), '--password-file', passwordFile(dir)];
    assert.equal(sealpost(args).status, 0);
    const again = sealpost(args);
    assert.equal(again.status, 12);
    assert.match(again.stderr, /exists already/);
  });

  test('a wrong password exits 11 with PASSWORD_WRONG; none at all, PASSWORD_REQUIRED; garbage exits 7', (t) => {
    const dir = tempDir(t);
    const p12 = opensslP12(dir, alice);
    const wrong = sealpost(['p12', 'import', p12, '--out-dir', join(dir, 'o'), '--password-env', 'P12PW', '--json'], {
      env: { P12PW: 'nope' },
    });
    assert.equal(wrong.status, 11);
    assert.equal(json(wrong.stdout).error.code, 'PASSWORD_WRONG');
    const none = sealpost(['p12', 'import', p12, '--out-dir', join(dir, 'o'), '--json']);
    assert.equal(none.status, 11);
    assert.equal(json(none.stdout).error.code, 'PASSWORD_REQUIRED');
    const garbage = join(dir, 'garbage.p12');
    writeFileSync(garbage, readFileSync(p12).subarray(0, 500));
    const bad = sealpost(['p12', 'inspect', garbage, '--json']);
    assert.equal(bad.status, 7);
    assert.equal(json(bad.stdout).error.code, 'PKCS12_MALFORMED');
    assert.deepEqual(readdirSync(dir).includes('o'), false);
  });

  test('a file without a password imports without asking', (t) => {
    const dir = tempDir(t);
    const p12 = join(dir, 'nopw.p12');
    const r0 = openssl([
      'pkcs12',
      '-export',
      '-in',
      alice.certPath,
      '-inkey',
      alice.keyPath,
      '-passout',
      'pass:',
      '-out',
      p12,
    ]);
    assert.equal(r0.status, 0, r0.stderr);
    const r = sealpost(['p12', 'import', p12, '--out-dir', join(dir, 'o'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(json(r.stdout).identities.length, 1);
    assert.doesNotMatch(r.stderr, /no MAC/);
  });

  test('a file without a MAC is imported with a warning, never silently', (t) => {
    const dir = tempDir(t);
    const p12 = join(dir, 'nomac.p12');
    const args = ['-in', alice.certPath, '-inkey', alice.keyPath, '-passout', 'pass:x', '-out', p12];
    const r0 = openssl(['pkcs12', '-export', '-nomac', '-keypbe', 'NONE', '-certpbe', 'NONE', ...args]);
    assert.equal(r0.status, 0, r0.stderr);
    const pw = join(dir, 'pw');
    writeFileSync(pw, 'anything\n');
    const r = sealpost(['p12', 'import', p12, '--out-dir', join(dir, 'o'), '--password-file', pw, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(json(r.stdout).mac, null);
    assert.match(r.stderr, /^warning: the file has no MAC/m);
  });
});

describe('p12 inspect, and a round trip through sealpost', () => {
  test('without a password: algorithms and MAC; with one: certificates and key type', (t) => {
    const dir = tempDir(t);
    const p12 = opensslP12(dir, alice, ['-legacy']);
    const outer = sealpost(['p12', 'inspect', p12]);
    assert.equal(outer.status, 0, outer.stderr);
    assert.match(outer.stdout.toString(), /MAC: sha1, 2048 iterations/);
    assert.match(outer.stdout.toString(), /encryptedData: pbeWithSHAAnd40BitRC2-CBC/);
    assert.match(outer.stdout.toString(), /give the password to list these bags/);
    const inner = sealpost(['p12', 'inspect', p12, '--password-file', passwordFile(dir), '--json']);
    assert.equal(inner.status, 0, inner.stderr);
    const result = json(inner.stdout);
    assert.equal(result.passwordChecked, true);
    assert.equal(result.contents[0].bags.length, 3);
    assert.equal(result.contents[1].bags[0].keyType, 'rsa');
    assert.equal(result.contents[1].bags[0].friendlyName, 'alice S/MIME');
  });

  test('export then import gives back the same certificate, key and chain', (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'carol.p12');
    const carol = pki.user('carol');
    const e = sealpost([
      'p12',
      'export',
      '--cert',
      carol.certPath,
      '--key',
      carol.keyPath,
      '--chain',
      pki.intermediate.certPath,
      '--out',
      out,
      '--json',
    ]);
    assert.equal(e.status, 0, e.stderr);
    const { password } = json(e.stdout);
    const i = sealpost(['p12', 'import', out, '--out-dir', join(dir, 'o'), '--password-env', 'PW', '--json'], {
      env: { PW: password },
    });
    assert.equal(i.status, 0, i.stderr);
    const [id] = json(i.stdout).identities;
    assert.equal(id.friendlyName, 'carol@example.org');
    assert.equal(id.keyType, 'ec');
    assert.equal(id.chainLength, 1);
    assert.equal(
      new X509Certificate(readFileSync(id.files.certificate)).fingerprint256,
      new X509Certificate(carol.cert).fingerprint256,
    );
  });
});
