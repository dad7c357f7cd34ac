/**
 * Certificate path building and validation: RFC 5280 §6.1 with the S/MIME rules of RFC 8550 §4.4 and
 * the mailbox rules of RFC 8398, and revocation through a caller-supplied checker.
 *
 * Building (RFC 4158 in spirit): depth-first from the leaf over the given certificates, issuers matched
 * by name and, when both sides carry one, by authority/subject key identifier; trust anchors are tried
 * first. Every complete path is validated in full and the first one without problems wins; otherwise the
 * path with the fewest problems is reported. Loops, over-long paths and the number of issuers tried are
 * bounded.
 *
 * Trust anchors are certificates. As RFC 5937 allows, an anchor's basicConstraints, keyUsage and
 * nameConstraints are enforced (a version 1 anchor is accepted as a CA), and its validity is checked
 * like any certificate's; its signature and policies are not.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { OID } from '../asn1/oids.ts';
import { SealpostError } from '../errors.ts';
import type { RevocationPolicy, RevocationStatus } from '../revocation/types.ts';
import type { Certificate } from './certificate.ts';
import { namesEqual, nameToString } from './name.ts';
import { NameConstraintsState, parseNameConstraints } from './name-constraints.ts';
import {
  PolicyTree,
  parseCertificatePolicies,
  parseInhibitAnyPolicy,
  parsePolicyConstraints,
  parsePolicyMappings,
} from './policy.ts';
import { resolveSignatureAlgorithm, verifyResolved } from './signature.ts';

export type CertificatePurpose = 'sign' | 'encrypt' | 'any';

export interface ValidationInput {
  leaf: Certificate;
  /** Message certificates and given intermediates (any order; unrelated ones are ignored). */
  candidates: Certificate[];
  trustAnchors: Certificate[];
  /** The validation time, chosen by the caller. */
  time: Date;
  purpose: CertificatePurpose;
  /** Accept SHA-1/MD5 certificate signatures (old mail). */
  allowLegacy?: boolean;
  /** The mailbox the leaf must be issued to (the From or Sender address, RFC 8550 §3). */
  email?: string;
  /** Accept anyExtendedKeyUsage in place of emailProtection on the leaf. */
  allowAnyExtendedKeyUsage?: boolean;
  /** RFC 5280 §6.1.1 (c) user-initial-policy-set; absent means any-policy. */
  initialPolicySet?: string[];
  /** RFC 5280 §6.1.1 (f) initial-explicit-policy: the path must be valid for a policy in the set. */
  initialExplicitPolicy?: boolean;
  /** RFC 5280 §6.1.1 (e) initial-policy-mapping-inhibit. */
  initialPolicyMappingInhibit?: boolean;
  /** RFC 5280 §6.1.1 (g) initial-any-policy-inhibit. */
  initialAnyPolicyInhibit?: boolean;
  /** Revocation checking for every certificate of the path but the anchor; not checked when absent. */
  revocation?: RevocationPolicy;
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
    | 'MALFORMED'
    | 'NAME_CONSTRAINTS'
    | 'POLICY'
    | 'EMAIL_MISMATCH'
    | 'REVOKED'
    | 'REVOCATION_UNKNOWN';
  /** A sentence a person can act on. */
  message: string;
  subject?: string;
}

export interface ValidationResult {
  valid: boolean;
  /** Leaf first, the trust anchor last when one was reached. */
  chain: Certificate[];
  problems: ValidationProblem[];
  /** Findings that do not invalidate the path (revocation status unknown under soft-fail). */
  warnings: ValidationProblem[];
  /**
   * The user-constrained policy set (RFC 5280 §6.1.5 (g)) of the reported path when it reached a trust
   * anchor through at least one issued certificate; it holds anyPolicy when every policy is acceptable.
   */
  policies?: string[];
}

export interface CertificateValidator {
  validate(input: ValidationInput): ValidationResult;
}

/** Certificates in one path, leaf and anchor included. */
const MAX_PATH_LENGTH = 8;
/** Issuer candidates tried in one validation, so crafted certificate sets cannot make it slow. */
const MAX_ATTEMPTS = 64;

