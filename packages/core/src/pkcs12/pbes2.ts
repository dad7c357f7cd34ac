/**
 * PBES2 with PBKDF2 (RFC 8018 §6.2, §5.2, Appendix A.2-A.4) for shrouded keys and encrypted
 * contents, and the PBKDF2 parameters PBMAC1 shares (RFC 9579). Passwords are UTF-8 here, unlike
 * the PKCS#12 KDF's BMPString (RFC 9579 §4 and RFC 7292 Appendix B.1).
 *
 *   PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier }
 *   PBKDF2-params ::= SEQUENCE { salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
 *       iterationCount INTEGER (1..MAX), keyLength INTEGER (1..MAX) OPTIONAL,
 *       prf AlgorithmIdentifier DEFAULT algid-hmacWithSHA1 }
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync } from 'node:crypto';
import { type Asn1, readInteger, readOctetString, readOid, readSmallInt } from '../asn1/der.ts';
import { algorithm, integer, octets, seq } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail } from '../errors.ts';
import type { WorkBudget } from './limits.ts';
import { rc2CbcDecrypt } from './rc2.ts';

export const PBES2_OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbmac1: '1.2.840.113549.1.5.14',
} as const;

/** HMAC PRFs (RFC 8018 Appendix B.1) by OID, as node:crypto digest names. */
export const HMAC_OIDS: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
  '1.2.840.113549.2.12': 'sha512-224',
  '1.2.840.113549.2.13': 'sha512-256',
};

const HMAC_WITH_SHA256 = '1.2.840.113549.2.9';

interface BlockCipher {
  name: string;
  /** node:crypto cipher name; undefined for RC2, which Sealpost decrypts itself. */
  node?: string;
  keyLength: number;
  ivLength: number;
}

