/**
 * Content-encryption algorithms of EnvelopedData (RFC 3565 AES-CBC, RFC 3370 §5.1 3DES) and
 * AuthEnvelopedData (RFC 5084 AES-GCM): AlgorithmIdentifier encoding and parsing, and the
 * node:crypto cipher objects behind them.
 */
import {
  type CipherGCM,
  type Cipheriv,
  createCipheriv,
  createDecipheriv,
  type DecipherGCM,
  type Decipheriv,
  randomBytes,
} from 'node:crypto';
import { type Asn1, Class, readOctetString, readOid, readSmallInt } from '../asn1/der.ts';
import { algorithm, integer, octets, seq } from '../asn1/encode.ts';
import { OID, oidName } from '../asn1/oids.ts';
import { fail } from '../errors.ts';
import { CONTENT_CIPHER_OIDS, type ContentCipherName } from './capabilities.ts';

/** A content-encryption algorithm with its parameters, as sent or received. */
export interface ContentCipherSpec {
  /** The node:crypto / OpenSSL name, e.g. `aes-256-cbc`. */
  name: string;
  oid: string;
  mode: 'cbc' | 'gcm';
  keyLength: number;
  /** CBC IV or GCM nonce. */
  iv: Uint8Array;
  /** GCM tag length (RFC 5084 aes-ICVlen); 0 for CBC. */
  icvLength: number;
}

interface KnownCipher {
  name: string;
  mode: 'cbc' | 'gcm';
  keyLength: number;
  blockIv: number;
}

const KNOWN = new Map<string, KnownCipher>([
  [OID.aes128CBC, { name: 'aes-128-cbc', mode: 'cbc', keyLength: 16, blockIv: 16 }],
  [OID.aes192CBC, { name: 'aes-192-cbc', mode: 'cbc', keyLength: 24, blockIv: 16 }],
  [OID.aes256CBC, { name: 'aes-256-cbc', mode: 'cbc', keyLength: 32, blockIv: 16 }],
  [OID.aes128GCM, { name: 'aes-128-gcm', mode: 'gcm', keyLength: 16, blockIv: 0 }],
  [OID.aes192GCM, { name: 'aes-192-gcm', mode: 'gcm', keyLength: 24, blockIv: 0 }],
  [OID.aes256GCM, { name: 'aes-256-gcm', mode: 'gcm', keyLength: 32, blockIv: 0 }],
  // Read-only, for old mail (RFC 3370 §5.1); never chosen for sending.
  [OID.desEDE3CBC, { name: 'des-ede3-cbc', mode: 'cbc', keyLength: 24, blockIv: 8 }],
]);

const READABLE_ONLY = new Map<string, string>([[OID.rc2CBC, 'rc2-cbc']]);

/** A readable name for a content-encryption OID, known or not (for describing envelopes). */
export function contentCipherName(oid: string): string {
  return KNOWN.get(oid)?.name ?? READABLE_ONLY.get(oid) ?? oidName(oid);
}

/** GCM nonce: RFC 5084 §3.2 recommends 12 octets; we accept what GCM handles sanely. */
const GCM_NONCE_MIN = 8;
const GCM_NONCE_MAX = 16;

/** A fresh key and IV/nonce for one message. */
export function newContentCipher(name: ContentCipherName): { spec: ContentCipherSpec; key: Buffer } {
  const oid = CONTENT_CIPHER_OIDS[name];
  const known = oid === undefined ? undefined : KNOWN.get(oid);
  if (!known || oid === undefined) fail('UNSUPPORTED_ALGORITHM', `content cipher "${String(name)}" is not supported`);
  const gcm = known.mode === 'gcm';
  const ivLength = gcm ? 12 : known.blockIv;
  // One call to the CSPRNG for both: each call costs more than the bytes it returns.
  const random = randomBytes(ivLength + known.keyLength);
  return {
    spec: {
      name: known.name,
      oid,
      mode: known.mode,
      keyLength: known.keyLength,
      iv: random.subarray(0, ivLength),
      icvLength: gcm ? 16 : 0,
    },
    key: random.subarray(ivLength),
  };
}

/**
 * The ContentEncryptionAlgorithmIdentifier.
 * CBC (RFC 3565 §4.1): parameters `AES-IV ::= OCTET STRING (SIZE(16))`.
 * GCM (RFC 5084 §3.2): `GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen AES-GCM-ICVlen DEFAULT 12 }`;
 * the 16-octet ICV is written out because it differs from the default.
 */
