/** Password-based encryption of bags and contents, whichever scheme the file chose. */
import { type Asn1, readOid } from '../asn1/der.ts';
import { fail, isSealpostError } from '../errors.ts';
import type { WorkBudget } from './limits.ts';
import { isLegacyPbe, legacyPbeDecrypt, parseLegacyPbe } from './pbe.ts';
import { describePbes2, PBES2_OID, parsePbes2, pbes2Decrypt } from './pbes2.ts';

/** One password in the two encodings PKCS#12 uses. */
export interface Secret {
  /** BMPString with trailing zeros, for the PKCS#12 KDF (RFC 7292 Appendix B.1). */
  bmp: Uint8Array;
  /** UTF-8, for PBES2 and PBMAC1 (RFC 9579 §4). */
  utf8: Uint8Array;
}

export interface EncryptionInfo {
  /** E.g. "PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC)" or "pbeWithSHAAnd3-KeyTripleDES-CBC"; an OID when unknown. */
  algorithm: string;
  /** Absent when the algorithm is unknown. */
  iterations?: number;
  saltLength?: number;
  /** False when Sealpost cannot decrypt it. */
  supported: boolean;
}

/** Describes an encryption AlgorithmIdentifier without decrypting anything. */
export function describeEncryption(alg: Asn1): EncryptionInfo {
  if (!alg.is(0x30)) fail('PKCS12_MALFORMED', 'malformed encryption AlgorithmIdentifier');
  const oid = readOid(alg.child(0));
  try {
    if (oid === PBES2_OID.pbes2) {
      const p = parsePbes2(alg.children[1]);
      return {
        algorithm: describePbes2(p),
        iterations: p.kdf.iterations,
        saltLength: p.kdf.salt.length,
        supported: true,
      };
    }
    if (isLegacyPbe(oid)) {
      const p = parseLegacyPbe(oid, alg.children[1]);
      return { algorithm: p.name, iterations: p.iterations, saltLength: p.salt.length, supported: p.supported };
    }
  } catch (e) {
    if (!isSealpostError(e, 'UNSUPPORTED_ALGORITHM')) throw e;
    return { algorithm: `${oid === PBES2_OID.pbes2 ? 'PBES2' : oid} (${e.message})`, supported: false };
  }
  return { algorithm: oid, supported: false };
}

/** Decrypts; a wrong padding (almost always a wrong password) fails with PASSWORD_WRONG. */
export function decryptWith(alg: Asn1, secret: Secret, data: Uint8Array, budget: WorkBudget, what: string): Uint8Array {
  if (!alg.is(0x30)) fail('PKCS12_MALFORMED', 'malformed encryption AlgorithmIdentifier');
  const oid = readOid(alg.child(0));
  let out: Uint8Array | undefined;
  if (oid === PBES2_OID.pbes2) out = pbes2Decrypt(alg.children[1], secret.utf8, data, budget);
  else if (isLegacyPbe(oid)) out = legacyPbeDecrypt(oid, alg.children[1], secret.bmp, data, budget);
  else fail('UNSUPPORTED_ALGORITHM', `the encryption algorithm ${oid} is not supported`);
  if (out === undefined) fail('PASSWORD_WRONG', `the password is wrong: the ${what} does not decrypt`);
  return out;
}
