/**
 * Reading a message: unwrap every S/MIME layer (decrypting where keys are given), verify every
 * signature, validate every signer's chain, bind the sender, and decide how much of the message
 * the signatures cover. The verdict follows one explicit rule (see `decide`), never "one signer was fine".
 */

import type { SmimeCapability } from '../cms/capabilities.ts';
import { type DecryptionKey, decryptContent, describeEnvelope } from '../cms/enveloped-data.ts';
import {
  parseSignedData,
  type SignedDataInfo,
  type SignerCheck,
  type SignerIdentifier,
  verifySigners,
} from '../cms/signed-data.ts';
import { isSealpostError } from '../errors.ts';
import { toCrlf } from '../mime/canonical.ts';
import { entityBytes, type MimeEntity, type MimeLimits, parseEntity } from '../mime/entity.ts';
import type { Certificate } from '../x509/certificate.ts';
import { basicValidator, type CertificateValidator, type ValidationProblem } from '../x509/path.ts';
import { containsSignature, type LayerKind, layerKind, MAX_LAYERS, pkcs7Der, signedParts } from './layers.ts';
import { type CertificateSummary, summarizeCertificate } from './report.ts';
import { checkSender, type SenderCheck } from './sender.ts';

export interface VerifyOptions {
  /** Trust anchors; a chain must end at one of them. */
  trustAnchors: Certificate[];
  /** Extra intermediates to build chains with (the message's own certificates are always used). */
  intermediates?: Certificate[];
  /** Validation time: now, or a time the caller chooses — never the sender's signingTime. */
  time: Date;
  /** The address the signer must match, when the message has no usable From or the caller knows better. */
  sender?: string;
  /** Keys to open encrypted layers with (current and archived ones). */
  keys?: DecryptionKey[];
  validator?: CertificateValidator;
  /** Accept SHA-1/MD5/DSA signatures (old archived mail); they are still flagged. */
  allowLegacy?: boolean;
  limits?: MimeLimits;
}

export type SignerStatus = 'valid' | 'bad-signature' | 'untrusted';

export interface SignerReport {
  index: number;
  status: SignerStatus;
  certificate?: CertificateSummary;
  checks: SignerCheck[];
  chain: {
    valid: boolean;
    certificates: CertificateSummary[];
    problems: ValidationProblem[];
    /** Findings that do not fail the chain, e.g. revocation status unknown under soft-fail. */
    warnings: ValidationProblem[];
  };
  digestAlgorithm: string;
  signatureAlgorithm: string;
  signingTime?: string;
  legacyAlgorithm: boolean;
  /** Kept so the caller can encrypt to this signer later. */
  capabilities?: SmimeCapability[];
  encryptionKeyPreference?: SignerIdentifier;
  /** The signer's certificates (leaf first) for a certificate book. */
  certificates: Certificate[];
}

export type LayerReport =
  | { kind: 'clear-signed' | 'opaque-signed'; signers: SignerReport[]; problem?: string }
  | {
      kind: 'enveloped' | 'auth-enveloped';
      contentCipher: string;
      recipients: number;
      decrypted: boolean;
      problem?: string;
    };

export type SignatureLayerReport = Extract<LayerReport, { signers: SignerReport[] }>;

export function isSignatureLayer(layer: LayerReport): layer is SignatureLayerReport {
  return layer.kind === 'clear-signed' || layer.kind === 'opaque-signed';
}

export type MessageStatus =
  | 'signed'
  | 'bad-signature'
  | 'untrusted'
  | 'sender-mismatch'
  | 'partially-signed'
  | 'not-signed'
  | 'encrypted';

export interface VerifyReport {
  status: MessageStatus;
  /** One sentence that says why, for people. */
  reason: string;
  coverage: 'full' | 'partial' | 'none';
  layers: LayerReport[];
  sender?: SenderCheck;
  /** The innermost entity: exactly the bytes that were verified (or decrypted), CRLF line ends. */
  content: Uint8Array;
}

