import { type Certificate, classifyCertificate, nameToString, OID, pathValidator } from '@sealpost/core';
import type { BookEntry, BookSource } from './book.ts';
import { SOURCE_RANK } from './book.ts';
import { type KeyPreference, preferenceNames } from './harvest.ts';

/**
 * Which of a correspondent's certificates to encrypt to. Never one that is rejected, outside its
 * validity period, revoked, not for encryption, whose chain reaches no trust anchor (unless someone
 * explicitly accepted or pinned it), or that is a key change waiting for review. Of the rest: the
 * most trusted source (`SOURCE_RANK`), then the one the correspondent's latest
 * SMIMEEncryptionKeyPreference names, then the newest (notBefore, then notAfter). When a certificate
 * is pinned for the viewer (their own pin, else one for everyone), only pinned ones are considered.
 */

/**
 * Why one certificate is not encrypted to, from farthest to closest to usable: when no certificate
 * is usable, the reason reported for the address is that of the closest one (a pending key change
 * is one decision away; a rejected certificate was refused on purpose).
 */
export const EXCLUSION_REASONS = [
  'rejected',
  'wrong-purpose',
  'signing-only',
  'expired',
  'not-yet-valid',
  'revoked',
  'untrusted',
  'pending-key-change',
] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

/** Why a correspondent cannot be encrypted to: the reason of the certificate that came closest, or none known. */
export const RECIPIENT_REASONS = [...EXCLUSION_REASONS, 'no-certificate'] as const;
export type RecipientReason = (typeof RECIPIENT_REASONS)[number];

/**
 * Revocation of a certificate not issued by Sealpost (whose own status is in the certificates
 * table), given the chain that validated it. `unknown` soft-fails: the certificate stays usable and
 * the answer says its status is unknown. A check that throws counts as unknown.
 */
export type RevocationCheck = (
  certificate: Certificate,
  chain: readonly Certificate[],
) => Promise<'good' | 'revoked' | 'unknown'>;

export interface Exclusion {
  readonly entry: BookEntry;
  readonly reason: ExclusionReason;
  readonly message: string;
}

export interface UsableCertificate {
  readonly entry: BookEntry;
  /** `not-checked` when no revocation check is configured. */
  readonly revocation: 'good' | 'unknown' | 'not-checked';
  /** Why it was chosen, for people. */
  readonly why: string;
}

export interface CertificateChoice {
  readonly chosen: UsableCertificate | undefined;
  readonly excluded: Exclusion[];
  /** When nothing was chosen. */
  readonly reason: RecipientReason | undefined;
  /** Why this one, or why none, for people. */
  readonly message: string;
}

export interface ChoiceContext {
  readonly time: Date;
  /** The anchors for the address's domain and Sealpost's CAs. */
  readonly anchors: Certificate[];
  readonly preference?: KeyPreference;
  readonly revocation?: RevocationCheck;
}

const SOURCE_WORDS: Record<BookSource, string> = {
  ca: "issued by Sealpost's CA",
  directory: 'published in an external directory',
  harvested: 'harvested from a validly signed message',
  manual: 'added by hand',
};

export async function chooseCertificate(
  address: string,
  entries: readonly BookEntry[],
  context: ChoiceContext,
): Promise<CertificateChoice> {
  const own = entries.filter((e) => e.myDecision === 'pin');
  const everyone = entries.filter((e) => e.decision === 'pin' && e.myDecision !== 'reject');
  const pinned = own.length > 0 ? own : everyone;
  const considered = pinned.length > 0 ? pinned : entries;
  const usable: Omit<UsableCertificate, 'why'>[] = [];
  const excluded: Exclusion[] = [];
  for (const entry of considered) {
    const outcome = await evaluate(entry, context);
    if ('reason' in outcome) excluded.push(outcome);
    else usable.push(outcome);
  }
  const preferred = (e: BookEntry) => (context.preference ? preferenceNames(context.preference, e.certificate) : false);
  usable.sort(
    (a, b) =>
      SOURCE_RANK[b.entry.source] - SOURCE_RANK[a.entry.source] ||
      Number(preferred(b.entry)) - Number(preferred(a.entry)) ||
      b.entry.certificate.notBefore.getTime() - a.entry.certificate.notBefore.getTime() ||
      b.entry.certificate.notAfter.getTime() - a.entry.certificate.notAfter.getTime(),
  );
  const best = usable[0];
  if (best !== undefined) {
    const which =
      pinned.length > 0
        ? 'the pinned one'
        : preferred(best.entry)
          ? 'the one the latest SMIMEEncryptionKeyPreference names'
          : 'the newest usable one';
    const why = `${label(best.entry.certificate)}, ${SOURCE_WORDS[best.entry.source]}: ${which}${usable.length > 1 ? ` of ${usable.length}` : ''}.`;
    return { chosen: { ...best, why }, excluded, reason: undefined, message: why };
  }
  const closest = excluded.reduce<Exclusion | undefined>(
    (acc, e) =>
      acc === undefined || EXCLUSION_REASONS.indexOf(e.reason) > EXCLUSION_REASONS.indexOf(acc.reason) ? e : acc,
    undefined,
  );
  if (closest === undefined) {
    return {
      chosen: undefined,
      excluded,
      reason: 'no-certificate',
      message: `No certificate is known for ${address}: Sealpost issued none, the book holds none, and no directory publishes one.`,
    };
  }
  const pinNote = pinned.length > 0 ? ' (it is pinned, so no other certificate is used)' : '';
  return { chosen: undefined, excluded, reason: closest.reason, message: `${closest.message}${pinNote}` };
}

