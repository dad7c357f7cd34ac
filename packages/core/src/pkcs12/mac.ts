/**
 * The integrity check of a PFX (RFC 7292 §4, §5.1): an HMAC over the authSafe content octets, keyed
 * by the PKCS#12 KDF (Appendix B.2, ID 3), or by PBKDF2 under PBMAC1 (RFC 9579).
 *
 *   MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
 *   DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
 *   PBMAC1-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, messageAuthScheme AlgorithmIdentifier }
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Asn1, readOctetString, readOid, readSmallInt } from '../asn1/der.ts';
import { algorithm, integer, octets, seq } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail } from '../errors.ts';
import type { Secret } from './encryption.ts';
import type { WorkBudget } from './limits.ts';
import { KDF_ID, pkcs12Kdf, pkcs12KdfBlocks } from './pbe.ts';
import { HMAC_OIDS, PBES2_OID, type Pbkdf2Params, parsePbkdf2, pbkdf2 } from './pbes2.ts';

const DIGESTS: Record<string, { name: string; size: number }> = {
  [OID.sha1]: { name: 'sha1', size: 20 },
  [OID.sha224]: { name: 'sha224', size: 28 },
  [OID.sha256]: { name: 'sha256', size: 32 },
  [OID.sha384]: { name: 'sha384', size: 48 },
  [OID.sha512]: { name: 'sha512', size: 64 },
};

export interface MacInfo {
  /** "sha1", "sha256", ... for the classic MAC; "PBMAC1 (PBKDF2-HMAC-SHA256, HMAC-SHA256)" for RFC 9579. */
  algorithm: string;
  iterations: number;
  saltLength: number;
}

export interface ParsedMac {
  info: MacInfo;
  digest: Uint8Array;
  salt: Uint8Array;
  /** The classic MAC's digest. */
  hash?: { name: string; size: number };
  /** PBMAC1's key derivation and HMAC digest name. */
  pbmac1?: { kdf: Pbkdf2Params; hmac: string };
}

export function parseMacData(el: Asn1): ParsedMac {
  if (!el.is(0x30) || el.children.length < 2 || el.children.length > 3) fail('PKCS12_MALFORMED', 'malformed MacData');
  const digestInfo = el.child(0);
  if (!digestInfo.is(0x30) || digestInfo.children.length !== 2) fail('PKCS12_MALFORMED', 'malformed MAC DigestInfo');
  const alg = digestInfo.child(0);
  if (!alg.is(0x30)) fail('PKCS12_MALFORMED', 'malformed MAC algorithm');
  const oid = readOid(alg.child(0));
  const digest = readOctetString(digestInfo.child(1));
  const salt = readOctetString(el.child(1));
  const iterations = el.children[2] ? readSmallInt(el.child(2)) : 1;
  if (oid === PBES2_OID.pbmac1) {
    // RFC 9579 §3: the MAC key comes from PBKDF2; macSalt and iterations of MacData are ignored.
    const p = alg.children[1];
    if (!p?.is(0x30) || p.children.length !== 2) fail('PKCS12_MALFORMED', 'malformed PBMAC1 parameters');
    const kdf = parsePbkdf2(p.child(0));
    const scheme = p.child(1);
    const hmac = scheme.is(0x30) ? HMAC_OIDS[readOid(scheme.child(0))] : undefined;
    if (!hmac) fail('UNSUPPORTED_ALGORITHM', 'the PBMAC1 message authentication scheme is not supported');
    if (kdf.keyLength === undefined) fail('PKCS12_MALFORMED', 'PBMAC1 requires the PBKDF2 key length (RFC 9579 §3)');
    const info = {
      algorithm: `PBMAC1 (PBKDF2-HMAC-${kdf.prf.toUpperCase()}, HMAC-${hmac.toUpperCase()})`,
      iterations: kdf.iterations,
      saltLength: kdf.salt.length,
    };
    return { info, digest, salt, pbmac1: { kdf, hmac } };
  }
  const d = DIGESTS[oid];
  if (!d) fail('UNSUPPORTED_ALGORITHM', `the MAC digest ${oid} is not supported`);
  return { info: { algorithm: d.name, iterations, saltLength: salt.length }, digest, salt, hash: d };
}

/** True when the MAC over `authSafe` is right for `secret`. */
export function verifyMac(mac: ParsedMac, authSafe: Uint8Array, secret: Secret, budget: WorkBudget): boolean {
  let expected: Buffer;
  if (mac.pbmac1) {
    const { kdf, hmac } = mac.pbmac1;
    const key = pbkdf2(kdf, secret.utf8, kdf.keyLength!, budget, 'PBMAC1');
    expected = createHmac(hmac, key).update(authSafe).digest();
  } else {
    const { name, size } = mac.hash!;
    budget.charge(mac.info.iterations, pkcs12KdfBlocks(name, size), `MAC (${name})`);
    const key = pkcs12Kdf(name, secret.bmp, mac.salt, mac.info.iterations, KDF_ID.mac, size);
    expected = createHmac(name, key).update(authSafe).digest();
  }
  return expected.length === mac.digest.length && timingSafeEqual(expected, mac.digest);
}

/** MacData with the classic PKCS#12 MAC (sha1 for `compat`, sha256 for `modern`). */
export function buildMacData(
  hash: 'sha1' | 'sha256',
  authSafe: Uint8Array,
  bmp: Uint8Array,
  iterations: number,
): Buffer {
  const salt = randomBytes(hash === 'sha1' ? 8 : 16);
  const size = hash === 'sha1' ? 20 : 32;
  const key = pkcs12Kdf(hash, bmp, salt, iterations, KDF_ID.mac, size);
  const digest = createHmac(hash, key).update(authSafe).digest();
  return seq(
    seq(algorithm(hash === 'sha1' ? OID.sha1 : OID.sha256, null), octets(digest)),
    octets(salt),
    integer(iterations),
  );
}
