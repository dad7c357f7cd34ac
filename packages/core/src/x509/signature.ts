/**
 * Signature algorithms for certificates and CMS: AlgorithmIdentifier <-> node:crypto.
 * PKCS#1 v1.5 and ECDSA (RFC 5754), RSASSA-PSS (RFC 4055/4056), Ed25519/Ed448 (RFC 8410, RFC 8419),
 * and, for reading old mail only, SHA-1/MD5 and DSA (RFC 3370).
 *
 * Verification always goes through `crypto.verify`, which re-encodes the DigestInfo and compares:
 * nothing here parses a decrypted DigestInfo (the Bleichenbacher-2006 class of forgeries).
 */
import { constants, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { type Asn1, readSmallInt } from '../asn1/der.ts';
import { algorithm, explicit, integer, seq } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail } from '../errors.ts';
import { type AlgorithmIdentifier, parseAlgorithmIdentifier } from './algorithm.ts';
import type { PublicKeyInfo } from './certificate.ts';

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'md5' | 'sha224';

export const HASH_OIDS: Record<HashName, string> = {
  sha1: OID.sha1,
  sha224: OID.sha224,
  sha256: OID.sha256,
  sha384: OID.sha384,
  sha512: OID.sha512,
  md5: OID.md5,
};

const HASH_BY_OID = new Map<string, HashName>(Object.entries(HASH_OIDS).map(([k, v]) => [v, k as HashName]));

const HASH_LENGTHS: Record<HashName, number> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

const HASH_LABEL: Record<HashName, string> = {
  md5: 'MD5',
  sha1: 'SHA-1',
  sha224: 'SHA-224',
  sha256: 'SHA-256',
  sha384: 'SHA-384',
  sha512: 'SHA-512',
};

/** The hash named by a digest AlgorithmIdentifier OID, if Sealpost knows it. */
export function hashFromOid(oid: string): HashName | undefined {
  return HASH_BY_OID.get(oid);
}

export function isLegacyHash(hash: HashName): boolean {
  return hash === 'sha1' || hash === 'md5';
}

type Scheme = 'pkcs1' | 'pss' | 'ecdsa' | 'dsa' | 'ed25519' | 'ed448';

/** A signature AlgorithmIdentifier resolved to what node:crypto needs. */
export interface ResolvedSignatureAlgorithm {
  scheme: Scheme;
  /** Undefined for the pure EdDSA schemes. */
  hash?: HashName;
  /** PSS salt length in bytes. */
  saltLength?: number;
  /** SHA-1, MD5 or DSA: only for reading old mail. */
  legacy: boolean;
  /** A readable name, e.g. "RSASSA-PSS with SHA-256". */
  name: string;
}

const PKCS1: Record<string, HashName> = {
  [OID.sha256WithRSAEncryption]: 'sha256',
  [OID.sha384WithRSAEncryption]: 'sha384',
  [OID.sha512WithRSAEncryption]: 'sha512',
  [OID.sha224WithRSAEncryption]: 'sha224',
  [OID.sha1WithRSAEncryption]: 'sha1',
  [OID.md5WithRSAEncryption]: 'md5',
};

const ECDSA: Record<string, HashName> = {
  [OID.ecdsaWithSHA256]: 'sha256',
  [OID.ecdsaWithSHA384]: 'sha384',
  [OID.ecdsaWithSHA512]: 'sha512',
  [OID.ecdsaWithSHA1]: 'sha1',
};

const DSA: Record<string, HashName> = {
  [OID.dsaWithSHA1]: 'sha1',
  [OID.dsaWithSHA256]: 'sha256',
};

/**
 * Resolves a signature AlgorithmIdentifier. `digestHint` is the SignerInfo digestAlgorithm, used
 * when the signatureAlgorithm names only the key type (rsaEncryption or id-dsa, RFC 5652 §5.3 and
 * RFC 3370 §3). Throws UNSUPPORTED_ALGORITHM for anything else.
 */
