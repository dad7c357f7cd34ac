/** Encrypting a whole RFC 5322 message to its recipients (EnvelopedData or AuthEnvelopedData). */
import { type ContentCipherName, type SmimeCapability, selectContentCipher } from '../cms/capabilities.ts';
import { type EncryptRecipient, encryptContent } from '../cms/enveloped-data.ts';
import { fail } from '../errors.ts';
import { assembleMessage, canonicalizeEntity, splitMessage } from '../mime/canonical.ts';
import type { MimeLimits } from '../mime/entity.ts';
import { buildPkcs7Mime } from '../mime/smime-entities.ts';

export interface EncryptMessageOptions {
  recipients: EncryptRecipient[];
  /** Overrides the choice made from the recipients' capabilities. */
  cipher?: ContentCipherName;
  /** SMIMECapabilities seen from each recipient (same order; undefined = never seen). */
  capabilities?: (SmimeCapability[] | undefined)[];
  limits?: MimeLimits;
}

export interface EncryptResult {
  message: Buffer;
  cipher: ContentCipherName;
  /** Why this cipher: the recipients' capabilities, or an explicit choice. */
  reason: string;
}

export function encryptMessage(message: Uint8Array, options: EncryptMessageOptions): EncryptResult {
  if (options.recipients.length === 0) fail('INVALID_ARGUMENT', 'at least one recipient is needed');
  const { cipher, reason } = chooseCipher(options);
  const { transportHeaders, entity } = splitMessage(message, options.limits);
  const der = encryptContent(canonicalizeEntity(entity, options.limits), { recipients: options.recipients, cipher });
  const out = buildPkcs7Mime(der, cipher.endsWith('gcm') ? 'authEnveloped-data' : 'enveloped-data');
  return { message: Buffer.from(assembleMessage(transportHeaders, out)), cipher, reason };
}

export function chooseCipher(options: Pick<EncryptMessageOptions, 'cipher' | 'capabilities' | 'recipients'>): {
  cipher: ContentCipherName;
  reason: string;
} {
  if (options.cipher) return { cipher: options.cipher, reason: 'chosen explicitly' };
  return selectContentCipher(options.recipients.map((_, i) => options.capabilities?.[i]));
}