const CIPHERS: Record<string, BlockCipher> = {
  [OID.aes128CBC]: { name: 'AES-128-CBC', node: 'aes-128-cbc', keyLength: 16, ivLength: 16 },
  [OID.aes192CBC]: { name: 'AES-192-CBC', node: 'aes-192-cbc', keyLength: 24, ivLength: 16 },
  [OID.aes256CBC]: { name: 'AES-256-CBC', node: 'aes-256-cbc', keyLength: 32, ivLength: 16 },
  [OID.desEDE3CBC]: { name: 'DES-EDE3-CBC', node: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
  [OID.rc2CBC]: { name: 'RC2-CBC', keyLength: 16, ivLength: 8 },
};

export interface Pbkdf2Params {
  salt: Uint8Array;
  iterations: number;
  keyLength?: number;
  /** node:crypto digest name of the HMAC PRF. */
  prf: string;
}

/** Reads PBKDF2-params (RFC 8018 Appendix A.2). */
export function parsePbkdf2(kdf: Asn1): Pbkdf2Params {
  if (!kdf.is(0x30) || readOid(kdf.child(0)) !== PBES2_OID.pbkdf2) {
    fail('UNSUPPORTED_ALGORITHM', 'only PBKDF2 is supported as the password-based key derivation');
  }
  const p = kdf.child(1);
  if (!p.is(0x30)) fail('PKCS12_MALFORMED', 'malformed PBKDF2 parameters');
  if (p.child(0).is(0x30)) fail('UNSUPPORTED_ALGORITHM', 'PBKDF2 with a salt from another source is not supported');
  const salt = readOctetString(p.child(0));
  const iterations = readSmallInt(p.child(1));
  let i = 2;
  let keyLength: number | undefined;
  if (p.children[i]?.is(0x02)) keyLength = readSmallInt(p.child(i++), 1024);
  let prf = 'sha1';
  const prfEl = p.children[i];
  if (prfEl) {
    if (!prfEl.is(0x30)) fail('PKCS12_MALFORMED', 'malformed PBKDF2 PRF');
    const oid = readOid(prfEl.child(0));
    const name = HMAC_OIDS[oid];
    if (!name) fail('UNSUPPORTED_ALGORITHM', `the PBKDF2 PRF ${oid} is not supported`);
    prf = name;
  }
  return keyLength === undefined ? { salt, iterations, prf } : { salt, iterations, keyLength, prf };
}

export interface Pbes2Params {
  kdf: Pbkdf2Params;
  cipher: string;
  cipherOid: string;
  iv: Uint8Array;
  keyLength: number;
  /** RC2 effective key bits (RFC 8018 Appendix B.2.3). */
  rc2Bits?: number;
}

/** RC2-CBC-Parameter version numbers for the common effective key sizes (RFC 8018 Appendix B.2.3). */
function rc2BitsFromVersion(version: number): number {
  if (version === 160) return 40;
  if (version === 120) return 64;
  if (version === 58) return 128;
  if (version >= 256) return version;
  fail('UNSUPPORTED_ALGORITHM', `the RC2 parameter version ${version} is not supported`);
}

export function parsePbes2(params: Asn1 | undefined): Pbes2Params {
  if (!params?.is(0x30) || params.children.length !== 2) fail('PKCS12_MALFORMED', 'malformed PBES2 parameters');
  const kdf = parsePbkdf2(params.child(0));
  const scheme = params.child(1);
  if (!scheme.is(0x30)) fail('PKCS12_MALFORMED', 'malformed PBES2 encryption scheme');
  const cipherOid = readOid(scheme.child(0));
  const c = CIPHERS[cipherOid];
  if (!c) fail('UNSUPPORTED_ALGORITHM', `the PBES2 cipher ${cipherOid} is not supported`);
  const p = scheme.children[1];
  let iv: Uint8Array;
  let rc2Bits: number | undefined;
  if (cipherOid === OID.rc2CBC) {
    // RC2-CBC-Parameter ::= SEQUENCE { rc2ParameterVersion INTEGER OPTIONAL, iv OCTET STRING }
    if (!p?.is(0x30)) fail('PKCS12_MALFORMED', 'malformed RC2-CBC parameters');
    rc2Bits = p.children.length === 2 ? rc2BitsFromVersion(Number(readInteger(p.child(0)))) : 32;
    iv = readOctetString(p.child(p.children.length - 1));
  } else {
    if (!p) fail('PKCS12_MALFORMED', `${c.name} without an IV`);
    iv = readOctetString(p);
  }
  if (iv.length !== c.ivLength) fail('PKCS12_MALFORMED', `the ${c.name} IV must be ${c.ivLength} bytes`);
  const keyLength = kdf.keyLength ?? (rc2Bits !== undefined ? Math.ceil(rc2Bits / 8) : c.keyLength);
  if (cipherOid !== OID.rc2CBC && keyLength !== c.keyLength) {
    fail('PKCS12_MALFORMED', `PBKDF2 key length ${keyLength} does not fit ${c.name}`);
  }
  const out: Pbes2Params = { kdf, cipher: c.name, cipherOid, iv, keyLength };
  if (rc2Bits !== undefined) out.rc2Bits = rc2Bits;
  return out;
}

/** Derives with PBKDF2 after charging the work budget. */
export function pbkdf2(p: Pbkdf2Params, password: Uint8Array, keyLength: number, budget: WorkBudget, what: string) {
  budget.charge(p.iterations, 1, what);
  return pbkdf2Sync(password, p.salt, p.iterations, keyLength, p.prf);
}

/** PBES2 decryption; undefined when the padding is wrong (a wrong password). */
export function pbes2Decrypt(
  params: Asn1 | undefined,
  utf8: Uint8Array,
  data: Uint8Array,
  budget: WorkBudget,
): Uint8Array | undefined {
  const p = parsePbes2(params);
  const key = pbkdf2(p.kdf, utf8, p.keyLength, budget, `PBES2 (${p.cipher})`);
  if (p.rc2Bits !== undefined) return rc2CbcDecrypt(key, p.rc2Bits, p.iv, data);
  if (data.length === 0 || data.length % p.iv.length !== 0) return undefined;
  try {
    const d = createDecipheriv(CIPHERS[p.cipherOid]!.node!, key, p.iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    return undefined;
  }
}

/** PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC (the `modern` profile). */
export function pbes2Encrypt(
  utf8: Uint8Array,
  salt: Uint8Array,
  iv: Uint8Array,
  iterations: number,
  data: Uint8Array,
): { algorithm: Buffer; ciphertext: Buffer } {
  const key = pbkdf2Sync(utf8, salt, iterations, 32, 'sha256');
  const c = createCipheriv('aes-256-cbc', key, iv);
  const ciphertext = Buffer.concat([c.update(data), c.final()]);
  const kdf = algorithm(PBES2_OID.pbkdf2, seq(octets(salt), integer(iterations), algorithm(HMAC_WITH_SHA256, null)));
  return { algorithm: algorithm(PBES2_OID.pbes2, seq(kdf, algorithm(OID.aes256CBC, octets(iv)))), ciphertext };
}

/** A short description for inspection, e.g. "PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC)". */
export function describePbes2(p: Pbes2Params): string {
  return `PBES2 (PBKDF2-HMAC-${p.kdf.prf.toUpperCase()}, ${p.cipher}${p.rc2Bits !== undefined ? `/${p.rc2Bits}` : ''})`;
}