/** Extensions this validator processes, or may safely ignore when critical. */
const KNOWN_EXTENSIONS = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.issuerAltName,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.certificatePolicies,
  OID.policyMappings,
  OID.policyConstraints,
  OID.inhibitAnyPolicy,
  OID.nameConstraints,
  OID.crlDistributionPoints,
  OID.authorityInfoAccess,
]);

const subjectOf = (c: Certificate): string => nameToString(c.subject) || '(empty subject)';

function problem(code: ValidationProblem['code'], cert: Certificate, message: string): ValidationProblem {
  return { code, message, subject: subjectOf(cert) };
}

/** Runs a parser of `cert`'s extensions; a malformed one becomes a MALFORMED problem in `out`. */
function parsed<T>(cert: Certificate, out: ValidationProblem[], what: string, read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
    out.push(
      problem('MALFORMED', cert, `The certificate of "${subjectOf(cert)}" has a malformed ${what}: ${e.message}.`),
    );
    return undefined;
  }
}

/** Verified (child, issuer key, allowLegacy) signature results; bounded, oldest evicted first. */
const signatureCache = new Map<string, ValidationProblem | null>();
const SIGNATURE_CACHE_SIZE = 1024;

interface IssuerKey {
  issuer: Certificate;
  /** DSA domain parameters inherited from further up the path (§6.1.4 (d)-(f)), when the key has none. */
  dsaParams?: Uint8Array;
}

function publicKeyOf({ issuer, dsaParams }: IssuerKey): KeyObject {
  return dsaParams === undefined ? issuer.publicKey : issuer.publicKeyWithDsaParameters(dsaParams);
}

function signatureProblem(child: Certificate, key: IssuerKey, allowLegacy: boolean): ValidationProblem | null {
  const inherited = key.dsaParams ? createHash('sha256').update(key.dsaParams).digest('hex').slice(0, 16) : '';
  const cacheKey = `${child.fingerprintSha256}:${key.issuer.fingerprintSha256}:${inherited}:${allowLegacy ? 1 : 0}`;
  const hit = signatureCache.get(cacheKey);
  if (hit !== undefined) return hit;
  const subject = subjectOf(child);
  let found: ValidationProblem | null = null;
  try {
    const alg = resolveSignatureAlgorithm(child.signatureAlgorithm);
    if (alg.legacy && !allowLegacy) {
      found = problem(
        'WEAK_ALGORITHM',
        child,
        `The certificate of "${subject}" is signed with ${alg.name}, which is no longer safe; it is accepted only when reading old mail.`,
      );
    } else if (!verifyResolved(alg, publicKeyOf(key), child.tbs, child.signature, allowLegacy)) {
      found = problem(
        'BAD_SIGNATURE',
        child,
        `The signature on the certificate of "${subject}" does not verify with the key of "${subjectOf(key.issuer)}": the certificate was altered or not issued by it.`,
      );
    }
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
    found = problem(
      'BAD_SIGNATURE',
      child,
      `The signature on the certificate of "${subject}" cannot be checked: ${e.message}.`,
    );
  }
  if (signatureCache.size >= SIGNATURE_CACHE_SIZE) signatureCache.delete(signatureCache.keys().next().value!);
  signatureCache.set(cacheKey, found);
  return found;
}

export interface LeafOptions {
  /** Accept anyExtendedKeyUsage in place of emailProtection. */
  allowAnyExtendedKeyUsage?: boolean;
}

/**
 * The S/MIME rules for an end-entity certificate (RFC 8550 §4.4): extended key usage absent or
 * allowing emailProtection, and a key usage that allows the operation.
 */
