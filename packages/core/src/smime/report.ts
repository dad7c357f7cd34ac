/** Plain-data summaries of certificates and layers, shared by every report (CLI JSON, later the API). */

import type { Certificate } from '../x509/certificate.ts';
import { nameToString } from '../x509/name.ts';

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serial: string;
  emailAddresses: string[];
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  key: string;
}

export function summarizeCertificate(c: Certificate): CertificateSummary {
  const k = c.publicKeyInfo;
  return {
    subject: nameToString(c.subject),
    issuer: nameToString(c.issuer),
    serial: c.serialHex,
    emailAddresses: c.emailAddresses,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    fingerprintSha256: c.fingerprintSha256,
    key: k.kind === 'ec' ? `ec P-${k.bits}` : k.bits ? `${k.kind} ${k.bits}` : k.kind,
  };
}
