/**
 * SMIMECapabilities (RFC 8551 §2.5.2) and the content-cipher choice it drives.
 *
 *   SMIMECapabilities ::= SEQUENCE OF SMIMECapability
 *   SMIMECapability ::= SEQUENCE { capabilityID OBJECT IDENTIFIER, parameters ANY DEFINED BY capabilityID OPTIONAL }
 */
import { type Asn1, readOid } from '../asn1/der.ts';
import { oid, seq } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail } from '../errors.ts';

export interface SmimeCapability {
  oid: string;
  /** DER of the parameters, when present. */
  params?: Uint8Array;
}

export type ContentCipherName = 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' | 'aes-128-gcm' | 'aes-256-gcm';

export const CONTENT_CIPHER_OIDS: Record<ContentCipherName, string> = {
  'aes-128-cbc': OID.aes128CBC,
  'aes-192-cbc': OID.aes192CBC,
  'aes-256-cbc': OID.aes256CBC,
  'aes-128-gcm': OID.aes128GCM,
  'aes-256-gcm': OID.aes256GCM,
};

/** What Sealpost announces, strongest first (RFC 8551 §2.7: order is preference). */
export const DEFAULT_CAPABILITIES: SmimeCapability[] = [
  { oid: OID.aes256GCM },
  { oid: OID.aes128GCM },
  { oid: OID.aes256CBC },
  { oid: OID.aes128CBC },
  { oid: OID.sha256WithRSAEncryption },
  { oid: OID.rsassaPss },
  { oid: OID.ecdsaWithSHA256 },
  { oid: OID.ed25519 },
  { oid: OID.rsaesOaep },
];

export function encodeCapabilities(caps: SmimeCapability[]): Buffer {
  return seq(...caps.map((c) => (c.params ? seq(oid(c.oid), c.params) : seq(oid(c.oid)))));
}

export function parseCapabilities(el: Asn1): SmimeCapability[] {
  if (!el.is(0x30)) fail('CMS_MALFORMED', 'SMIMECapabilities must be a SEQUENCE');
  if (el.children.length > 256) fail('CMS_LIMIT', 'too many SMIMECapabilities');
  return el.children.map((c) => {
    if (!c.is(0x30) || c.children.length < 1) fail('CMS_MALFORMED', 'malformed SMIMECapability');
    const id = readOid(c.child(0));
    const p = c.children[1];
    return p ? { oid: id, params: p.raw } : { oid: id };
  });
}

export interface CipherChoice {
  cipher: ContentCipherName;
  reason: string;
}

/**
 * RFC 8551 §2.7.1: AES-GCM only when every recipient is known to support it; otherwise AES-256-CBC,
 * which NSS (Thunderbird), gpgsm 2.2 and Apple Mail all read. `undefined` means "capabilities never seen".
 */
export function selectContentCipher(recipients: (SmimeCapability[] | undefined)[]): CipherChoice {
  const gcm = (caps: SmimeCapability[] | undefined, o: string) => caps?.some((c) => c.oid === o) ?? false;
  if (recipients.length > 0 && recipients.every((c) => gcm(c, OID.aes256GCM))) {
    return { cipher: 'aes-256-gcm', reason: 'every recipient announced AES-256-GCM' };
  }
  if (recipients.length > 0 && recipients.every((c) => gcm(c, OID.aes128GCM))) {
    return { cipher: 'aes-128-gcm', reason: 'every recipient announced AES-128-GCM' };
  }
  const unknown = recipients.filter((c) => c === undefined).length;
  return {
    cipher: 'aes-256-cbc',
    reason:
      unknown > 0
        ? `no SMIMECapabilities seen for ${unknown} recipient(s); AES-256-CBC is what every client reads`
        : 'not every recipient announced AES-GCM',
  };
}
