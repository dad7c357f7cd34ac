/**
 * ContentInfo (RFC 5652 §3):
 *   ContentInfo ::= SEQUENCE { contentType ContentType, content [0] EXPLICIT ANY DEFINED BY contentType }
 */
import { type Asn1, decode, readOid } from '../asn1/der.ts';
import { explicit, oid, seq } from '../asn1/encode.ts';
import { fail } from '../errors.ts';

/** Limits for CMS envelopes, which are BER (RFC 5652 §1.2 allows indefinite lengths). */
export const CMS_DECODE = { mode: 'ber', maxDepth: 48 } as const;

export function wrapContentInfo(contentType: string, content: Uint8Array): Buffer {
  return seq(oid(contentType), explicit(0, content));
}

/** Parses a ContentInfo and returns its type and the inner content element. */
export function parseContentInfo(der: Uint8Array): { contentType: string; content: Asn1 } {
  const root = decode(der, CMS_DECODE);
  if (!root.is(0x30) || root.children.length < 1) fail('CMS_MALFORMED', 'a ContentInfo must be a SEQUENCE');
  const contentType = readOid(root.child(0));
  const wrapper = root.children[1];
  if (!wrapper?.isContext(0) || !wrapper.constructed || wrapper.children.length !== 1) {
    fail('CMS_MALFORMED', 'ContentInfo has no [0] content');
  }
  return { contentType, content: wrapper.child(0) };
}
