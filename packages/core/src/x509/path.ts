/**
 * Certificate path building and basic validation for S/MIME (RFC 5280 §6 subset, RFC 8550 §4).
 * `basicValidator` checks signatures, validity at a given time, basicConstraints/pathLen, CA key usage,
 * unknown critical extensions, weak algorithms and the S/MIME leaf rules. It does not check revocation,
 * policies or name constraints (a critical nameConstraints extension is refused rather than ignored);
 * the full RFC 5280 validator replaces it behind `CertificateValidator`.
 */
import { OID } from '../asn1/oids.ts';
import { SealpostError } from '../errors.ts';
import type { Certificate } from './certificate.ts';
import { namesEqual, nameToString } from './name.ts';
import { resolveSignatureAlgorithm, verifyResolved } from './signature.ts';

export type CertificatePurpose = 'sign' | 'encrypt' | 'any';

export interface ValidationInput {
  leaf: Certificate;
  /** Message certificates and given intermediates. */
  candidates: Certificate[];
  trustAnchors: Certificate[];
  time: Date;
  purpose: CertificatePurpose;
  /** Accept SHA-1/MD5 certificate signatures (old mail). */
  allowLegacy?: boolean;
}

export interface ValidationProblem {
  code:
    | 'UNTRUSTED'
    | 'EXPIRED'
    | 'NOT_YET_VALID'
    | 'BAD_SIGNATURE'
    | 'NOT_CA'
    | 'PATH_LENGTH'
    | 'KEY_USAGE'
    | 'EXT_KEY_USAGE'
    | 'UNKNOWN_CRITICAL_EXTENSION'
    | 'WEAK_ALGORITHM'
    | 'MALFORMED';
  /** A sentence a person can act on. */
  message: string;
  subject?: string;
}

export interface ValidationResult {
  valid: boolean;
  /** Leaf first, the trust anchor last when one was reached. */
  chain: Certificate[];
  problems: ValidationProblem[];
}

export interface CertificateValidator {
  validate(input: ValidationInput): ValidationResult;
}

/** Certificates in one path, leaf and anchor included. */
const MAX_PATH_LENGTH = 8;
/** Issuer candidates tried in one validation, so crafted certificate sets cannot make it slow. */
const MAX_ATTEMPTS = 64;

/** Extensions this validator understands or may safely ignore when critical. */
const KNOWN_EXTENSIONS = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.issuerAltName,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.certificatePolicies,
  OID.crlDistributionPoints,
  OID.authorityInfoAccess,
]);

const subjectOf = (c: Certificate): string => nameToString(c.subject) || '(empty subject)';

/** Verified (child, issuer, allowLegacy) signature results; bounded, oldest evicted first. */
const signatureCache = new Map<string, ValidationProblem | null>();
const SIGNATURE_CACHE_SIZE = 1024;

function signatureProblem(child: Certificate, issuer: Certificate, allowLegacy: boolean): ValidationProblem | null {
  const key = `${child.fingerprintSha256}:${issuer.fingerprintSha256}:${allowLegacy ? 1 : 0}`;
  const hit = signatureCache.get(key);
  if (hit !== undefined) return hit;
  const subject = subjectOf(child);
  let problem: ValidationProblem | null = null;
  try {
    const alg = resolveSignatureAlgorithm(child.signatureAlgorithm);
    if (alg.legacy && !allowLegacy) {
      problem = {
        code: 'WEAK_ALGORITHM',
        message: `The certificate of "${subject}" is signed with ${alg.name}, which is no longer safe; it is accepted only when reading old mail.`,
        subject,
      };
    } else if (!verifyResolved(alg, issuer.publicKey, child.tbs, child.signature, allowLegacy)) {
      problem = {
        code: 'BAD_SIGNATURE',
        message: `The signature on the certificate of "${subject}" does not verify with the key of "${subjectOf(issuer)}": the certificate was altered or not issued by it.`,
        subject,
      };
    }
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
    problem = {
      code: 'BAD_SIGNATURE',
      message: `The signature on the certificate of "${subject}" cannot be checked: ${e.message}.`,
      subject,
    };
  }
  if (signatureCache.size >= SIGNATURE_CACHE_SIZE) signatureCache.delete(signatureCache.keys().next().value!);
  signatureCache.set(key, problem);
  return problem;
}

/**
 * The S/MIME rules for an end-entity certificate (RFC 8550 §4.4): extended key usage absent or
 * allowing emailProtection, and a key usage that allows the operation.
 */
