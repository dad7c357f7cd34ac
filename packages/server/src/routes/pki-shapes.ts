/** Response shapes and converters shared by the CA, certificate and enrollment routes. */
import { type Certificate, nameToString, pemEncode } from '@sealpost/core';
import { type CaInfo, certificateState, type IssuedCertificate, type IssueResult } from '@sealpost/services';
import { s } from '../http/schema.ts';
import { withoutNulls } from '../services.ts';

const TIME = s.string({ format: 'date-time' });

export const CA = s.object({
  id: s.string(),
  name: s.string(),
  status: s.enum(['active', 'retired', 'pending']),
  subject: s.optional(s.string()),
  notBefore: s.optional(TIME),
  notAfter: s.optional(TIME),
  certificatePem: s.optional(s.string({ description: 'Absent while an intermediate waits for its certificate.' })),
  chainPem: s.array(s.string(), { description: 'The issuers above the CA certificate, nearest first.' }),
  csrPem: s.optional(s.string({ description: 'Pending intermediates: the request to take to the root.' })),
  crlUrl: s.optional(s.string()),
  ocspUrl: s.optional(s.string()),
  caIssuersUrl: s.optional(s.string()),
  createdAt: TIME,
});

export const CERTIFICATE = s.object({
  id: s.string(),
  serial: s.string({ description: 'Lower-case hex.' }),
  caId: s.string(),
  userId: s.optional(s.string()),
  template: s.string(),
  subject: s.string(),
  emails: s.array(s.string()),
  notBefore: TIME,
  notAfter: TIME,
  status: s.enum(['valid', 'revoked', 'expired']),
  revokedAt: s.optional(TIME),
  revocationReason: s.optional(s.string()),
  certificatePem: s.string(),
});

export const ISSUED = s.object({
  serial: s.string(),
  certificate: CERTIFICATE,
  certificatePem: s.string(),
  chainPem: s.array(s.string()),
  archived: s.boolean({ description: 'Whether the private key was escrowed in the key archive.' }),
  pkcs12Base64: s.optional(s.string({ description: 'Server-generated keys only; shown once, never stored.' })),
  pkcs12Password: s.optional(s.string({ description: 'The PKCS#12 password; shown once.' })),
});

const pem = (certificate: Certificate) => pemEncode('CERTIFICATE', certificate.der);

export function caJson(ca: CaInfo): Record<string, unknown> {
  const cert = ca.certificate;
  return withoutNulls({
    id: ca.id,
    name: ca.name,
    status: ca.status,
    subject: cert && nameToString(cert.subject),
    notBefore: cert?.notBefore.toISOString(),
    notAfter: cert?.notAfter.toISOString(),
    certificatePem: cert && pem(cert),
    chainPem: ca.chain.map(pem),
    csrPem: ca.csrPem,
    crlUrl: ca.crlUrl,
    ocspUrl: ca.ocspUrl,
    caIssuersUrl: ca.caIssuersUrl,
    createdAt: ca.createdAt,
  });
}

export function certificateJson(c: IssuedCertificate, now: Date): Record<string, unknown> {
  return withoutNulls({
    id: c.id,
    serial: c.serial,
    caId: c.caId,
    userId: c.userId,
    template: c.template,
    subject: nameToString(c.certificate.subject),
    emails: c.certificate.emailAddresses,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    status: certificateState(c, now),
    revokedAt: c.revokedAt?.toISOString(),
    revocationReason: c.revocationReason,
    certificatePem: c.pem,
  });
}

export function issuedJson(result: IssueResult, now: Date): Record<string, unknown> {
  return withoutNulls({
    serial: result.certificate.serial,
    certificate: certificateJson(result.certificate, now),
    certificatePem: result.certificate.pem,
    chainPem: result.chain.map(pem),
    archived: result.archived,
    pkcs12Base64: result.pkcs12 && Buffer.from(result.pkcs12).toString('base64'),
    pkcs12Password: result.pkcs12Password,
  });
}
