import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { testPki } from '../../core/test/support/pki.ts';
import { openssl, sealpost, tempDir } from './support/run.ts';

const pki = testPki();
const alice = pki.user('alice');

/** OpenSSL's fingerprint of a PEM certificate: upper-case hex octets joined by colons. */
function fingerprint(path: string, digest: 'sha256' | 'sha1'): string {
  const r = openssl(['x509', '-in', path, '-noout', '-fingerprint', `-${digest}`]);
  return /=([0-9A-F:]+)/.exec(r.stdout.toString())![1]!;
}

/** A certificate that conforms to the strict, mailbox-validated profile, issued by OpenSSL. */
function compliantCertificate(dir: string): string {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-new', '-key', alice.keyPath, '-subj', '/CN=Alice', '-out', 'alice.csr']);
  writeFileSync(
    join(dir, 'ext.cnf'),
    [
      'basicConstraints = critical, CA:false',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = emailProtection',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always',
      'subjectAltName = email:alice@example.org',
      'certificatePolicies = 2.23.140.1.5.1.3',
      'crlDistributionPoints = URI:http://crl.example.org/intermediate.crl',
    ].join('\n'),
  );
  run([
    'x509',
    '-req',
    '-in',
    'alice.csr',
    '-CA',
    pki.intermediate.certPath,
    '-CAkey',
    pki.intermediate.keyPath,
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-days',
    '365',
    '-extfile',
    'ext.cnf',
    '-out',
    'compliant.pem',
  ]);
  return join(dir, 'compliant.pem');
}

