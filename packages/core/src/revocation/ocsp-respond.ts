/**
 * The responder side of OCSP (RFC 6960): requests parsed strictly, BasicOCSPResponses built and
 * signed by the CA or by a responder it delegated to (§4.2.2.2), and the unsigned error responses.
 * Looking up the status is the caller's job: this module only speaks the protocol.
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 *   TBSRequest ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
 *       requestorName [1] EXPLICIT GeneralName OPTIONAL, requestList SEQUENCE OF Request,
 *       requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 *   Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 *   CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *       issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 */
import { createHash } from 'node:crypto';
import { type Asn1, decode, readOctetString, readSmallInt } from '../asn1/der.ts';
import { algorithm, bitString, explicit, octets, oid, seq, tlv } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail, SealpostError } from '../errors.ts';
import { parseAlgorithmIdentifier } from '../x509/algorithm.ts';
import { type KeySigner, keyIdentifier, requireSignerKey } from '../x509/builder.ts';
import { Certificate } from '../x509/certificate.ts';
import { parseExtensionList } from '../x509/extensions.ts';
import { HASH_OIDS, type HashName, hashFromOid } from '../x509/signature.ts';
import { generalizedTime, reasonCode } from './crl-issue.ts';
import type { CertId } from './ocsp.ts';
import type { RevocationReason } from './types.ts';

/** Requests for more certificates than this are refused (malformedRequest): nobody needs more. */
const MAX_REQUESTS = 64;
const MAX_REQUEST_BYTES = 64 * 1024;

/** A CertID as received: `der` is echoed in the answer, byte for byte. */
export interface RequestedCertId extends CertId {
  der: Uint8Array;
}

export interface ParsedOcspRequest {
  requests: RequestedCertId[];
  /** The nonce's octets (RFC 8954), to be echoed. */
  nonce?: Uint8Array;
  /** The request carried an optionalSignature (not verified: Sealpost answers anyone). */
  signed: boolean;
}

function bad(what: string): never {
  fail('OCSP_MALFORMED', `malformed OCSP request: ${what}`);
}

/** CertID hashes a responder can compute: SHA-1 (the default everywhere) and the SHA-2 family. */
const CERT_ID_HASHES = new Set<HashName>(['sha1', 'sha256', 'sha384', 'sha512']);

/**
 * Parses a DER OCSPRequest. Throws OCSP_MALFORMED (answer `malformedRequest`) for anything
 * malformed, for an unknown CertID hash, a nonce outside 1-32 octets (RFC 8954 §2.1) or a
 * critical extension Sealpost does not know.
 */
