/** Recognising S/MIME layers in a MIME tree and getting at their CMS bytes. */
import { OID } from '../asn1/oids.ts';
import { parseContentInfo } from '../cms/content-info.ts';
import { fail, isSealpostError } from '../errors.ts';
import { decodeBody, type MimeEntity, type MimeLimits, parseEntity } from '../mime/entity.ts';
import type { ContentType } from '../mime/headers.ts';
import { classifySmime } from '../mime/smime-entities.ts';

export type LayerKind = 'clear-signed' | 'opaque-signed' | 'enveloped' | 'auth-enveloped';

/** Nesting of S/MIME layers we unwrap (triple wrapping needs 3). */
export const MAX_LAYERS = 8;

export function layerKind(entity: MimeEntity): LayerKind | undefined {
  if (contentInfoDecides(entity.contentType)) {
    return layerKindOfContentType(parseContentInfo(pkcs7Der(entity)).contentType);
  }
  return layerKindOfMediaType(entity.contentType);
}

/**
 * True for application/pkcs7-mime without smime-type (Outlook, legacy x-pkcs7-mime): the name is
 * only a guess there, and ".p7m" is used for signed and enveloped data alike, so the
 * ContentInfo's contentType (RFC 5652 §3) decides. A ".p7c" name still means certs-only.
 */
export function contentInfoDecides(ct: ContentType): boolean {
  const pkcs7 = ct.mediaType === 'application/pkcs7-mime' || ct.mediaType === 'application/x-pkcs7-mime';
  return pkcs7 && !ct.params.has('smime-type') && classifySmime(ct) !== 'certs-only';
}

/** The layer a Content-Type announces (when it does: see {@link contentInfoDecides}). */
export function layerKindOfMediaType(ct: ContentType): LayerKind | undefined {
  switch (classifySmime(ct)) {
    case 'multipart-signed':
      return 'clear-signed';
    case 'signed-data':
      return 'opaque-signed';
    case 'enveloped-data':
      return 'enveloped';
    case 'authEnveloped-data':
      return 'auth-enveloped';
    default:
      return undefined;
  }
}

/** The layer a ContentInfo contentType OID stands for; undefined for anything else (compressed, digested…). */
export function layerKindOfContentType(contentType: string | undefined): LayerKind | undefined {
  switch (contentType) {
    case OID.signedData:
      return 'opaque-signed';
    case OID.envelopedData:
      return 'enveloped';
    case OID.authEnvelopedData:
      return 'auth-enveloped';
    default:
      return undefined;
  }
}

/** The CMS DER carried by an application/pkcs7-mime entity (base64 or binary transfer encoding). */
export function pkcs7Der(entity: MimeEntity): Uint8Array {
  const der = decodeBody(entity);
  if (der.length === 0) fail('CMS_MALFORMED', 'the S/MIME part is empty');
  return der;
}

/** The two parts of a multipart/signed entity: the signed entity and the signature part. */
export function signedParts(entity: MimeEntity): { content: MimeEntity; signature: MimeEntity } {
  const parts = entity.parts ?? [];
  if (parts.length !== 2) fail('MIME_MALFORMED', `multipart/signed must have 2 parts, found ${parts.length}`);
  return { content: parts[0]!, signature: parts[1]! };
}

/** True when an S/MIME signature appears anywhere below `entity` (for partial-coverage reports). */
export function containsSignature(entity: MimeEntity, limits?: MimeLimits, depth = 0): boolean {
  let kind: LayerKind | undefined;
  try {
    kind = layerKind(entity);
  } catch (e) {
    if (isSealpostError(e)) return false; // an unreadable pkcs7 part signs nothing
    throw e;
  }
  if (kind === 'clear-signed' || kind === 'opaque-signed') return true;
  if (depth > 16) return false;
  if (entity.contentType.mediaType === 'message/rfc822') {
    try {
      return containsSignature(parseEntity(decodeBody(entity), limits), limits, depth + 1);
    } catch {
      return false;
    }
  }
  return (entity.parts ?? []).some((p) => containsSignature(p, limits, depth + 1));
}
