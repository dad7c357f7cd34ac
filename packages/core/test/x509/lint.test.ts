/**
 * The S/MIME BR linter against certificates OpenSSL issues from the test intermediate: one
 * compliant certificate per profile and key type, then one certificate per rule that breaks only it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Certificate } from '../../src/x509/certificate.ts';
import { type Finding, type LintOptions, lintCertificate } from '../../src/x509/lint.ts';
import { testPki, type UserName } from '../support/pki.ts';

const pki = testPki();
const dir = mkdtempSync(join(tmpdir(), 'sealpost-lint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Public keys by name: the test PKI's users, plus keys only the linter needs. */
const publicKeys = new Map<string, string>();
function publicKey(name: string): string {
  let path = publicKeys.get(name);
  if (path) return path;
  path = join(dir, `${name}.pub.pem`);
  const user = ['alice', 'carol', 'erin', 'frank'].includes(name) ? pki.user(name as UserName) : undefined;
  let keyPath = user?.keyPath;
  if (!keyPath) {
    keyPath = join(dir, `${name}.key.pem`);
    const [alg, opt] = {
      rsa1024: ['RSA', 'rsa_keygen_bits:1024'],
      rsa2052: ['RSA', 'rsa_keygen_bits:2052'],
      p521: ['EC', 'ec_paramgen_curve:P-521'],
      k256: ['EC', 'ec_paramgen_curve:secp256k1'],
    }[name]!;
    openssl(['genpkey', '-algorithm', alg!, '-pkeyopt', opt!, '-out', keyPath]);
  }
  openssl(['pkey', '-in', keyPath, '-pubout', '-out', path]);
  publicKeys.set(name, path);
  return path;
}

const csr = join(dir, 'request.csr');
openssl(['req', '-new', '-key', pki.user('alice').keyPath, '-subj', '/CN=request', '-out', csr]);

/** A compliant strict, mailbox-validated RSA certificate's extensions. */
const STRICT: Record<string, string> = {
  basicConstraints: 'critical, CA:false',
  keyUsage: 'critical, digitalSignature, keyEncipherment',
  extendedKeyUsage: 'emailProtection',
  subjectKeyIdentifier: 'hash',
  authorityKeyIdentifier: 'keyid:always',
  subjectAltName: 'email:alice@example.org',
  certificatePolicies: '2.23.140.1.5.1.3',
  crlDistributionPoints: 'URI:http://crl.example.org/intermediate.crl',
};

interface IssueOptions {
  /** Extension overrides; undefined removes one. */
  ext?: Record<string, string | undefined>;
  /** No extensions at all: OpenSSL then writes a version 1 certificate. */
  noExtensions?: boolean;
  key?: string;
  subject?: string;
  days?: number;
  serial?: string;
  digest?: string;
}