export function leafPurposeProblems(cert: Certificate, purpose: CertificatePurpose): ValidationProblem[] {
  const subject = subjectOf(cert);
  const problems: ValidationProblem[] = [];
  try {
    const eku = cert.extKeyUsage;
    if (eku && !eku.includes(OID.emailProtection) && !eku.includes(OID.anyExtendedKeyUsage)) {
      problems.push({
        code: 'EXT_KEY_USAGE',
        message: `The certificate of "${subject}" is not issued for e-mail protection (its extended key usage excludes it); use an S/MIME certificate.`,
        subject,
      });
    }
    if (purpose === 'any') return problems;
    const kind = cert.publicKeyInfo.kind;
    const ku = cert.keyUsage;
    if (purpose === 'sign') {
      if (!['rsa', 'rsa-pss', 'ec', 'ed25519', 'ed448', 'dsa'].includes(kind)) {
        problems.push({
          code: 'KEY_USAGE',
          message: `The ${kind} key of "${subject}" cannot sign; use a signing certificate.`,
          subject,
        });
      } else if (ku && !ku.has('digitalSignature') && !ku.has('nonRepudiation')) {
        problems.push({
          code: 'KEY_USAGE',
          message: `The certificate of "${subject}" is not allowed to sign (its key usage lacks digitalSignature); use the sender's signing certificate.`,
          subject,
        });
      }
    } else {
      const need =
        kind === 'rsa' || kind === 'rsa-pss'
          ? 'keyEncipherment'
          : ['ec', 'x25519', 'x448'].includes(kind)
            ? 'keyAgreement'
            : undefined;
      if (need === undefined) {
        problems.push({
          code: 'KEY_USAGE',
          message: `The ${kind} key of "${subject}" cannot be encrypted to; ask the recipient for an encryption certificate.`,
          subject,
        });
      } else if (ku && !ku.has(need)) {
        problems.push({
          code: 'KEY_USAGE',
          message: `The certificate of "${subject}" is not allowed for encryption (its key usage lacks ${need}); ask the recipient for an encryption certificate.`,
          subject,
        });
      }
    }
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
    problems.push({
      code: 'MALFORMED',
      message: `The certificate of "${subject}" has a malformed extension: ${e.message}.`,
      subject,
    });
  }
  return problems;
}

/** Problems of one certificate on its own: validity at `time` and critical extensions. */
function certificateProblems(cert: Certificate, time: Date): ValidationProblem[] {
  const subject = subjectOf(cert);
  const problems: ValidationProblem[] = [];
  if (time.getTime() > cert.notAfter.getTime()) {
    problems.push({
      code: 'EXPIRED',
      message: `The certificate of "${subject}" expired on ${cert.notAfter.toISOString()}; a current certificate is needed.`,
      subject,
    });
  }
  if (time.getTime() < cert.notBefore.getTime()) {
    problems.push({
      code: 'NOT_YET_VALID',
      message: `The certificate of "${subject}" is valid only from ${cert.notBefore.toISOString()}; check the clock or wait.`,
      subject,
    });
  }
  try {
    void cert.subjectKeyIdentifier;
    void cert.authorityKeyIdentifier;
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
    problems.push({
      code: 'MALFORMED',
      message: `The certificate of "${subject}" has a malformed key identifier: ${e.message}.`,
      subject,
    });
  }
  for (const ext of cert.extensions.values()) {
    if (ext.critical && !KNOWN_EXTENSIONS.has(ext.oid)) {
      problems.push({
        code: 'UNKNOWN_CRITICAL_EXTENSION',
        message: `The certificate of "${subject}" has a critical extension ${ext.oid} that Sealpost cannot process, so it must be refused.`,
        subject,
      });
    }
  }
  return problems;
}

/** Problems of `issuer` acting as a CA for `below` non-self-issued intermediates. */
function issuerProblems(issuer: Certificate, below: number, anchor: boolean): ValidationProblem[] {
  const subject = subjectOf(issuer);
  const problems: ValidationProblem[] = [];
  try {
    const bc = issuer.basicConstraints;
    // A version 1 trust anchor has no extensions at all; trusting it is the user's decision.
    if (!(anchor && issuer.version === 1)) {
      if (!bc?.ca) {
        problems.push({
          code: 'NOT_CA',
          message: `The certificate of "${subject}" issued another certificate but is not a CA certificate (basicConstraints cA is not set).`,
          subject,
        });
      } else if (bc.pathLen !== undefined && below > bc.pathLen) {
        problems.push({
          code: 'PATH_LENGTH',
          message: `The CA "${subject}" allows ${bc.pathLen} intermediate CA(s) below it, but the path has ${below}.`,
          subject,
        });
      }
    }
    const ku = issuer.keyUsage;
    if (ku && !ku.has('keyCertSign')) {
      problems.push({
        code: 'KEY_USAGE',
        message: `The CA "${subject}" is not allowed to sign certificates (its key usage lacks keyCertSign).`,
        subject,
      });
    }
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
    problems.push({
      code: 'MALFORMED',
      message: `The certificate of "${subject}" has a malformed extension: ${e.message}.`,
      subject,
    });
  }
  return problems;
}

