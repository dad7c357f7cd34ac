/**
 * Issuing CRLs (RFC 5280 §5): complete and delta v2 CRLs with authorityKeyIdentifier and cRLNumber,
 * reason codes as entry extensions. Each entry is encoded once and the list is joined with one
 * Buffer.concat, so 100,000 entries cost a few megabytes and no deep argument lists.
 *
 *   TBSCertList ::= SEQUENCE { version Version OPTIONAL (v2), signature AlgorithmIdentifier,
 *       issuer Name, thisUpdate Time, nextUpdate Time OPTIONAL,
 *       revokedCertificates SEQUENCE OF SEQUENCE { userCertificate CertificateSerialNumber,
 *           revocationDate Time, crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
 *       crlExtensions [0] EXPLICIT Extensions OPTIONAL }
 */
import {
  bitString,
  bool,
  explicit,
  integer,
  octets,
  oid,
  seq,
  time,
  tlv,
  tlvHeader,
  unsignedInteger,
} from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail } from '../errors.ts';
import { authorityKeyId, type KeySigner, requireSignerKey } from '../x509/builder.ts';
import type { Certificate } from '../x509/certificate.ts';
import { reasonFromCode } from './crl.ts';
import type { RevocationReason } from './types.ts';

export interface RevokedEntry {
  /** Serial number: unsigned big-endian bytes (as issued) or a bigint. */
  serial: Uint8Array | bigint;
  revokedAt: Date;
  /** Absent or `unspecified`: no reasonCode extension (§5.3.1). */
  reason?: RevocationReason;
  /** When the key is known or suspected to have been compromised (§5.3.2). */
  invalidityDate?: Date;
}

export interface IssueCrlOptions {
  /** The CA certificate: its subject is the CRL issuer, its key (held by `signer`) signs. */
  issuer: Certificate;
  signer: KeySigner;
  thisUpdate: Date;
  /** Required: conforming CAs always include it (§5.1.2.5). */
  nextUpdate: Date;
  crlNumber: bigint | number;
  entries: Iterable<RevokedEntry>;
  /** For a delta CRL: the cRLNumber of the complete CRL it updates (deltaCRLIndicator, §5.2.4). */
  deltaOf?: bigint | number;
}

/** CRLReason names to codes (§5.3.1), from the parser's table so the two cannot disagree. */
const REASON_CODES = new Map<RevocationReason, number>();
for (let code = 0; code <= 10; code++) {
  const r = reasonFromCode(code);
  if (r !== undefined) REASON_CODES.set(r, code);
}

/** GeneralizedTime YYYYMMDDHHMMSSZ without fractions (RFC 5280 §4.1.2.5.2; RFC 6960 uses it throughout). */
export function generalizedTime(d: Date): Buffer {
  const y = d.getUTCFullYear();
  if (!(y >= 0 && y <= 9999)) fail('INVALID_ARGUMENT', 'time outside the years 0000-9999');
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const text = `${p(y, 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x18, Buffer.from(text, 'latin1'));
}

/** The CRLReason code of a reason, for CRLs and OCSP's revocationReason. */
export function reasonCode(reason: RevocationReason): number {
  const code = REASON_CODES.get(reason);
  if (code === undefined) fail('INVALID_ARGUMENT', `unknown revocation reason "${reason}"`);
  return code;
}

function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function crlInteger(n: bigint | number, what: string): Buffer {
  const v = BigInt(n);
  // CRLNumber ::= INTEGER (0..MAX), at most 20 octets (§5.2.3).
  if (v < 0n || v >= 1n << 159n) fail('INVALID_ARGUMENT', `${what} must be between 0 and 2^159 - 1`);
  return integer(v);
}

function serialInteger(serial: Uint8Array | bigint): Buffer {
  if (typeof serial === 'bigint') {
    if (serial <= 0n) fail('INVALID_ARGUMENT', 'a serial number is positive');
    return integer(serial);
  }
  if (serial.length === 0 || serial.length > 20) fail('INVALID_ARGUMENT', 'a serial number is 1 to 20 octets');
  return unsignedInteger(serial);
}

function entry(e: RevokedEntry, delta: boolean): Buffer {
  const exts: Buffer[] = [];
  if (e.reason !== undefined && e.reason !== 'unspecified') {
    // removeFromCRL only makes sense in a delta CRL (§5.3.1).
    if (e.reason === 'removeFromCRL' && !delta) fail('INVALID_ARGUMENT', 'removeFromCRL is for delta CRLs only');
    exts.push(extension(OID.reasonCode, false, tlv(0x0a, Buffer.of(reasonCode(e.reason)))));
  }
  // §5.3.2: invalidityDate is always GeneralizedTime.
  if (e.invalidityDate) exts.push(extension(OID.invalidityDate, false, generalizedTime(e.invalidityDate)));
  const serial = serialInteger(e.serial);
  const date = time(e.revokedAt);
  return exts.length > 0 ? seq(serial, date, seq(...exts)) : seq(serial, date);
}

/** Builds and signs a v2 CRL (DER). */
export async function issueCrl(options: IssueCrlOptions): Promise<Buffer> {
  const { issuer, signer } = options;
  requireSignerKey(issuer, signer.publicKeyInfo, 'CRL issuer');
  if (issuer.keyUsage?.has('cRLSign') === false) fail('KEY_UNSUITABLE', 'the CRL issuer certificate lacks cRLSign');
  if (!(options.thisUpdate.getTime() < options.nextUpdate.getTime())) {
    fail('INVALID_ARGUMENT', 'nextUpdate must be later than thisUpdate');
  }
  const delta = options.deltaOf !== undefined;
  const parts: Buffer[] = [];
  let listLength = 0;
  for (const e of options.entries) {
    const enc = entry(e, delta);
    parts.push(enc);
    listLength += enc.length;
  }
  const crlExtensions = [
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, authorityKeyId(issuer)))),
    extension(OID.cRLNumber, false, crlInteger(options.crlNumber, 'crlNumber')),
  ];
  if (options.deltaOf !== undefined) {
    // §5.2.4: deltaCRLIndicator is critical; the base must be older than this CRL.
    if (BigInt(options.deltaOf) >= BigInt(options.crlNumber)) {
      fail('INVALID_ARGUMENT', 'a delta CRL must have a higher crlNumber than its base');
    }
    crlExtensions.push(extension(OID.deltaCRLIndicator, true, crlInteger(options.deltaOf, 'deltaOf')));
  }
  // An empty list is omitted, not encoded as an empty SEQUENCE (§5.1.2.6).
  const head = [
    integer(1),
    Buffer.from(signer.algorithm),
    Buffer.from(issuer.subject.der),
    time(options.thisUpdate),
    time(options.nextUpdate),
  ];
  const tail = explicit(0, seq(...crlExtensions));
  const body = parts.length > 0 ? [...head, tlvHeader(0x30, listLength), ...parts, tail] : [...head, tail];
  let bodyLength = 0;
  for (const b of body) bodyLength += b.length;
  // Pushing the parts onto an array and concatenating once: no spread of 100,000 arguments.
  const tbs = Buffer.concat([tlvHeader(0x30, bodyLength), ...body]);
  const signature = bitString(await signer.sign(tbs));
  const alg = Buffer.from(signer.algorithm);
  return Buffer.concat([tlvHeader(0x30, tbs.length + alg.length + signature.length), tbs, alg, signature]);
}
