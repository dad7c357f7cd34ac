/**
 * NIST PKITS against the RFC 5280 validator, with the CRL checker for revocation. Every case must give
 * PKITS's answer, except the known failures listed below with their reasons; those must keep failing,
 * so that a fix is noticed and the entry removed. docs/pkits.md summarizes the results.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OID } from '../../../src/asn1/oids.ts';
import { createRevocationChecker } from '../../../src/revocation/checker.ts';
import type { Certificate } from '../../../src/x509/certificate.ts';
import { pathValidator, type ValidationResult } from '../../../src/x509/path.ts';
import { CASES, DEPENDS_ON_REVOCATION, P1, P2, P3, type PkitsCase } from './cases.ts';
import { cert, certNames, crl, directory, SKIP, TIME } from './data.ts';

/** Cases where Sealpost's answer differs from PKITS's, with the reason; none today. */
const KNOWN_FAILURES: Record<string, string> = {};

/** PKITS corrupts these two signatures in the BIT STRING's unused-bits octet, which the DER parser refuses. */
const UNPARSABLE = ['BadSignedCACert', 'InvalidDSASignatureTest6EE'];

interface Outcome {
  valid: boolean;
  result?: ValidationResult;
}

function run(c: PkitsCase, options: { candidates?: Certificate[]; revocation: boolean }): Outcome {
  const leaf = cert(c.ee);
  // A certificate that cannot be parsed cannot be part of a valid path.
  if (!leaf) return { valid: false };
  const anchor = cert('TrustAnchorRootCertificate')!;
  const candidates = options.candidates ?? c.path.map(cert).filter((x): x is Certificate => x !== undefined);
  const crls = ['TrustAnchorRootCRL', ...c.crls].map(crl);
  const result = pathValidator.validate({
    leaf,
    candidates,
    trustAnchors: [anchor],
    time: TIME,
    purpose: 'any',
    ...(c.allowLegacy ? { allowLegacy: true } : {}),
    ...(c.initialPolicySet ? { initialPolicySet: c.initialPolicySet } : {}),
    ...(c.initialExplicitPolicy ? { initialExplicitPolicy: true } : {}),
    ...(c.initialPolicyMappingInhibit ? { initialPolicyMappingInhibit: true } : {}),
    ...(c.initialAnyPolicyInhibit ? { initialAnyPolicyInhibit: true } : {}),
    ...(options.revocation
      ? {
          revocation: {
            mode: 'hard-fail' as const,
            check: createRevocationChecker({
              crls,
              certificates: [anchor, ...directory()],
              ...(c.allowLegacy ? { allowLegacy: true } : {}),
            }),
          },
        }
      : {}),
  });
  return { valid: result.valid, result };
}

const explain = (o: Outcome): string =>
  o.result ? o.result.problems.map((p) => `${p.code}: ${p.message}`).join('\n') || '(no problems)' : 'unparsable';

const byId = (id: string): PkitsCase => CASES.find((c) => c.id === id)!;

describe('NIST PKITS', { skip: SKIP }, () => {
  it('the table covers sections 4.1 to 4.16 once per case, and every known failure is a case', () => {
    const sections = new Set(CASES.map((c) => c.id.split('.').slice(0, 2).join('.')));
    assert.deepEqual(
      [...sections],
      Array.from({ length: 16 }, (_, i) => `4.${i + 1}`),
    );
    assert.equal(new Set(CASES.map((c) => c.id)).size, CASES.length);
    for (const id of Object.keys(KNOWN_FAILURES))
      assert.ok(
        CASES.some((c) => c.id === id),
        id,
      );
  });

  it('only the two deliberately corrupted certificates fail to parse', () => {
    assert.deepEqual(
      certNames()
        .filter((n) => cert(n) === undefined)
        .sort(),
      UNPARSABLE,
    );
  });

  for (const section of new Set(CASES.map((c) => c.id.split('.').slice(0, 2).join('.')))) {
    describe(`section ${section}`, () => {
      for (const c of CASES.filter((x) => x.id.startsWith(`${section}.`))) {
        const known = KNOWN_FAILURES[c.id];
        it(`${c.id} ${c.ee}: ${c.valid ? 'valid' : 'invalid'}${known ? ' (known failure)' : ''}`, () => {
          const o = run(c, { revocation: true });
          if (known) {
            assert.notEqual(o.valid, c.valid, `${c.id} now passes: remove it from KNOWN_FAILURES (${known})`);
            return;
          }
          assert.equal(o.valid, c.valid, explain(o));
          if (c.valid) {
            // The path chosen is the one PKITS names, leaf first and the anchor last.
            const expected = [c.ee, ...c.path, 'TrustAnchorRootCertificate'].map((n) => cert(n)!.fingerprintSha256);
            assert.deepEqual(
              o.result!.chain.map((x) => x.fingerprintSha256),
              expected,
            );
          } else {
            assert.ok(o.result === undefined || o.result.problems.length > 0);
          }
        });
      }
    });
  }

  it('builds the same answers from the whole PKITS directory (revocation aside)', () => {
    const all = directory();
    const wrong = CASES.filter((c) => !DEPENDS_ON_REVOCATION.has(c.id))
      .map((c) => ({ c, o: run(c, { candidates: all, revocation: false }) }))
      .filter(({ c, o }) => o.valid !== c.valid)
      .map(({ c, o }) => `${c.id}: ${explain(o)}`);
    assert.deepEqual(wrong, []);
  });

  it('reports the user-constrained policy set (RFC 5280 §6.1.5 (g))', () => {
    const policies = (id: string) => [...(run(byId(id), { revocation: false }).result?.policies ?? [])].sort();
    assert.deepEqual(policies('4.8.6.1'), [P1]);
    assert.deepEqual(policies('4.8.10.1'), [P1, P2]);
    assert.deepEqual(policies('4.8.10.3'), [P2]);
    assert.deepEqual(policies('4.8.11.1'), [OID.anyPolicy]);
    assert.deepEqual(policies('4.8.11.2'), [P1]);
    assert.deepEqual(policies('4.8.13.3'), [P3]);
    assert.deepEqual(policies('4.8.2.1'), []);
    // Mapped policies are reported in the trust anchor's domain, like the initial policy set.
    assert.deepEqual(policies('4.10.1.1'), [P1]);
  });

  it('explains a policy failure, a name constraint and a revocation in words', () => {
    const msg = (id: string, code: string) =>
      run(byId(id), { revocation: true })
        .result!.problems.filter((p) => p.code === code)
        .map((p) => p.message)
        .join(' ');
    assert.match(msg('4.8.1.3', 'POLICY'), /your settings require an explicit policy/);
    assert.match(msg('4.13.2', 'NAME_CONSTRAINTS'), /outside the subtrees that .* permits/);
    assert.match(msg('4.13.38', 'NAME_CONSTRAINTS'), /dNSName "mytestcertificates\.gov"/);
    assert.match(msg('4.4.3', 'REVOKED'), /was revoked on 20\d\d-/);
  });
});