export function leafPurposeProblems(
  cert: Certificate,
  purpose: CertificatePurpose,
  options: LeafOptions = {},
): ValidationProblem[] {
  const subject = subjectOf(cert);
  const problems: ValidationProblem[] = [];
  try {
    const eku = cert.extKeyUsage;
    const anyAccepted = options.allowAnyExtendedKeyUsage === true && eku?.includes(OID.anyExtendedKeyUsage);
    if (eku && !eku.includes(OID.emailProtection) && !anyAccepted) {
      const hint = eku.includes(OID.anyExtendedKeyUsage)
        ? ' (it allows "any" usage, which Sealpost accepts only when told to)'
        : '';
      problems.push(
        problem(
          'EXT_KEY_USAGE',
          cert,
          `The certificate of "${subject}" is not issued for e-mail protection${hint}; use an S/MIME certificate.`,
        ),
      );
    }
    if (purpose === 'any') return problems;
    const kind = cert.publicKeyInfo.kind;
    const ku = cert.keyUsage;
    if (purpose === 'sign') {
      if (!['rsa', 'rsa-pss', 'ec', 'ed25519', 'ed448', 'dsa'].includes(kind)) {
        problems.push(
          problem('KEY_USAGE', cert, `The ${kind} key of "${subject}" cannot sign; use a signing certificate.`),
        );
      } else if (ku && !ku.has('digitalSignature') && !ku.has('nonRepudiation')) {
        problems.push(
          problem(
            'KEY_USAGE',
            cert,
            `The certificate of "${subject}" is not allowed to sign (its key usage lacks digitalSignature); use the sender's signing certificate.`,
          ),
        );
      }
    } else {
      const need =
        kind === 'rsa' || kind === 'rsa-pss'
          ? 'keyEncipherment'
          : ['ec', 'x25519', 'x448'].includes(kind)
            ? 'keyAgreement'
            : undefined;
      if (need === undefined) {
        problems.push(
          problem(
            'KEY_USAGE',
            cert,
            `The ${kind} key of "${subject}" cannot be encrypted to; ask the recipient for an encryption certificate.`,
          ),
        );
      } else if (ku && !ku.has(need)) {
        problems.push(
          problem(
            'KEY_USAGE',
            cert,
            `The certificate of "${subject}" is not allowed for encryption (its key usage lacks ${need}); ask the recipient for an encryption certificate.`,
          ),
        );
      }
    }
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
    problems.push(
      problem('MALFORMED', cert, `The certificate of "${subject}" has a malformed extension: ${e.message}.`),
    );
  }
  return problems;
}

/** A domain in lower-case A-label form, for comparing U-labels with A-labels (RFC 8398 §3). */
function domainKey(domain: string): string {
  const lower = domain.toLowerCase();
  return /^[\x21-\x7e]*$/.test(lower) ? lower : domainToASCII(lower) || lower;
}

/** Mailboxes match when local parts are equal exactly and domains case-insensitively, IDNA-aware. */
export function mailboxesMatch(a: string, b: string): boolean {
  const ia = a.lastIndexOf('@');
  const ib = b.lastIndexOf('@');
  if (ia <= 0 || ib <= 0) return false;
  return a.slice(0, ia) === b.slice(0, ib) && domainKey(a.slice(ia + 1)) === domainKey(b.slice(ib + 1));
}

/**
 * The mailbox check (RFC 8550 §3, RFC 8398 §3): `email` must be a subjectAltName rfc822Name, an
 * id-on-SmtpUTF8Mailbox otherName, or a legacy emailAddress attribute of the subject.
 */
function mailboxProblems(cert: Certificate, email: string): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  const san = parsed(cert, out, 'subjectAltName', () => cert.subjectAltNames);
  if (!san) return out;
  const subjectEmails = cert.subject.rdns
    .flat()
    .filter((a) => a.type === OID.emailAddress)
    .map((a) => a.value);
  const mailboxes = [...san.rfc822Names, ...san.smtpUtf8Mailboxes, ...subjectEmails];
  if (!mailboxes.some((m) => mailboxesMatch(m, email))) {
    const has =
      mailboxes.length > 0 ? `it is issued to ${mailboxes.map((m) => `"${m}"`).join(', ')}` : 'it names no mailbox';
    out.push(
      problem(
        'EMAIL_MISMATCH',
        cert,
        `The certificate of "${subjectOf(cert)}" is not issued to ${email}: ${has}. The sender's address must be in the certificate.`,
      ),
    );
  }
  return out;
}

