import {
  type Certificate,
  type CertificateValidator,
  isSealpostError,
  isSignatureLayer,
  type MessageStatus,
  nameToString,
  pathValidator,
  type SignerReport,
  type SmimeCapability,
  type VerifyReport,
  verifyMessage,
} from '@sealpost/core';
import { serialKey } from '../ca/records.ts';
import { normalizeEmail } from '../identity/email.ts';

/**
 * Deciding whether a signed message may feed the certificate book, and what it brings: only a
 * message whose every signature verifies, whose every signer chains to a trust anchor, and whose
 * signer is the sender it claims (core's `verifyMessage` verdict "signed"). No database here: the
 * book stores what this returns.
 */

/** Why a message was not harvested: core's verdict, or `malformed` when it cannot be parsed. */
export type HarvestRefusal = Exclude<MessageStatus, 'signed'> | 'malformed';
export const HARVEST_REFUSALS = [
  'malformed',
  'not-signed',
  'partially-signed',
  'encrypted',
  'bad-signature',
  'untrusted',
  'sender-mismatch',
] as const satisfies readonly HarvestRefusal[];

/**
 * The certificate an SMIMEEncryptionKeyPreference names (RFC 8551 §2.5.3): issuer and serial number
 * (lower-case hex, no leading zero octets), or a subject key identifier (hex).
 */
export type KeyPreference =
  | { readonly issuer: string; readonly serial: string }
  | { readonly subjectKeyIdentifier: string };

export interface HarvestedSigner {
  /** The sender's mailboxes this signer's certificate names. */
  readonly addresses: string[];
  readonly certificate: Certificate;
  /** The chain that validated it, without the leaf. */
  readonly chain: Certificate[];
  /** The separate certificate the key preference names, when the message carried it and it chains to an anchor. */
  readonly encryption?: { readonly certificate: Certificate; readonly chain: Certificate[] };
  readonly capabilities?: SmimeCapability[];
  readonly preference?: KeyPreference;
  readonly signingTime?: Date;
}

export type HarvestVerdict =
  | { readonly ok: true; readonly addresses: string[]; readonly signers: HarvestedSigner[] }
  | { readonly ok: false; readonly reason: HarvestRefusal; readonly message: string };

export interface ExamineOptions {
  /** Validation time. */
  readonly time: Date;
  /** The anchors for mail from these (canonical) addresses. */
  anchorsFor(addresses: readonly string[]): Promise<Certificate[]>;
}

/**
 * Verifies a message for harvesting. It is verified twice: first without anchors, only to learn the
 * claimed sender (the anchors of a trust store may be scoped to the sender's domain), then with the
 * anchors for that sender.
 */
export async function examineSignedMessage(message: Uint8Array, options: ExamineOptions): Promise<HarvestVerdict> {
  const first = verify(message, { trustAnchors: [], time: options.time });
  if ('reason' in first) return first;
  const stop = refusal(first.report, ['untrusted', 'sender-mismatch']);
  if (stop !== undefined) return stop;
  const sender = first.report.sender;
  let addresses: string[];
  try {
    addresses = [...new Set((sender?.addresses ?? []).map(normalizeEmail))];
  } catch (e) {
    return { ok: false, reason: 'sender-mismatch', message: `the sender address is not a mailbox: ${messageOf(e)}` };
  }
  if (addresses.length === 0) {
    return { ok: false, reason: 'sender-mismatch', message: sender?.detail ?? 'the message names no sender' };
  }

  const anchors = await options.anchorsFor(addresses);
  // The validator sees every certificate of each SignerInfo's SignedData: the encryption certificate
  // a key preference names travels there without being on the signer's chain.
  const carried = new Map<string, Certificate[]>();
  const validator: CertificateValidator = {
    validate(input) {
      carried.set(input.leaf.fingerprintSha256, input.candidates);
      return pathValidator.validate(input);
    },
  };
  const second = verify(message, { trustAnchors: anchors, time: options.time, validator });
  if ('reason' in second) return second;
  const refused = refusal(second.report, []);
  if (refused !== undefined) return refused;

  const signers = second.report.layers
    .filter(isSignatureLayer)
    .flatMap((layer) => layer.signers)
    .map((s) => harvested(s, addresses, carried.get(s.certificates[0]!.fingerprintSha256) ?? [], anchors, options));
  return { ok: true, addresses, signers };
}

