/** Values of the LDAP controls Sealpost understands (the Control envelope itself is in codec.ts). */
import { integer, octets, seq } from '../asn1/encode.ts';
import { checkInt, decodeBer, expectTag, readBytes, readInt } from './ber.ts';

/**
 * RFC 2696 Simple Paged Results (control type `LdapOid.pagedResults`). In a request `size` is the page
 * size; in a response it is the server's estimate of the total (0 if unknown). An empty cookie
 * starts a search (request) or says it is complete (response).
 */
export interface PagedResults {
  readonly size: number;
  readonly cookie: Uint8Array;
}

/** realSearchControlValue ::= SEQUENCE { size INTEGER (0..maxInt), cookie OCTET STRING } */
export function encodePagedResults(p: PagedResults): Uint8Array {
  return seq(integer(checkInt(p.size, 'paged results size')), octets(p.cookie));
}

export function decodePagedResults(value: Uint8Array): PagedResults {
  const el = expectTag(decodeBer(value, 2, 3, 'paged results control'), 0x30, 'paged results control');
  return {
    size: readInt(el.children[0], 'paged results size'),
    cookie: readBytes(el.children[1], 'paged results cookie'),
  };
}
