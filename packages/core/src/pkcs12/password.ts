/** Passwords Sealpost generates for exported PKCS#12 files. */
import { randomInt } from 'node:crypto';

/** Letters and digits without the look-alikes 0/O/o, 1/I/l: 56 symbols, 5.8 bits each. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';

/**
 * A random password of 20 characters (116 bits, above the 112 bits the S/MIME Baseline
 * Requirements ask of PKCS#12 passwords) that survives being read aloud or retyped. Shorter than
 * 32 characters, which gpgsm 2.2 refuses.
 */
export function generatePkcs12Password(length = 20): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** Strength in bits of a password from `generatePkcs12Password`. */
export function generatedPasswordBits(length = 20): number {
  return Math.floor(length * Math.log2(ALPHABET.length));
}