export function resolveSignatureAlgorithm(alg: AlgorithmIdentifier, digestHint?: HashName): ResolvedSignatureAlgorithm {
  const o = alg.oid;
  const pkcs1 = PKCS1[o];
  if (pkcs1 !== undefined) {
    requireNullOrAbsent(alg);
    return resolved('pkcs1', pkcs1, `${HASH_LABEL[pkcs1]} with RSA`);
  }
  if (o === OID.rsaEncryption) {
    requireNullOrAbsent(alg);
    if (digestHint === undefined) fail('UNSUPPORTED_ALGORITHM', 'rsaEncryption names no hash outside CMS');
    return resolved('pkcs1', digestHint, `${HASH_LABEL[digestHint]} with RSA`);
  }
  if (o === OID.rsassaPss) return resolvePss(alg);
  const ecdsa = ECDSA[o];
  if (ecdsa !== undefined) {
    // RFC 5758 §3.2 says the parameters MUST be absent, but gpgsm (libksba) writes NULL; NULL
    // carries nothing, so it is accepted on receipt (we never emit it).
    requireNullOrAbsent(alg);
    return resolved('ecdsa', ecdsa, `ECDSA with ${HASH_LABEL[ecdsa]}`);
  }
  const dsa = DSA[o] ?? (o === OID.dsa ? digestHint : undefined);
  if (dsa !== undefined) return { scheme: 'dsa', hash: dsa, legacy: true, name: `DSA with ${HASH_LABEL[dsa]}` };
  if (o === OID.ed25519 || o === OID.ed448) {
    // RFC 8410 §3: the parameters MUST be absent.
    if (alg.params !== undefined) fail('UNSUPPORTED_ALGORITHM', 'EdDSA signature algorithm with parameters');
    return o === OID.ed25519
      ? { scheme: 'ed25519', legacy: false, name: 'Ed25519' }
      : { scheme: 'ed448', legacy: false, name: 'Ed448' };
  }
  fail('UNSUPPORTED_ALGORITHM', `unsupported signature algorithm ${o}`);
}

function resolved(scheme: Scheme, hash: HashName, name: string): ResolvedSignatureAlgorithm {
  return { scheme, hash, legacy: isLegacyHash(hash), name };
}

function requireNullOrAbsent(alg: AlgorithmIdentifier): void {
  if (alg.params !== undefined && !alg.params.is(0x05)) {
    fail('UNSUPPORTED_ALGORITHM', `unexpected parameters for ${alg.oid}`);
  }
}

/**
 *   RSASSA-PSS-params ::= SEQUENCE {
 *     hashAlgorithm      [0] HashAlgorithm      DEFAULT sha1,
 *     maskGenAlgorithm   [1] MaskGenAlgorithm   DEFAULT mgf1SHA1,
 *     saltLength         [2] INTEGER            DEFAULT 20,
 *     trailerField       [3] TrailerField       DEFAULT trailerFieldBC }
 * node:crypto uses the signature hash for MGF1 too, so a different MGF1 hash is refused (RFC 4056 §3 allows
 * it, nobody sends it).
 */
