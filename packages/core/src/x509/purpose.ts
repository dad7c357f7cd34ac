/**
 * What an S/MIME certificate is for, and which of a person's certificates to use.
 *
 * Key usage decides signing and encryption (RFC 8550 §4.4.2): digitalSignature or nonRepudiation
 * sign; keyEncipherment encrypts to an RSA key, keyAgreement to an EC, X25519 or X448 key. Without
 * a keyUsage extension the key type decides. Extended key usage decides whether it is an S/MIME
 * certificate at all (RFC 8550 §4.4.4): absent, emailProtection or anyExtendedKeyUsage.
 */
import { OID, oidName } from '../asn1/oids.ts';
import type { SignerIdentifier } from '../cms/attributes.ts';
import { SealpostError } from '../errors.ts';
import { type Certificate, KEY_LABELS, type KeyUsageName, type PublicKeyKind } from './certificate.ts';
import { namesEqual, nameToString } from './name.ts';

export type CertificateUse = 'signing' | 'encryption' | 'dual-use' | 'none';

export interface CertificateClassification {
  /** An end-entity certificate whose extended key usage allows e-mail protection. */
  smime: boolean;
  purpose: CertificateUse;
  /** The mailboxes it is issued to (subjectAltName, else the subject's emailAddress). */
  mailboxes: string[];
  /** Why, in sentences. */
  reasons: string[];
}

/** Key types that can sign. */
const SIGNING_KEYS = new Set<PublicKeyKind>(['rsa', 'rsa-pss', 'ec', 'ed25519', 'ed448', 'dsa']);

/** The key usage bit that allows encrypting to a key of this type, if any can. */
function encryptionBit(kind: PublicKeyKind): KeyUsageName | undefined {
  // id-RSASSA-PSS keys are for signatures only (RFC 4055 §1.2).
  if (kind === 'rsa') return 'keyEncipherment';
  if (kind === 'ec' || kind === 'x25519' || kind === 'x448' || kind === 'dh') return 'keyAgreement';
  return undefined;
}

function useOf(signing: boolean, encryption: boolean): CertificateUse {
  return signing && encryption ? 'dual-use' : signing ? 'signing' : encryption ? 'encryption' : 'none';
}

const USE_WORDS: Record<CertificateUse, string> = {
  signing: 'signing only',
  encryption: 'encryption only',
  'dual-use': 'both signing and encryption',
  none: 'neither signing nor encryption',
};

/** Reads the extensions classification needs; a malformed one makes the certificate malformed. */
function readExtensions(cert: Certificate) {
  try {
    return {
      keyUsage: cert.keyUsage,
      extKeyUsage: cert.extKeyUsage,
      ca: cert.basicConstraints?.ca === true,
      mailboxes: cert.emailAddresses,
    };
  } catch (e) {
    if (!(e instanceof SealpostError) || e.code === 'CERT_MALFORMED') throw e;
    throw new SealpostError('CERT_MALFORMED', `malformed certificate extension: ${e.message}`, { cause: e });
  }
}

/** Classifies one certificate: S/MIME or not, signing, encryption or both, and for which mailboxes. */
export function classifyCertificate(cert: Certificate): CertificateClassification {
  const { keyUsage, extKeyUsage, ca, mailboxes } = readExtensions(cert);
  const reasons: string[] = [];
  let smime = true;
  if (ca) {
    smime = false;
    reasons.push('It is a CA certificate (basicConstraints cA is set), not one issued to a person.');
  }
  if (extKeyUsage === undefined) {
    reasons.push('It has no extended key usage, so e-mail protection is not excluded.');
  } else if (extKeyUsage.includes(OID.emailProtection)) {
    reasons.push('Its extended key usage includes emailProtection.');
  } else if (extKeyUsage.includes(OID.anyExtendedKeyUsage)) {
    reasons.push('Its extended key usage is anyExtendedKeyUsage, which includes e-mail protection.');
  } else {
    smime = false;
    reasons.push(`Its extended key usage (${extKeyUsage.map(oidName).join(', ')}) excludes e-mail protection.`);
  }

  const kind = cert.publicKeyInfo.kind;
  const encBit = encryptionBit(kind);
  let signing: boolean;
  let encryption: boolean;
  if (keyUsage === undefined) {
    signing = SIGNING_KEYS.has(kind);
    encryption = encBit !== undefined;
    reasons.push(
      `It has no key usage extension, so its ${KEY_LABELS[kind]} key serves ${USE_WORDS[useOf(signing, encryption)]}.`,
    );
  } else {
    signing = SIGNING_KEYS.has(kind) && (keyUsage.has('digitalSignature') || keyUsage.has('nonRepudiation'));
    encryption = encBit !== undefined && keyUsage.has(encBit);
    const bits = keyUsage.size > 0 ? [...keyUsage].join(', ') : 'no bits';
    reasons.push(
      `Its key usage (${bits}) on ${kind === 'dsa' || kind === 'dh' ? 'a' : 'an'} ${KEY_LABELS[kind]} key allows ${USE_WORDS[useOf(signing, encryption)]}.`,
    );
  }
  if (mailboxes.length === 0) reasons.push('It names no mailbox, so no sender or recipient can match it.');
  return { smime, purpose: useOf(signing, encryption), mailboxes, reasons };
}