export function verifyMessage(message: Uint8Array, options: VerifyOptions): VerifyReport {
  const validator = options.validator ?? basicValidator;
  const top = parseEntity(message, options.limits);
  const layers: LayerReport[] = [];
  const validSigners: Certificate[] = [];
  let current: MimeEntity = top;
  let coverage: VerifyReport['coverage'] | undefined;
  let stuck: MessageStatus | undefined;

  for (let depth = 0; depth < MAX_LAYERS; depth++) {
    const kind = layerKind(current);
    if (kind === undefined) break;
    if (kind === 'enveloped' || kind === 'auth-enveloped') {
      const opened = openEnvelope(current, kind, options);
      layers.push(opened.layer);
      if (!opened.content) {
        stuck = 'encrypted';
        break;
      }
      current = parseEntity(opened.content, options.limits);
      continue;
    }
    // The first signature met before any unsigned wrapper covers everything below it.
    coverage ??= 'full';
    const { layer, content } = verifySignatureLayer(current, kind, options, validator);
    layers.push(layer);
    for (const s of layer.signers) if (s.status === 'valid') validSigners.push(s.certificates[0]!);
    if (content === undefined) break;
    current = parseEntity(content, options.limits);
  }
  if (coverage === undefined) coverage = containsSignature(current, options.limits) ? 'partial' : 'none';

  const signatureLayers = layers.filter(isSignatureLayer);
  const sender = signatureLayers.length > 0 ? checkSender(top.headers, validSigners, options.sender) : undefined;
  const { status, reason } = decide(layers, coverage, sender, stuck);
  return { status, reason, coverage, layers, ...(sender ? { sender } : {}), content: entityBytes(current) };
}

function openEnvelope(
  entity: MimeEntity,
  kind: 'enveloped' | 'auth-enveloped',
  options: VerifyOptions,
): { layer: LayerReport; content?: Uint8Array } {
  const der = pkcs7Der(entity);
  const info = describeEnvelope(der);
  const base = { kind, contentCipher: info.contentCipher, recipients: info.recipients.length };
  if (!options.keys || options.keys.length === 0) {
    return { layer: { ...base, decrypted: false, problem: 'encrypted; no key was given to open it' } };
  }
  try {
    const { content } = decryptContent(der, options.keys);
    return { layer: { ...base, decrypted: true }, content };
  } catch (e) {
    if (isSealpostError(e, 'NO_RECIPIENT') || isSealpostError(e, 'DECRYPTION_FAILED')) {
      return { layer: { ...base, decrypted: false, problem: e.message } };
    }
    throw e;
  }
}

function verifySignatureLayer(
  entity: MimeEntity,
  kind: Extract<LayerKind, 'clear-signed' | 'opaque-signed'>,
  options: VerifyOptions,
  validator: CertificateValidator,
): { layer: LayerReport & { signers: SignerReport[] }; content?: Uint8Array } {
  let signedBytes: Uint8Array;
  let der: Uint8Array;
  if (kind === 'clear-signed') {
    const parts = signedParts(entity);
    // Verify against the bytes received (canonical CRLF form), never a re-serialized copy.
    signedBytes = toCrlf(entityBytes(parts.content));
    der = pkcs7Der(parts.signature);
  } else {
    der = pkcs7Der(entity);
    signedBytes = new Uint8Array(0);
  }
  const info = parseSignedData(der);
  if (kind === 'clear-signed' && info.content !== undefined) {
    // eContent confusion (CVE-2018-18509): the signature must not carry content of its own.
    return {
      layer: { kind, signers: [], problem: 'the detached signature also encapsulates content; refusing it' },
    };
  }
  if (kind === 'opaque-signed') {
    if (info.content === undefined)
      return { layer: { kind, signers: [], problem: 'the signed-data carries no content' } };
    signedBytes = info.content;
  }
  const signers = signerReports(info, signedBytes, options, validator);
  const problem = signers.length === 0 ? 'the signature has no signers' : undefined;
  return { layer: { kind, signers, ...(problem ? { problem } : {}) }, content: signedBytes };
}

