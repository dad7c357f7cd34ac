import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { implicitPrimitive, integer, oid, seq, utf8 } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { isSealpostError } from '../../src/errors.ts';
import {
  MAX_POLICY_NODES,
  PolicyTree,
  parseCertificatePolicies,
  parseInhibitAnyPolicy,
  parsePolicyConstraints,
  parsePolicyMappings,
} from '../../src/x509/policy.ts';

const malformed = (e: unknown) => isSealpostError(e, 'CERT_MALFORMED');
/** An id-qt-unotice qualifier with explicitText (RFC 5280 §4.2.1.4). */
const notice = seq(seq(oid('1.3.6.1.5.5.7.2.2'), seq(utf8('hello'))));

describe('policy extension parsers', () => {
  it('certificatePolicies: OIDs in order, qualifiers skipped, duplicates refused', () => {
    assert.deepEqual(parseCertificatePolicies(seq(seq(oid('1.2.3'), notice), seq(oid(OID.anyPolicy)))), [
      '1.2.3',
      OID.anyPolicy,
    ]);
    assert.throws(() => parseCertificatePolicies(seq(seq(oid('1.2.3')), seq(oid('1.2.3')))), malformed);
    assert.throws(() => parseCertificatePolicies(seq()), malformed);
    assert.throws(() => parseCertificatePolicies(seq(seq(oid('1.2.3'), seq()))), malformed);
  });

  it('policyMappings', () => {
    assert.deepEqual(parsePolicyMappings(seq(seq(oid('1.2.3'), oid('1.2.4')))), [
      { issuerDomainPolicy: '1.2.3', subjectDomainPolicy: '1.2.4' },
    ]);
    assert.throws(() => parsePolicyMappings(seq(seq(oid('1.2.3')))), malformed);
  });

  it('policyConstraints and inhibitAnyPolicy: skip counts, huge ones capped, negative ones refused', () => {
    assert.deepEqual(parsePolicyConstraints(seq(implicitPrimitive(0, Buffer.from([0])))), { requireExplicitPolicy: 0 });
    assert.deepEqual(
      parsePolicyConstraints(seq(implicitPrimitive(0, Buffer.from([2])), implicitPrimitive(1, Buffer.from([1])))),
      {
        requireExplicitPolicy: 2,
        inhibitPolicyMapping: 1,
      },
    );
    assert.deepEqual(parsePolicyConstraints(seq(implicitPrimitive(1, Buffer.from('7fffffffffffffff', 'hex')))), {
      inhibitPolicyMapping: 1024,
    });
    assert.throws(() => parsePolicyConstraints(seq(implicitPrimitive(0, Buffer.from([0xff])))), malformed);
    assert.throws(() => parsePolicyConstraints(seq(implicitPrimitive(0, Buffer.from([0, 1])))), malformed);
    assert.throws(() => parsePolicyConstraints(seq()), malformed);
    assert.equal(parseInhibitAnyPolicy(integer(3)), 3);
    assert.throws(() => parseInhibitAnyPolicy(integer(-1)), malformed);
    assert.throws(() => parseInhibitAnyPolicy(oid('1.2')), malformed);
  });
});

describe('PolicyTree (RFC 5280 §6.1.3 (d), §6.1.4 (b), §6.1.5 (g))', () => {
  it('anyPolicy lets a named policy in; the intersection keeps only acceptable policies', () => {
    const tree = new PolicyTree();
    tree.processCertificate(1, [OID.anyPolicy], true);
    tree.processCertificate(2, ['1.1', '1.2'], true);
    assert.deepEqual(tree.policiesAt(2), ['1.1', '1.2']);
    tree.intersect(2, new Set(['1.2', '1.3']));
    assert.deepEqual(tree.policiesAt(2), ['1.2']);
    assert.equal(tree.isNull, false);
  });

  it('an anyPolicy leaf is replaced by the acceptable policies', () => {
    const tree = new PolicyTree();
    tree.processCertificate(1, [OID.anyPolicy], true);
    tree.intersect(1, new Set(['1.5']));
    assert.deepEqual(tree.policiesAt(1), ['1.5']);
  });

  it('policies that do not follow from the issuers prune the tree to NULL', () => {
    const tree = new PolicyTree();
    tree.processCertificate(1, ['1.1'], true);
    tree.processCertificate(2, ['1.2'], true);
    assert.equal(tree.isNull, true);
  });

  it('inhibited mapping deletes the mapped policy', () => {
    const tree = new PolicyTree();
    tree.processCertificate(1, ['1.1'], true);
    tree.applyMappings(1, [{ issuerDomainPolicy: '1.1', subjectDomainPolicy: '1.9' }], false);
    assert.equal(tree.isNull, true);
  });

  it('stops growing past MAX_POLICY_NODES (mapping fan-out, CVE-2023-0464 style)', () => {
    const side = Math.ceil(Math.sqrt(MAX_POLICY_NODES)) + 1;
    const issuer = Array.from({ length: side }, (_, i) => `1.1.${i}`);
    const subject = Array.from({ length: side }, (_, i) => `1.2.${i}`);
    const tree = new PolicyTree();
    tree.processCertificate(1, issuer, true);
    tree.applyMappings(
      1,
      issuer.flatMap((i) => subject.map((s) => ({ issuerDomainPolicy: i, subjectDomainPolicy: s }))),
      true,
    );
    assert.equal(tree.tooLarge, false);
    tree.processCertificate(2, subject, true);
    assert.equal(tree.tooLarge, true);
  });
});