let count = 0;
function issue(o: IssueOptions = {}): Certificate {
  const n = ++count;
  const out = join(dir, `cert-${n}.pem`);
  const args = [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    pki.intermediate.certPath,
    '-CAkey',
    pki.intermediate.keyPath,
    '-force_pubkey',
    publicKey(o.key ?? 'alice'),
    '-subj',
    o.subject ?? '/CN=Alice/emailAddress=alice@example.org',
    '-set_serial',
    o.serial ?? `0x${randomBytes(16).toString('hex')}`,
    '-days',
    String(o.days ?? 365),
    `-${o.digest ?? 'sha256'}`,
    '-out',
    out,
  ];
  if (!o.noExtensions) {
    const ext = { ...STRICT, ...o.ext };
    const file = join(dir, `ext-${n}.cnf`);
    writeFileSync(
      file,
      Object.entries(ext)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k} = ${v}\n`)
        .join(''),
    );
    args.push('-extfile', file);
  }
  openssl(args);
  return Certificate.all(execFileSync('openssl', ['x509', '-in', out, '-outform', 'DER']))[0]!;
}

const rules = (findings: Finding[]) => findings.map((f) => f.rule).sort();
const STRICT_MAILBOX: LintOptions = { profile: 'strict', validation: 'mailbox' };
const MULTI_ORG: LintOptions = { profile: 'multipurpose', validation: 'organization' };

describe('compliant certificates yield no findings', () => {
  test('strict, mailbox-validated, RSA dual-use (with and without the validation type given)', () => {
    const cert = issue();
    assert.deepEqual(lintCertificate(cert, STRICT_MAILBOX), []);
    assert.deepEqual(lintCertificate(cert, { profile: 'strict' }), []);
  });
  test('multipurpose, organization-validated, RSA with dataEncipherment and clientAuth', () => {
    const cert = issue({
      subject: '/CN=Alice/O=Example Org/emailAddress=alice@example.org',
      ext: {
        keyUsage: 'critical, digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment',
        extendedKeyUsage: 'emailProtection, clientAuth',
        certificatePolicies: '2.23.140.1.5.2.2',
      },
    });
    assert.deepEqual(lintCertificate(cert, MULTI_ORG), []);
    assert.deepEqual(lintCertificate(cert, { profile: 'multipurpose' }), []);
  });
  for (const [key, keyUsage] of [
    ['carol', 'critical, digitalSignature, keyAgreement'],
    ['p521', 'critical, keyAgreement'],
    ['erin', 'critical, digitalSignature, nonRepudiation'],
  ] as const) {
    test(`strict ${key === 'erin' ? 'Ed25519' : key === 'p521' ? 'P-521' : 'P-256'} (${keyUsage})`, () => {
      assert.deepEqual(lintCertificate(issue({ key, ext: { keyUsage } }), STRICT_MAILBOX), []);
    });
  }
});

/** [what, how to break it, lint options, the rules expected]. */
const BROKEN: [string, IssueOptions, LintOptions, string[]][] = [
  // 7.1.2.3(e) key usage
  [
    'RSA encryption certificate with dataEncipherment in strict',
    { ext: { keyUsage: 'critical, keyEncipherment, dataEncipherment' } },
    STRICT_MAILBOX,
    ['e_key_usage_rsa_encryption'],
  ],
  [
    'RSA with nonRepudiation alone',
    { ext: { keyUsage: 'critical, nonRepudiation' } },
    STRICT_MAILBOX,
    ['e_key_usage_rsa_none'],
  ],
  [
    'RSA signing certificate with keyAgreement',
    { ext: { keyUsage: 'critical, digitalSignature, keyAgreement' } },
    STRICT_MAILBOX,
    ['e_key_usage_rsa_signing'],
  ],
  [
    'EC with keyEncipherment',
    { key: 'carol', ext: { keyUsage: 'critical, digitalSignature, keyEncipherment' } },
    STRICT_MAILBOX,
    ['e_key_usage_ec_signing'],
  ],
  [
    'Ed25519 with keyAgreement',
    { key: 'erin', ext: { keyUsage: 'critical, digitalSignature, keyAgreement' } },
    STRICT_MAILBOX,
    ['e_key_usage_eddsa_signing'],
  ],
  [
    'keyCertSign and cRLSign on a leaf',
    { ext: { keyUsage: 'critical, digitalSignature, keyCertSign, cRLSign' } },
    STRICT_MAILBOX,
    ['e_key_usage_ca_bits'],
  ],
  [
    'keyUsage not critical',
    { ext: { keyUsage: 'digitalSignature, keyEncipherment' } },
    STRICT_MAILBOX,
    ['w_key_usage_not_critical'],
  ],
  ['keyUsage absent', { ext: { keyUsage: undefined } }, STRICT_MAILBOX, ['e_key_usage_missing']],
  ['malformed keyUsage', { ext: { keyUsage: 'DER:0500' } }, STRICT_MAILBOX, ['e_extension_malformed']],
  ['malformed subjectAltName', { ext: { subjectAltName: 'DER:0500' } }, STRICT_MAILBOX, ['e_extension_malformed']],
  // 7.1.2.3(f) extended key usage
  [
    'strict with clientAuth beside emailProtection',
    { ext: { extendedKeyUsage: 'emailProtection, clientAuth' } },
    STRICT_MAILBOX,
    ['e_eku_strict_other'],
  ],
  [
    'multipurpose with serverAuth',
    { ext: { extendedKeyUsage: 'emailProtection, serverAuth', certificatePolicies: '2.23.140.1.5.1.2' } },
    { profile: 'multipurpose' },
    ['e_eku_prohibited'],
  ],
  [
    'multipurpose with OCSPSigning',
    { ext: { extendedKeyUsage: 'emailProtection, OCSPSigning', certificatePolicies: '2.23.140.1.5.1.2' } },
    { profile: 'multipurpose' },
    ['e_eku_prohibited'],
  ],
  [
    'multipurpose without emailProtection',
    { ext: { extendedKeyUsage: 'clientAuth', certificatePolicies: '2.23.140.1.5.1.2' } },
    { profile: 'multipurpose' },
    ['e_eku_email_protection_missing'],
  ],
  ['extKeyUsage absent', { ext: { extendedKeyUsage: undefined } }, STRICT_MAILBOX, ['e_eku_missing']],
  // 7.1.2.3(h), 7.1.4.2.1 subject alternative name
  ['subjectAltName absent', { ext: { subjectAltName: undefined } }, STRICT_MAILBOX, ['e_san_missing']],
  [
    'subject emailAddress not repeated in subjectAltName',
    { ext: { subjectAltName: 'email:other@example.org' } },
    STRICT_MAILBOX,
    ['e_subject_email_not_in_san'],
  ],
  [
    'subjectAltName without a mailbox',
    { subject: '/CN=Alice', ext: { subjectAltName: 'URI:https://example.org/alice' } },
    STRICT_MAILBOX,
    ['e_san_no_mailbox'],
  ],
  [
    'dNSName and iPAddress in a mailbox-validated certificate',
    { ext: { subjectAltName: 'email:alice@example.org, DNS:mail.example.org, IP:192.0.2.1' } },
    STRICT_MAILBOX,
    ['e_san_dns_or_ip'],
  ],
  [
    'dNSName in an organization-validated certificate is a warning',
    {
      ext: {
        subjectAltName: 'email:alice@example.org, DNS:mail.example.org',
        certificatePolicies: '2.23.140.1.5.2.2',
      },
    },
    MULTI_ORG,
    ['w_san_dns_or_ip'],
  ],
  // 7.1.2.3(a), 7.1.6.1 certificate policies
  [
    'certificatePolicies absent',
    { ext: { certificatePolicies: undefined } },
    STRICT_MAILBOX,
    ['e_certificate_policies_missing'],
  ],
  [
    'the multipurpose OID linted as strict',
    { ext: { certificatePolicies: '2.23.140.1.5.1.2' } },
    STRICT_MAILBOX,
    ['e_smime_policy_missing'],
  ],
  [
    'the organization-validated OID linted as mailbox-validated',
    { ext: { certificatePolicies: '2.23.140.1.5.2.3' } },
    STRICT_MAILBOX,
    ['e_smime_policy_missing'],
  ],
  [
    'the legacy OID',
    { ext: { certificatePolicies: '2.23.140.1.5.1.1' } },
    { profile: 'strict' },
    ['e_smime_policy_missing'],
  ],
  [
    'two reserved OIDs',
    { ext: { certificatePolicies: '2.23.140.1.5.1.3, 2.23.140.1.5.2.3' } },
    { profile: 'strict' },
    ['e_smime_policy_multiple'],
  ],
  [
    'malformed certificatePolicies',
    { ext: { certificatePolicies: 'DER:0500' } },
    STRICT_MAILBOX,
    ['e_extension_malformed'],
  ],
  // 7.1.2.3(b) CRL distribution points
  [
    'cRLDistributionPoints absent',
    { ext: { crlDistributionPoints: undefined } },
    STRICT_MAILBOX,
    ['e_crl_distribution_points_missing'],
  ],
  [
    'an LDAP CRL only',
    { ext: { crlDistributionPoints: 'URI:ldap://ldap.example.org/cn=crl' } },
    STRICT_MAILBOX,
    ['e_crl_distribution_point_no_http'],
  ],
  // 7.1.2.3(g) authority key identifier; RFC 5280 subject key identifier
  [
    'authorityKeyIdentifier absent',
    { ext: { authorityKeyIdentifier: 'none' } },
    STRICT_MAILBOX,
    ['e_authority_key_identifier_missing'],
  ],
  [
    'authorityKeyIdentifier with issuer and serial',
    { ext: { authorityKeyIdentifier: 'keyid:always, issuer:always' } },
    STRICT_MAILBOX,
    ['e_authority_key_identifier_issuer_serial'],
  ],
  [
    'subjectKeyIdentifier absent',
    { ext: { subjectKeyIdentifier: 'none' } },
    STRICT_MAILBOX,
    ['n_subject_key_identifier_missing'],
  ],
  // 7.1.2.3(d)
  [
    'basicConstraints cA=true',
    { ext: { basicConstraints: 'critical, CA:true' } },
    STRICT_MAILBOX,
    ['e_basic_constraints_ca'],
  ],
  // 6.1.5, 7.1.3.1 keys
  ['RSA-1024', { key: 'rsa1024' }, STRICT_MAILBOX, ['e_rsa_key_too_small']],
  ['RSA-2052', { key: 'rsa2052' }, STRICT_MAILBOX, ['e_rsa_modulus_not_multiple_of_8']],
  [
    'secp256k1',
    { key: 'k256', ext: { keyUsage: 'critical, digitalSignature' } },
    STRICT_MAILBOX,
    ['e_ec_curve_not_allowed'],
  ],
  [
    'X25519',
    { key: 'frank', ext: { keyUsage: 'critical, keyAgreement' } },
    STRICT_MAILBOX,
    ['e_public_key_algorithm_not_allowed'],
  ],
  // 6.3.2, 7.1, 7.1.1, 7.1.3.2
  ['validity of 900 days', { days: 900 }, STRICT_MAILBOX, ['e_validity_too_long']],
  ['negative serial number', { serial: '-5' }, STRICT_MAILBOX, ['e_serial_not_positive']],
  ['zero serial number', { serial: '0' }, STRICT_MAILBOX, ['e_serial_not_positive']],
  ['8-octet serial number', { serial: '0x0102030405060708' }, STRICT_MAILBOX, ['e_serial_low_entropy']],
  ['21-octet serial number', { serial: `0x${'11'.repeat(21)}` }, STRICT_MAILBOX, ['e_serial_too_long']],
  ['SHA-1 signature', { digest: 'sha1' }, STRICT_MAILBOX, ['e_signature_algorithm_not_allowed']],
];

describe('each rule, broken alone', () => {
  for (const [label, how, options, expected] of BROKEN) {
    test(`${label}: ${expected.join(', ')}`, () => {
      const findings = lintCertificate(issue(how), options);
      assert.deepEqual(rules(findings), expected, JSON.stringify(findings, null, 2));
      for (const f of findings) {
        assert.match(f.section, /^(\d+(\.\d+)*(\([a-z]\))?|RFC \d+ [\d.]+)$/);
        assert.equal(f.severity, { e: 'error', w: 'warning', n: 'notice' }[f.rule[0]!]);
        assert.ok(f.message.length > 20);
      }
    });
  }
  test('the finding for an RSA encryption certificate names the BR section and the offending bit', () => {
    const [f] = lintCertificate(issue(BROKEN[0]![1]), STRICT_MAILBOX);
    assert.deepEqual(
      { severity: f?.severity, rule: f?.rule, section: f?.section },
      { severity: 'error', rule: 'e_key_usage_rsa_encryption', section: '7.1.2.3(e)' },
    );
    assert.match(f!.message, /dataEncipherment/);
  });
  test('dataEncipherment is allowed in multipurpose', () => {
    const cert = issue({
      ext: { keyUsage: 'critical, keyEncipherment, dataEncipherment', certificatePolicies: '2.23.140.1.5.1.2' },
    });
    assert.deepEqual(lintCertificate(cert, { profile: 'multipurpose', validation: 'mailbox' }), []);
  });
  test('a version 1 certificate (no extensions) is reported, with everything it lacks', () => {
    const found = rules(lintCertificate(issue({ noExtensions: true }), STRICT_MAILBOX));
    for (const r of ['e_version_not_3', 'e_key_usage_missing', 'e_eku_missing', 'e_san_missing']) {
      assert.ok(found.includes(r), r);
    }
  });
});

describe('the test PKI users (OpenSSL "ca", long-lived, no policies or CRL)', () => {
  const lint = (name: UserName) => rules(lintCertificate(Certificate.from(pki.user(name).cert), { profile: 'strict' }));
  const COMMON = [
    'e_certificate_policies_missing',
    'e_crl_distribution_points_missing',
    'e_serial_low_entropy',
    'e_validity_too_long',
  ];
  test('alice, bob, carol, dave, signer, encrypter: only what OpenSSL "ca" with a short config leaves out', () => {
    for (const name of ['alice', 'bob', 'carol', 'dave', 'signer', 'encrypter'] as const) {
      assert.deepEqual(lint(name), COMMON, name);
    }
  });
  test('erin (Ed25519 signing) conforms the same way', () => {
    assert.deepEqual(lint('erin'), COMMON);
  });
  test('frank (X25519, made by our builder) has a random serial but a key type the BR do not list', () => {
    assert.deepEqual(lint('frank'), [
      'e_certificate_policies_missing',
      'e_crl_distribution_points_missing',
      'e_public_key_algorithm_not_allowed',
      'e_validity_too_long',
    ]);
  });
  test('server (serverAuth) and legacy (no EKU, no subjectAltName)', () => {
    assert.deepEqual(lint('server'), [...COMMON, 'e_eku_email_protection_missing', 'e_eku_strict_other'].sort());
    assert.deepEqual(lint('legacy'), [...COMMON, 'e_eku_missing', 'e_san_missing'].sort());
  });
  test('the intermediate CA is not a subscriber certificate', () => {
    const found = rules(lintCertificate(Certificate.from(pki.intermediate.cert), { profile: 'strict' }));
    for (const r of ['e_basic_constraints_ca', 'e_key_usage_ca_bits']) assert.ok(found.includes(r), r);
  });
});
