import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { TEST_TIME, testPki } from '../../core/test/support/pki.ts';
import { message, openssl, sealpost, tempDir } from './support/run.ts';

const pki = testPki();
const alice = pki.user('alice');
const bob = pki.user('bob');
const AT = ['--at', TEST_TIME.toISOString()];
const ATTIME = ['-attime', String(TEST_TIME.getTime() / 1000)];
const TRUST = ['--trust', pki.root.certPath, '--intermediates', pki.intermediate.certPath];
const fromAlice = message('Alice <alice@example.org>', 'Bob <bob@example.org>');

function signAs(who: typeof alice, msg: Uint8Array, extra: string[] = []): Buffer {
  const r = sealpost(
    ['sign', '--cert', who.certPath, '--key', who.keyPath, '--chain', pki.intermediate.certPath, ...extra],
    { input: msg },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('help and usage', () => {
  for (const cmd of ['sign', 'verify', 'encrypt', 'decrypt', 'inspect', 'demo']) {
    test(`${cmd} --help shows usage, options and an example`, () => {
      const r = sealpost([cmd, '--help']);
      assert.equal(r.status, 0);
      const text = r.stdout.toString();
      assert.match(text, new RegExp(`^Usage: sealpost ${cmd}`));
      assert.match(text, /Example:\n {2}sealpost /);
    });
  }
  test('no command prints the list and exits 2; an unknown one exits 2', () => {
    const none = sealpost([]);
    assert.equal(none.status, 2);
    assert.match(none.stdout.toString(), /Commands:[\s\S]*verify/);
    assert.equal(sealpost(['frobnicate']).status, 2);
  });
  test('an unknown option is a usage error with a one-line hint, no stack trace', () => {
    const r = sealpost(['sign', '--bogus']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^sealpost sign: Unknown option '--bogus'/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
  test('missing required options', () => {
    assert.equal(sealpost(['sign', '--cert', alice.certPath], { input: fromAlice }).status, 2);
    assert.equal(sealpost(['verify'], { input: fromAlice }).status, 2);
    assert.equal(sealpost(['encrypt'], { input: fromAlice }).status, 2);
  });
});

describe('sign, then OpenSSL verifies', () => {
  for (const [label, extra] of [
    ['clear-signed', []],
    ['opaque', ['--opaque']],
    ['RSA-PSS with SHA-384', ['--pss', '--digest', 'sha384']],
  ] as const) {
    test(label, (t) => {
      const dir = tempDir(t);
      const signed = signAs(alice, fromAlice, [...extra]);
      const out = join(dir, 'content');
      const r = openssl(
        [
          'cms',
          '-verify',
          '-CAfile',
          pki.root.certPath,
          '-certfile',
          pki.intermediate.certPath,
          ...ATTIME,
          '-out',
          out,
        ],
        signed,
      );
      assert.equal(r.status, 0, r.stderr);
      // 8-bit text is canonicalized to quoted-printable before signing (RFC 8551 §3.1.2).
      assert.match(
        readFileSync(out, 'utf8'),
        /\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello =E2=80=94 a test message\./,
      );
      assert.match(signed.toString('latin1'), /^From: Alice <alice@example\.org>\r\n/);
    });
  }
  test('an EC (P-256) signer', () => {
    const carol = pki.user('carol');
    const signed = signAs(carol, message('carol@example.org', 'bob@example.org'));
    const r = openssl(
      [
        'cms',
        '-verify',
        '-CAfile',
        pki.root.certPath,
        '-certfile',
        pki.intermediate.certPath,
        ...ATTIME,
        '-out',
        '/dev/null',
      ],
      signed,
    );
    assert.equal(r.status, 0, r.stderr);
  });
});

describe('verify: statuses and exit codes', () => {
  test('OpenSSL-signed mail verifies (exit 0) with a JSON report', (t) => {
    const dir = tempDir(t);
    const src = join(dir, 'content.eml');
    writeFileSync(src, 'Content-Type: text/plain\r\n\r\nsigned by openssl\r\n');
    const signed = openssl([
      'cms',
      '-sign',
      '-signer',
      alice.certPath,
      '-inkey',
      alice.keyPath,
      '-certfile',
      pki.intermediate.certPath,
      '-in',
      src,
      '-from',
      'alice@example.org',
      '-to',
      'bob@example.org',
      '-subject',
      'hi',
    ]);
    assert.equal(signed.status, 0, signed.stderr);
    const r = sealpost(['verify', ...TRUST, ...AT, '--json'], { input: signed.stdout });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout.toString());
    assert.equal(report.status, 'signed');
    assert.equal(report.coverage, 'full');
    assert.equal(report.layers[0].signers[0].certificate.emailAddresses[0], 'alice@example.org');
    assert.equal(report.sender.matched, true);
  });
  test('--out writes exactly the verified entity', (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'content');
    const r = sealpost(['verify', ...TRUST, ...AT, '--out', out], { input: signAs(alice, fromAlice) });
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(out, 'latin1'), /^Content-Type: text\/plain; charset=utf-8\r\n/);
  });
  test('a changed body is a bad signature (exit 1)', () => {
    const signed = signAs(alice, fromAlice).toString('latin1').replace('a test message', 'a TEST message');
    const r = sealpost(['verify', ...TRUST, ...AT, '--json'], { input: Buffer.from(signed, 'latin1') });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(JSON.parse(r.stdout.toString()).status, 'bad-signature');
  });
  test('a signer without a chain to the trust anchors is untrusted (exit 3)', () => {
    const r = sealpost(['verify', '--trust', pki.rogueRoot.certPath, ...AT], { input: signAs(alice, fromAlice) });
    assert.equal(r.status, 3, r.stderr);
  });
  test('an expired signer certificate is untrusted (exit 3)', () => {
    const expired = pki.user('expired');
    const r = sealpost(['verify', ...TRUST, ...AT], {
      input: signAs(expired, message('expired@example.org', 'bob@example.org')),
    });
    assert.equal(r.status, 3, r.stderr);
  });
  test('a From address that is not the signer is a sender mismatch (exit 4); --sender overrides', () => {
    const signed = signAs(alice, message('Bob <bob@example.org>', 'carol@example.org'));
    assert.equal(sealpost(['verify', ...TRUST, ...AT], { input: signed }).status, 4);
    assert.equal(sealpost(['verify', ...TRUST, ...AT, '--sender', 'alice@example.org'], { input: signed }).status, 0);
  });
  test('a display name that looks like an address does not fool the binding', () => {
    const signed = signAs(alice, message('"alice@example.org" <mallory@evil.example>', 'bob@example.org'));
    assert.equal(sealpost(['verify', ...TRUST, ...AT], { input: signed }).status, 4);
  });
  test('a signed message forwarded inside unsigned text is partly signed (exit 5)', () => {
    const signed = signAs(alice, fromAlice);
    const inner = signed.toString('latin1').split('\r\n\r\n');
    const signedEntity = signed.toString('latin1').slice(signed.indexOf('Content-Type:'));
    const mixed = Buffer.from(
      [
        'From: alice@example.org',
        'To: bob@example.org',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="outer"',
        '',
        '--outer',
        'Content-Type: text/plain',
        '',
        'Unsigned text the attacker prepended.',
        '--outer',
        signedEntity.replace(/\r\n$/, ''),
        '--outer--',
        '',
      ].join('\r\n'),
      'latin1',
    );
    assert.ok(inner.length > 1);
    const r = sealpost(['verify', ...TRUST, ...AT, '--json'], { input: mixed });
    assert.equal(r.status, 5, r.stderr);
    assert.equal(JSON.parse(r.stdout.toString()).coverage, 'partial');
  });
  test('an unsigned message is not signed (exit 6)', () => {
    assert.equal(sealpost(['verify', ...TRUST, ...AT], { input: fromAlice }).status, 6);
  });
  test('garbage is malformed input (exit 7) with a one-line message', () => {
    const garbage = Buffer.from(
      'Content-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIIBAAAA\r\n',
    );
    const r = sealpost(['verify', ...TRUST, ...AT, '--json'], { input: garbage });
    assert.equal(r.status, 7, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(JSON.parse(r.stdout.toString()).error.code, /^(ASN1|CMS)_/);
  });
});

describe('encrypt and decrypt, both directions with OpenSSL', () => {
  for (const cipher of ['aes-256-cbc', 'aes-128-cbc', 'aes-128-gcm', 'aes-256-gcm']) {
    test(`sealpost encrypts (${cipher}), OpenSSL decrypts`, () => {
      const r = sealpost(['encrypt', '--to', bob.certPath, '--cipher', cipher], { input: fromAlice });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout.toString('latin1'), /^From: Alice/);
      const d = openssl(['cms', '-decrypt', '-recip', bob.certPath, '-inkey', bob.keyPath], r.stdout);
      assert.equal(d.status, 0, d.stderr);
      assert.match(d.stdout.toString(), /Hello =E2=80=94 a test message/);
    });
  }
  test('OpenSSL encrypts with OAEP to two recipients, sealpost decrypts with the second key', (t) => {
    const dir = tempDir(t);
    const src = join(dir, 'm.eml');
    writeFileSync(src, 'Content-Type: text/plain\r\n\r\nsecret\r\n');
    const enc = openssl([
      'cms',
      '-encrypt',
      '-aes-256-cbc',
      '-in',
      src,
      '-recip',
      alice.certPath,
      '-recip',
      bob.certPath,
      '-keyopt',
      'rsa_padding_mode:oaep',
      '-from',
      'alice@example.org',
      '-to',
      'bob@example.org',
    ]);
    assert.equal(enc.status, 0, enc.stderr);
    const out = join(dir, 'plain.eml');
    const r = sealpost(['decrypt', '--cert', bob.certPath, '--key', bob.keyPath, '--out', out], { input: enc.stdout });
    assert.equal(r.status, 0, r.stderr);
    const plain = readFileSync(out, 'latin1');
    assert.match(plain, /^From: alice@example\.org\r\n/m);
    assert.match(plain, /\r\nContent-Type: text\/plain\r\n\r\nsecret\r\n$/);
  });
  test('archived keys: the matching pair is found among several', () => {
    const enc = sealpost(['encrypt', '--to', alice.certPath], { input: fromAlice });
    const r = sealpost(
      ['decrypt', '--cert', bob.certPath, '--key', bob.keyPath, '--cert', alice.certPath, '--key', alice.keyPath],
      { input: enc.stdout },
    );
    assert.equal(r.status, 0, r.stderr);
  });
  test('not encrypted to the given key (exit 9), and no output file is left', (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'never.eml');
    const enc = sealpost(['encrypt', '--to', alice.certPath], { input: fromAlice });
    const r = sealpost(['decrypt', '--cert', bob.certPath, '--key', bob.keyPath, '--out', out], { input: enc.stdout });
    assert.equal(r.status, 9, r.stderr);
    assert.equal(existsSync(out), false);
  });
  test('a corrupted ciphertext fails to decrypt (exit 8) and writes nothing', (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'never.eml');
    const enc = sealpost(['encrypt', '--to', bob.certPath, '--cipher', 'aes-256-gcm'], {
      input: fromAlice,
    }).stdout.toString('latin1');
    const lines = enc.split('\r\n');
    const i = lines.findLastIndex((l) => l.length >= 40);
    const l = lines[i]!;
    lines[i] = `${l.slice(0, 10)}${l[10] === 'A' ? 'B' : 'A'}${l.slice(11)}`;
    const r = sealpost(['decrypt', '--cert', bob.certPath, '--key', bob.keyPath, '--out', out], {
      input: Buffer.from(lines.join('\r\n'), 'latin1'),
    });
    assert.equal(r.status, 8, r.stderr);
    assert.equal(existsSync(out), false);
  });
  test('a signing-only certificate is refused as a recipient (exit 2)', () => {
    const r = sealpost(['encrypt', '--to', pki.user('signer').certPath], { input: fromAlice });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cannot encrypt to/);
  });
  test('sign, encrypt (with --self), decrypt, verify: the whole round trip', () => {
    const signed = signAs(alice, fromAlice);
    const enc = sealpost(['encrypt', '--to', bob.certPath, '--self', alice.certPath], { input: signed });
    assert.equal(enc.status, 0, enc.stderr);
    const asAlice = sealpost(['decrypt', '--cert', alice.certPath, '--key', alice.keyPath], { input: enc.stdout });
    assert.equal(asAlice.status, 0, asAlice.stderr);
    const dec = sealpost(['decrypt', '--cert', bob.certPath, '--key', bob.keyPath], { input: enc.stdout });
    assert.equal(dec.status, 0, dec.stderr);
    assert.equal(sealpost(['verify', ...TRUST, ...AT], { input: dec.stdout }).status, 0);
    const inspect = sealpost(['inspect', '--json'], { input: enc.stdout });
    assert.equal(JSON.parse(inspect.stdout.toString()).layers[0].kind, 'enveloped');
    const all = sealpost(['verify', ...TRUST, ...AT, '--cert', bob.certPath, '--key', bob.keyPath, '--json'], {
      input: enc.stdout,
    });
    assert.equal(all.status, 0, all.stderr);
    assert.deepEqual(
      JSON.parse(all.stdout.toString()).layers.map((l: { kind: string }) => l.kind),
      ['enveloped', 'clear-signed'],
    );
  });
});

