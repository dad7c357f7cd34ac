/**
 * Ephemeral-static key agreement for CMS: ECDH over the NIST curves (RFC 5753 §3.1, X9.63 KDF)
 * and X25519/X448 (RFC 8418, HKDF), deriving the key-encryption key that AES key wrap
 * (RFC 3394, RFC 3565) uses to wrap the content-encryption key.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { decode, readBitString } from '../asn1/der.ts';
import { algorithm, bitString, explicit, octets, oid, seq } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail } from '../errors.ts';

/** RFC 8418 §2.1 and RFC 5753 §7.1.4 OIDs that oids.ts does not carry. */
export const KA_OID = {
  dhSinglePassStdDHSha224kdf: '1.3.132.1.11.0',
  dhSinglePassStdDHHkdfSha256: '1.2.840.113549.1.9.16.3.19',
  dhSinglePassStdDHHkdfSha384: '1.2.840.113549.1.9.16.3.20',
  dhSinglePassStdDHHkdfSha512: '1.2.840.113549.1.9.16.3.21',
} as const;

export interface KdfScheme {
  /** Readable name for reports. */
  name: string;
  kdf: 'x963' | 'hkdf';
  hash: 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
}

/** Every scheme accepted on receipt; OpenSSL 3.0 sends sha1kdf by default. */
export const KDF_SCHEMES = new Map<string, KdfScheme>([
  [OID.dhSinglePassStdDHSha1kdf, { name: 'dhSinglePassStdDHSha1kdf', kdf: 'x963', hash: 'sha1' }],
  [KA_OID.dhSinglePassStdDHSha224kdf, { name: 'dhSinglePassStdDHSha224kdf', kdf: 'x963', hash: 'sha224' }],
  [OID.dhSinglePassStdDHSha256kdf, { name: 'dhSinglePassStdDHSha256kdf', kdf: 'x963', hash: 'sha256' }],
  [OID.dhSinglePassStdDHSha384kdf, { name: 'dhSinglePassStdDHSha384kdf', kdf: 'x963', hash: 'sha384' }],
  [OID.dhSinglePassStdDHSha512kdf, { name: 'dhSinglePassStdDHSha512kdf', kdf: 'x963', hash: 'sha512' }],
  [KA_OID.dhSinglePassStdDHHkdfSha256, { name: 'dhSinglePassStdDHHkdfSha256', kdf: 'hkdf', hash: 'sha256' }],
  [KA_OID.dhSinglePassStdDHHkdfSha384, { name: 'dhSinglePassStdDHHkdfSha384', kdf: 'hkdf', hash: 'sha384' }],
  [KA_OID.dhSinglePassStdDHHkdfSha512, { name: 'dhSinglePassStdDHHkdfSha512', kdf: 'hkdf', hash: 'sha512' }],
]);

/** AES key wrap algorithms (RFC 3565 §2.3.2) by OID, with their KEK length and node:crypto name. */
export const KEY_WRAPS = new Map<string, { name: string; kekLength: number; cipher: string }>([
  [OID.aes128Wrap, { name: 'aes128Wrap', kekLength: 16, cipher: 'id-aes128-wrap' }],
  [OID.aes192Wrap, { name: 'aes192Wrap', kekLength: 24, cipher: 'id-aes192-wrap' }],
  [OID.aes256Wrap, { name: 'aes256Wrap', kekLength: 32, cipher: 'id-aes256-wrap' }],
]);

/** The wrap matching the content key's strength: AES-128 content gets aes128-wrap and so on. */
export function keyWrapFor(cekLength: number): string {
  return cekLength <= 16 ? OID.aes128Wrap : cekLength <= 24 ? OID.aes192Wrap : OID.aes256Wrap;
}

/** RFC 3394 §2.2.3.1 default initial value. */
const WRAP_IV = Buffer.alloc(8, 0xa6);

export function aesWrap(wrapOid: string, kek: Uint8Array, key: Uint8Array): Buffer {
  const w = KEY_WRAPS.get(wrapOid);
  if (!w) fail('UNSUPPORTED_ALGORITHM', `key wrap ${wrapOid} is not supported`);
  const c = createCipheriv(w.cipher, kek, WRAP_IV);
  return Buffer.concat([c.update(key), c.final()]);
}

/** Unwraps; node:crypto throws when the integrity check value does not match. */
export function aesUnwrap(wrapOid: string, kek: Uint8Array, wrapped: Uint8Array): Buffer {
  const w = KEY_WRAPS.get(wrapOid);
  if (!w) fail('UNSUPPORTED_ALGORITHM', `key wrap ${wrapOid} is not supported`);
  const d = createDecipheriv(w.cipher, kek, WRAP_IV);
  return Buffer.concat([d.update(wrapped), d.final()]);
}

/**
 * RFC 5753 §7.2:
 *   ECC-CMS-SharedInfo ::= SEQUENCE {
 *     keyInfo         AlgorithmIdentifier,          -- the key wrap algorithm, parameters absent
 *     entityUInfo [0] EXPLICIT OCTET STRING OPTIONAL,  -- the ukm
 *     suppPubInfo [2] EXPLICIT OCTET STRING }       -- KEK length in bits, 32-bit big-endian
 * RFC 8418 §2.3 uses the same structure as HKDF's info.
 */
