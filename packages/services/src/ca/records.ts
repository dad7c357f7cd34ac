import { Certificate, type KeyUsageName, pemEncode, type RevocationReason } from '@sealpost/core';
import { ServiceError } from '../errors.ts';
import type { Row } from '../ports/database.ts';
import type { KeyShape } from './keys.ts';
import type { TemplatePurpose } from './templates.ts';

/** A stored certificate, as the CA service hands it out. */
export interface IssuedCertificate {
  readonly id: string;
  /** Lower-case hex of the serial number's unsigned bytes (the certificates.serial column). */
  readonly serial: string;
  readonly caId: string;
  readonly userId: string | null;
  readonly template: string;
  readonly certificate: Certificate;
  readonly pem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly status: 'valid' | 'revoked';
  readonly revokedAt: Date | null;
  readonly revocationReason: RevocationReason | null;
}

export interface CertificateRow extends Row {
  id: string;
  serial: string;
  ca_id: string;
  user_id: string | null;
  template: string;
  der: Uint8Array;
  not_before: string;
  not_after: string;
  status: string;
  revoked_at: string | null;
  revocation_reason: number | bigint | string | null;
}

export const CERTIFICATE_COLUMNS =
  'id, serial, ca_id, user_id, template, der, not_before, not_after, status, revoked_at, revocation_reason';

/**
 * The CRLReason codes (RFC 5280 §5.3.1) a subscriber certificate may be revoked with. Left out:
 * cACompromise and aACompromise (about CAs), removeFromCRL (delta CRLs only) and certificateHold
 * (the S/MIME BR §4.9.13 forbid suspension).
 */
export const REVOCATION_REASONS: ReadonlyMap<RevocationReason, number> = new Map<RevocationReason, number>([
  ['unspecified', 0],
  ['keyCompromise', 1],
  ['affiliationChanged', 3],
  ['superseded', 4],
  ['cessationOfOperation', 5],
  ['privilegeWithdrawn', 9],
]);

const REASON_BY_CODE = new Map([...REVOCATION_REASONS].map(([reason, code]) => [code, reason]));

export function reasonOfCode(code: number | bigint | string | null): RevocationReason | null {
  if (code === null) return null;
  return REASON_BY_CODE.get(Number(code)) ?? 'unspecified';
}

export function toIssued(row: CertificateRow): IssuedCertificate {
  const certificate = Certificate.fromDer(row.der);
  return {
    id: row.id,
    serial: row.serial,
    caId: row.ca_id,
    userId: row.user_id,
    template: row.template,
    certificate,
    pem: pemEncode('CERTIFICATE', certificate.der),
    notBefore: new Date(row.not_before),
    notAfter: new Date(row.not_after),
    status: row.status === 'revoked' ? 'revoked' : 'valid',
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    revocationReason: row.status === 'revoked' ? reasonOfCode(row.revocation_reason) : null,
  };
}

/** The stored form of a serial: lower-case hex of the unsigned big-endian bytes, no leading zero octets. */
export function serialKey(bytes: Uint8Array): string {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return Buffer.from(bytes.subarray(start)).toString('hex');
}

/** Accepts a serial as hex, with or without colons or spaces, in any case. */
export function normalizeSerial(input: string): string {
  const hex = typeof input === 'string' ? input.replace(/[\s:]/g, '').toLowerCase() : '';
  if (hex.length === 0 || hex.length > 42 || !/^[0-9a-f]+$/.test(hex)) {
    throw new ServiceError('INVALID_ARGUMENT', `A serial number is given in hex (got ${JSON.stringify(input)}).`);
  }
  return serialKey(Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex'));
}

/**
 * keyUsage for a purpose and a key (BR §7.1.2.3(e), strict): signing sets digitalSignature; key
 * management is keyEncipherment for RSA and keyAgreement for EC.
 */
export function keyUsageFor(purpose: TemplatePurpose, shape: KeyShape): KeyUsageName[] {
  const manage: KeyUsageName = shape.kind === 'ec' ? 'keyAgreement' : 'keyEncipherment';
  if (purpose === 'signing') return ['digitalSignature'];
  if (purpose === 'encryption') return [manage];
  return ['digitalSignature', manage];
}

/** The certificate policy of the BR strict mailbox-validated profile (BR §7.1.6.1). */
export const SMIME_MAILBOX_STRICT = '2.23.140.1.5.1.3';

/** A time to the second: certificates and CRLs carry no fractions, so stored times should not either. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

export const DAY_MS = 86_400_000;

/** Is the value a storage error reporting a duplicate unique key (docs/storage.md, UNIQUE_VIOLATION)? */
export function isUniqueViolation(e: unknown): boolean {
  return e instanceof Error && (e as { code?: unknown }).code === 'UNIQUE_VIOLATION';
}