export function parseOcspRequest(der: Uint8Array): ParsedOcspRequest {
  try {
    return parseRequest(der);
  } catch (e) {
    if (e instanceof SealpostError && e.code !== 'OCSP_MALFORMED') {
      throw new SealpostError('OCSP_MALFORMED', `malformed OCSP request: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function parseRequest(der: Uint8Array): ParsedOcspRequest {
  if (der.length > MAX_REQUEST_BYTES) bad(`larger than ${MAX_REQUEST_BYTES} bytes`);
  const root = decode(der, { maxDepth: 24, maxElements: 8192 });
  if (!root.is(0x30) || root.children.length < 1 || root.children.length > 2) bad('not an OCSPRequest');
  const sig = root.children[1];
  if (sig !== undefined && (!sig.isContext(0) || !sig.constructed)) bad('malformed optionalSignature');
  const tbs = root.child(0);
  if (!tbs.is(0x30)) bad('malformed TBSRequest');
  const f = tbs.children;
  let i = 0;
  if (f[i]?.isContext(0)) {
    const v = f[i]!;
    if (!v.constructed || v.children.length !== 1 || readSmallInt(v.child(0), 10) !== 0) bad('only v1 is defined');
    i++;
  }
  if (f[i]?.isContext(1)) {
    if (!f[i]!.constructed || f[i]!.children.length !== 1) bad('malformed requestorName');
    i++;
  }
  const list = f[i++];
  if (!list?.is(0x30) || list.children.length === 0) bad('the requestList must be a non-empty SEQUENCE');
  if (list.children.length > MAX_REQUESTS) bad(`more than ${MAX_REQUESTS} certificates in one request`);
  const requests = list.children.map((r) => {
    if (!r.is(0x30) || r.children.length < 1 || r.children.length > 2) bad('malformed Request');
    const ext = r.children[1];
    if (ext !== undefined) {
      if (!ext.isContext(0) || !ext.constructed || ext.children.length !== 1) bad('malformed singleRequestExtensions');
      const critical = parseExtensionList(ext.child(0), bad).find((e) => e.critical);
      if (critical) bad(`unsupported critical extension ${critical.oid}`);
    }
    return certId(r.child(0));
  });
  const out: ParsedOcspRequest = { requests, signed: sig !== undefined };
  if (f[i]?.isContext(2)) {
    const e = f[i++]!;
    if (!e.constructed || e.children.length !== 1) bad('malformed requestExtensions');
    for (const ext of parseExtensionList(e.child(0), bad)) {
      if (ext.oid === OID.ocspNonce) out.nonce = nonceOf(ext.value);
      else if (ext.critical) bad(`unsupported critical extension ${ext.oid}`);
    }
  }
  if (i !== f.length) bad('unexpected field in TBSRequest');
  return out;
}

/** RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32)) inside extnValue. */
function nonceOf(value: Uint8Array): Uint8Array {
  const n = decode(value);
  if (!n.is(0x04)) bad('the nonce must be an OCTET STRING');
  if (n.value.length < 1 || n.value.length > 32) bad('the nonce must be 1 to 32 octets (RFC 8954)');
  return n.value;
}

function certId(el: Asn1): RequestedCertId {
  if (!el.is(0x30) || el.children.length !== 4) bad('malformed CertID');
  const alg = parseAlgorithmIdentifier(el.child(0));
  if (alg.params !== undefined && !alg.params.is(0x05)) bad('unexpected CertID hash parameters');
  const hash = hashFromOid(alg.oid);
  if (hash === undefined || !CERT_ID_HASHES.has(hash)) bad(`unsupported CertID hash ${alg.oid}`);
  const issuerNameHash = readOctetString(el.child(1));
  const issuerKeyHash = readOctetString(el.child(2));
  const length = createHash(hash).digest().length;
  if (issuerNameHash.length !== length || issuerKeyHash.length !== length) bad('CertID hash of the wrong length');
  const serial = el.child(3);
  if (!serial.is(0x02)) bad('serialNumber must be an INTEGER');
  return { hash, issuerNameHash, issuerKeyHash, serialNumber: serial.value, der: el.raw };
}

/** Whether a CertID names a certificate issued by `issuer` (its name and key hashes match). */
export function certIdIssuedBy(id: CertId, issuer: Certificate): boolean {
  const h = (data: Uint8Array) => createHash(id.hash).update(data).digest();
  return (
    Buffer.compare(h(issuer.subject.der), Buffer.from(id.issuerNameHash)) === 0 &&
    Buffer.compare(h(Certificate.spkiKeyBits(issuer.publicKeyInfo.spki)), Buffer.from(id.issuerKeyHash)) === 0
  );
}

export type OcspCertStatus =
  | { status: 'good' }
  | { status: 'revoked'; revokedAt: Date; reason?: RevocationReason }
  | { status: 'unknown' };

export type OcspAnswer = OcspCertStatus & {
  /** From the request (echoed as received) or built with `certIdFor`. */
  certId: CertId | RequestedCertId;
  thisUpdate: Date;
  nextUpdate?: Date;
};

export interface OcspResponseOptions {
  /** The certificate of the signing key: the CA itself, or its delegated responder. */
  responder: Certificate;
  signer: KeySigner;
  producedAt: Date;
  answers: OcspAnswer[];
  /** The request's nonce, echoed (RFC 8954 §2.1). */
  nonce?: Uint8Array;
  /**
   * Send the responder's certificate in `certs`. Default: when some answer is about a certificate
   * the responder did not issue, i.e. it is a delegated responder that clients must be shown.
   */
  includeCertificate?: boolean;
}

function encodeCertId(id: CertId | RequestedCertId): Uint8Array {
  if ('der' in id) return id.der;
  // RFC 6960 §4.1.1 examples and OpenSSL write the hash AlgorithmIdentifier with NULL parameters.
  return seq(
    algorithm(HASH_OIDS[id.hash], null),
    octets(id.issuerNameHash),
    octets(id.issuerKeyHash),
    tlv(0x02, id.serialNumber),
  );
}

/**
 *   SingleResponse ::= SEQUENCE { certID CertID, certStatus CertStatus, thisUpdate GeneralizedTime,
 *       nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL, singleExtensions [1] EXPLICIT Extensions OPTIONAL }
 *   CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }
 *   RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
 */
function singleResponse(a: OcspAnswer): Buffer {
  let status: Buffer;
  if (a.status === 'good') status = tlv(0x80);
  else if (a.status === 'unknown') status = tlv(0x82);
  else {
    // As on the CRL, unspecified is said by leaving the reason out (RFC 5280 §5.3.1).
    const reason =
      a.reason !== undefined && a.reason !== 'unspecified'
        ? [explicit(0, tlv(0x0a, Buffer.of(reasonCode(a.reason))))]
        : [];
    status = tlv(0xa1, generalizedTime(a.revokedAt), ...reason);
  }
  if (a.nextUpdate !== undefined && a.nextUpdate.getTime() < a.thisUpdate.getTime()) {
    fail('INVALID_ARGUMENT', 'nextUpdate must not be earlier than thisUpdate');
  }
  const next = a.nextUpdate !== undefined ? [explicit(0, generalizedTime(a.nextUpdate))] : [];
  return seq(encodeCertId(a.certId), status, generalizedTime(a.thisUpdate), ...next);
}

/**
 * Builds a successful OCSPResponse carrying a signed BasicOCSPResponse (§4.2.1), responderID byKey.
 * A delegated responder must hold id-kp-OCSPSigning (§4.2.2.2); the signer must hold the
 * responder certificate's key (KEY_UNSUITABLE, KEY_MISMATCH).
 *
 *   BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm
 *       AlgorithmIdentifier, signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 *   ResponseData ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, responderID ResponderID,
 *       producedAt GeneralizedTime, responses SEQUENCE OF SingleResponse,
 *       responseExtensions [1] EXPLICIT Extensions OPTIONAL }
 */
export async function buildOcspResponse(options: OcspResponseOptions): Promise<Buffer> {
  const { responder, signer } = options;
  requireSignerKey(responder, signer.publicKeyInfo, 'OCSP responder');
  if (options.answers.length === 0) fail('INVALID_ARGUMENT', 'an OCSP response answers at least one certificate');
  const delegated = options.answers.some((a) => !certIdIssuedBy(a.certId, responder));
  if (delegated && !responder.extKeyUsage?.includes(OID.ocspSigning)) {
    fail('KEY_UNSUITABLE', 'a delegated OCSP responder certificate needs id-kp-OCSPSigning (RFC 6960 §4.2.2.2)');
  }
  if (options.nonce !== undefined && (options.nonce.length < 1 || options.nonce.length > 32)) {
    fail('INVALID_ARGUMENT', 'an OCSP nonce is 1 to 32 octets (RFC 8954)');
  }
  const fields: Buffer[] = [
    // ResponderID byKey [2] KeyHash: SHA-1 of the subjectPublicKey bits (§4.2.1).
    explicit(2, octets(keyIdentifier(signer.publicKeyInfo))),
    generalizedTime(options.producedAt),
    seq(...options.answers.map(singleResponse)),
  ];
  if (options.nonce !== undefined) {
    fields.push(explicit(1, seq(seq(oid(OID.ocspNonce), octets(octets(options.nonce))))));
  }
  const tbs = seq(...fields);
  const basic = [tbs, Buffer.from(signer.algorithm), bitString(await signer.sign(tbs))];
  if (options.includeCertificate ?? delegated) basic.push(explicit(0, seq(responder.der)));
  return seq(tlv(0x0a, Buffer.of(0)), explicit(0, seq(oid(OID.ocspBasic), octets(seq(...basic)))));
}

export type OcspErrorStatus = 'malformedRequest' | 'internalError' | 'tryLater' | 'sigRequired' | 'unauthorized';

const ERROR_STATUS: Record<OcspErrorStatus, number> = {
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
};

/** An unsuccessful OCSPResponse: only the status, no responseBytes, unsigned (§4.2.1). */
export function ocspErrorResponse(status: OcspErrorStatus): Buffer {
  const code = ERROR_STATUS[status];
  if (code === undefined) fail('INVALID_ARGUMENT', `unknown OCSP response status "${status}"`);
  return seq(tlv(0x0a, Buffer.of(code)));
}