async function evaluate(entry: BookEntry, context: ChoiceContext): Promise<Exclusion | Omit<UsableCertificate, 'why'>> {
  const cert = entry.certificate;
  const who = label(cert);
  const exclude = (reason: ExclusionReason, message: string): Exclusion => ({ entry, reason, message });
  const decision = entry.myDecision ?? entry.decision;
  if (decision === 'reject') {
    return exclude('rejected', `${who} was rejected ${entry.myDecision === 'reject' ? 'by you' : 'for everyone'}.`);
  }
  if (context.time.getTime() > cert.notAfter.getTime()) {
    return exclude('expired', `${who} expired on ${cert.notAfter.toISOString()}.`);
  }
  if (context.time.getTime() < cert.notBefore.getTime()) {
    return exclude('not-yet-valid', `${who} is not valid before ${cert.notBefore.toISOString()}.`);
  }
  if (entry.revokedAt !== null) return exclude('revoked', `${who} was revoked by Sealpost's CA on ${entry.revokedAt}.`);
  const purpose = purposeProblem(cert);
  if (purpose !== undefined) return exclude(purpose.reason, `${who} ${purpose.message}`);
  const explicit = decision === 'accept' || decision === 'pin';
  let chain: readonly Certificate[] = [cert, ...entry.chain];
  if (entry.source !== 'ca') {
    const result = pathValidator.validate({
      leaf: cert,
      candidates: [...entry.chain],
      trustAnchors: context.anchors,
      time: context.time,
      purpose: 'any',
      email: entry.address,
    });
    if (!result.valid && !explicit) {
      const why = result.problems[0]?.message ?? 'its chain does not reach a trust anchor';
      return exclude('untrusted', `${who} is not trusted: ${why} Or accept the certificate itself.`);
    }
    chain = result.chain;
  }
  let revocation: UsableCertificate['revocation'] = entry.source === 'ca' ? 'good' : 'not-checked';
  if (entry.source !== 'ca' && context.revocation !== undefined) {
    const status = await context.revocation(cert, chain).catch(() => 'unknown' as const);
    if (status === 'revoked') return exclude('revoked', `${who} is revoked by its issuer.`);
    revocation = status;
  }
  if (entry.pending && !explicit) {
    return exclude(
      'pending-key-change',
      `${who} is a key change waiting for review: accept or pin it (book entry ${entry.id}) to encrypt to it.`,
    );
  }
  return { entry, revocation };
}

/**
 * Whether the certificate may be encrypted to (RFC 8550 §4.4): extended key usage absent or with
 * emailProtection, not a CA, and a key usage (or key type) that allows key transport or agreement.
 */
function purposeProblem(cert: Certificate): { reason: ExclusionReason; message: string } | undefined {
  try {
    const eku = cert.extKeyUsage;
    if (eku !== undefined && !eku.includes(OID.emailProtection)) {
      return { reason: 'wrong-purpose', message: 'is not issued for e-mail protection (extended key usage).' };
    }
    const use = classifyCertificate(cert);
    if (!use.smime) return { reason: 'wrong-purpose', message: `is not an S/MIME certificate: ${use.reasons[0]}` };
    if (use.purpose === 'signing') {
      return { reason: 'signing-only', message: 'may only sign: its key usage does not allow encryption.' };
    }
    if (use.purpose === 'none') return { reason: 'wrong-purpose', message: 'allows neither signing nor encryption.' };
    return undefined;
  } catch (e) {
    return { reason: 'wrong-purpose', message: `has a malformed extension: ${(e as Error).message}` };
  }
}

/** "subject" (serial …): a certificate as a person finds it again. */
function label(cert: Certificate): string {
  return `The certificate "${nameToString(cert.subject) || '(empty subject)'}" (serial ${cert.serialHex})`;
}