type Verified = { readonly report: VerifyReport } | Extract<HarvestVerdict, { ok: false }>;

function verify(message: Uint8Array, options: Parameters<typeof verifyMessage>[1]): Verified {
  try {
    return { report: verifyMessage(message, options) };
  } catch (e) {
    if (!isSealpostError(e)) throw e;
    return { ok: false, reason: 'malformed', message: `the message cannot be read: ${e.message}` };
  }
}

/** The refusal a report means, unless its status is "signed" or one of `tolerated`. */
function refusal(report: VerifyReport, tolerated: MessageStatus[]): Extract<HarvestVerdict, { ok: false }> | undefined {
  if (report.status === 'signed' || tolerated.includes(report.status)) return undefined;
  return { ok: false, reason: report.status, message: report.reason };
}

function harvested(
  signer: SignerReport,
  sender: readonly string[],
  carried: readonly Certificate[],
  anchors: Certificate[],
  options: ExamineOptions,
): HarvestedSigner {
  const [certificate, ...chain] = signer.certificates as [Certificate, ...Certificate[]];
  const addresses = mailboxesOf(certificate).filter((a) => sender.includes(a));
  const preference = keyPreference(signer.encryptionKeyPreference);
  const named = preference === undefined ? undefined : carried.find((c) => preferenceNames(preference, c));
  let encryption: HarvestedSigner['encryption'];
  if (named !== undefined && named.fingerprintSha256 !== certificate.fingerprintSha256) {
    const result = pathValidator.validate({
      leaf: named,
      candidates: [...carried],
      trustAnchors: anchors,
      time: options.time,
      purpose: 'any',
    });
    if (result.valid) encryption = { certificate: named, chain: result.chain.slice(1) };
  }
  return {
    addresses,
    certificate,
    chain,
    ...(encryption === undefined ? {} : { encryption }),
    ...(signer.capabilities === undefined ? {} : { capabilities: signer.capabilities }),
    ...(preference === undefined ? {} : { preference }),
    ...(signer.signingTime === undefined ? {} : { signingTime: new Date(signer.signingTime) }),
  };
}

function keyPreference(id: SignerReport['encryptionKeyPreference']): KeyPreference | undefined {
  if (id?.subjectKeyIdentifier !== undefined) {
    return { subjectKeyIdentifier: Buffer.from(id.subjectKeyIdentifier).toString('hex') };
  }
  if (id?.issuer !== undefined && id.serialNumber !== undefined) {
    return { issuer: nameToString(id.issuer), serial: serialKey(id.serialNumber) };
  }
  return undefined;
}

/** Whether `certificate` is the one a key preference names. */
export function preferenceNames(preference: KeyPreference, certificate: Certificate): boolean {
  if ('subjectKeyIdentifier' in preference) {
    try {
      const ski = certificate.subjectKeyIdentifier;
      return ski !== undefined && Buffer.from(ski).toString('hex') === preference.subjectKeyIdentifier;
    } catch {
      return false;
    }
  }
  return (
    serialKey(certificate.serialNumber) === preference.serial && nameToString(certificate.issuer) === preference.issuer
  );
}

/** The certificate's mailboxes in canonical form; ones that are no valid address are left out. */
export function mailboxesOf(certificate: Certificate): string[] {
  const out = new Set<string>();
  for (const mailbox of certificate.emailAddresses) {
    try {
      out.add(normalizeEmail(mailbox));
    } catch {
      // A mailbox no one can send to cannot be a recipient either.
    }
  }
  return [...out];
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
