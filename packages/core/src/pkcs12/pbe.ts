/**
 * The PKCS#12 key derivation function (RFC 7292 Appendix B) and the legacy PKCS#12 password-based
 * encryption schemes built on it (RFC 7292 Appendix C): pbeWithSHAAnd3-KeyTripleDES-CBC and the
 * two RC2 variants.
 *
 *   pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
 */
import { createCipheriv, createDecipheriv, hash } from 'node:crypto';
import { type Asn1, readOctetString, readSmallInt } from '../asn1/der.ts';
import { integer, octets, oid, seq } from '../asn1/encode.ts';
import { fail } from '../errors.ts';
import type { WorkBudget } from './limits.ts';
import { rc2CbcDecrypt } from './rc2.ts';

export const PKCS12_PBE = {
  pbeWithSHAAnd128BitRC4: '1.2.840.113549.1.12.1.1',
  pbeWithSHAAnd40BitRC4: '1.2.840.113549.1.12.1.2',
  pbeWithSHAAnd3KeyTripleDESCBC: '1.2.840.113549.1.12.1.3',
  pbeWithSHAAnd2KeyTripleDESCBC: '1.2.840.113549.1.12.1.4',
  pbeWithSHAAnd128BitRC2CBC: '1.2.840.113549.1.12.1.5',
  pbeWithSHAAnd40BitRC2CBC: '1.2.840.113549.1.12.1.6',
} as const;

