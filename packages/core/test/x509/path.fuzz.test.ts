/**
 * Certificates with damaged extension contents (name constraints, policies, mappings, subject
 * alternative names) never make the validator throw: they become MALFORMED or other problems.
 * Seeds are PKITS certificates rich in such extensions (skipped where PKITS is not installed).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Certificate } from '../../src/x509/certificate.ts';
import { pathValidator } from '../../src/x509/path.ts';
import { cert as pkitsCert, SKIP } from '../conformance/pkits/data.ts';

/** [end entity, its CA] pairs; the CA's or the end entity's extension values are damaged. */
const PAIRS = [
  ['ValidDNandRFC822nameConstraintsTest27EE', 'nameConstraintsDN1subCA3Cert'],
  ['ValidURInameConstraintsTest34EE', 'nameConstraintsURI1CACert'],
  ['ValidDNSnameConstraintsTest30EE', 'nameConstraintsDNS1CACert'],
  ['ValidPolicyMappingTest1EE', 'Mapping1to2CACert'],
  ['ValidinhibitAnyPolicyTest2EE', 'inhibitAnyPolicy1CACert'],
  ['ValidrequireExplicitPolicyTest1EE', 'requireExplicitPolicy10CACert'],
] as const;

/** Flips bits inside one extension's value: the certificate still parses, the extension may not. */
function damage(cert: Certificate, which: number, flips: [number, number][]): Certificate {
  const exts = [...cert.extensions.values()];
  const ext = exts[which % exts.length]!;
  const start = ext.value.byteOffset - cert.der.byteOffset;
  const out = Buffer.from(cert.der);
  for (const [at, mask] of flips) out[start + (at % ext.value.length)]! ^= mask;
  return Certificate.fromDer(out);
}

test('damaged extension values yield problems, never exceptions', { skip: SKIP }, () => {
  const load = (n: string) => pkitsCert(n)!;
  const anchor = load('TrustAnchorRootCertificate');
  const seeds = PAIRS.map(([ee, ca]) => [load(ee), load(ca)] as const);
  fc.assert(
    fc.property(
      fc.nat({ max: seeds.length - 1 }),
      fc.boolean(),
      fc.nat(),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
      (pair, damageLeaf, which, flips) => {
        const [ee, ca] = seeds[pair]!;
        const leaf = damageLeaf ? damage(ee, which, flips) : ee;
        const issuer = damageLeaf ? ca : damage(ca, which, flips);
        const r = pathValidator.validate({
          leaf,
          candidates: [issuer],
          trustAnchors: [anchor],
          time: new Date('2011-04-15T00:00:00Z'),
          purpose: 'any',
          initialExplicitPolicy: true,
          email: 'someone@testcertificates.gov',
        });
        for (const p of r.problems) assert.ok(p.message.length > 0);
      },
    ),
    { numRuns: 300 },
  );
});
