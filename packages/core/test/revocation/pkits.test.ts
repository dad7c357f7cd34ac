/**
 * NIST PKITS (2011) sections 4.4 (basic CRL), 4.14 (distribution points) and 4.15 (delta CRLs)
 * through the checker, with every PKITS CRL and certificate handed in at once, so selecting the
 * right CRLs among many is part of what is tested. Paths are built by name and signature; a test
 * is Valid when every certificate below the trust anchor is `good`.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRevocationChecker } from '../../src/revocation/checker.ts';
import type { RevocationStatus } from '../../src/revocation/types.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { namesEqual } from '../../src/x509/name.ts';
import { verifySignature } from '../../src/x509/signature.ts';

const DIR = '/usr/lib/python3/dist-packages/cryptography_vectors/x509/PKITS_data';
const TIME = new Date('2025-01-01T00:00:00Z');

const SECTIONS =
  /^(Valid|Invalid)(MissingCRL|RevokedCA|RevokedEE|BadCRL\w+|WrongCRL|TwoCRLs|UnknownCRL\w*|\w*nextUpdate|NegativeSerialNumber|LongSerialNumber|SeparateCertificateandCRLKeys|distributionPoint|NoissuingDistributionPoint|onlyContains\w+|onlySomeReasons|IDPwithindirectCRL|cRLIssuer|deltaCRL\w*)Test(\d+)EE\.crt$/;

/** Where the reason for invalidity is known, the leaf's exact status. */
const LEAF_STATUS: Record<string, RevocationStatus['status']> = {
  'InvalidMissingCRLTest1EE.crt': 'unknown',
  'InvalidRevokedEETest3EE.crt': 'revoked',
  'InvalidBadCRLSignatureTest4EE.crt': 'unknown',
  'InvalidUnknownCRLEntryExtensionTest8EE.crt': 'unknown',
  'InvalidOldCRLnextUpdateTest11EE.crt': 'unknown',
  'InvalidNegativeSerialNumberTest15EE.crt': 'revoked',
  'InvalidLongSerialNumberTest18EE.crt': 'revoked',
  'InvalidSeparateCertificateandCRLKeysTest21EE.crt': 'unknown',
  'InvaliddistributionPointTest9EE.crt': 'unknown',
  'InvalidonlyContainsUserCertsTest11EE.crt': 'unknown',
  'InvalidonlySomeReasonsTest16EE.crt': 'revoked',
  'InvalidonlySomeReasonsTest17EE.crt': 'unknown',
  'InvalidcRLIssuerTest31EE.crt': 'revoked',
  'InvaliddeltaCRLIndicatorNoBaseTest1EE.crt': 'unknown',
  'InvaliddeltaCRLTest4EE.crt': 'revoked',
  'ValiddeltaCRLTest5EE.crt': 'good',
};

test('PKITS 4.4, 4.14 and 4.15 through the revocation checker', { skip: !existsSync(DIR) }, () => {
  // A few PKITS certificates are malformed on purpose (other sections); they cannot be in these paths.
  const certs = readdirSync(join(DIR, 'certs')).flatMap((f) => {
    try {
      return [{ file: f, cert: Certificate.fromDer(readFileSync(join(DIR, 'certs', f))) }];
    } catch {
      return [];
    }
  });
  const crls = readdirSync(join(DIR, 'crls')).map((f) => readFileSync(join(DIR, 'crls', f)));
  const anchor = certs.find((c) => c.file === 'TrustAnchorRootCertificate.crt')!.cert;
  const cas = certs.filter((c) => c.cert.basicConstraints?.ca).map((c) => c.cert);
  const check = createRevocationChecker({ crls, certificates: certs.map((c) => c.cert) });

  const issuerOf = (c: Certificate): Certificate | undefined =>
    cas.find(
      (ca) =>
        namesEqual(ca.subject, c.issuer) &&
        verifySignature(c.signatureAlgorithm, ca.publicKey, c.tbs, c.signature) &&
        ca !== c,
    );

  const cases = certs.filter((c) => SECTIONS.test(c.file));
  assert.ok(cases.length >= 60, `found ${cases.length} PKITS cases`);
  const failures: string[] = [];
  for (const { file, cert } of cases) {
    const statuses: { subject: Certificate; status: RevocationStatus }[] = [];
    let c = cert;
    for (let depth = 0; depth < 6 && c.fingerprintSha256 !== anchor.fingerprintSha256; depth++) {
      const issuer = issuerOf(c);
      assert.ok(issuer, `${file}: no issuer for a path certificate`);
      statuses.push({ subject: c, status: check(c, issuer, TIME) });
      c = issuer;
    }
    const leaf = statuses[0]!.status.status;
    const want = LEAF_STATUS[file];
    if (want !== undefined && leaf !== want) failures.push(`${file}: the leaf is ${leaf}, expected ${want}`);
    const valid = statuses.every((s) => s.status.status === 'good');
    const expected = file.startsWith('Valid');
    if (valid !== expected) {
      failures.push(`${file}: ${statuses.map((s) => `${s.status.status}: ${s.status.detail}`).join(' | ')}`);
    }
  }
  assert.deepEqual(failures, []);
});