/** Hashes the PKCS#12 KDF is used with: output size u and block size v in bytes (Appendix B.2). */
const HASHES: Record<string, { u: number; v: number }> = {
  sha1: { u: 20, v: 64 },
  sha224: { u: 28, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
};

/** The purpose byte of Appendix B.3. */
export const KDF_ID = { key: 1, iv: 2, mac: 3 } as const;

/**
 * The password as the PKCS#12 KDF takes it (Appendix B.1): a BMPString (UTF-16BE) with two
 * trailing zero bytes. `null` is the absent password, which is zero bytes long; OpenSSL and
 * Windows disagree on which of the two an "empty" password means, so readers try both.
 */
export function bmpPassword(password: string | null): Buffer {
  if (password === null) return Buffer.alloc(0);
  const out = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/** Number of hash blocks a derivation of `n` bytes computes (for the work budget). */
export function pkcs12KdfBlocks(digest: string, n: number): number {
  const h = HASHES[digest];
  return h ? Math.ceil(n / h.u) : 1;
}

/** RFC 7292 Appendix B.2: derives `n` bytes for purpose `id`. */
export function pkcs12Kdf(
  digest: string,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  id: number,
  n: number,
): Buffer {
  const h = HASHES[digest];
  if (!h) fail('UNSUPPORTED_ALGORITHM', `the PKCS#12 key derivation with ${digest} is not supported`);
  const { u, v } = h;
  const fill = (src: Uint8Array) => {
    const out = Buffer.alloc(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const d = Buffer.alloc(v, id);
  const i = Buffer.concat([fill(salt), fill(password)]);
  const blocks: Buffer[] = [];
  for (let c = Math.ceil(n / u); c > 0; c--) {
    let a = hash(digest, Buffer.concat([d, i]), 'buffer');
    for (let r = 1; r < iterations; r++) a = hash(digest, a, 'buffer');
    blocks.push(a);
    if (c === 1) break;
    // I_j = (I_j + B + 1) mod 2^(8v) for each v-byte block of I, B being A repeated to v bytes.
    const b = fill(a);
    for (let off = 0; off < i.length; off += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = i[off + k]! + b[k]! + carry;
        i[off + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, n);
}

interface LegacyCipher {
  name: string;
  keyLength: number;
  /** RC2 effective key bits; undefined for 3DES. */
  rc2Bits?: number;
}

const LEGACY: Record<string, LegacyCipher> = {
  [PKCS12_PBE.pbeWithSHAAnd3KeyTripleDESCBC]: { name: 'pbeWithSHAAnd3-KeyTripleDES-CBC', keyLength: 24 },
  [PKCS12_PBE.pbeWithSHAAnd128BitRC2CBC]: { name: 'pbeWithSHAAnd128BitRC2-CBC', keyLength: 16, rc2Bits: 128 },
  [PKCS12_PBE.pbeWithSHAAnd40BitRC2CBC]: { name: 'pbeWithSHAAnd40BitRC2-CBC', keyLength: 5, rc2Bits: 40 },
};

const UNSUPPORTED_LEGACY: Record<string, string> = {
  [PKCS12_PBE.pbeWithSHAAnd128BitRC4]: 'pbeWithSHAAnd128BitRC4',
  [PKCS12_PBE.pbeWithSHAAnd40BitRC4]: 'pbeWithSHAAnd40BitRC4',
  [PKCS12_PBE.pbeWithSHAAnd2KeyTripleDESCBC]: 'pbeWithSHAAnd2-KeyTripleDES-CBC',
};

export function isLegacyPbe(oid: string): boolean {
  return oid in LEGACY || oid in UNSUPPORTED_LEGACY;
}

export interface LegacyPbeParams {
  name: string;
  salt: Uint8Array;
  iterations: number;
  /** False for the RC4 and two-key 3DES variants, which Sealpost does not decrypt. */
  supported: boolean;
}

export function parseLegacyPbe(oid: string, params: Asn1 | undefined): LegacyPbeParams {
  const name = LEGACY[oid]?.name ?? UNSUPPORTED_LEGACY[oid];
  if (name === undefined) fail('UNSUPPORTED_ALGORITHM', `${oid} is not a PKCS#12 PBE`);
  if (!params?.is(0x30) || params.children.length !== 2) fail('PKCS12_MALFORMED', `malformed ${name} parameters`);
  return {
    name,
    salt: readOctetString(params.child(0)),
    iterations: readSmallInt(params.child(1)),
    supported: oid in LEGACY,
  };
}

/** Decrypts with a legacy PKCS#12 PBE; undefined when the padding is wrong (a wrong password). */
export function legacyPbeDecrypt(
  oid: string,
  params: Asn1 | undefined,
  bmp: Uint8Array,
  data: Uint8Array,
  budget: WorkBudget,
): Uint8Array | undefined {
  const p = parseLegacyPbe(oid, params);
  const cipher = LEGACY[oid];
  if (!cipher) fail('UNSUPPORTED_ALGORITHM', `${p.name} is not supported`);
  budget.charge(p.iterations, pkcs12KdfBlocks('sha1', cipher.keyLength) + 1, p.name);
  const key = pkcs12Kdf('sha1', bmp, p.salt, p.iterations, KDF_ID.key, cipher.keyLength);
  const iv = pkcs12Kdf('sha1', bmp, p.salt, p.iterations, KDF_ID.iv, 8);
  if (cipher.rc2Bits !== undefined) return rc2CbcDecrypt(key, cipher.rc2Bits, iv, data);
  if (data.length === 0 || data.length % 8 !== 0) return undefined;
  try {
    const d = createDecipheriv('des-ede3-cbc', key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    return undefined;
  }
}

/** pbeWithSHAAnd3-KeyTripleDES-CBC encryption: the one legacy scheme Sealpost writes (`compat`). */
export function tripleDesPbeEncrypt(
  bmp: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  data: Uint8Array,
): { algorithm: Buffer; ciphertext: Buffer } {
  const key = pkcs12Kdf('sha1', bmp, salt, iterations, KDF_ID.key, 24);
  const iv = pkcs12Kdf('sha1', bmp, salt, iterations, KDF_ID.iv, 8);
  const c = createCipheriv('des-ede3-cbc', key, iv);
  const ciphertext = Buffer.concat([c.update(data), c.final()]);
  return {
    algorithm: seq(oid(PKCS12_PBE.pbeWithSHAAnd3KeyTripleDESCBC), seq(octets(salt), integer(iterations))),
    ciphertext,
  };
}