function resolvePss(alg: AlgorithmIdentifier): ResolvedSignatureAlgorithm {
  let hash: HashName = 'sha1';
  let mgfHash: HashName = 'sha1';
  let saltLength = 20;
  const p = alg.params;
  if (p !== undefined && !p.is(0x05)) {
    if (!p.is(0x30)) fail('UNSUPPORTED_ALGORITHM', 'malformed RSASSA-PSS parameters');
    let last = -1;
    for (const field of p.children) {
      if (field.cls !== 2 || !field.constructed || field.children.length !== 1 || field.tagNumber <= last) {
        fail('UNSUPPORTED_ALGORITHM', 'malformed RSASSA-PSS parameters');
      }
      last = field.tagNumber;
      const inner = field.child(0);
      switch (field.tagNumber) {
        case 0:
          hash = pssHash(inner);
          break;
        case 1: {
          const mgf = parseAlgorithmIdentifier(inner);
          if (mgf.oid !== OID.mgf1 || mgf.params === undefined)
            fail('UNSUPPORTED_ALGORITHM', 'RSASSA-PSS with a mask generation function other than MGF1');
          mgfHash = pssHash(mgf.params);
          break;
        }
        case 2:
          saltLength = readSmallInt(inner, 1024);
          break;
        case 3:
          if (readSmallInt(inner, 1024) !== 1)
            fail('UNSUPPORTED_ALGORITHM', 'RSASSA-PSS with a trailer field other than 1');
          break;
        default:
          fail('UNSUPPORTED_ALGORITHM', 'malformed RSASSA-PSS parameters');
      }
    }
  }
  if (mgfHash !== hash) {
    fail(
      'UNSUPPORTED_ALGORITHM',
      `RSASSA-PSS with MGF1 over ${HASH_LABEL[mgfHash]} but a ${HASH_LABEL[hash]} message hash`,
    );
  }
  return { scheme: 'pss', hash, saltLength, legacy: isLegacyHash(hash), name: `RSASSA-PSS with ${HASH_LABEL[hash]}` };
}

function pssHash(el: Asn1): HashName {
  const a = parseAlgorithmIdentifier(el);
  requireNullOrAbsent(a);
  const h = hashFromOid(a.oid);
  if (h === undefined) fail('UNSUPPORTED_ALGORITHM', `RSASSA-PSS with unsupported hash ${a.oid}`);
  return h;
}

/** Which node:crypto key types each scheme may be used with. */
const KEY_TYPES: Record<Scheme, string[]> = {
  pkcs1: ['rsa'],
  pss: ['rsa', 'rsa-pss'],
  ecdsa: ['ec'],
  dsa: ['dsa'],
  ed25519: ['ed25519'],
  ed448: ['ed448'],
};

/** RSA moduli RFC 8551 §2.3 accepts for new signatures; smaller ones are legacy (old mail only). */
const RSA_MIN_BITS = 2048;
/** Larger moduli cost seconds to verify: refused, so a crafted message cannot make verification slow. */
const RSA_MAX_BITS = 16384;

/**
 * Why a signer key is legacy (an RSA modulus under 2048 bits), or undefined when it is not. Keys too
 * large to verify in bounded time are refused with UNSUPPORTED_ALGORITHM.
 */
export function legacyKeyReason(key: PublicKeyInfo): string | undefined {
  if (key.kind !== 'rsa' && key.kind !== 'rsa-pss') return undefined;
  if (key.bits > RSA_MAX_BITS) fail('UNSUPPORTED_ALGORITHM', `RSA keys over ${RSA_MAX_BITS} bits are not verified`);
  if (key.bits < RSA_MIN_BITS) {
    return `a ${key.bits}-bit RSA key is a legacy key (at least ${RSA_MIN_BITS} bits are required), verified only when reading old mail is allowed`;
  }
  return undefined;
}

/**
 * Verifies `signature` over `data`. Returns false for a wrong signature; throws UNSUPPORTED_ALGORITHM
 * for unknown algorithms and for legacy ones unless `allowLegacy`, KEY_UNSUITABLE when the key does
 * not fit the algorithm. `hash` is the CMS digestAlgorithm, needed for signatureAlgorithm rsaEncryption.
 */
export function verifySignature(
  algorithm: AlgorithmIdentifier,
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
  opts: { allowLegacy?: boolean; hash?: HashName } = {},
): boolean {
  return verifyResolved(resolveSignatureAlgorithm(algorithm, opts.hash), publicKey, data, signature, opts.allowLegacy);
}