describe('passwords', () => {
  test('an encrypted key takes its password from a file or the environment, never argv', (t) => {
    const dir = tempDir(t);
    const key = join(dir, 'alice.enc.pem');
    const pass = join(dir, 'pass');
    writeFileSync(pass, 'correct horse battery staple\n');
    const r0 = openssl([
      'pkcs8',
      '-topk8',
      '-in',
      alice.keyPath,
      '-out',
      key,
      '-v2',
      'aes-256-cbc',
      '-passout',
      `file:${pass}`,
    ]);
    assert.equal(r0.status, 0, r0.stderr);
    const base = ['sign', '--cert', alice.certPath, '--key', key];
    assert.equal(sealpost([...base, '--password-file', pass], { input: fromAlice }).status, 0);
    assert.equal(
      sealpost([...base, '--password-env', 'SP_PW'], {
        input: fromAlice,
        env: { SP_PW: 'correct horse battery staple' },
      }).status,
      0,
    );
    const wrong = sealpost([...base, '--password-env', 'SP_PW'], { input: fromAlice, env: { SP_PW: 'wrong' } });
    assert.equal(wrong.status, 11);
    assert.doesNotMatch(wrong.stderr, /wrong\b.*wrong/);
    const none = sealpost(base, { input: fromAlice });
    assert.equal(none.status, 11);
    assert.match(none.stderr, /--password-file/);
  });
});
