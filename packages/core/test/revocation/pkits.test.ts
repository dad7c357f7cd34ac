/**
 * NIST PKITS sections 4.4 (basic CRL), 4.14 (distribution points) and 4.15 (delta CRLs) through the
 * checker alone, on the paths of the conformance table but with every PKITS CRL and CA certificate
 * handed in at once, so that choosing the right CRLs among many is part of what is tested (the
 * conformance run gives each case only its own CRLs). Where the reason for invalidity is known, the
 * leaf's exact status is checked too: the conformance run does not tell "revoked" from "unknown".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRevocationChecker } from '../../src/revocation/checker.ts';
import type { RevocationStatus } from '../../src/revocation/types.ts';
import { CASES } from '../conformance/pkits/cases.ts';
import { cert, crl, crlNames, directory, SKIP, TIME } from '../conformance/pkits/data.ts';

/** The leaf's status in the invalid cases whose reason is known, by end entity. */
const LEAF_STATUS: Record<string, RevocationStatus['status']> = {
  InvalidMissingCRLTest1EE: 'unknown',
  InvalidRevokedEETest3EE: 'revoked',
  InvalidBadCRLSignatureTest4EE: 'unknown',
  InvalidUnknownCRLEntryExtensionTest8EE: 'unknown',
  InvalidOldCRLnextUpdateTest11EE: 'unknown',
  InvalidNegativeSerialNumberTest15EE: 'revoked',
  InvalidLongSerialNumberTest18EE: 'revoked',
  InvalidSeparateCertificateandCRLKeysTest21EE: 'unknown',
  InvaliddistributionPointTest9EE: 'unknown',
  InvalidonlyContainsUserCertsTest11EE: 'unknown',
  InvalidonlySomeReasonsTest16EE: 'revoked',
  InvalidonlySomeReasonsTest17EE: 'unknown',
  InvalidcRLIssuerTest31EE: 'revoked',
  InvaliddeltaCRLIndicatorNoBaseTest1EE: 'unknown',
  InvaliddeltaCRLTest4EE: 'revoked',
  ValiddeltaCRLTest5EE: 'good',
};

test('PKITS 4.4, 4.14 and 4.15 through the revocation checker, with all CRLs at once', { skip: SKIP }, () => {
  const anchor = cert('TrustAnchorRootCertificate')!;
  const check = createRevocationChecker({ crls: crlNames().map(crl), certificates: [anchor, ...directory()] });
  const cases = CASES.filter((c) => /^4\.(4|14|15)\./.test(c.id));
  for (const ee of Object.keys(LEAF_STATUS))
    assert.ok(
      cases.some((c) => c.ee === ee),
      ee,
    );
  const failures: string[] = [];
  for (const c of cases) {
    const path = [...[c.ee, ...c.path].map((n) => cert(n)!), anchor];
    const statuses = path.slice(0, -1).map((x, k) => check(x, path[k + 1]!, TIME));
    const leaf = statuses[0]!.status;
    const want = LEAF_STATUS[c.ee];
    if (want !== undefined && leaf !== want) failures.push(`${c.id} ${c.ee}: the leaf is ${leaf}, expected ${want}`);
    if (statuses.every((s) => s.status === 'good') !== c.valid) {
      failures.push(`${c.id} ${c.ee}: ${statuses.map((s) => `${s.status}: ${s.detail}`).join(' | ')}`);
    }
  }
  assert.deepEqual(failures, []);
});
