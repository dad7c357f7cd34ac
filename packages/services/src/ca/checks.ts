/** Input checks of the CA service: each turns a bad argument into a ServiceError with a clear message. */
import type { KeyObject } from 'node:crypto';
import { Certificate, type NameSpec, parseCsr, SealpostError } from '@sealpost/core';
import { ServiceError } from '../errors.ts';
import { type CaKeyAlgorithm, isCaKeyAlgorithm } from './keys.ts';

const MAX_NAME = 100;

export interface CaUrls {
  /** cRLDistributionPoints of issued certificates; an http:// URL is required by the BR lint to issue. */
  readonly crlUrl?: string;
  /** authorityInfoAccess id-ad-ocsp of issued certificates. */
  readonly ocspUrl?: string;
  /** authorityInfoAccess id-ad-caIssuers of issued certificates. */
  readonly caIssuersUrl?: string;
}

export interface SubjectKey {
  readonly publicKey: KeyObject;
  /** Present when the server generated the key. */
  readonly privateKey?: KeyObject;
}

export interface NullableUrls {
  readonly crlUrl: string | null;
  readonly ocspUrl: string | null;
  readonly caIssuersUrl: string | null;
}

export function subjectKeyFromCsr(csrPem: string | Uint8Array): SubjectKey {
  let csr: ReturnType<typeof parseCsr>;
  try {
    csr = parseCsr(csrPem);
  } catch (e) {
    if (e instanceof SealpostError && e.code === 'KEY_UNSUITABLE') {
      throw new ServiceError('KEY_REJECTED', `The requested key cannot be certified: ${e.message}`, { cause: e });
    }
    throw new ServiceError('CSR_INVALID', `The certificate request cannot be read: ${messageOf(e)}`, { cause: e });
  }
  if (!csr.verified) {
    throw new ServiceError('CSR_INVALID', 'The request signature does not verify: it proves no possession of the key.');
  }
  return { publicKey: csr.publicKey };
}

export function readCertificates(input: string | Uint8Array): Certificate[] {
  let certificates: Certificate[];
  try {
    certificates = Certificate.all(input);
  } catch (e) {
    throw new ServiceError('INVALID_ARGUMENT', `The certificate cannot be read: ${messageOf(e)}`, { cause: e });
  }
  if (certificates.length === 0) throw new ServiceError('INVALID_ARGUMENT', 'No certificate was given.');
  return certificates;
}

/** A CA certificate the service can issue with: cA, keyCertSign and cRLSign, and not expired. */
export function checkCaCertificate(certificate: Certificate, now: Date): void {
  if (certificate.basicConstraints?.ca !== true) {
    throw new ServiceError('INVALID_ARGUMENT', 'The certificate is not a CA certificate (basicConstraints cA).');
  }
  const usage = certificate.keyUsage;
  if (usage !== undefined && !(usage.has('keyCertSign') && usage.has('cRLSign'))) {
    throw new ServiceError('INVALID_ARGUMENT', 'The CA certificate must allow keyCertSign and cRLSign.');
  }
  if (certificate.notAfter.getTime() <= now.getTime()) {
    throw new ServiceError('INVALID_ARGUMENT', 'The CA certificate has expired.');
  }
}

export function checkCaName(name: unknown): string {
  const value = typeof name === 'string' ? name.trim() : '';
  if (value === '' || value.length > MAX_NAME || /\p{Cc}/u.test(value) || !value.isWellFormed()) {
    throw new ServiceError('INVALID_ARGUMENT', `A CA name has 1 to ${MAX_NAME} characters and no control characters.`);
  }
  return value;
}

export function checkCaAlgorithm(algorithm: unknown): CaKeyAlgorithm {
  if (!isCaKeyAlgorithm(algorithm)) {
    throw new ServiceError(
      'KEY_REJECTED',
      `A CA key is rsa-3072, rsa-4096, p-256 or p-384 (got ${JSON.stringify(algorithm)}).`,
    );
  }
  return algorithm;
}

export function checkWhole(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ServiceError('INVALID_ARGUMENT', `${field} is a whole number from ${min} to ${max}.`);
  }
  return value;
}

export function checkSubject(subject: unknown): NameSpec {
  const attribute = (a: unknown) =>
    typeof a === 'object' &&
    a !== null &&
    typeof (a as { type?: unknown }).type === 'string' &&
    typeof (a as { value?: unknown }).value === 'string';
  if (!Array.isArray(subject) || subject.length === 0 || !subject.every(attribute)) {
    throw new ServiceError('INVALID_ARGUMENT', 'A CA subject is a non-empty list of { type, value } attributes.');
  }
  // encodeName (core) checks the attribute types and values themselves.
  return subject as NameSpec;
}

export function checkUrls(input: CaUrls): NullableUrls {
  const one = (value: string | undefined, field: string): string | null => {
    if (value === undefined) return null;
    if (typeof value !== 'string' || !/^https?:\/\/[!-~]+$/i.test(value)) {
      throw new ServiceError('INVALID_ARGUMENT', `${field} must be an http:// or https:// URL in ASCII.`);
    }
    return value;
  };
  return {
    crlUrl: one(input.crlUrl, 'crlUrl'),
    ocspUrl: one(input.ocspUrl, 'ocspUrl'),
    caIssuersUrl: one(input.caIssuersUrl, 'caIssuersUrl'),
  };
}

/** Runs a core operation, turning its SealpostError (a bad name, an unusable key) into INVALID_ARGUMENT. */
export async function core<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    if (e instanceof SealpostError) throw new ServiceError('INVALID_ARGUMENT', e.message, { cause: e });
    throw e;
  }
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
