/**
 * Certs-only bundles (RFC 8551 §3.6, ".p7c"): a degenerate SignedData (RFC 5652 §5) that carries
 * certificates and nothing signed — how a directory publishes a user's certificates with their CA
 * chains in `userSMIMECertificate`, as Outlook does.
 *
 *   SignedData ::= SEQUENCE {
 *     version CMSVersion,                               -- 1: X.509 certificates only, id-data, no signers
 *     digestAlgorithms DigestAlgorithmIdentifiers,      -- empty SET
 *     encapContentInfo EncapsulatedContentInfo,         -- id-data, eContent absent
 *     certificates [0] IMPLICIT CertificateSet OPTIONAL,
 *     signerInfos SignerInfos }                         -- empty SET
 */
import { decode } from '../asn1/der.ts';
import { integer, oid, seq, set, setOf } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail } from '../errors.ts';
import { wrapContentInfo } from './content-info.ts';

/**
 * The ContentInfo DER of a certs-only SignedData holding `certificates` (DER), each once. The
 * CertificateSet is a SET OF, so DER orders it by encoding (X.690 §11.6), not by the input order.
 */
export function buildCertsOnly(certificates: readonly Uint8Array[]): Uint8Array {
  if (certificates.length === 0) fail('INVALID_ARGUMENT', 'a certs-only bundle needs at least one certificate');
  const unique = new Map<string, Uint8Array>();
  for (const der of certificates) {
    if (!isSequence(der)) fail('INVALID_ARGUMENT', 'a certificate of a certs-only bundle must be one DER SEQUENCE');
    unique.set(Buffer.from(der).toString('base64'), der);
  }
  const signedData = seq(integer(1), set(), seq(oid(OID.data)), setOf([...unique.values()], 0xa0), set());
  return wrapContentInfo(OID.signedData, signedData);
}

/**
 * The DER elements of a concatenation, such as a CA chain stored as certificates back to back
 * (ca_settings.chain). Throws ASN1_MALFORMED when the bytes are not whole DER elements.
 */
export function splitConcatenatedDer(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const el = decode(bytes.subarray(at), { mode: 'der', allowTrailing: true });
    out.push(bytes.subarray(at, at + el.end));
    at += el.end;
  }
  return out;
}

function isSequence(der: Uint8Array): boolean {
  try {
    return decode(der, { mode: 'der', maxDepth: 32 }).is(0x30);
  } catch {
    return false;
  }
}