function validityProblems(cert: Certificate, time: Date): ValidationProblem[] {
  const subject = subjectOf(cert);
  const out: ValidationProblem[] = [];
  if (time.getTime() > cert.notAfter.getTime()) {
    out.push(
      problem(
        'EXPIRED',
        cert,
        `The certificate of "${subject}" expired on ${cert.notAfter.toISOString()}; a current certificate is needed.`,
      ),
    );
  }
  if (time.getTime() < cert.notBefore.getTime()) {
    out.push(
      problem(
        'NOT_YET_VALID',
        cert,
        `The certificate of "${subject}" is valid only from ${cert.notBefore.toISOString()}; check the clock or wait.`,
      ),
    );
  }
  return out;
}

/** §6.1.3 (o) / §6.1.5 (f): critical extensions this validator does not process, and unreadable key identifiers. */
function extensionProblems(cert: Certificate): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  parsed(cert, out, 'key identifier', () => [cert.subjectKeyIdentifier, cert.authorityKeyIdentifier]);
  for (const ext of cert.extensions.values()) {
    if (ext.critical && !KNOWN_EXTENSIONS.has(ext.oid)) {
      out.push(
        problem(
          'UNKNOWN_CRITICAL_EXTENSION',
          cert,
          `The certificate of "${subjectOf(cert)}" has a critical extension ${ext.oid} that Sealpost cannot process, so it must be refused.`,
        ),
      );
    }
  }
  return out;
}

/** §6.1.4 (k), (n): a certificate that issues others must be a CA allowed to sign certificates. */
function caProblems(cert: Certificate, anchor: boolean): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  const subject = subjectOf(cert);
  const bc = parsed(cert, out, 'basicConstraints', () => cert.basicConstraints);
  if (!bc?.ca && !(anchor && cert.version === 1) && out.length === 0) {
    const why = cert.version < 3 ? `it is a version ${cert.version} certificate` : 'basicConstraints cA is not set';
    out.push(
      problem(
        'NOT_CA',
        cert,
        `The certificate of "${subject}" issued another certificate but is not a CA certificate (${why}).`,
      ),
    );
  }
  const ku = parsed(cert, out, 'keyUsage', () => cert.keyUsage);
  if (ku && !ku.has('keyCertSign')) {
    out.push(
      problem(
        'KEY_USAGE',
        cert,
        `The CA "${subject}" is not allowed to sign certificates (its key usage lacks keyCertSign).`,
      ),
    );
  }
  return out;
}

function revocationProblem(cert: Certificate, status: RevocationStatus): ValidationProblem {
  const subject = subjectOf(cert);
  const detail = /[.!?]$/.test(status.detail) ? status.detail : `${status.detail}.`;
  if (status.status === 'revoked') {
    const when = status.revokedAt ? ` on ${status.revokedAt.toISOString()}` : '';
    const why = status.reason ? ` (reason: ${status.reason})` : '';
    return problem(
      'REVOKED',
      cert,
      `The certificate of "${subject}" was revoked${when}${why}; do not trust it. ${detail}`,
    );
  }
  // Checkers usually name the certificate themselves; the subject is added only when they do not.
  const message = detail.includes(subject)
    ? detail
    : `The revocation status of the certificate of "${subject}" is unknown. ${detail}`;
  return problem('REVOCATION_UNKNOWN', cert, message);
}

interface PathOutcome {
  problems: ValidationProblem[];
  warnings: ValidationProblem[];
  policies: string[];
}

/** The user-initial-policy-set, or undefined for any-policy. */
function userPolicySet(input: ValidationInput): ReadonlySet<string> | undefined {
  const set = input.initialPolicySet;
  return set === undefined || set.includes(OID.anyPolicy) ? undefined : new Set(set);
}

/**
 * RFC 5280 §6.1.2–§6.1.5 over `path` (leaf first, trust anchor last, at least one issued certificate),
 * then the S/MIME leaf rules and revocation. Problems are listed leaf first.
 */
