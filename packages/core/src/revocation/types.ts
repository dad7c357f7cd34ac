/**
 * The contract between path validation and revocation checking. The validator stays synchronous and
 * pure: whatever revocation data exists (CRLs and OCSP responses from files, a cache or the network)
 * is gathered before validation and handed in as a checker; fetching lives outside core.
 */
import type { Certificate } from '../x509/certificate.ts';

/**
 * `hard-fail`: unknown status invalidates the path; `soft-fail` (default for reading mail): unknown
 * status is reported as a warning; `off`: not checked.
 */
export type RevocationMode = 'hard-fail' | 'soft-fail' | 'off';

export type RevocationReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'cACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'certificateHold'
  | 'removeFromCRL'
  | 'privilegeWithdrawn'
  | 'aACompromise';

export interface RevocationStatus {
  status: 'good' | 'revoked' | 'unknown';
  /** Where the answer came from. */
  source?: 'crl' | 'ocsp';
  revokedAt?: Date;
  reason?: RevocationReason;
  /** A sentence a person can act on, e.g. why the status is unknown. */
  detail: string;
}

/**
 * Answers for one certificate, given the issuer that the path builder chose and the validation time.
 * Must not throw for bad revocation data: a malformed or badly signed CRL yields `unknown`.
 */
export type RevocationChecker = (certificate: Certificate, issuer: Certificate, time: Date) => RevocationStatus;

export interface RevocationPolicy {
  mode: RevocationMode;
  check: RevocationChecker;
}
