import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { retag } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { decodeSignedAttributes, encodeSignedAttributes } from '../../src/cms/attributes.ts';
import { isSealpostError } from '../../src/errors.ts';
import { buildCertificate } from '../../src/x509/builder.ts';
import { Certificate, type KeyUsageName } from '../../src/x509/certificate.ts';
import { chooseCertificates, classifyCertificate, importDecision } from '../../src/x509/purpose.ts';
import { TEST_TIME, testPki, type UserName } from '../support/pki.ts';

const pki = testPki();
const user = (name: UserName) => Certificate.from(pki.user(name).cert);
const dir = mkdtempSync(join(tmpdir(), 'sealpost-purpose-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** OpenSSL issues a certificate for a test user's key with exactly these extensions (none for keyUsage if omitted). */
let count = 0;
function opensslIssue(keyOf: UserName, extensions: string): Certificate {
  const n = ++count;
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  run(['pkey', '-in', pki.user(keyOf).keyPath, '-pubout', '-out', `key-${n}.pub`]);
  run(['req', '-new', '-key', pki.user('alice').keyPath, '-subj', '/CN=request', '-out', `req-${n}.csr`]);
  writeFileSync(join(dir, `ext-${n}.cnf`), `subjectAltName = email:${keyOf}@example.org\n${extensions}\n`);
  run([
    'x509',
    '-req',
    '-in',
    `req-${n}.csr`,
    '-CA',
    pki.intermediate.certPath,
    '-CAkey',
    pki.intermediate.keyPath,
    '-force_pubkey',
    `key-${n}.pub`,
    '-days',
    '30',
    '-extfile',
    `ext-${n}.cnf`,
    '-out',
    `cert-${n}.pem`,
  ]);
  return Certificate.from(run(['x509', '-in', `cert-${n}.pem`, '-outform', 'DER']));
}

describe('classifyCertificate', () => {
  test('the test PKI users, by key usage and key type', () => {
    const expected: [UserName, string][] = [
      ['alice', 'dual-use'],
      ['bob', 'dual-use'],
      ['carol', 'dual-use'],
      ['dave', 'dual-use'],
      ['erin', 'signing'],
      ['frank', 'encryption'],
      ['signer', 'signing'],
      ['encrypter', 'encryption'],
    ];
    for (const [name, purpose] of expected) {
      const c = classifyCertificate(user(name));
      assert.deepEqual(
        { smime: c.smime, purpose: c.purpose, mailboxes: c.mailboxes },
        { smime: true, purpose, mailboxes: [`${name}@example.org`] },
        name,
      );
      assert.ok(c.reasons.some((r) => /emailProtection/.test(r)));
    }
  });
  test('a serverAuth certificate is not an S/MIME certificate', () => {
    const c = classifyCertificate(user('server'));
    assert.equal(c.smime, false);
    assert.match(c.reasons.join(' '), /serverAuth\) excludes e-mail protection/);
  });
  test('no extended key usage: S/MIME, the mailbox from the subject emailAddress', () => {
    const c = classifyCertificate(user('legacy'));
    assert.deepEqual([c.smime, c.purpose, c.mailboxes], [true, 'dual-use', ['legacy@example.org']]);
  });
  test('a CA certificate is not an S/MIME certificate and can neither sign mail nor be encrypted to', () => {
    const c = classifyCertificate(Certificate.from(pki.intermediate.cert));
    assert.deepEqual([c.smime, c.purpose, c.mailboxes], [false, 'none', []]);
    assert.match(c.reasons.join(' '), /CA certificate/);
    assert.match(c.reasons.join(' '), /names no mailbox/);
  });
  test('without keyUsage: RSA and EC keys are dual-use, Ed25519 signs, X25519 encrypts', () => {
    for (const [key, purpose] of [
      ['alice', 'dual-use'],
      ['carol', 'dual-use'],
      ['erin', 'signing'],
      ['frank', 'encryption'],
    ] as const) {
      const c = classifyCertificate(opensslIssue(key, 'extendedKeyUsage = emailProtection'));
      assert.equal(c.purpose, purpose, key);
      assert.match(c.reasons.join(' '), /no key usage extension/);
    }
  });
  test('anyExtendedKeyUsage is S/MIME; clientAuth alone is not', () => {
    assert.equal(classifyCertificate(opensslIssue('alice', 'extendedKeyUsage = anyExtendedKeyUsage')).smime, true);
    assert.equal(classifyCertificate(opensslIssue('alice', 'extendedKeyUsage = clientAuth')).smime, false);
  });
  test('keyAgreement on an RSA key and keyEncipherment on an EC key allow nothing', () => {
    assert.equal(classifyCertificate(opensslIssue('alice', 'keyUsage = critical, keyAgreement')).purpose, 'none');
    assert.equal(classifyCertificate(opensslIssue('carol', 'keyUsage = critical, keyEncipherment')).purpose, 'none');
  });
  test('a malformed keyUsage is CERT_MALFORMED', () => {
    const cert = opensslIssue('alice', 'keyUsage = DER:0500');
    assert.throws(
      () => classifyCertificate(cert),
      (e) => isSealpostError(e, 'CERT_MALFORMED'),
    );
  });
});

describe('importDecision', () => {
  test('single-purpose identities import without asking', () => {
    const d = importDecision([user('signer'), user('encrypter')]);
    assert.equal(d.ask, false);
    assert.deepEqual(
      d.identities.map((i) => [i.action, i.enable]),
      [
        ['import', ['signing']],
        ['import', ['encryption']],
      ],
    );
  });
  test('a dual-use identity asks which purposes to enable', () => {
    const d = importDecision([user('alice'), user('erin')]);
    assert.equal(d.ask, true);
    assert.deepEqual(
      d.identities.map((i) => [i.action, i.enable]),
      [
        ['ask', ['signing', 'encryption']],
        ['import', ['signing']],
      ],
    );
    assert.match(d.identities[0]!.why, /can both sign and encrypt/);
  });
  test('non-S/MIME identities are skipped', () => {
    const d = importDecision([user('server'), Certificate.from(pki.intermediate.cert)]);
    assert.equal(d.ask, false);
    assert.deepEqual(
      d.identities.map((i) => i.action),
      ['skip', 'skip'],
    );
  });
});

describe('chooseCertificates', () => {
  const issuer = {
    certificate: Certificate.from(pki.intermediate.cert),
    privateKey: createPrivateKey(pki.intermediate.key),
  };
  function make(
    keyOf: UserName,
    from: string,
    to: string,
    keyUsage: KeyUsageName[],
    eku: string[] = [OID.emailProtection],
  ) {
    return buildCertificate(
      {
        commonName: `${keyOf} ${from}`,
        emails: [`${keyOf}@example.org`],
        publicKey: createPublicKey(pki.user(keyOf).key),
        notBefore: new Date(from),
        notAfter: new Date(to),
        keyUsage,
        extKeyUsage: eku,
      },
      issuer,
    );
  }
  const oldSigning = make('alice', '2025-01-01', '2027-01-01', ['digitalSignature']);
  const newSigning = make('alice', '2026-01-01', '2028-01-01', ['digitalSignature', 'nonRepudiation']);
  const futureSigning = make('alice', '2026-07-01', '2028-07-01', ['digitalSignature']);
  const oldEncryption = make('alice', '2025-03-01', '2027-03-01', ['keyEncipherment']);
  const newEncryption = make('carol', '2026-02-01', '2028-02-01', ['keyAgreement']);
  const expiredEncryption = make('alice', '2024-01-01', '2025-01-01', ['keyEncipherment']);
  const server = make('alice', '2026-03-01', '2028-03-01', ['digitalSignature'], [OID.serverAuth]);
  const time = TEST_TIME;

  test('the newest valid signing and encryption certificates; the others explained', () => {
    const all = [oldSigning, newSigning, futureSigning, oldEncryption, newEncryption, expiredEncryption, server];
    const r = chooseCertificates(all, { time });
    assert.equal(r.signing?.cert, newSigning);
    assert.match(r.signing!.why, /newest valid certificate that can sign; 1 older one\(s\) passed over/);
    assert.equal(r.encryption?.cert, newEncryption);
    assert.match(r.encryption!.why, /newest valid certificate that can be encrypted to/);
    const why = new Map(r.rejected.map((x) => [x.cert, x.why]));
    assert.equal(why.size, 5);
    assert.match(why.get(futureSigning)!, /not valid before 2026-07-01/);
    assert.match(why.get(expiredEncryption)!, /expired on 2025-01-01/);
    assert.match(why.get(server)!, /not an S\/MIME certificate/);
    assert.match(why.get(oldSigning)!, /valid but not used/);
    assert.match(why.get(oldEncryption)!, /valid but not used/);
  });

  test("the certificate the sender's SMIMEEncryptionKeyPreference names wins (issuer and serial, as CMS decodes it)", () => {
    const attrs = encodeSignedAttributes({
      eContentType: OID.data,
      messageDigest: new Uint8Array(32),
      signingTime: time,
      capabilities: [],
      encryptionCertificate: oldEncryption,
    });
    const preferred = decodeSignedAttributes(retag(attrs, 0xa0)).encryptionKeyPreference;
    assert.ok(preferred);
    const r = chooseCertificates([newEncryption, oldEncryption], { time, preferredEncryption: preferred });
    assert.equal(r.encryption?.cert, oldEncryption);
    assert.match(r.encryption!.why, /SMIMEEncryptionKeyPreference names/);
    assert.match(r.rejected[0]!.why, /encryption key preference names another/);
  });

  test('a preference by subject key identifier', () => {
    const ski = oldEncryption.subjectKeyIdentifier!;
    const r = chooseCertificates([newEncryption, oldEncryption], {
      time,
      preferredEncryption: { subjectKeyIdentifier: ski },
    });
    assert.equal(r.encryption?.cert, oldEncryption);
  });

  test('a preference for an expired certificate falls back to the newest valid one, and says so', () => {
    const r = chooseCertificates([expiredEncryption, oldEncryption], {
      time,
      preferredEncryption: { issuer: expiredEncryption.issuer, serialNumber: expiredEncryption.serialNumber },
    });
    assert.equal(r.encryption?.cert, oldEncryption);
    assert.match(r.encryption!.why, /names is not among the usable ones/);
    assert.match(r.rejected[0]!.why, /encryption key preference names it\) is not used: it expired/);
  });

  test('a certificate the validator refuses (revoked) is never chosen', () => {
    const r = chooseCertificates([oldSigning, newSigning], {
      time,
      isUsable: (c) => (c === newSigning ? { ok: false, reason: 'it was revoked on 2026-05-01' } : { ok: true }),
    });
    assert.equal(r.signing?.cert, oldSigning);
    assert.match(r.rejected[0]!.why, /not used: it was revoked on 2026-05-01\./);
  });

  test('one dual-use certificate serves both; duplicates count once; nothing usable chooses nothing', () => {
    const alice = user('alice');
    const r = chooseCertificates([alice, Certificate.from(pki.user('alice').cert)], { time });
    assert.equal(r.signing?.cert, alice);
    assert.equal(r.encryption?.cert, alice);
    assert.deepEqual(r.rejected, []);
    const none = chooseCertificates([user('expired'), user('server')], { time });
    assert.deepEqual([none.signing, none.encryption, none.rejected.length], [undefined, undefined, 2]);
  });

  test('a signing-only certificate is never chosen for encryption', () => {
    const r = chooseCertificates([user('signer')], { time });
    assert.equal(r.signing?.cert.fingerprintSha256, user('signer').fingerprintSha256);
    assert.equal(r.encryption, undefined);
  });
});
