/** The S/MIME MIME wrappers (RFC 8551 §3.3–§3.5): multipart/signed and application/pkcs7-mime. */
import { randomUUID } from 'node:crypto';
import { fail } from '../errors.ts';
import { base64EncodeLines } from '../util/base64.ts';
import { type ContentType, formatHeaderField } from './headers.ts';

/** A fresh boundary; "=_" cannot occur in quoted-printable or base64 text, so clashes need a literal copy. */
export function newBoundary(): string {
  return `----=_sealpost_${randomUUID()}`;
}

/** True when `boundary` occurs anywhere in `bytes` (then another one must be chosen). */
export function boundaryOccursIn(bytes: Uint8Array, boundary: string): boolean {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buf.indexOf(boundary, 0, 'utf8') >= 0;
}

/** RFC 2045 tspecials and space force a quoted parameter value. */
function paramValue(v: string): string {
  return /^[^\x00-\x20()<>@,;:\\"/[\]?=\x7f]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

function checkBoundary(boundary: string): void {
  // RFC 2046 §5.1.1: 1–70 characters from bchars, not ending in a space.
  if (!/^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary)) {
    fail('INVALID_ARGUMENT', 'invalid multipart boundary');
  }
}

/**
 * The header block and body up to the first boundary line of a multipart/signed entity
 * (RFC 8551 §3.5): the signed entity follows it, then {@link multipartSignedTail}.
 */
export function multipartSignedHead(micalg: string, boundary: string): Buffer {
  checkBoundary(boundary);
  const contentType = formatHeaderField(
    'Content-Type',
    `multipart/signed; protocol="application/pkcs7-signature"; micalg=${paramValue(micalg)}; boundary="${boundary}"`,
  );
  return Buffer.from(`${contentType}\r\nThis is an S/MIME signed message\r\n--${boundary}\r\n`, 'latin1');
}

/** From the delimiter after the signed entity to the close delimiter: the application/pkcs7-signature part. */
export function multipartSignedTail(signatureDer: Uint8Array, boundary: string): Buffer {
  checkBoundary(boundary);
  const sig = base64EncodeLines(signatureDer);
  return Buffer.concat([
    Buffer.from(
      `\r\n--${boundary}\r\n` +
        'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n' +
        'Content-Transfer-Encoding: base64\r\n' +
        'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n',
      'latin1',
    ),
    // The base64 lines' last CRLF is the one that belongs to the close delimiter.
    sig,
    Buffer.from(`--${boundary}--\r\n`, 'latin1'),
  ]);
}

/**
 * A multipart/signed entity: the signed entity's exact bytes as the first part and the detached
 * signature as the second. `entity` must already be canonical (CRLF) and must not contain `boundary`.
 */
export function buildMultipartSigned(
  entity: Uint8Array,
  signatureDer: Uint8Array,
  micalg: string,
  boundary: string,
): Uint8Array {
  return Buffer.concat([multipartSignedHead(micalg, boundary), entity, multipartSignedTail(signatureDer, boundary)]);
}

export type Pkcs7MimeType = 'signed-data' | 'enveloped-data' | 'authEnveloped-data';

/** The header block of an application/pkcs7-mime entity; the base64 of the CMS DER follows. */
export function pkcs7MimeHead(smimeType: Pkcs7MimeType): Buffer {
  return Buffer.from(
    formatHeaderField('Content-Type', `application/pkcs7-mime; smime-type=${smimeType}; name="smime.p7m"`) +
      'Content-Transfer-Encoding: base64\r\n' +
      'Content-Disposition: attachment; filename="smime.p7m"\r\n\r\n',
    'latin1',
  );
}

/** An application/pkcs7-mime entity (RFC 8551 §3.2) carrying `der` in base64 lines of 76. */
export function buildPkcs7Mime(der: Uint8Array, smimeType: Pkcs7MimeType): Uint8Array {
  return Buffer.concat([pkcs7MimeHead(smimeType), base64EncodeLines(der)]);
}

const MICALG = { sha256: 'sha-256', sha384: 'sha-384', sha512: 'sha-512', sha1: 'sha-1', md5: 'md5' } as const;

/** RFC 8551 §3.5.3.2 micalg names (RFC 5751 §3.4.3.2 for the legacy ones). */
export function micalgName(hash: keyof typeof MICALG): string {
  const name = MICALG[hash];
  if (name === undefined) fail('UNSUPPORTED_ALGORITHM', `no micalg name for ${String(hash)}`);
  return name;
}

export type SmimeKind =
  | 'multipart-signed'
  | 'signed-data'
  | 'enveloped-data'
  | 'authEnveloped-data'
  | 'certs-only'
  | 'compressed-data'
  | 'unknown-pkcs7';

const SMIME_TYPES: Record<string, SmimeKind> = {
  'signed-data': 'signed-data',
  'enveloped-data': 'enveloped-data',
  'authenveloped-data': 'authEnveloped-data',
  'certs-only': 'certs-only',
  'compressed-data': 'compressed-data',
};

/**
 * What kind of S/MIME entity a Content-Type announces (RFC 8551 §3.2.2), also for the legacy
 * x-pkcs7-* types. Without smime-type (Outlook omits it) a ".p7m" name means enveloped-data,
 * the common case, and ".p7c" certs-only; undefined for anything that is not S/MIME.
 */
export function classifySmime(ct: ContentType): SmimeKind | undefined {
  switch (ct.mediaType) {
    case 'multipart/signed': {
      const protocol = ct.params.get('protocol')?.toLowerCase();
      return protocol === 'application/pkcs7-signature' || protocol === 'application/x-pkcs7-signature'
        ? 'multipart-signed'
        : undefined;
    }
    case 'application/pkcs7-mime':
    case 'application/x-pkcs7-mime': {
      const smimeType = ct.params.get('smime-type')?.toLowerCase();
      if (smimeType !== undefined) return SMIME_TYPES[smimeType] ?? 'unknown-pkcs7';
      const name = (ct.params.get('name') ?? ct.params.get('filename') ?? '').toLowerCase();
      if (name.endsWith('.p7m')) return 'enveloped-data';
      if (name.endsWith('.p7c')) return 'certs-only';
      return 'unknown-pkcs7';
    }
    default:
      return undefined;
  }
}