export function verifyResolved(
  alg: ResolvedSignatureAlgorithm,
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
  allowLegacy = false,
): boolean {
  if (alg.legacy && !allowLegacy) {
    fail('UNSUPPORTED_ALGORITHM', `${alg.name} is a legacy algorithm, accepted only for reading old mail`);
  }
  const keyType = publicKey.asymmetricKeyType ?? 'unknown';
  if (!KEY_TYPES[alg.scheme].includes(keyType)) {
    fail('KEY_UNSUITABLE', `a ${keyType} key cannot verify a ${alg.name} signature`);
  }
  try {
    if (alg.scheme === 'ed25519' || alg.scheme === 'ed448') return cryptoVerify(null, data, publicKey, signature);
    if (alg.scheme === 'pss') {
      return cryptoVerify(
        alg.hash!,
        data,
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.saltLength! },
        signature,
      );
    }
    if (alg.scheme === 'pkcs1') {
      return cryptoVerify(alg.hash!, data, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
    }
    return cryptoVerify(alg.hash!, data, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    // OpenSSL reports some malformed signatures (wrong length, bad DER) as errors, not as "false".
    return false;
  }
}

export interface SignatureAlgorithm {
  /** The AlgorithmIdentifier DER. */
  algorithm: Buffer;
  sign(data: Uint8Array): Buffer;
}

const SIGNING_HASHES: HashName[] = ['sha256', 'sha384', 'sha512', 'sha224'];

const PKCS1_OID: Partial<Record<HashName, string>> = {
  sha256: OID.sha256WithRSAEncryption,
  sha384: OID.sha384WithRSAEncryption,
  sha512: OID.sha512WithRSAEncryption,
  sha224: OID.sha224WithRSAEncryption,
};

const ECDSA_OID: Partial<Record<HashName, string>> = {
  sha256: OID.ecdsaWithSHA256,
  sha384: OID.ecdsaWithSHA384,
  sha512: OID.ecdsaWithSHA512,
};

/**
 * The signature algorithm to sign with a private key. RSA: PKCS#1 v1.5 (NULL parameters, RFC 4055 §5)
 * or PSS with MGF1 over the same hash and a salt as long as the hash (RFC 4055 §3.1, what OpenSSL 3
 * verifies); ECDSA with absent parameters and DER signatures (RFC 5758 §3.2); Ed25519 pure (RFC 8410),
 * for which `hash` is ignored.
 */
export function signatureAlgorithmFor(key: KeyObject, hash: HashName, pss: boolean): SignatureAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') {
    return { algorithm: algorithm(OID.ed25519), sign: (data) => cryptoSign(null, data, key) };
  }
  if (!SIGNING_HASHES.includes(hash)) fail('UNSUPPORTED_ALGORITHM', `Sealpost does not sign with ${HASH_LABEL[hash]}`);
  if (type === 'rsa' || type === 'rsa-pss') {
    if (pss || type === 'rsa-pss') {
      const saltLength = HASH_LENGTHS[hash];
      // RFC 4055 §2.1 sha256Identifier etc. carry NULL parameters; OpenSSL writes them the same way.
      const hashAlg = algorithm(HASH_OIDS[hash], null);
      const params = seq(
        explicit(0, hashAlg),
        explicit(1, algorithm(OID.mgf1, hashAlg)),
        explicit(2, integer(saltLength)),
      );
      return {
        algorithm: algorithm(OID.rsassaPss, params),
        sign: (data) => cryptoSign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }),
      };
    }
    return {
      algorithm: algorithm(PKCS1_OID[hash]!, null),
      sign: (data) => cryptoSign(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }),
    };
  }
  if (type === 'ec') {
    const o = ECDSA_OID[hash];
    if (o === undefined) fail('UNSUPPORTED_ALGORITHM', `ECDSA with ${HASH_LABEL[hash]} is not supported`);
    return { algorithm: algorithm(o), sign: (data) => cryptoSign(hash, data, { key, dsaEncoding: 'der' }) };
  }
  fail('KEY_UNSUITABLE', `a ${type ?? 'unknown'} key cannot sign (RSA, ECDSA or Ed25519 keys can)`);
}