/** A key identifier, or undefined when absent or unreadable (certificateProblems reports the latter). */
function keyIdentifier(
  cert: Certificate,
  which: 'subjectKeyIdentifier' | 'authorityKeyIdentifier',
): Uint8Array | undefined {
  try {
    return cert[which];
  } catch (e) {
    if (e instanceof SealpostError) return undefined;
    throw e;
  }
}

function mayHaveIssued(issuer: Certificate, child: Certificate): boolean {
  if (!namesEqual(issuer.subject, child.issuer)) return false;
  const aki = keyIdentifier(child, 'authorityKeyIdentifier');
  const ski = keyIdentifier(issuer, 'subjectKeyIdentifier');
  return aki === undefined || ski === undefined || Buffer.compare(aki, ski) === 0;
}

/** All problems of a path that ends at a trust anchor (the last certificate). */
function anchoredPathProblems(path: Certificate[], input: ValidationInput): ValidationProblem[] {
  const allowLegacy = input.allowLegacy ?? false;
  const problems = [...leafPurposeProblems(path[0]!, input.purpose)];
  let intermediates = 0;
  for (let i = 0; i < path.length; i++) {
    const cert = path[i]!;
    problems.push(...certificateProblems(cert, input.time));
    const issuer = path[i + 1];
    if (issuer) {
      const p = signatureProblem(cert, issuer, allowLegacy);
      if (p) problems.push(p);
    }
    if (i > 0) {
      problems.push(...issuerProblems(cert, intermediates, i === path.length - 1));
      if (!cert.isSelfIssued) intermediates++;
    }
  }
  return problems;
}

interface Candidate {
  chain: Certificate[];
  problems: ValidationProblem[];
  anchored: boolean;
}

function better(a: Candidate, b: Candidate | undefined): boolean {
  if (!b) return true;
  if (a.anchored !== b.anchored) return a.anchored;
  if (a.problems.length !== b.problems.length) return a.problems.length < b.problems.length;
  return a.chain.length > b.chain.length && !a.anchored;
}

export const basicValidator: CertificateValidator = {
  validate(input: ValidationInput): ValidationResult {
    const anchors = new Map(input.trustAnchors.map((c) => [c.fingerprintSha256, c]));
    const pool = new Map<string, Certificate>();
    for (const c of input.candidates) if (!anchors.has(c.fingerprintSha256)) pool.set(c.fingerprintSha256, c);

    if (anchors.has(input.leaf.fingerprintSha256)) {
      // A directly trusted certificate: no path to build.
      const problems = [
        ...leafPurposeProblems(input.leaf, input.purpose),
        ...certificateProblems(input.leaf, input.time),
      ];
      return { valid: problems.length === 0, chain: [input.leaf], problems };
    }

    let best: Candidate | undefined;
    let attempts = 0;
    const path: Certificate[] = [input.leaf];
    const onPath = new Set<string>([input.leaf.fingerprintSha256]);

    // Depth-first over issuer candidates; anchors are tried before intermediates (shortest paths first).
    const search = (): boolean => {
      const current = path[path.length - 1]!;
      let extended = false;
      if (path.length < MAX_PATH_LENGTH) {
        for (const anchor of anchors.values()) {
          if (!mayHaveIssued(anchor, current) || attempts >= MAX_ATTEMPTS) continue;
          attempts++;
          extended = true;
          const chain = [...path, anchor];
          const c: Candidate = { chain, problems: anchoredPathProblems(chain, input), anchored: true };
          if (better(c, best)) best = c;
          if (c.problems.length === 0) return true;
        }
        if (!current.isSelfIssued || path.length === 1) {
          for (const issuer of pool.values()) {
            if (onPath.has(issuer.fingerprintSha256) || !mayHaveIssued(issuer, current) || attempts >= MAX_ATTEMPTS)
              continue;
            attempts++;
            extended = true;
            path.push(issuer);
            onPath.add(issuer.fingerprintSha256);
            const found = search();
            path.pop();
            onPath.delete(issuer.fingerprintSha256);
            if (found) return true;
          }
        }
      }
      if (!extended) {
        const subject = subjectOf(current);
        const reason =
          path.length >= MAX_PATH_LENGTH
            ? `the path is longer than ${MAX_PATH_LENGTH} certificates`
            : current.isSelfIssued && path.length > 1
              ? `"${subject}" is a root that is not among the trust anchors`
              : `no trust anchor or given intermediate issued the certificate of "${subject}" (issuer "${nameToString(current.issuer)}")`;
        const c: Candidate = {
          chain: [...path],
          problems: [
            {
              code: 'UNTRUSTED',
              message: `The certificate chain does not reach a trusted root: ${reason}. Add the issuing CA as a trust anchor if you trust it.`,
              subject,
            },
          ],
          anchored: false,
        };
        if (better(c, best)) best = c;
      }
      return false;
    };
    search();
    const result = best!;
    return { valid: result.anchored && result.problems.length === 0, chain: result.chain, problems: result.problems };
  },
};
