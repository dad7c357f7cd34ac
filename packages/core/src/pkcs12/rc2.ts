/**
 * RC2 decryption (RFC 2268), for reading legacy PKCS#12 files: OpenSSL 3 keeps RC2 in its legacy
 * provider, which Node does not load, and pbeWithSHAAnd40BitRC2-CBC is what Windows and older
 * OpenSSL used for the certificate bags. Decryption only: Sealpost never writes RC2.
 */
import { fail } from '../errors.ts';

/** PITABLE (RFC 2268 §2): a permutation of 0..255 derived from the digits of pi. */
const PITABLE = Buffer.from(
  'd978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e8254d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb6266fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed708e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ecc2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731' +
    '2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a90d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad',
  'hex',
);

/** The expanded key: 64 16-bit words (RFC 2268 §2). */
function rc2ExpandKey(key: Uint8Array, effectiveBits: number): Uint16Array {
  const t = key.length;
  if (t < 1 || t > 128) fail('INVALID_ARGUMENT', 'an RC2 key is 1 to 128 bytes long');
  if (!Number.isInteger(effectiveBits) || effectiveBits < 1 || effectiveBits > 1024) {
    fail('INVALID_ARGUMENT', 'the RC2 effective key length is 1 to 1024 bits');
  }
  const l = new Uint8Array(128);
  l.set(key);
  for (let i = t; i < 128; i++) l[i] = PITABLE[(l[i - 1]! + l[i - t]!) & 0xff]!;
  // Reduce the effective key to T1 bits (§2, the "TM" mask step).
  const t8 = Math.ceil(effectiveBits / 8);
  const tm = 0xff >> (8 * t8 - effectiveBits);
  l[128 - t8] = PITABLE[l[128 - t8]! & tm]!;
  for (let i = 127 - t8; i >= 0; i--) l[i] = PITABLE[l[i + 1]! ^ l[i + t8]!]!;
  const k = new Uint16Array(64);
  for (let i = 0; i < 64; i++) k[i] = l[2 * i]! | (l[2 * i + 1]! << 8);
  return k;
}

const SHIFTS = [1, 2, 3, 5] as const;

/** Decrypts one 8-byte block in place at `offset` (RFC 2268 §4). */
function decryptBlock(k: Uint16Array, b: Uint8Array, offset: number): void {
  const r = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) r[i] = b[offset + 2 * i]! | (b[offset + 2 * i + 1]! << 8);
  let j = 63;
  // §4.1 reverse mixing round: undo the rotate, then subtract what the forward round added.
  const mix = () => {
    for (let i = 3; i >= 0; i--) {
      const s = SHIFTS[i]!;
      const x = r[i]!;
      let v = ((x >>> s) | (x << (16 - s))) & 0xffff;
      const a = r[(i + 3) & 3]!;
      v -= k[j--]! + (a & r[(i + 2) & 3]!) + (~a & r[(i + 1) & 3]!);
      r[i] = v & 0xffff;
    }
  };
  // §4.2 reverse mashing round.
  const mash = () => {
    for (let i = 3; i >= 0; i--) r[i] = (r[i]! - k[r[(i + 3) & 3]! & 63]!) & 0xffff;
  };
  for (let n = 0; n < 5; n++) mix();
  mash();
  for (let n = 0; n < 6; n++) mix();
  mash();
  for (let n = 0; n < 5; n++) mix();
  for (let i = 0; i < 4; i++) {
    b[offset + 2 * i] = r[i]! & 0xff;
    b[offset + 2 * i + 1] = r[i]! >> 8;
  }
}

/** RC2 in ECB mode over whole blocks, for the RFC's single-block test vectors. */
export function rc2DecryptBlocks(key: Uint8Array, effectiveBits: number, data: Uint8Array): Uint8Array {
  if (data.length % 8 !== 0) fail('INVALID_ARGUMENT', 'RC2 works on 8-byte blocks');
  const k = rc2ExpandKey(key, effectiveBits);
  const out = Uint8Array.from(data);
  for (let o = 0; o < out.length; o += 8) decryptBlock(k, out, o);
  return out;
}

/**
 * RC2-CBC decryption with PKCS#5 padding removal. Returns undefined when the padding is invalid,
 * which for password-based encryption almost always means a wrong password.
 */
export function rc2CbcDecrypt(
  key: Uint8Array,
  effectiveBits: number,
  iv: Uint8Array,
  data: Uint8Array,
): Uint8Array | undefined {
  if (iv.length !== 8) fail('INVALID_ARGUMENT', 'the RC2-CBC IV is 8 bytes');
  if (data.length === 0 || data.length % 8 !== 0) return undefined;
  const k = rc2ExpandKey(key, effectiveBits);
  const out = Uint8Array.from(data);
  for (let o = 0; o < out.length; o += 8) {
    decryptBlock(k, out, o);
    const prev = o === 0 ? iv : data.subarray(o - 8, o);
    for (let i = 0; i < 8; i++) out[o + i]! ^= prev[i]!;
  }
  const pad = out[out.length - 1]!;
  if (pad < 1 || pad > 8) return undefined;
  for (let i = out.length - pad; i < out.length; i++) if (out[i] !== pad) return undefined;
  return out.subarray(0, out.length - pad);
}