export type EnabledPurpose = 'signing' | 'encryption';

export interface ImportChoice {
  certificate: Certificate;
  classification: CertificateClassification;
  /** `import` without asking, `ask` the user which purposes to enable, or `skip` (not usable for mail). */
  action: 'import' | 'ask' | 'skip';
  /** The purposes enabled on import; for `ask`, the ones offered. */
  enable: EnabledPurpose[];
  why: string;
}

export interface ImportDecision {
  /** True when at least one identity needs the user's answer before import. */
  ask: boolean;
  identities: ImportChoice[];
}

/**
 * The import rule mobile mail clients follow for a set of identities (the certificates of a
 * PKCS#12 file): a single-purpose identity is imported for its purpose without a question; for a
 * dual-use one the user chooses which purposes to enable; one that is no S/MIME certificate, or
 * can neither sign nor encrypt, is skipped.
 */
export function importDecision(certificates: readonly Certificate[]): ImportDecision {
  const identities = certificates.map((certificate): ImportChoice => {
    const classification = classifyCertificate(certificate);
    const who = describeCertificate(certificate);
    if (!classification.smime || classification.purpose === 'none') {
      const why = classification.smime ? 'it can neither sign nor encrypt' : 'it is not an S/MIME certificate';
      return { certificate, classification, action: 'skip', enable: [], why: `${who} is skipped: ${why}.` };
    }
    if (classification.purpose === 'dual-use') {
      return {
        certificate,
        classification,
        action: 'ask',
        enable: ['signing', 'encryption'],
        why: `${who} can both sign and encrypt: ask which of the two to enable.`,
      };
    }
    return {
      certificate,
      classification,
      action: 'import',
      enable: [classification.purpose],
      why: `${who} serves ${classification.purpose} only: imported for it without asking.`,
    };
  });
  return { ask: identities.some((i) => i.action === 'ask'), identities };
}

export interface Usability {
  ok: boolean;
  reason?: string;
}

export interface ChooseOptions {
  /** The time at which the certificates must be valid. */
  time: Date;
  /** Path validation and revocation, as the caller has them; a certificate it refuses is never chosen. */
  isUsable?: (cert: Certificate) => Usability;
  /** From the sender's latest SMIMEEncryptionKeyPreference (RFC 8551 §2.5.3). */
  preferredEncryption?: SignerIdentifier;
}

export interface ChosenCertificate {
  cert: Certificate;
  why: string;
}

export interface CertificateChoice {
  signing?: ChosenCertificate;
  encryption?: ChosenCertificate;
  /** Every other certificate, with the reason it was not chosen. */
  rejected: ChosenCertificate[];
}

/** "CN=…" (serial …, valid … to …): a certificate as a person can find it again. */
function describeCertificate(cert: Certificate): string {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const subject = nameToString(cert.subject) || '(empty subject)';
  return `"${subject}" (serial ${cert.serialHex}, valid ${day(cert.notBefore)} to ${day(cert.notAfter)})`;
}

function matchesIdentifier(cert: Certificate, id: SignerIdentifier): boolean {
  if (id.subjectKeyIdentifier) {
    const ski = cert.subjectKeyIdentifier;
    return ski !== undefined && Buffer.compare(ski, id.subjectKeyIdentifier) === 0;
  }
  if (id.issuer && id.serialNumber) {
    return namesEqual(cert.issuer, id.issuer) && Buffer.compare(cert.serialNumber, id.serialNumber) === 0;
  }
  return false;
}

