/** Signing a whole RFC 5322 message: clear-signed (multipart/signed) or opaque (application/pkcs7-mime). */
import { type Signer, signContent } from '../cms/signed-data.ts';
import { fail } from '../errors.ts';
import { assembleMessage, canonicalizeEntity, splitMessage } from '../mime/canonical.ts';
import type { MimeLimits } from '../mime/entity.ts';
import {
  boundaryOccursIn,
  buildMultipartSigned,
  buildPkcs7Mime,
  micalgName,
  newBoundary,
} from '../mime/smime-entities.ts';

export interface SignMessageOptions {
  signers: Signer[];
  /** The signingTime attribute (core has no clock). */
  signingTime: Date;
  /** `clear` (default): readable without S/MIME support; `opaque`: survives gateways that rewrite text. */
  mode?: 'clear' | 'opaque';
  limits?: MimeLimits;
}

/** Signs the MIME entity of `message`; transport headers (From, To, Subject, …) stay outside. */
export function signMessage(message: Uint8Array, options: SignMessageOptions): Buffer {
  if (options.signers.length === 0) fail('INVALID_ARGUMENT', 'at least one signer is needed');
  const { transportHeaders, entity } = splitMessage(message, options.limits);
  const canonical = canonicalizeEntity(entity, options.limits);
  const cms = { signers: options.signers, signingTime: options.signingTime };
  let out: Uint8Array;
  if ((options.mode ?? 'clear') === 'clear') {
    const signature = signContent(canonical, { ...cms, detached: true });
    let boundary = newBoundary();
    while (boundaryOccursIn(canonical, boundary)) boundary = newBoundary();
    out = buildMultipartSigned(canonical, signature, micalgFor(options.signers), boundary);
  } else {
    out = buildPkcs7Mime(signContent(canonical, { ...cms, detached: false }), 'signed-data');
  }
  return Buffer.from(assembleMessage(transportHeaders, out));
}

/** RFC 8551 §3.5.3.2: micalg lists each signer's digest, comma-separated, without repeats. */
export function micalgFor(signers: Signer[]): string {
  const names = signers.map((s) =>
    micalgName(s.digest ?? (s.certificate.publicKeyInfo.kind === 'ed25519' ? 'sha512' : 'sha256')),
  );
  return [...new Set(names)].join(',');
}
