/**
 * OCSP (RFC 6960): requests built, responses parsed strictly and verified against the CA that
 * issued the certificate in question, or a responder the CA delegated to (§4.2.2.2).
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 *   TBSRequest ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
 *       requestorName [1] EXPLICIT GeneralName OPTIONAL, requestList SEQUENCE OF Request,
 *       requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 *   Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 *   CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *       issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Asn1, decode, readBitString, readOctetString, readOid, readSmallInt, readTime } from '../asn1/der.ts';
import { algorithm, explicit, octets, oid, seq, tlv } from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { fail, SealpostError } from '../errors.ts';
import { type AlgorithmIdentifier, parseAlgorithmIdentifier } from '../x509/algorithm.ts';
import { Certificate } from '../x509/certificate.ts';
import { parseExtensionList } from '../x509/extensions.ts';
import { type Name, namesEqual, parseName } from '../x509/name.ts';
import { HASH_OIDS, type HashName, hashFromOid, verifySignature } from '../x509/signature.ts';
import { readEnumerated, reasonFromCode, serialContent } from './crl.ts';
import type { RevocationReason } from './types.ts';

export interface CertId {
  hash: HashName;
  issuerNameHash: Uint8Array;
  issuerKeyHash: Uint8Array;
  /** The serial number INTEGER's content octets (two's complement, as in `serialContent`). */
  serialNumber: Uint8Array;
}

function integerContent(el: Asn1): Uint8Array {
  if (!el.is(0x02)) bad('serialNumber must be an INTEGER');
  return el.value;
}

/** The CertID of a certificate (§4.1.1): hashes of its issuer's name and of its issuer's key bits. */
export function certIdFor(certificate: Certificate, issuer: Certificate, hash: HashName = 'sha1'): CertId {
  const h = (data: Uint8Array) => createHash(hash).update(data).digest();
  return {
    hash,
    issuerNameHash: h(certificate.issuer.der),
    issuerKeyHash: h(Certificate.spkiKeyBits(issuer.publicKeyInfo.spki)),
    serialNumber: serialContent(certificate),
  };
}

function encodeCertId(id: CertId): Buffer {
  // RFC 6960 §4.1.1 examples and OpenSSL write the hash AlgorithmIdentifier with NULL parameters.
  return seq(
    algorithm(HASH_OIDS[id.hash], null),
    octets(id.issuerNameHash),
    octets(id.issuerKeyHash),
    tlv(0x02, id.serialNumber),
  );
}

function certIdsEqual(a: CertId, b: CertId): boolean {
  return (
    a.hash === b.hash &&
    Buffer.compare(a.issuerNameHash, b.issuerNameHash) === 0 &&
    Buffer.compare(a.issuerKeyHash, b.issuerKeyHash) === 0 &&
    Buffer.compare(a.serialNumber, b.serialNumber) === 0
  );
}

export interface OcspRequest {
  der: Uint8Array;
  /** The nonce sent, to be echoed by the responder (RFC 8954). */
  nonce?: Uint8Array;
}

/**
 * An unsigned OCSP request for one or more certificates. The nonce (RFC 8954 §2.1: 1-32 octets,
 * default 16 random octets) is sent unless `nonce: false`.
 */
export function buildOcspRequest(
  items: { certificate: Certificate; issuer: Certificate }[],
  options: { hash?: 'sha1' | 'sha256'; nonce?: Uint8Array | false } = {},
): OcspRequest {
  if (items.length === 0) fail('INVALID_ARGUMENT', 'an OCSP request needs at least one certificate');
  const hash = options.hash ?? 'sha1';
  if (hash !== 'sha1' && hash !== 'sha256') fail('INVALID_ARGUMENT', `OCSP CertID hash must be sha1 or sha256`);
  const nonce = options.nonce === false ? undefined : (options.nonce ?? randomBytes(16));
  if (nonce !== undefined && (nonce.length < 1 || nonce.length > 32)) {
    fail('INVALID_ARGUMENT', 'an OCSP nonce is 1 to 32 octets (RFC 8954)');
  }
  const requests = items.map(({ certificate, issuer }) => seq(encodeCertId(certIdFor(certificate, issuer, hash))));
  const fields = [seq(...requests)];
  if (nonce !== undefined) fields.push(explicit(2, seq(seq(oid(OID.ocspNonce), octets(octets(nonce))))));
  const der = seq(seq(...fields));
  return nonce === undefined ? { der } : { der, nonce };
}