/** Per-signer reports: the signature checks of `verifySigners` plus chain validation for signing. */
export function signerReports(
  info: SignedDataInfo,
  content: Uint8Array | { digests: Map<string, Uint8Array> },
  options: VerifyOptions,
  validator: CertificateValidator,
): SignerReport[] {
  const extra = options.intermediates ?? [];
  const allowLegacy = options.allowLegacy ?? false;
  return verifySigners(info, content, { extraCertificates: extra, allowLegacy }).map((r): SignerReport => {
    const chainResult = r.certificate
      ? validator.validate({
          leaf: r.certificate,
          candidates: [...info.certificates, ...extra],
          trustAnchors: options.trustAnchors,
          time: options.time,
          purpose: 'sign',
          allowLegacy,
        })
      : undefined;
    const status: SignerStatus = r.status !== 'valid' ? 'bad-signature' : chainResult?.valid ? 'valid' : 'untrusted';
    return {
      index: r.index,
      status,
      ...(r.certificate ? { certificate: summarizeCertificate(r.certificate) } : {}),
      checks: r.checks,
      chain: {
        valid: chainResult?.valid ?? false,
        certificates: (chainResult?.chain ?? []).map(summarizeCertificate),
        problems: chainResult?.problems ?? [],
        warnings: chainResult?.warnings ?? [],
      },
      digestAlgorithm: r.digestAlgorithm,
      signatureAlgorithm: r.signatureAlgorithm,
      ...(r.signingTime ? { signingTime: r.signingTime.toISOString() } : {}),
      legacyAlgorithm: r.legacyAlgorithm,
      ...(r.capabilities ? { capabilities: r.capabilities } : {}),
      ...(r.encryptionKeyPreference ? { encryptionKeyPreference: r.encryptionKeyPreference } : {}),
      certificates: chainResult?.chain.length ? chainResult.chain : r.certificate ? [r.certificate] : [],
    };
  });
}

/**
 * The verdict. A message is "signed" only when: some signature layer covers the whole content,
 * every signer of every signature layer has a valid signature and a trusted chain, and the
 * claimed sender is a mailbox of one of those signers.
 */
export function decide(
  layers: LayerReport[],
  coverage: VerifyReport['coverage'],
  sender: SenderCheck | undefined,
  stuck: MessageStatus | undefined,
): { status: MessageStatus; reason: string } {
  const sig = layers.filter(isSignatureLayer);
  const signers = sig.flatMap((l) => l.signers);
  const broken = sig.find((l) => l.problem !== undefined);
  if (broken?.problem) return { status: 'bad-signature', reason: broken.problem };
  const bad = signers.find((s) => s.status === 'bad-signature');
  if (bad) {
    const failed = bad.checks.find((c) => !c.ok);
    return { status: 'bad-signature', reason: `signer ${bad.index + 1}: ${failed?.detail ?? 'invalid signature'}` };
  }
  const untrusted = signers.find((s) => s.status === 'untrusted');
  if (untrusted) {
    const p = untrusted.chain.problems[0];
    return {
      status: 'untrusted',
      reason: `signer ${untrusted.index + 1}: ${p?.message ?? 'the chain does not reach a trust anchor'}`,
    };
  }
  if (signers.length === 0) {
    if (stuck === 'encrypted')
      return { status: 'encrypted', reason: 'the message is encrypted; give a key to open it' };
    if (coverage === 'partial') {
      return { status: 'partially-signed', reason: 'only an attached or embedded part is signed, not the message' };
    }
    return { status: 'not-signed', reason: 'the message carries no S/MIME signature' };
  }
  if (coverage !== 'full') {
    return { status: 'partially-signed', reason: 'the signature covers only part of the message' };
  }
  if (sender && !sender.matched) return { status: 'sender-mismatch', reason: sender.detail };
  if (stuck === 'encrypted') {
    return { status: 'signed', reason: 'validly signed; an inner encrypted layer was not opened (no key given)' };
  }
  return { status: 'signed', reason: 'validly signed by a trusted signer whose certificate matches the sender' };
}
