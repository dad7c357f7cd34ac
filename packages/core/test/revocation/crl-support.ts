/**
 * Builds CRLs for tests that OpenSSL's `ca` cannot make (100,000 entries, delta CRLs, indirect
 * entries, bad encodings). Everything is DER composed with the project's encoder and signed by
 * node:crypto; real OpenSSL CRLs come from openssl-ca.ts.
 */
import type { KeyObject } from 'node:crypto';
import { bool, explicit, integer, octets, oid, seq, time, tlv } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { signatureAlgorithmFor } from '../../src/x509/signature.ts';

export interface EntrySpec {
  serial: bigint;
  date: Date;
  /** CRLReason code (§5.3.1). */
  reason?: number;
  /** Encoded GeneralNames for certificateIssuer. */
  certificateIssuer?: Uint8Array;
}

export interface CrlSpec {
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Omit the version (a v1 CRL). */
  v1?: boolean;
  entries?: EntrySpec[];
  /** Complete Extension encodings. */
  extensions?: Uint8Array[];
}

export function extension(oidText: string, value: Uint8Array, critical = false): Buffer {
  return critical ? seq(oid(oidText), bool(true), octets(value)) : seq(oid(oidText), octets(value));
}

export function crlNumber(n: number): Buffer {
  return extension(OID.cRLNumber, integer(n));
}

/** The TBSCertList, for tests that need to tamper before signing. */
export function tbsCertList(spec: CrlSpec, signatureAlgorithm: Uint8Array): Buffer {
  const entries = (spec.entries ?? []).map((e) => {
    const exts: Buffer[] = [];
    if (e.reason !== undefined) exts.push(extension(OID.reasonCode, tlv(0x0a, Buffer.from([e.reason]))));
    if (e.certificateIssuer) exts.push(extension(OID.certificateIssuer, e.certificateIssuer, true));
    return exts.length > 0 ? seq(integer(e.serial), time(e.date), seq(...exts)) : seq(integer(e.serial), time(e.date));
  });
  const fields: Uint8Array[] = [];
  if (!spec.v1) fields.push(integer(1));
  fields.push(signatureAlgorithm, spec.issuer, time(spec.thisUpdate));
  if (spec.nextUpdate) fields.push(time(spec.nextUpdate));
  // Not seq(...entries): 100,000 spread arguments overflow the stack.
  if (entries.length > 0) fields.push(seq(Buffer.concat(entries)));
  if (spec.extensions && spec.extensions.length > 0) fields.push(explicit(0, seq(...spec.extensions)));
  return seq(...fields);
}

export function buildCrl(spec: CrlSpec, key: KeyObject): Buffer {
  const alg = signatureAlgorithmFor(key, 'sha256', false);
  const tbs = tbsCertList(spec, alg.algorithm);
  return seq(tbs, alg.algorithm, tlv(0x03, Buffer.from([0]), alg.sign(tbs)));
}