function validatePath(path: Certificate[], input: ValidationInput): PathOutcome {
  const allowLegacy = input.allowLegacy ?? false;
  const anchor = path[path.length - 1]!;
  const n = path.length - 1;
  /** Problems per position in `path`; certificate i of §6.1 is at position n - i. */
  const at: ValidationProblem[][] = path.map(() => []);
  const anchorOut = at[n]!;

  // §6.1.2 initialization; the anchor's own constraints narrow it (RFC 5937 §2).
  anchorOut.push(...validityProblems(anchor, input.time), ...caProblems(anchor, true));
  let maxPathLength = n;
  let pathLenSource: { cert: Certificate; limit: number } | undefined;
  let pathLenReported = false;
  const anchorBc =
    anchor.version === 3 ? parsed(anchor, anchorOut, 'basicConstraints', () => anchor.basicConstraints) : undefined;
  if (anchorBc?.pathLen !== undefined && anchorBc.pathLen < maxPathLength) {
    maxPathLength = anchorBc.pathLen;
    pathLenSource = { cert: anchor, limit: anchorBc.pathLen };
  }
  const nameConstraints = new NameConstraintsState();
  const anchorNc = anchor.extension(OID.nameConstraints);
  if (anchorNc) {
    const nc = parsed(anchor, anchorOut, 'nameConstraints', () => parseNameConstraints(anchorNc.value));
    if (nc) nameConstraints.add(nc, subjectOf(anchor));
  }
  let explicitPolicy = input.initialExplicitPolicy ? 0 : n + 1;
  let explicitWhy = input.initialExplicitPolicy ? 'your settings require an explicit policy' : '';
  let inhibitAnyPolicy = input.initialAnyPolicyInhibit ? 0 : n + 1;
  let policyMapping = input.initialPolicyMappingInhibit ? 0 : n + 1;
  let tree: PolicyTree | null = new PolicyTree();
  let treeGone = '';
  let policyReported = false;
  let issuerKey: IssuerKey = { issuer: anchor };
  let dsaParams = anchor.publicKeyInfo.kind === 'dsa' ? anchor.publicKeyInfo.algorithm.params?.raw : undefined;

  const policyCheck = (cert: Certificate, out: ValidationProblem[]) => {
    // §6.1.3 (f) and §6.1.5: explicit_policy > 0 or a non-NULL valid_policy_tree.
    if (policyReported || explicitPolicy > 0 || tree !== null) return;
    policyReported = true;
    out.push(
      problem(
        'POLICY',
        cert,
        `No certificate policy is valid for the path up to "${subjectOf(cert)}" (${treeGone}), but ${explicitWhy}.`,
      ),
    );
  };

  for (let i = 1; i <= n; i++) {
    const cert = path[n - i]!;
    const out = at[n - i]!;
    const subject = subjectOf(cert);
    const last = i === n;

    // §6.1.3 (a): signature with the working public key, validity at the given time.
    const sig = signatureProblem(cert, issuerKey, allowLegacy);
    if (sig) out.push(sig);
    out.push(...validityProblems(cert, input.time));

    // §6.1.3 (b)-(c): self-issued intermediates are exempt from name constraints.
    if (last || !cert.isSelfIssued) {
      const violations = parsed(cert, out, 'subjectAltName', () => nameConstraints.violations(cert)) ?? [];
      for (const v of violations) {
        out.push(problem('NAME_CONSTRAINTS', cert, `The certificate of "${subject}" breaks a name constraint: ${v}.`));
      }
    }

    // §6.1.3 (d)-(e): the valid_policy_tree.
    if (tree !== null) {
      const ext = cert.extension(OID.certificatePolicies);
      const policies = ext
        ? parsed(cert, out, 'certificatePolicies', () => parseCertificatePolicies(ext.value))
        : undefined;
      if (policies === undefined) {
        tree = null;
        treeGone = `"${subject}" has no usable certificatePolicies`;
      } else {
        tree.processCertificate(i, policies, inhibitAnyPolicy > 0 || (!last && cert.isSelfIssued));
        if (tree.tooLarge) {
          out.push(problem('POLICY', cert, `The certificate policies up to "${subject}" are too complex to evaluate.`));
          tree = null;
          treeGone = 'the policies are too complex';
          policyReported = true;
        } else if (tree.isNull) {
          tree = null;
          treeGone =
            policies.includes(OID.anyPolicy) && inhibitAnyPolicy <= 0
              ? `anyPolicy is inhibited at "${subject}" and none of its other policies is valid under its issuers' policies`
              : `none of the policies of "${subject}" (${policies.join(', ')}) is valid under its issuers' policies`;
        }
      }
    }
    policyCheck(cert, out);

    if (!last) {
      // §6.1.4 (a)-(b): policy mappings.
      const mapExt = cert.extension(OID.policyMappings);
      const mappings = mapExt
        ? parsed(cert, out, 'policyMappings', () => parsePolicyMappings(mapExt.value))
        : undefined;
      if (mappings?.some((m) => m.issuerDomainPolicy === OID.anyPolicy || m.subjectDomainPolicy === OID.anyPolicy)) {
        out.push(problem('POLICY', cert, `The CA "${subject}" maps anyPolicy, which RFC 5280 §4.2.1.5 forbids.`));
      } else if (mappings && tree !== null) {
        tree.applyMappings(i, mappings, policyMapping > 0);
        if (tree.tooLarge || tree.isNull) {
          tree = null;
          treeGone = `policy mapping is inhibited at "${subject}", and it left no policy`;
        }
      }

      // §6.1.4 (d)-(f): the working public key and its DSA parameters.
      const info = cert.publicKeyInfo;
      if (info.kind === 'dsa' && info.algorithm.params === undefined && dsaParams !== undefined) {
        issuerKey = { issuer: cert, dsaParams };
      } else {
        issuerKey = { issuer: cert };
        dsaParams = info.kind === 'dsa' ? info.algorithm.params?.raw : undefined;
      }

      // §6.1.4 (g): name constraints.
      const ncExt = cert.extension(OID.nameConstraints);
      if (ncExt) {
        const nc = parsed(cert, out, 'nameConstraints', () => parseNameConstraints(ncExt.value));
        if (nc) nameConstraints.add(nc, subject);
      }

      // §6.1.4 (h)-(j): policy counters.
      if (!cert.isSelfIssued) {
        if (explicitPolicy > 0) explicitPolicy--;
        if (policyMapping > 0) policyMapping--;
        if (inhibitAnyPolicy > 0) inhibitAnyPolicy--;
      }
      const pcExt = cert.extension(OID.policyConstraints);
      const pc = pcExt ? parsed(cert, out, 'policyConstraints', () => parsePolicyConstraints(pcExt.value)) : undefined;
      if (pc?.requireExplicitPolicy !== undefined && pc.requireExplicitPolicy < explicitPolicy) {
        explicitPolicy = pc.requireExplicitPolicy;
        explicitWhy = `the CA "${subject}" requires an explicit policy`;
      }
      if (pc?.inhibitPolicyMapping !== undefined && pc.inhibitPolicyMapping < policyMapping) {
        policyMapping = pc.inhibitPolicyMapping;
      }
      const iapExt = cert.extension(OID.inhibitAnyPolicy);
      const iap = iapExt ? parsed(cert, out, 'inhibitAnyPolicy', () => parseInhibitAnyPolicy(iapExt.value)) : undefined;
      if (iap !== undefined && iap < inhibitAnyPolicy) inhibitAnyPolicy = iap;

      // §6.1.4 (k)-(n): CA, path length, keyCertSign.
      out.push(...caProblems(cert, false));
      if (!cert.isSelfIssued) {
        if (maxPathLength <= 0 && !pathLenReported && pathLenSource) {
          pathLenReported = true;
          out.push({
            code: 'PATH_LENGTH',
            message: `The CA "${subjectOf(pathLenSource.cert)}" allows ${pathLenSource.limit} intermediate CA(s) below it, but "${subject}" is one more.`,
            subject: subjectOf(pathLenSource.cert),
          });
        }
        maxPathLength--;
      }
      // A malformed basicConstraints was reported by caProblems; it sets no limit here.
      const bc = quietly(() => cert.basicConstraints);
      if (bc?.pathLen !== undefined && bc.pathLen < maxPathLength) {
        maxPathLength = bc.pathLen;
        pathLenSource = { cert, limit: bc.pathLen };
      }
    }
    out.push(...extensionProblems(cert));
  }

  // §6.1.5 wrap-up.
  const leaf = path[0]!;
  const leafOut = at[0]!;
  if (explicitPolicy > 0) explicitPolicy--;
  const leafPcExt = leaf.extension(OID.policyConstraints);
  const leafPc = leafPcExt
    ? parsed(leaf, leafOut, 'policyConstraints', () => parsePolicyConstraints(leafPcExt.value))
    : undefined;
  if (leafPc?.requireExplicitPolicy === 0) {
    explicitPolicy = 0;
    explicitWhy = `"${subjectOf(leaf)}" requires an explicit policy`;
  }
  const userSet = userPolicySet(input);
  if (tree !== null && userSet !== undefined) {
    tree.intersect(n, userSet);
    if (tree.isNull) {
      tree = null;
      treeGone = `none of the path's policies is among the acceptable ones (${[...userSet].join(', ')})`;
    }
  }
  policyCheck(leaf, leafOut);
  const policies = tree === null ? [] : tree.policiesAt(n);

  leafOut.unshift(...leafPurposeProblems(leaf, input.purpose, input));
  if (input.email !== undefined) leafOut.push(...mailboxProblems(leaf, input.email));

  const warnings: ValidationProblem[] = [];
  const revocation = input.revocation;
  if (revocation && revocation.mode !== 'off') {
    for (let k = 0; k < n; k++) {
      const cert = path[k]!;
      let status: RevocationStatus;
      try {
        status = revocation.check(cert, path[k + 1]!, input.time);
      } catch (e) {
        if (!(e instanceof SealpostError)) throw e;
        status = { status: 'unknown', detail: e.message };
      }
      if (status.status === 'revoked') at[k]!.push(revocationProblem(cert, status));
      else if (status.status === 'unknown') {
        if (revocation.mode === 'hard-fail') at[k]!.push(revocationProblem(cert, status));
        else warnings.push(revocationProblem(cert, status));
      }
    }
  }
  return { problems: at.flat(), warnings, policies };
}