export type OcspResponseStatus =
  | 'successful'
  | 'malformedRequest'
  | 'internalError'
  | 'tryLater'
  | 'sigRequired'
  | 'unauthorized';

/** OCSPResponseStatus (§4.2.1); 4 is not used. */
const STATUSES: (OcspResponseStatus | undefined)[] = [
  'successful',
  'malformedRequest',
  'internalError',
  'tryLater',
  undefined,
  'sigRequired',
  'unauthorized',
];

export interface OcspSingleResponse {
  certId: CertId;
  status: 'good' | 'revoked' | 'unknown';
  revokedAt?: Date;
  reason?: RevocationReason;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface BasicOcspResponse {
  /** ResponseData as encoded: what the signature covers. */
  tbs: Uint8Array;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  responderId: { byName: Name } | { byKey: Uint8Array };
  producedAt: Date;
  responses: OcspSingleResponse[];
  /** The nonce the responder echoed (the inner OCTET STRING's content). */
  nonce?: Uint8Array;
  /** Certificates the responder sent to help verify the signature. */
  certs: Certificate[];
  /** A critical response or single-response extension Sealpost does not know: do not use the response. */
  unsupportedCritical?: string;
}

export interface OcspResponse {
  status: OcspResponseStatus;
  /** Present when `status` is `successful`. */
  basic?: BasicOcspResponse;
}

function bad(what: string): never {
  fail('OCSP_MALFORMED', `malformed OCSP response: ${what}`);
}

/**
 *   OCSPResponse ::= SEQUENCE { responseStatus OCSPResponseStatus,
 *       responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
 *   ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING }
 * Throws OCSP_MALFORMED.
 */
export function parseOcspResponse(der: Uint8Array): OcspResponse {
  try {
    const root = decode(der, { maxDepth: 32 });
    if (!root.is(0x30) || root.children.length < 1 || root.children.length > 2) bad('not an OCSPResponse');
    const statusEl = root.child(0);
    const code = readEnumerated(statusEl);
    const status = STATUSES[code];
    if (status === undefined) bad(`unknown responseStatus ${code}`);
    if (status !== 'successful') {
      if (root.children.length !== 1) bad('responseBytes in an unsuccessful response');
      return { status };
    }
    const rb = root.children[1];
    if (rb === undefined) bad('a successful response without responseBytes');
    if (!rb.isContext(0) || !rb.constructed || rb.children.length !== 1) bad('malformed responseBytes');
    const inner = rb.child(0);
    if (!inner.is(0x30) || inner.children.length !== 2) bad('malformed ResponseBytes');
    const type = readOid(inner.child(0));
    if (type !== OID.ocspBasic) bad(`response type ${type} is not id-pkix-ocsp-basic`);
    return { status, basic: parseBasic(decode(readOctetString(inner.child(1)), { maxDepth: 32 })) };
  } catch (e) {
    if (e instanceof SealpostError && e.code !== 'OCSP_MALFORMED') {
      throw new SealpostError('OCSP_MALFORMED', `malformed OCSP response: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/**
 *   BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm
 *       AlgorithmIdentifier, signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 *   ResponseData ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, responderID ResponderID,
 *       producedAt GeneralizedTime, responses SEQUENCE OF SingleResponse,
 *       responseExtensions [1] EXPLICIT Extensions OPTIONAL }
 *   ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }
 */
function parseBasic(el: Asn1): BasicOcspResponse {
  if (!el.is(0x30) || el.children.length < 3 || el.children.length > 4) bad('malformed BasicOCSPResponse');
  const tbs = el.child(0);
  const signatureAlgorithm = parseAlgorithmIdentifier(el.child(1));
  const sig = readBitString(el.child(2));
  if (sig.unusedBits !== 0) bad('signature has unused bits');
  const certs: Certificate[] = [];
  const certsEl = el.children[3];
  if (certsEl !== undefined) {
    if (!certsEl.isContext(0) || !certsEl.constructed || certsEl.children.length !== 1) bad('malformed certs');
    const list = certsEl.child(0);
    if (!list.is(0x30)) bad('malformed certs');
    if (list.children.length > 16) bad('more than 16 certificates');
    for (const c of list.children) certs.push(Certificate.fromDer(c.raw));
  }

  if (!tbs.is(0x30)) bad('malformed ResponseData');
  const f = tbs.children;
  let i = 0;
  if (f[0]?.isContext(0)) {
    if (!f[0].constructed || f[0].children.length !== 1 || readSmallInt(f[0].child(0), 10) !== 0) {
      bad('only version v1 (0) is defined');
    }
    i++;
  }
  const rid = f[i++];
  let responderId: BasicOcspResponse['responderId'];
  if (rid?.isContext(1) && rid.constructed && rid.children.length === 1) {
    responderId = { byName: parseName(rid.child(0)) };
  } else if (rid?.isContext(2) && rid.constructed && rid.children.length === 1) {
    // KeyHash ::= OCTET STRING -- SHA-1 hash of responder's public key (excluding the tag and length)
    const keyHash = readOctetString(rid.child(0));
    if (keyHash.length !== 20) bad('byKey must be a SHA-1 hash');
    responderId = { byKey: keyHash };
  } else {
    bad('malformed responderID');
  }
  const producedEl = f[i++];
  if (!producedEl?.is(0x18)) bad('producedAt must be GeneralizedTime');
  const producedAt = readTime(producedEl);
  const list = f[i++];
  if (!list?.is(0x30)) bad('missing responses');
  if (list.children.length > 1000) bad('more than 1000 single responses');
  let unsupportedCritical: string | undefined;
  const responses = list.children.map((s) => {
    const { single, critical } = parseSingle(s);
    unsupportedCritical ??= critical;
    return single;
  });
  const out: BasicOcspResponse = {
    tbs: tbs.raw,
    signatureAlgorithm,
    signature: sig.bytes,
    responderId,
    producedAt,
    responses,
    certs,
  };
  const extEl = f[i];
  if (extEl?.isContext(1)) {
    i++;
    if (!extEl.constructed || extEl.children.length !== 1) bad('malformed responseExtensions');
    for (const ext of parseExtensionList(extEl.child(0), bad)) {
      if (ext.oid === OID.ocspNonce) {
        // RFC 8954 §2.1: Nonce ::= OCTET STRING; some responders put the bare bytes in extnValue.
        let nonce = ext.value;
        try {
          const n = decode(ext.value);
          if (n.is(0x04)) nonce = n.value;
        } catch {
          // bare nonce bytes
        }
        out.nonce = nonce;
      } else if (ext.critical) {
        unsupportedCritical ??= ext.oid;
      }
    }
  }
  if (i !== f.length) bad('unexpected field in ResponseData');
  if (unsupportedCritical !== undefined) out.unsupportedCritical = unsupportedCritical;
  return out;
}

/**
 *   SingleResponse ::= SEQUENCE { certID CertID, certStatus CertStatus, thisUpdate GeneralizedTime,
 *       nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL, singleExtensions [1] EXPLICIT Extensions OPTIONAL }
 *   CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo,
 *       unknown [2] IMPLICIT UnknownInfo }
 *   RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
 */
function parseSingle(el: Asn1): { single: OcspSingleResponse; critical?: string } {
  if (!el.is(0x30) || el.children.length < 3 || el.children.length > 5) bad('malformed SingleResponse');
  const idEl = el.child(0);
  if (!idEl.is(0x30) || idEl.children.length !== 4) bad('malformed CertID');
  const hashAlg = parseAlgorithmIdentifier(idEl.child(0));
  const hash = hashFromOid(hashAlg.oid);
  if (hash === undefined) bad(`unknown CertID hash ${hashAlg.oid}`);
  const certId: CertId = {
    hash,
    issuerNameHash: readOctetString(idEl.child(1)),
    issuerKeyHash: readOctetString(idEl.child(2)),
    serialNumber: integerContent(idEl.child(3)),
  };
  const st = el.child(1);
  let status: OcspSingleResponse['status'];
  let revokedAt: Date | undefined;
  let reason: RevocationReason | undefined;
  if (st.isContext(0) && !st.constructed && st.value.length === 0) status = 'good';
  else if (st.isContext(2) && !st.constructed && st.value.length === 0) status = 'unknown';
  else if (st.isContext(1) && st.constructed && st.children.length >= 1 && st.children.length <= 2) {
    status = 'revoked';
    const t = st.child(0);
    if (!t.is(0x18)) bad('revocationTime must be GeneralizedTime');
    revokedAt = readTime(t);
    const r = st.children[1];
    if (r !== undefined) {
      if (!r.isContext(0) || !r.constructed || r.children.length !== 1) {
        bad('malformed revocationReason');
      }
      const code = readEnumerated(r.child(0));
      reason = reasonFromCode(code);
      if (reason === undefined) bad(`unknown revocation reason ${code}`);
    }
  } else {
    bad('malformed certStatus');
  }
  const tu = el.child(2);
  if (!tu.is(0x18)) bad('thisUpdate must be GeneralizedTime');
  const single: OcspSingleResponse = { certId, status, thisUpdate: readTime(tu) };
  if (revokedAt) single.revokedAt = revokedAt;
  if (reason) single.reason = reason;
  let i = 3;
  const nu = el.children[i];
  if (nu?.isContext(0)) {
    if (!nu.constructed || nu.children.length !== 1 || !nu.child(0).is(0x18)) bad('malformed nextUpdate');
    single.nextUpdate = readTime(nu.child(0));
    i++;
  }
  let critical: string | undefined;
  const ex = el.children[i];
  if (ex?.isContext(1)) {
    if (!ex.constructed || ex.children.length !== 1) bad('malformed singleExtensions');
    critical = parseExtensionList(ex.child(0), bad).find((e) => e.critical)?.oid;
    i++;
  }
  if (i !== el.children.length) bad('unexpected field in SingleResponse');
  return critical === undefined ? { single } : { single, critical };
}

/** The single response about `certificate`, matched by CertID under the hash the responder chose. */
export function findSingleResponse(
  basic: BasicOcspResponse,
  certificate: Certificate,
  issuer: Certificate,
): OcspSingleResponse | undefined {
  const ids = new Map<HashName, CertId>();
  return basic.responses.find((r) => {
    let id = ids.get(r.certId.hash);
    if (id === undefined) {
      id = certIdFor(certificate, issuer, r.certId.hash);
      ids.set(r.certId.hash, id);
    }
    return certIdsEqual(id, r.certId);
  });
}

/** True when the response echoes exactly the nonce of the request. */
export function ocspNonceMatches(basic: BasicOcspResponse, nonce: Uint8Array): boolean {
  return basic.nonce !== undefined && Buffer.compare(basic.nonce, nonce) === 0;
}

export type OcspSignerResult =
  | { ok: true; signer: Certificate; delegated: boolean; noCheck: boolean }
  | { ok: false; reason: string };

function matchesResponderId(basic: BasicOcspResponse, cert: Certificate): boolean {
  const rid = basic.responderId;
  if ('byName' in rid) return namesEqual(rid.byName, cert.subject);
  const keyHash = createHash('sha1').update(Certificate.spkiKeyBits(cert.publicKeyInfo.spki)).digest();
  return Buffer.compare(keyHash, rid.byKey) === 0;
}

/**
 * Finds who signed the response and checks it is allowed to (§4.2.2.2): the CA itself, or a
 * certificate the CA issued with id-kp-OCSPSigning, valid at `time`. `noCheck` reports
 * id-pkix-ocsp-nocheck (§4.2.2.2.1): without it the caller may check the responder's revocation.
 */
export function verifyOcspSigner(
  basic: BasicOcspResponse,
  issuer: Certificate,
  time: Date,
  options: { certificates?: Certificate[]; allowLegacy?: boolean } = {},
): OcspSignerResult {
  const allowLegacy = options.allowLegacy ?? false;
  const verifies = (key: Certificate): boolean => {
    try {
      return verifySignature(basic.signatureAlgorithm, key.publicKey, basic.tbs, basic.signature, { allowLegacy });
    } catch (e) {
      if (e instanceof SealpostError) return false;
      throw e;
    }
  };
  if (matchesResponderId(basic, issuer)) {
    return verifies(issuer)
      ? { ok: true, signer: issuer, delegated: false, noCheck: false }
      : { ok: false, reason: 'the OCSP response signature does not verify with the CA key' };
  }
  const candidates = [...basic.certs, ...(options.certificates ?? [])].filter((c) => matchesResponderId(basic, c));
  if (candidates.length === 0) return { ok: false, reason: 'the OCSP responder certificate is not available' };
  let reason = 'no OCSP responder certificate is authorized by the CA';
  for (const c of candidates) {
    if (!namesEqual(c.issuer, issuer.subject)) {
      reason = 'the OCSP responder certificate is not issued by the CA';
      continue;
    }
    let issuedByCa = false;
    try {
      issuedByCa = verifySignature(c.signatureAlgorithm, issuer.publicKey, c.tbs, c.signature, { allowLegacy });
    } catch (e) {
      if (!(e instanceof SealpostError)) throw e;
    }
    if (!issuedByCa) {
      reason = 'the OCSP responder certificate is not signed by the CA';
      continue;
    }
    let eku: string[] | undefined;
    try {
      eku = c.extKeyUsage;
    } catch (e) {
      if (!(e instanceof SealpostError)) throw e;
    }
    if (!eku?.includes(OID.ocspSigning)) {
      reason = 'the OCSP responder certificate lacks the OCSPSigning extended key usage';
      continue;
    }
    if (time.getTime() < c.notBefore.getTime() || time.getTime() > c.notAfter.getTime()) {
      reason = 'the OCSP responder certificate is not valid at the validation time';
      continue;
    }
    if (!verifies(c)) {
      reason = 'the OCSP response signature does not verify with the responder key';
      continue;
    }
    return { ok: true, signer: c, delegated: true, noCheck: c.extension(OID.ocspNoCheck) !== undefined };
  }
  return { ok: false, reason };
}

/** Clock skew tolerated on thisUpdate: responses are signed on the fly by another clock. */
const OCSP_SKEW_MS = 5 * 60 * 1000;
/** How long a response without nextUpdate counts as current (§4.2.2.1 leaves it to the client). */
const OCSP_NO_NEXT_UPDATE_MS = 24 * 60 * 60 * 1000;

/** Whether a single response is current at `time`. */
export function ocspCurrentAt(single: OcspSingleResponse, time: Date): boolean {
  const t = time.getTime();
  const from = single.thisUpdate.getTime();
  const until = single.nextUpdate?.getTime() ?? from + OCSP_NO_NEXT_UPDATE_MS;
  return from - OCSP_SKEW_MS <= t && t <= until + OCSP_SKEW_MS;
}
