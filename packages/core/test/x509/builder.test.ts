/**
 * The certificate builder as a CA: chains root → intermediate → leaf for every signature scheme,
 * checked by `openssl verify` and `openssl x509 -text`, and leaves that pass the strict S/MIME lint.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { decode, readInteger } from '../../src/asn1/der.ts';
import { OID } from '../../src/asn1/oids.ts';
import { isSealpostError } from '../../src/errors.ts';
import { buildCertificate, issueCertificate, keySigner, randomSerial } from '../../src/x509/builder.ts';
import { authorityInfoAccess, crlDistributionPoints } from '../../src/x509/distribution.ts';
import { lintCertificate } from '../../src/x509/lint.ts';
import { nameToString } from '../../src/x509/name.ts';
import { parseCertificatePolicies } from '../../src/x509/policy.ts';
import { resolveSignatureAlgorithm } from '../../src/x509/signature.ts';
import {
  ATTIME,
  type KeySpec,
  keyPair,
  makeIntermediate,
  makeLeaf,
  makeRoot,
  STRICT_MAILBOX,
  workdir,
} from './ca-support.ts';

const wd = workdir('builder');
after(() => wd.cleanup());

function verifyChain(
  name: string,
  root: Parameters<typeof wd.write>[1],
  inter: Parameters<typeof wd.write>[1],
  leaf: Parameters<typeof wd.write>[1],
) {
  const r = wd.write(`${name}-root.pem`, root);
  const i = wd.write(`${name}-inter.pem`, inter);
  const l = wd.write(`${name}-leaf.pem`, leaf);
  return wd.openssl(['verify', '-attime', ATTIME, '-purpose', 'smimesign', '-CAfile', r, '-untrusted', i, l]);
}

describe('chains built with issueCertificate', () => {
  const schemes: [KeySpec, string][] = [
    ['rsa', 'SHA-256 with RSA'],
    ['rsa-pss', 'RSASSA-PSS with SHA-256'],
    ['p384', 'ECDSA with SHA-384'],
    ['ed25519', 'Ed25519'],
  ];
  for (const [spec, label] of schemes) {
    test(`${label}: openssl verify accepts root → intermediate → leaf`, async () => {
      const root = await makeRoot(spec);
      const inter = await makeIntermediate(root, spec);
      const leaf = await makeLeaf(inter, `${spec}@example.org`, { key: spec });
      assert.equal(resolveSignatureAlgorithm(inter.certificate.signatureAlgorithm).name, label);
      assert.equal(resolveSignatureAlgorithm(leaf.certificate.signatureAlgorithm).name, label);
      const r = verifyChain(spec, root.certificate, inter.certificate, leaf.certificate);
      assert.equal(r.status, 0, r.out);
      assert.match(r.stdout, /: OK/);
    });
  }

  test('a leaf under the wrong root does not verify', async () => {
    const root = await makeRoot('p256');
    const other = await makeRoot('p256');
    const inter = await makeIntermediate(root);
    const leaf = await makeLeaf(inter, 'x@example.org');
    const r = verifyChain('wrong', other.certificate, inter.certificate, leaf.certificate);
    assert.notEqual(r.status, 0);
  });
});

describe('a strict mailbox-validated S/MIME leaf', async () => {
  const root = await makeRoot('rsa');
  const inter = await makeIntermediate(root, 'p256');

  for (const key of ['rsa', 'p256', 'p521', 'ed25519'] as const) {
    test(`${key}: the S/MIME BR lint finds nothing`, async () => {
      const { certificate } = await makeLeaf(inter, `lint-${key}@example.org`, { key });
      const findings = lintCertificate(certificate, { profile: 'strict', validation: 'mailbox' });
      assert.deepEqual(findings, []);
    });
  }

  test('carries every template field, as our parsers and openssl x509 -text read them', async () => {
    const serialNumber = randomSerial();
    const k = keyPair('p256');
    const cert = await issueCertificate(
      {
        serialNumber,
        subject: [
          { type: 'C', value: 'DE' },
          { type: 'O', value: 'Example GmbH' },
          { type: 'OU', value: 'Mail' },
          { type: 'CN', value: 'Ünïcode Person' },
          { type: 'emailAddress', value: 'person@example.org' },
        ],
        emails: ['person@example.org', 'alias@example.org'],
        publicKey: k.publicKey,
        notBefore: new Date('2026-01-01T00:00:00Z'),
        notAfter: new Date('2027-01-01T00:00:00Z'),
        keyUsage: ['digitalSignature', 'keyAgreement'],
        extKeyUsage: [OID.emailProtection],
        policies: [STRICT_MAILBOX, '1.3.6.1.4.1.99999.1'],
        crlUrls: ['http://crl.example.org/i.crl'],
        ocspUrls: ['http://ocsp.example.org/'],
        caIssuersUrls: ['http://ca.example.org/i.crt'],
      },
      inter,
    );
    assert.deepEqual(Buffer.from(cert.serialNumber), serialNumber);
    assert.equal(
      nameToString(cert.subject),
      'emailAddress=person@example.org, CN=Ünïcode Person, OU=Mail, O=Example GmbH, C=DE',
    );
    assert.deepEqual(cert.subjectAltNames.rfc822Names, ['person@example.org', 'alias@example.org']);
    assert.deepEqual([...cert.keyUsage!], ['digitalSignature', 'keyAgreement']);
    assert.equal(cert.extension(OID.keyUsage)?.critical, true);
    assert.equal(cert.extension(OID.basicConstraints)?.critical, true);
    assert.deepEqual(cert.basicConstraints, { ca: false });
    assert.deepEqual(cert.extKeyUsage, [OID.emailProtection]);
    assert.deepEqual(cert.authorityKeyIdentifier, inter.certificate.subjectKeyIdentifier);
    assert.deepEqual(parseCertificatePolicies(cert.extension(OID.certificatePolicies)!.value), [
      STRICT_MAILBOX,
      '1.3.6.1.4.1.99999.1',
    ]);
    assert.deepEqual(authorityInfoAccess(cert), {
      ocsp: ['http://ocsp.example.org/'],
      caIssuers: ['http://ca.example.org/i.crt'],
    });
    assert.equal(crlDistributionPoints(cert).length, 1);

    const text = wd.openssl([
      'x509',
      '-noout',
      '-text',
      '-nameopt',
      'RFC2253,-esc_msb',
      '-in',
      wd.write('full.pem', cert),
    ]);
    assert.equal(text.status, 0, text.out);
    const out = text.stdout;
    assert.match(out, /Subject: emailAddress=person@example.org,CN=Ünïcode Person,OU=Mail,O=Example GmbH,C=DE/);
    assert.match(out, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(out, /X509v3 Key Usage: critical\s+Digital Signature, Key Agreement/);
    assert.match(out, /X509v3 Extended Key Usage: \s+E-mail Protection/);
    assert.match(out, /X509v3 Subject Key Identifier/);
    assert.match(out, /X509v3 Authority Key Identifier/);
    assert.match(out, /X509v3 Subject Alternative Name: \s+email:person@example.org, email:alias@example.org/);
    assert.match(out, /Policy: 2\.23\.140\.1\.5\.1\.3\s+Policy: 1\.3\.6\.1\.4\.1\.99999\.1/);
    assert.match(out, /X509v3 CRL Distribution Points: \s+Full Name:\s+URI:http:\/\/crl\.example\.org\/i\.crl/);
    assert.match(out, /OCSP - URI:http:\/\/ocsp\.example\.org\//);
    assert.match(out, /CA Issuers - URI:http:\/\/ca\.example\.org\/i\.crt/);
    // openssl computes the same method-1 key identifiers.
    const ski = wd.openssl(['x509', '-noout', '-ext', 'subjectKeyIdentifier', '-in', wd.write('full.pem', cert)]);
    assert.match(
      ski.stdout,
      new RegExp(Buffer.from(cert.subjectKeyIdentifier!).toString('hex').toUpperCase().match(/../g)!.join(':')),
    );
  });

  test('a CSR-style SubjectPublicKeyInfo works as the subject key', async () => {
    const k = keyPair('ed25519');
    const spki = k.publicKey.export({ type: 'spki', format: 'der' });
    const { certificate } = await makeLeaf(inter, 'spki@example.org', { publicKey: spki, key: 'ed25519' });
    assert.deepEqual(Buffer.from(certificate.publicKeyInfo.spki), spki);
  });
});

describe('randomSerial', () => {
  test('16 octets, positive, not padded, different each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = randomSerial();
      assert.equal(s.length, 16);
      assert.equal(s[0]! & 0xc0, 0x40);
      seen.add(s.toString('hex'));
    }
    assert.equal(seen.size, 200);
  });

  test('encodes as a 16-octet positive INTEGER in the certificate', async () => {
    const root = await makeRoot('p256');
    const tbs = decode(root.certificate.tbs);
    const serial = tbs.child(1);
    assert.equal(serial.value.length, 16);
    assert.ok(readInteger(serial) > 0n);
  });
});

describe('issuing guards', async () => {
  const root = await makeRoot('p256');
  const k = keyPair('p256');
  const base = {
    commonName: 'x',
    publicKey: k.publicKey,
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2027-01-01T00:00:00Z'),
    keyUsage: ['digitalSignature' as const],
  };
  const rejects = (p: Promise<unknown>, code: string) =>
    assert.rejects(p, (e) => isSealpostError(e) && e.code === code);

  test('the signer must hold the issuer key', async () => {
    await rejects(
      issueCertificate(base, { certificate: root.certificate, signer: keySigner(k.privateKey) }),
      'KEY_MISMATCH',
    );
  });

  test('the issuer must be a CA', async () => {
    const leaf = await makeLeaf(await makeIntermediate(root), 'l@example.org');
    await rejects(
      issueCertificate(base, { certificate: leaf.certificate, signer: keySigner(leaf.privateKey!) }),
      'KEY_UNSUITABLE',
    );
  });

  test('bad template values are INVALID_ARGUMENT', async () => {
    const bad = [
      { ...base, notAfter: base.notBefore },
      { ...base, pathLen: 1 },
      { ...base, keyUsage: [] },
      { ...base, serialNumber: Buffer.alloc(3) },
      { ...base, serialNumber: Buffer.alloc(21, 1) },
      { ...base, subject: [{ type: 'C', value: 'Germany' }] },
      { ...base, subject: [{ type: 'CN', value: 'x'.repeat(65) }] },
      { ...base, subject: [{ type: 'bogus', value: 'x' }] },
      { ...base, emails: ['not a mailbox'] },
      { ...base, emails: ['ü@example.org'] },
      { ...base, crlUrls: ['no scheme'] },
      { ...base, policies: ['2.23.140.1.5.1.3', '2.23.140.1.5.1.3'] },
      { ...base, policies: ['1.02'] },
    ];
    for (const spec of bad) await rejects(issueCertificate(spec, root), 'INVALID_ARGUMENT');
  });

  test('an empty subject is allowed with a mailbox, and makes subjectAltName critical', async () => {
    const cert = await issueCertificate(
      { ...base, commonName: undefined, subject: [], emails: ['a@example.org'] },
      root,
    );
    assert.equal(cert.subject.rdns.length, 0);
    assert.equal(cert.extension(OID.subjectAltName)?.critical, true);
  });
});

describe('buildCertificate (synchronous, local key)', () => {
  test('keeps working for self-signed and issued certificates, with PSS on request', () => {
    const rk = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const root = buildCertificate(
      {
        commonName: 'Sync Root',
        publicKey: rk.publicKey,
        notBefore: new Date('2025-01-01'),
        notAfter: new Date('2030-01-01'),
        ca: true,
        keyUsage: ['keyCertSign', 'cRLSign'],
      },
      { privateKey: rk.privateKey, pss: true },
    );
    assert.equal(resolveSignatureAlgorithm(root.signatureAlgorithm).scheme, 'pss');
    assert.deepEqual(root.authorityKeyIdentifier, root.subjectKeyIdentifier);
    const leaf = buildCertificate(
      {
        commonName: 'Sync Leaf',
        emails: ['s@example.org'],
        publicKey: keyPair('p256').publicKey,
        notBefore: new Date('2026-01-01'),
        notAfter: new Date('2027-01-01'),
        keyUsage: ['digitalSignature'],
        extKeyUsage: [OID.emailProtection],
      },
      { certificate: root, privateKey: rk.privateKey },
    );
    const r = wd.openssl([
      'verify',
      '-attime',
      ATTIME,
      '-CAfile',
      wd.write('sync-root.pem', root),
      wd.write('sync-leaf.pem', leaf),
    ]);
    assert.equal(r.status, 0, r.out);
  });
});