/** A parsed extension, or undefined when it is unreadable (the caller reports that elsewhere). */
function quietly<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (e instanceof SealpostError) return undefined;
    throw e;
  }
}

/** A key identifier, or undefined when absent or unreadable (extensionProblems reports the latter). */
function keyIdentifier(
  cert: Certificate,
  which: 'subjectKeyIdentifier' | 'authorityKeyIdentifier',
): Uint8Array | undefined {
  return quietly(() => cert[which]);
}

function mayHaveIssued(issuer: Certificate, child: Certificate): boolean {
  if (!namesEqual(issuer.subject, child.issuer)) return false;
  const aki = keyIdentifier(child, 'authorityKeyIdentifier');
  const ski = keyIdentifier(issuer, 'subjectKeyIdentifier');
  return aki === undefined || ski === undefined || Buffer.compare(aki, ski) === 0;
}

/**
 * Issuers to try first rank lower: a key identifier match, then a certificate that is not self-issued
 * (a self-signed copy of a cross-certified CA only makes the path longer; key rollover certificates
 * are still tried).
 */
function issuerRank(issuer: Certificate, child: Certificate): number {
  const aki = keyIdentifier(child, 'authorityKeyIdentifier');
  const ski = keyIdentifier(issuer, 'subjectKeyIdentifier');
  const keyMatch = aki !== undefined && ski !== undefined ? 0 : 1;
  return keyMatch + (issuer.isSelfIssued ? 2 : 0);
}

