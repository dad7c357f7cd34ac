/** AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL } (RFC 5280 §4.1.1.2). */
import { type Asn1, readOid } from '../asn1/der.ts';
import { fail } from '../errors.ts';

export interface AlgorithmIdentifier {
  oid: string;
  /** Parameters, absent when undefined; an explicit NULL is an element with tag 0x05. */
  params?: Asn1;
  /** The exact encoding, for byte-exact comparisons. */
  der: Uint8Array;
}

export function parseAlgorithmIdentifier(el: Asn1): AlgorithmIdentifier {
  if (!el.is(0x30) || el.children.length < 1 || el.children.length > 2) {
    fail('ASN1_MALFORMED', 'malformed AlgorithmIdentifier');
  }
  const oid = readOid(el.child(0));
  const params = el.children[1];
  return params === undefined ? { oid, der: el.raw } : { oid, params, der: el.raw };
}
