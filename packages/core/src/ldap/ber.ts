/**
 * The LDAP view of the project's BER decoder: limits, and typed readers that name the field they read
 * and fail with LDAP_MALFORMED. RFC 4511 §5.1 restricts BER: definite lengths only, primitive
 * OCTET STRINGs, BOOLEAN true as any non-zero octet on receipt.
 */
import { type Asn1, decode } from '../asn1/der.ts';
import { fail, isSealpostError, SealpostError } from '../errors.ts';

export interface LdapLimits {
  /** Largest LDAPMessage accepted, header included. */
  readonly maxMessageBytes: number;
  /** Deepest filter nesting, counting each and/or/not and the leaf (`(cn=x)` is depth 1). */
  readonly maxFilterDepth: number;
  /** Most filter components (and/or/not and leaves) in one search filter. */
  readonly maxFilterElements: number;
  /** Most attributes in an entry, attribute selection, add request, or changes in a modify request. */
  readonly maxAttributes: number;
  /** Most values in one attribute; also the most URIs in a referral. */
  readonly maxValues: number;
  /** Most controls on one message. */
  readonly maxControls: number;
}

export const LDAP_LIMITS: LdapLimits = Object.freeze({
  maxMessageBytes: 1024 * 1024,
  maxFilterDepth: 32,
  maxFilterElements: 512,
  maxAttributes: 256,
  maxValues: 1024,
  maxControls: 32,
});

/** The parsers recurse once per filter level: deeper than this would risk the stack, not just time. */
const FILTER_DEPTH_CEILING = 256;

export function limitsOf(partial?: Partial<LdapLimits>): LdapLimits {
  if (partial === undefined) return LDAP_LIMITS;
  const limits = { ...LDAP_LIMITS, ...partial };
  if (limits.maxFilterDepth > FILTER_DEPTH_CEILING) {
    fail('INVALID_ARGUMENT', `maxFilterDepth may be at most ${FILTER_DEPTH_CEILING}`);
  }
  return limits;
}

/** maxInt of RFC 4511 §4.1.1: MessageID, sizeLimit, timeLimit. */
export const MAX_INT = 0x7fffffff;

export function malformed(message: string): never {
  fail('LDAP_MALFORMED', message);
}

/**
 * Decodes BER under LDAP's rules, mapping the decoder's ASN1_* failures to LDAP_* so callers see one
 * family of codes. `maxDepth` and `maxElements` come from the caller's limits.
 */
export function decodeBer(bytes: Uint8Array, maxDepth: number, maxElements: number, what: string): Asn1 {
  let root: Asn1;
  try {
    root = decode(bytes, { mode: 'ber', maxDepth, maxElements });
  } catch (e) {
    if (isSealpostError(e, 'ASN1_LIMIT')) throw new SealpostError('LDAP_LIMIT', `${what}: ${e.message}`, { cause: e });
    if (isSealpostError(e, 'ASN1_MALFORMED')) {
      throw new SealpostError('LDAP_MALFORMED', `${what}: ${e.message}`, { cause: e });
    }
    throw e;
  }
  // The decoder accepts indefinite lengths in BER mode; RFC 4511 §5.1 does not. Iterative: the tree
  // depth is bounded, but a flat list of siblings is not.
  const stack = [root];
  for (let el = stack.pop(); el !== undefined; el = stack.pop()) {
    if (el.end !== el.valueEnd) malformed(`${what}: indefinite length at offset ${el.start} (RFC 4511 §5.1)`);
    for (const c of el.children) stack.push(c);
  }
  return root;
}

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

export function expectTag(el: Asn1 | undefined, tag: number, what: string): Asn1 {
  if (el === undefined) malformed(`${what} is missing`);
  if (!el.is(tag)) {
    const hint = el.constructed && !(tag & 0x20) ? ' (constructed strings are not allowed in LDAP)' : '';
    malformed(`${what}: expected tag ${hex(tag)}, found ${hex(el.tag)}${hint}`);
  }
  return el;
}

/** The elements of a SEQUENCE (OF) with a count limit. */
export function items(el: Asn1, max: number, what: string): Asn1[] {
  if (el.children.length > max) fail('LDAP_LIMIT', `${what}: more than ${max} elements`);
  return el.children;
}

/**
 * OCTET STRING content as a plain Uint8Array copy: decoded messages do not pin or alias the
 * receive buffer, and compare equal whatever type of buffer they were decoded from.
 */
export function readBytes(el: Asn1 | undefined, what: string, tag = 0x04): Uint8Array {
  return new Uint8Array(expectTag(el, tag, what).value);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** LDAPString / LDAPDN: OCTET STRING of UTF-8 (RFC 4511 §4.1.2). */
export function readText(el: Asn1 | undefined, what: string, tag = 0x04): string {
  const v = expectTag(el, tag, what).value;
  try {
    return utf8.decode(v);
  } catch {
    malformed(`${what} is not valid UTF-8`);
  }
}

const NUMERIC_OID = /^(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))+$/;

/** LDAPOID ::= OCTET STRING -- Constrained to <numericoid> [RFC 4512] */
export function readOidText(el: Asn1 | undefined, what: string, tag = 0x04): string {
  const s = readText(el, what, tag);
  if (!NUMERIC_OID.test(s)) malformed(`${what} is not a numeric OID`);
  return s;
}

export function checkOid(s: string, what: string): string {
  if (!NUMERIC_OID.test(s)) fail('INVALID_ARGUMENT', `${what} "${s.slice(0, 80)}" is not a numeric OID`);
  return s;
}

/** A non-negative INTEGER or ENUMERATED (possibly under an IMPLICIT tag) up to `max`. */
export function readInt(el: Asn1 | undefined, what: string, tag = 0x02, max = MAX_INT, min = 0): number {
  const v = expectTag(el, tag, what).value;
  if (v.length === 0) malformed(`${what}: empty INTEGER`);
  if (v[0]! & 0x80) malformed(`${what} is negative`);
  let n = 0;
  for (const b of v) {
    n = n * 256 + b;
    if (n > max) malformed(`${what} is out of range ${min}..${max}`);
  }
  if (n < min) malformed(`${what} is out of range ${min}..${max}`);
  return n;
}

/** BOOLEAN: any non-zero octet is TRUE (X.690 §8.2.2; only DER insists on FF). */
export function readBool(el: Asn1 | undefined, what: string, tag = 0x01): boolean {
  const v = expectTag(el, tag, what).value;
  if (v.length !== 1) malformed(`${what}: a BOOLEAN has one content octet`);
  return v[0] !== 0;
}

/** `{ [key]: value }`, or `{}` when the value is absent: decoded objects carry no undefined keys. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Encoders refuse numbers a peer would reject (RFC 4511 §4.1.1 maxInt). */
export function checkInt(n: number, what: string, max = MAX_INT, min = 0): number {
  if (!Number.isInteger(n) || n < min || n > max)
    fail('INVALID_ARGUMENT', `${what} must be an integer in ${min}..${max}`);
  return n;
}