export function eccCmsSharedInfo(wrapOid: string, kekLength: number, ukm?: Uint8Array): Buffer {
  const bits = Buffer.alloc(4);
  bits.writeUInt32BE(kekLength * 8);
  return ukm
    ? seq(algorithm(wrapOid), explicit(0, octets(ukm)), explicit(2, octets(bits)))
    : seq(algorithm(wrapOid), explicit(2, octets(bits)));
}

/** ANSI X9.63 KDF (RFC 5753 §3.1.1 via SEC 1 §3.6.1): Hash(Z || counter || SharedInfo), counter from 1. */
export function x963Kdf(hash: string, z: Uint8Array, sharedInfo: Uint8Array, length: number): Buffer {
  const parts: Buffer[] = [];
  const counter = Buffer.alloc(4);
  let got = 0;
  for (let i = 1; got < length; i++) {
    counter.writeUInt32BE(i);
    const block = createHash(hash).update(z).update(counter).update(sharedInfo).digest();
    parts.push(block);
    got += block.length;
  }
  return Buffer.concat(parts).subarray(0, length);
}

export function deriveKek(scheme: KdfScheme, z: Uint8Array, sharedInfo: Uint8Array, length: number): Buffer {
  if (scheme.kdf === 'x963') return x963Kdf(scheme.hash, z, sharedInfo, length);
  // RFC 8418 §2.2: HKDF with the salt absent (RFC 5869 then uses HashLen zero octets).
  return Buffer.from(hkdfSync(scheme.hash, z, Buffer.alloc(0), sharedInfo, length));
}

/** The curves we agree on, by recipient key: key agreement scheme we send and originator key algorithm. */
export type AgreementCurve = 'P-256' | 'P-384' | 'P-521' | 'x25519' | 'x448';

const NODE_CURVE: Record<'P-256' | 'P-384' | 'P-521', string> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
};

const CURVE_OID: Record<'P-256' | 'P-384' | 'P-521', string> = {
  'P-256': OID.prime256v1,
  'P-384': OID.secp384r1,
  'P-521': OID.secp521r1,
};

/** RFC 5753 §8 pairs the KDF hash with the curve size; RFC 8418 §2.1 pairs X25519/X448 with HKDF-SHA-256/512. */
export const SEND_SCHEME: Record<AgreementCurve, string> = {
  'P-256': OID.dhSinglePassStdDHSha256kdf,
  'P-384': OID.dhSinglePassStdDHSha384kdf,
  'P-521': OID.dhSinglePassStdDHSha512kdf,
  x25519: KA_OID.dhSinglePassStdDHHkdfSha256,
  x448: KA_OID.dhSinglePassStdDHHkdfSha512,
};

export function curveFromOid(curveOid: string | undefined): AgreementCurve | undefined {
  if (curveOid === OID.prime256v1) return 'P-256';
  if (curveOid === OID.secp384r1) return 'P-384';
  if (curveOid === OID.secp521r1) return 'P-521';
  return undefined;
}

/**
 * OriginatorPublicKey's AlgorithmIdentifier: RFC 5753 §7.1.2 allows ecPublicKey with parameters
 * absent or NULL (OpenSSL writes them absent and reads both); RFC 8418 §2.3 says id-X25519 with
 * parameters absent.
 */
function originatorAlgorithm(curve: AgreementCurve): Buffer {
  if (curve === 'x25519') return algorithm(OID.x25519);
  if (curve === 'x448') return algorithm(OID.x448);
  return algorithm(OID.ecPublicKey);
}

/** SubjectPublicKeyInfo for a received originator key, on the recipient's curve. */
function originatorSpki(curve: AgreementCurve, point: Uint8Array): Buffer {
  if (curve === 'x25519' || curve === 'x448') return seq(originatorAlgorithm(curve), bitString(point));
  return seq(algorithm(OID.ecPublicKey, oid(CURVE_OID[curve])), bitString(point));
}

/** A fresh ephemeral key and the shared secret with the recipient's public key. */
export function ephemeralAgreement(
  curve: AgreementCurve,
  recipientKey: KeyObject,
): { originatorKey: Buffer; sharedSecret: Buffer } {
  const { privateKey, publicKey } =
    curve === 'x25519'
      ? generateKeyPairSync('x25519')
      : curve === 'x448'
        ? generateKeyPairSync('x448')
        : generateKeyPairSync('ec', { namedCurve: NODE_CURVE[curve] });
  const sharedSecret = diffieHellman({ privateKey, publicKey: recipientKey });
  const spki = decode(publicKey.export({ type: 'spki', format: 'der' }));
  const { bytes } = readBitString(spki.child(1));
  // OriginatorPublicKey ::= SEQUENCE { algorithm AlgorithmIdentifier, publicKey BIT STRING }, here [1] IMPLICIT.
  return { originatorKey: seq(originatorAlgorithm(curve), bitString(bytes)), sharedSecret };
}

/**
 * The recipient's side: Z from the originator's public point. createPublicKey rejects points that
 * are not on the curve (invalid-curve attacks); X25519/X448 derivation rejects an all-zero result.
 */
export function recipientAgreement(curve: AgreementCurve, privateKey: KeyObject, originatorPoint: Uint8Array): Buffer {
  const publicKey = createPublicKey({ key: originatorSpki(curve, originatorPoint), format: 'der', type: 'spki' });
  return diffieHellman({ privateKey, publicKey });
}