/** Newest first: the later notBefore, then the later notAfter; a single-purpose certificate wins a tie. */
function newestFirst(a: Candidate, b: Candidate): number {
  return (
    b.cert.notBefore.getTime() - a.cert.notBefore.getTime() ||
    b.cert.notAfter.getTime() - a.cert.notAfter.getTime() ||
    Number(a.purpose === 'dual-use') - Number(b.purpose === 'dual-use')
  );
}

interface Candidate {
  cert: Certificate;
  purpose: CertificateUse;
}

/** Why a certificate cannot be used at all at `time`, or undefined when it can. */
function unusableReason(cert: Certificate, c: CertificateClassification, options: ChooseOptions): string | undefined {
  if (!c.smime) return `it is not an S/MIME certificate: ${c.reasons[0]}`;
  if (options.time.getTime() > cert.notAfter.getTime()) return `it expired on ${cert.notAfter.toISOString()}`;
  if (options.time.getTime() < cert.notBefore.getTime()) {
    return `it is not valid before ${cert.notBefore.toISOString()}`;
  }
  if (c.purpose === 'none') return 'its key usage allows neither signing nor encryption';
  const usable = options.isUsable?.(cert);
  if (usable && !usable.ok) return usable.reason ?? 'the validator refused it';
  return undefined;
}

/**
 * Chooses a person's signing and encryption certificates from the ones known for them: the newest
 * valid signing certificate; the encryption certificate the latest SMIMEEncryptionKeyPreference
 * names when it is usable, else the newest valid one. Expired, not yet valid, refused (revoked,
 * untrusted: `isUsable`) and wrong-purpose certificates are never chosen. Every decision is explained.
 */
export function chooseCertificates(certs: readonly Certificate[], options: ChooseOptions): CertificateChoice {
  const unique = new Map<string, Certificate>();
  for (const c of certs) if (!unique.has(c.fingerprintSha256)) unique.set(c.fingerprintSha256, c);
  const rejected: ChosenCertificate[] = [];
  const candidates: Candidate[] = [];
  const preferred = options.preferredEncryption;
  for (const cert of unique.values()) {
    const classification = classifyCertificate(cert);
    const reason = unusableReason(cert, classification, options);
    if (reason === undefined) {
      candidates.push({ cert, purpose: classification.purpose });
      continue;
    }
    const named = preferred && matchesIdentifier(cert, preferred) ? ' (the encryption key preference names it)' : '';
    rejected.push({ cert, why: `${describeCertificate(cert)}${named} is not used: ${reason}.` });
  }
  candidates.sort(newestFirst);
  const signers = candidates.filter((c) => c.purpose === 'signing' || c.purpose === 'dual-use');
  const encrypters = candidates.filter((c) => c.purpose === 'encryption' || c.purpose === 'dual-use');

  const out: CertificateChoice = { rejected };
  const signer = signers[0];
  if (signer) {
    const others = signers.length > 1 ? `; ${signers.length - 1} older one(s) passed over` : '';
    out.signing = {
      cert: signer.cert,
      why: `${describeCertificate(signer.cert)} is the newest valid certificate that can sign${others}.`,
    };
  }
  const named = preferred ? encrypters.find((c) => matchesIdentifier(c.cert, preferred)) : undefined;
  const encrypter = named ?? encrypters[0];
  if (encrypter) {
    let why: string;
    if (named) {
      why = `${describeCertificate(named.cert)} is the certificate the sender's latest SMIMEEncryptionKeyPreference names.`;
    } else {
      const note = preferred
        ? ' (the certificate the encryption key preference names is not among the usable ones)'
        : '';
      why = `${describeCertificate(encrypter.cert)} is the newest valid certificate that can be encrypted to${note}.`;
    }
    out.encryption = { cert: encrypter.cert, why };
  }

  for (const c of candidates) {
    if (c.cert === out.signing?.cert || c.cert === out.encryption?.cert) continue;
    const role =
      c.purpose === 'signing'
        ? 'signing'
        : c.purpose === 'encryption'
          ? named
            ? 'encryption (the encryption key preference names another)'
            : 'encryption'
          : 'signing and encryption';
    rejected.push({
      cert: c.cert,
      why: `${describeCertificate(c.cert)} is valid but not used: a newer or preferred certificate was chosen for ${role}.`,
    });
  }
  return out;
}