interface Candidate {
  chain: Certificate[];
  problems: ValidationProblem[];
  warnings: ValidationProblem[];
  policies?: string[];
  anchored: boolean;
}

function better(a: Candidate, b: Candidate | undefined): boolean {
  if (!b) return true;
  if (a.anchored !== b.anchored) return a.anchored;
  if (a.problems.length !== b.problems.length) return a.problems.length < b.problems.length;
  return a.chain.length > b.chain.length && !a.anchored;
}

function untrusted(path: Certificate[]): Candidate {
  const current = path[path.length - 1]!;
  const subject = subjectOf(current);
  const reason =
    path.length >= MAX_PATH_LENGTH
      ? `the path is longer than ${MAX_PATH_LENGTH} certificates`
      : current.isSelfIssued && path.length > 1
        ? `"${subject}" is a root that is not among the trust anchors`
        : `no trust anchor or given intermediate issued the certificate of "${subject}" (issuer "${nameToString(current.issuer)}")`;
  return {
    chain: [...path],
    problems: [
      problem(
        'UNTRUSTED',
        current,
        `The certificate chain does not reach a trusted root: ${reason}. Add the issuing CA as a trust anchor if you trust it.`,
      ),
    ],
    warnings: [],
    anchored: false,
  };
}

/** The RFC 5280 §6 validator with the S/MIME rules of RFC 8550. */
export const pathValidator: CertificateValidator = {
  validate(input: ValidationInput): ValidationResult {
    const anchors = new Map(input.trustAnchors.map((c) => [c.fingerprintSha256, c]));
    const pool = new Map<string, Certificate>();
    for (const c of input.candidates) if (!anchors.has(c.fingerprintSha256)) pool.set(c.fingerprintSha256, c);

    if (anchors.has(input.leaf.fingerprintSha256)) {
      // A directly trusted certificate: no path to build.
      const leaf = input.leaf;
      const problems = [
        ...leafPurposeProblems(leaf, input.purpose, input),
        ...validityProblems(leaf, input.time),
        ...extensionProblems(leaf),
        ...(input.email !== undefined ? mailboxProblems(leaf, input.email) : []),
      ];
      return { valid: problems.length === 0, chain: [leaf], problems, warnings: [] };
    }

    let best: Candidate | undefined;
    let attempts = 0;
    const path: Certificate[] = [input.leaf];
    const onPath = new Set<string>([input.leaf.fingerprintSha256]);

    // Depth-first over issuer candidates; anchors first (shortest paths), then issuers by issuerRank.
    const search = (): boolean => {
      const current = path[path.length - 1]!;
      let extended = false;
      if (path.length < MAX_PATH_LENGTH) {
        for (const anchor of anchors.values()) {
          if (!mayHaveIssued(anchor, current) || attempts >= MAX_ATTEMPTS) continue;
          attempts++;
          extended = true;
          const chain = [...path, anchor];
          const outcome = validatePath(chain, input);
          const c: Candidate = { chain, ...outcome, anchored: true };
          if (better(c, best)) best = c;
          if (c.problems.length === 0) return true;
        }
        const issuers = [...pool.values()]
          .filter((c) => !onPath.has(c.fingerprintSha256) && mayHaveIssued(c, current))
          .sort((a, b) => issuerRank(a, current) - issuerRank(b, current));
        for (const issuer of issuers) {
          if (attempts >= MAX_ATTEMPTS) break;
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
      if (!extended) {
        const c = untrusted(path);
        if (better(c, best)) best = c;
      }
      return false;
    };
    search();
    const r = best!;
    return {
      valid: r.anchored && r.problems.length === 0,
      chain: r.chain,
      problems: r.problems,
      warnings: r.warnings,
      ...(r.policies !== undefined ? { policies: r.policies } : {}),
    };
  },
};

/**
 * The name S/MIME verification has always used for the default validator; it is `pathValidator`.
 * @deprecated Use `pathValidator`.
 */
export const basicValidator: CertificateValidator = pathValidator;