export function encodeContentCipher(spec: ContentCipherSpec): Buffer {
  if (spec.mode === 'cbc') return algorithm(spec.oid, octets(spec.iv));
  const params = spec.icvLength === 12 ? seq(octets(spec.iv)) : seq(octets(spec.iv), integer(spec.icvLength));
  return algorithm(spec.oid, params);
}

/** Parses a ContentEncryptionAlgorithmIdentifier; unknown algorithms are UNSUPPORTED_ALGORITHM, bad parameters CMS_MALFORMED. */
export function parseContentCipher(el: Asn1): ContentCipherSpec {
  if (!el.is(0x30) || el.children.length < 1 || el.children.length > 2) {
    fail('CMS_MALFORMED', 'malformed contentEncryptionAlgorithm');
  }
  const oid = readOid(el.child(0));
  const known = KNOWN.get(oid);
  if (!known) fail('UNSUPPORTED_ALGORITHM', `content encryption with ${contentCipherName(oid)} is not supported`);
  const params = el.children[1];
  if (!params) fail('CMS_MALFORMED', `${known.name} needs parameters`);
  if (known.mode === 'cbc') {
    if (params.tagNumber !== 4 || params.cls !== Class.Universal)
      fail('CMS_MALFORMED', `${known.name} IV must be an OCTET STRING`);
    const iv = readOctetString(params);
    if (iv.length !== known.blockIv) fail('CMS_MALFORMED', `${known.name} IV must be ${known.blockIv} octets`);
    return { name: known.name, oid, mode: 'cbc', keyLength: known.keyLength, iv, icvLength: 0 };
  }
  if (!params.is(0x30) || params.children.length < 1 || params.children.length > 2) {
    fail('CMS_MALFORMED', 'malformed GCMParameters');
  }
  const nonceEl = params.child(0);
  if (nonceEl.tagNumber !== 4 || nonceEl.cls !== Class.Universal)
    fail('CMS_MALFORMED', 'GCM nonce must be an OCTET STRING');
  const nonce = readOctetString(nonceEl);
  if (nonce.length < GCM_NONCE_MIN || nonce.length > GCM_NONCE_MAX) {
    fail('CMS_MALFORMED', `GCM nonce of ${nonce.length} octets (expected 12)`);
  }
  const icvEl = params.children[1];
  const icvLength = icvEl ? readSmallInt(icvEl, 255) : 12;
  // RFC 5084 §3.2: AES-GCM-ICVlen ::= INTEGER (12 | 13 | 14 | 15 | 16).
  if (icvLength < 12 || icvLength > 16) fail('CMS_MALFORMED', `GCM ICV length ${icvLength} is not 12..16`);
  return { name: known.name, oid, mode: 'gcm', keyLength: known.keyLength, iv: nonce, icvLength };
}

/** An encrypting cipher; for GCM, `tag()` is valid after `final()`. */
export interface ContentEncryptor {
  update(data: Uint8Array): Buffer;
  final(): Buffer;
  tag(): Buffer;
}

export function createContentEncryptor(spec: ContentCipherSpec, key: Uint8Array): ContentEncryptor {
  if (spec.mode === 'gcm') {
    const c: CipherGCM = createCipheriv(spec.name as 'aes-256-gcm', key, spec.iv, { authTagLength: spec.icvLength });
    return { update: (d) => c.update(d), final: () => c.final(), tag: () => c.getAuthTag() };
  }
  const c: Cipheriv = createCipheriv(spec.name, key, spec.iv);
  return { update: (d) => c.update(d), final: () => c.final(), tag: () => Buffer.alloc(0) };
}

/**
 * A decrypting cipher. For GCM, `aad` is fed before any ciphertext and `final(tag)` verifies the tag;
 * node:crypto throws from `final` on a bad tag or CBC padding (callers turn that into DECRYPTION_FAILED).
 */
export interface ContentDecryptor {
  update(data: Uint8Array): Buffer;
  final(tag?: Uint8Array): Buffer;
}

export function createContentDecryptor(spec: ContentCipherSpec, key: Uint8Array, aad?: Uint8Array): ContentDecryptor {
  if (spec.mode === 'gcm') {
    const d: DecipherGCM = createDecipheriv(spec.name as 'aes-256-gcm', key, spec.iv, {
      authTagLength: spec.icvLength,
    });
    if (aad && aad.length > 0) d.setAAD(aad);
    return {
      update: (x) => d.update(x),
      final: (tag) => {
        if (!tag || tag.length !== spec.icvLength) fail('CMS_MALFORMED', 'the mac length differs from aes-ICVlen');
        d.setAuthTag(tag);
        return d.final();
      },
    };
  }
  const d: Decipheriv = createDecipheriv(spec.name, key, spec.iv);
  return { update: (x) => d.update(x), final: () => d.final() };
}
