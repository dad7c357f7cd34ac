/** Recipient resolution: can a message be encrypted to these addresses, to which certificates, and if not, why. */
import {
  EXCLUSION_REASONS,
  MAX_RECIPIENTS,
  RECIPIENT_REASONS,
  type RecipientResolution,
  type Resolution,
} from '@sealpost/services';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { callerOf, type ServicesProvider, withoutNulls } from '../services.ts';
import { CERTIFICATE_FIELDS, certificateFields, SOURCE } from './book.ts';

const CIPHER = s.enum(['aes-256-gcm', 'aes-128-gcm', 'aes-256-cbc'], {
  description: 'AES-GCM only when the capabilities announced it (RFC 8551 §2.7.1); otherwise AES-256-CBC.',
});

const RECIPIENT = s.object({
  address: s.string(),
  status: s.enum(['ok', 'none']),
  certificates: s.array(
    s.object({
      ...CERTIFICATE_FIELDS,
      revocation: s.enum(['good', 'unknown', 'not-checked'], {
        description: '`unknown` soft-fails: the status could not be learnt, and the certificate is used.',
      }),
      why: s.string(),
    }),
    { description: 'The certificate to encrypt to; empty when there is none.' },
  ),
  cipher: s.optional(CIPHER),
  reason: s.optional(s.enum(RECIPIENT_REASONS, { description: 'Why there is no certificate.' })),
  message: s.string({ description: 'Why this certificate, or why none, in words.' }),
  excluded: s.array(
    s.object({
      id: s.string(),
      sha256: s.string(),
      source: SOURCE,
      reason: s.enum(EXCLUSION_REASONS),
      message: s.string(),
    }),
    { description: 'Certificates known for the address and not used, each with its reason.' },
  ),
  lookupFailures: s.array(s.object({ directory: s.string(), message: s.string() }), {
    description: 'External directories that failed or did not answer in time.',
  }),
});

function recipientJson(r: RecipientResolution): Record<string, unknown> {
  return withoutNulls({
    address: r.address,
    status: r.status,
    certificates: r.certificates.map((c) => ({ ...certificateFields(c.entry), revocation: c.revocation, why: c.why })),
    cipher: r.cipher,
    reason: r.reason,
    message: r.message,
    excluded: r.excluded.map((e) => ({
      id: e.entry.id,
      sha256: e.entry.sha256,
      source: e.entry.source,
      reason: e.reason,
      message: e.message,
    })),
    lookupFailures: r.lookupFailures,
  });
}

function resolutionJson(r: Resolution): Record<string, unknown> {
  return withoutNulls({
    canEncrypt: r.canEncrypt,
    cipher: r.cipher,
    cipherReason: r.cipherReason,
    recipients: r.recipients.map(recipientJson),
  });
}

export function recipientRoutes(services: ServicesProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/api/v1/recipients/resolve',
      summary: 'Can a message be encrypted to these addresses? The certificate for each, or why there is none.',
      description:
        'Each address gets the certificate to encrypt to (never an expired, revoked, untrusted, signing-only or ' +
        "pending one; then Sealpost's CA over directories over harvested over manual; then the one the sender's " +
        'latest SMIMEEncryptionKeyPreference names; then the newest) and the cipher its SMIMECapabilities allow, ' +
        'or a `reason`. External directories are asked, concurrently and each within its timeout, for every ' +
        "address without a usable certificate from Sealpost's CA. `canEncrypt` is true when every address has a " +
        'certificate; `cipher` (absent otherwise) is AES-256-GCM only when every recipient announced it.',
      tags: ['recipients'],
      auth: 'recipients.resolve',
      body: s.object({
        addresses: s.array(s.string({ minLength: 3, maxLength: 320 }), { minItems: 1, maxItems: MAX_RECIPIENTS }),
      }),
      responses: {
        200: {
          description: 'One answer per distinct address, in the order given.',
          schema: s.object({
            canEncrypt: s.boolean(),
            cipher: s.optional(CIPHER),
            cipherReason: s.string(),
            recipients: s.array(RECIPIENT),
          }),
        },
      },
      handler: async ({ principal, body }) => {
        const resolution = await (await services()).recipients.resolve(body.addresses, callerOf(principal).userId);
        return { json: resolutionJson(resolution) };
      },
    }),
  ];
}