describe('cert: help and usage', () => {
  test('--help lists the subcommands, the lint exit status and an example', () => {
    const r = sealpost(['cert', '--help']);
    assert.equal(r.status, 0);
    const text = r.stdout.toString();
    assert.match(text, /^Usage: sealpost cert inspect FILE/);
    assert.match(text, /\n {2}inspect {2}/);
    assert.match(text, /\n {2}lint {5}/);
    assert.match(text, /\n {2}validate {1}/);
    assert.match(text, /1 lint found errors/);
    assert.match(text, /Examples:\n {2}sealpost cert lint /);
  });
  test('the main help lists cert', () => {
    assert.match(
      sealpost(['--help']).stdout.toString(),
      /\n {2}cert +inspect, lint \(S\/MIME Baseline Requirements\) and validate certificates/,
    );
  });
  for (const [label, args, message] of [
    ['no subcommand', ['cert'], /give a subcommand: inspect, lint, validate/],
    ['an unknown subcommand', ['cert', 'frob', alice.certPath], /unknown subcommand "frob"/],
    ['no FILE', ['cert', 'lint'], /give the certificate FILE/],
    ['a bad profile', ['cert', 'lint', alice.certPath, '--profile', 'lax'], /--profile "lax" is not one of strict/],
    [
      'a bad validation type',
      ['cert', 'lint', alice.certPath, '--validation', 'x'],
      /--validation "x" is not one of mailbox/,
    ],
    ['a lint option on inspect', ['cert', 'inspect', alice.certPath, '--profile', 'strict'], /not an option of/],
  ] as const) {
    test(`${label} is a one-line usage error (exit 2)`, () => {
      const r = sealpost([...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /^sealpost cert: /);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
  }
});

describe('cert inspect', () => {
  test('a human summary, with the fingerprints OpenSSL computes', () => {
    const r = sealpost(['cert', 'inspect', alice.certPath]);
    assert.equal(r.status, 0, r.stderr);
    const text = r.stdout.toString();
    assert.match(text, /^Subject: +emailAddress=alice@example\.org, CN=alice\n/);
    assert.match(text, /\nMailboxes: +alice@example\.org\n/);
    assert.match(text, /\nPurpose: +S\/MIME, signing and encryption \(dual-use\)\n/);
    assert.match(text, /\nKey: +RSA 2048 bits\n/);
    assert.match(text, /\nValid: +2025-01-01T00:00:00\.000Z to 2035-12-31T00:00:00\.000Z\n/);
    assert.match(text, /\nIssuer: +CN=Sealpost Test Intermediate\n/);
    assert.ok(text.includes(`\nSHA-256:    ${fingerprint(alice.certPath, 'sha256')}\n`), text);
    assert.ok(text.includes(`\nSHA-1:      ${fingerprint(alice.certPath, 'sha1')}\n`), text);
    assert.match(text, /\n {2}keyUsage \(critical\): digitalSignature, nonRepudiation, keyEncipherment\n/);
    assert.match(text, /\n {2}extKeyUsage: emailProtection\n/);
    assert.match(text, /\n {2}subjectAltName: email alice@example\.org\n/);
  });

  test('--json for every certificate of a PEM bundle; the CA is not S/MIME', () => {
    const r = sealpost(['cert', 'inspect', pki.chainPath, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const { certificates } = JSON.parse(r.stdout.toString());
    assert.deepEqual(
      certificates.map((c: { subject: string; smime: boolean; sha256: string }) => [c.subject, c.smime]),
      [
        ['CN=Sealpost Test Intermediate', false],
        ['CN=Sealpost Test Root', false],
      ],
    );
    assert.equal(certificates[1].sha256, fingerprint(pki.root.certPath, 'sha256').replaceAll(':', '').toLowerCase());
  });

  test('DER input, and decoded policies and CRL distribution points', (t) => {
    const dir = tempDir(t);
    const der = join(dir, 'compliant.der');
    openssl(['x509', '-in', compliantCertificate(dir), '-outform', 'DER', '-out', der]);
    const r = sealpost(['cert', 'inspect', der, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const [c] = JSON.parse(r.stdout.toString()).certificates;
    const ext = new Map(c.extensions.map((e: { name: string; value: string }) => [e.name, e.value]));
    assert.equal(ext.get('certificatePolicies'), '2.23.140.1.5.1.3');
    assert.equal(ext.get('crlDistributionPoints'), 'http://crl.example.org/intermediate.crl');
    assert.equal(c.purpose, 'dual-use');
  });

  test('X25519 and Ed25519 certificates: encryption only and signing only', () => {
    const purposes = ['frank', 'erin'].map((name) => {
      const r = sealpost(['cert', 'inspect', pki.user(name as 'frank').certPath, '--json']);
      const [c] = JSON.parse(r.stdout.toString()).certificates;
      return [c.purpose, c.key];
    });
    assert.deepEqual(purposes, [
      ['encryption', 'X25519 256 bits'],
      ['signing', 'Ed25519 256 bits'],
    ]);
  });

  test('a missing file exits 12, garbage exits 7, a PEM without certificates exits 2', (t) => {
    const dir = tempDir(t);
    assert.equal(sealpost(['cert', 'inspect', join(dir, 'nope.pem')]).status, 12);
    writeFileSync(join(dir, 'garbage.der'), Buffer.from('30031234', 'hex'));
    const bad = sealpost(['cert', 'inspect', join(dir, 'garbage.der'), '--json']);
    assert.equal(bad.status, 7, bad.stderr);
    assert.equal(JSON.parse(bad.stdout.toString()).error.code, 'CERT_MALFORMED');
    assert.equal(sealpost(['cert', 'inspect', alice.keyPath]).status, 2);
  });
});

describe('cert lint', () => {
  test('a compliant certificate: exit 0, and JSON with no findings', (t) => {
    const path = compliantCertificate(tempDir(t));
    const r = sealpost(['cert', 'lint', path, '--validation', 'mailbox']);
    assert.equal(r.status, 0, r.stdout.toString());
    assert.match(
      r.stdout.toString(),
      /^OK: CN=Alice \(serial [0-9a-f]+\) conforms to the S\/MIME BR strict, mailbox-validated profile\n$/,
    );
    const json = sealpost(['cert', 'lint', path, '--json']);
    assert.equal(json.status, 0);
    const out = JSON.parse(json.stdout.toString());
    assert.deepEqual([out.profile, out.errors, out.certificates[0].findings], ['strict', 0, []]);
  });

  test('the test PKI user alice fails (exit 1) with the rules and BR sections listed', () => {
    const r = sealpost(['cert', 'lint', alice.certPath]);
    assert.equal(r.status, 1);
    const text = r.stdout.toString();
    assert.match(text, /^FAILED: emailAddress=alice@example\.org, CN=alice \(serial 1004\): 4 error\(s\)/);
    assert.match(text, /\n {2}error {3}e_validity_too_long \[6\.3\.2\] The validity period is \d+ days/);
    assert.match(text, /\n {2}error {3}e_certificate_policies_missing \[7\.1\.2\.3\(a\)\] /);
  });

  test('several certificates from standard input, as JSON; the exit status counts errors in any', (t) => {
    const bundle = Buffer.concat([readFileSync(compliantCertificate(tempDir(t))), alice.cert]);
    const r = sealpost(['cert', 'lint', '-', '--profile', 'multipurpose', '--json'], { input: bundle });
    assert.equal(r.status, 1);
    const out = JSON.parse(r.stdout.toString());
    assert.equal(out.profile, 'multipurpose');
    // The compliant one asserts the strict policy OID, which a multipurpose lint does not accept.
    assert.deepEqual(
      out.certificates[0].findings.map((f: { rule: string }) => f.rule),
      ['e_smime_policy_missing'],
    );
    assert.ok(out.certificates[1].errors > 0);
    assert.equal(out.errors, out.certificates[0].errors + out.certificates[1].errors);
  });
});
