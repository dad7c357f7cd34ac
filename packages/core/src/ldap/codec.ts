/**
 * LDAPMessage framing, decoding and encoding (RFC 4511 §4, §5.1). The ASN.1 of every operation sits
 * beside its type in messages.ts. Decoding reads the components it knows and ignores trailing ones,
 * as RFC 4511 §4 requires for extensibility; it rejects what §5.1 forbids (indefinite lengths,
 * constructed strings) and anything out of range. Encoding writes minimal DER-style lengths.
 */
import type { Asn1 } from '../asn1/der.ts';
import { bool, integer, octets, retag, seq, tlv } from '../asn1/encode.ts';
import { fail } from '../errors.ts';
import {
  checkInt,
  checkOid,
  decodeBer,
  expectTag,
  items,
  type LdapLimits,
  limitsOf,
  MAX_INT,
  malformed,
  optional,
  readBool,
  readBytes,
  readInt,
  readOidText,
  readText,
} from './ber.ts';
import { decodeFilter, encodeFilter } from './filter.ts';
import type {
  Control,
  LdapMessage,
  LdapResult,
  ModifyOperation,
  PartialAttribute,
  ProtocolOp,
  SearchScope,
} from './messages.ts';

export { LDAP_LIMITS, type LdapLimits } from './ber.ts';

// ---------------------------------------------------------------- framing

/**
 * The length of the first complete LDAPMessage in `buf`, or null until all of it has arrived.
 * Throws as soon as the header shows the message can never be accepted, so a server can drop the
 * connection without buffering an announced gigabyte.
 */
export function readLdapFrame(buf: Uint8Array, limits?: Partial<LdapLimits>): number | null {
  if (buf.length === 0) return null;
  if (buf[0] !== 0x30) malformed(`LDAP message: expected a SEQUENCE (0x30), found 0x${buf[0]!.toString(16)}`);
  if (buf.length < 2) return null;
  const lb = buf[1]!;
  let length = lb;
  let header = 2;
  if (lb === 0x80) malformed('LDAP message: indefinite length (RFC 4511 §5.1 allows definite lengths only)');
  if (lb > 0x80) {
    const n = lb & 0x7f;
    // Four octets reach 4 GiB; OpenLDAP and AD use at most 0x84.
    if (n > 4) malformed(`LDAP message: ${n} length octets`);
    if (buf.length < 2 + n) return null;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[2 + i]!;
    header += n;
  }
  const total = header + length;
  const max = limitsOf(limits).maxMessageBytes;
  if (total > max) fail('LDAP_LIMIT', `LDAP message of ${total} bytes exceeds the limit of ${max} bytes`);
  return buf.length >= total ? total : null;
}

// ---------------------------------------------------------------- decoding

const SCOPES: readonly SearchScope[] = ['base', 'one', 'sub'];
const MODIFY_OPERATIONS: readonly ModifyOperation[] = ['add', 'delete', 'replace'];
/** The operations whose body is exactly LDAPResult, and their application tag numbers. */
const RESULT_ONLY = {
  searchResultDone: 5,
  modifyResponse: 7,
  addResponse: 9,
  delResponse: 11,
  modifyDnResponse: 13,
  compareResponse: 15,
} as const;
const RESULT_ONLY_TYPE = new Map(
  Object.entries(RESULT_ONLY).map(([type, n]) => [n as number, type as keyof typeof RESULT_ONLY]),
);

/** Decodes one whole LDAPMessage (no trailing bytes), as framed by `readLdapFrame`. */
export function decodeLdapMessage(bytes: Uint8Array, limits?: Partial<LdapLimits>): LdapMessage {
  const lim = limitsOf(limits);
  if (bytes.length > lim.maxMessageBytes) {
    fail('LDAP_LIMIT', `LDAP message of ${bytes.length} bytes exceeds the limit of ${lim.maxMessageBytes} bytes`);
  }
  // Depth: message, op, then the filter's own depth plus three (a substrings filter's parts), or the
  // six levels of a ModifyRequest value. Elements: the most every list limit allows together.
  const maxDepth = Math.max(lim.maxFilterDepth + 3, 8);
  const maxElements =
    16 + 4 * lim.maxControls + 4 * lim.maxFilterElements + lim.maxAttributes * (lim.maxValues + 3) + lim.maxValues;
  const root = expectTag(decodeBer(bytes, maxDepth, maxElements, 'LDAP message'), 0x30, 'LDAP message');
  const id = readInt(root.children[0], 'messageID');
  const opEl = root.children[1];
  if (opEl === undefined) malformed('LDAP message: protocolOp is missing');
  const op = decodeOp(opEl, lim);
  const controlsEl = root.children[2];
  const controls = controlsEl?.is(0xa0)
    ? items(controlsEl, lim.maxControls, 'controls').map((c, i) => decodeControl(c, i))
    : [];
  return { id, op, controls };
}

/** Control ::= SEQUENCE { controlType LDAPOID, criticality BOOLEAN DEFAULT FALSE, controlValue OCTET STRING OPTIONAL } */
function decodeControl(el: Asn1, i: number): Control {
  const what = `control ${i + 1}`;
  expectTag(el, 0x30, what);
  const c = el.children;
  const oid = readOidText(c[0], `${what} type`);
  let k = 1;
  const critical = c[k]?.is(0x01) ? readBool(c[k++], `${what} criticality`) : false;
  const value = c[k]?.is(0x04) ? readBytes(c[k], `${what} value`) : undefined;
  return { oid, critical, ...optional('value', value) };
}

function decodeResult(el: Asn1, lim: LdapLimits): { result: LdapResult; next: number } {
  const c = el.children;
  const result: LdapResult = {
    resultCode: readInt(c[0], 'resultCode', 0x0a),
    matchedDN: readText(c[1], 'matchedDN'),
    diagnosticMessage: readText(c[2], 'diagnosticMessage'),
  };
  // referral [3] Referral OPTIONAL; Referral ::= SEQUENCE SIZE (1..MAX) OF uri URI
  if (!c[3]?.is(0xa3)) return { result, next: 3 };
  const referral = uris(c[3], lim, 'referral');
  return { result: { ...result, referral }, next: 4 };
}

function uris(el: Asn1, lim: LdapLimits, what: string): string[] {
  const list = items(el, lim.maxValues, what);
  if (list.length === 0) malformed(`${what} without URIs`);
  return list.map((u) => readText(u, `${what} URI`));
}

/** PartialAttribute ::= SEQUENCE { type AttributeDescription, vals SET OF value AttributeValue } */
function decodeAttributes(el: Asn1 | undefined, lim: LdapLimits, what: string): PartialAttribute[] {
  return items(expectTag(el, 0x30, what), lim.maxAttributes, what).map((a) => decodeAttribute(a, lim, what));
}

function decodeAttribute(el: Asn1 | undefined, lim: LdapLimits, what: string): PartialAttribute {
  const a = expectTag(el, 0x30, `${what} attribute`);
  const type = readText(a.children[0], `${what} attribute type`);
  const vals = items(expectTag(a.children[1], 0x31, `${what} values of ${type}`), lim.maxValues, `values of ${type}`);
  return { type, values: vals.map((v) => readBytes(v, `value of ${type}`)) };
}

function decodeOp(el: Asn1, lim: LdapLimits): ProtocolOp {
  if (el.cls !== 1) malformed(`LDAP message: protocolOp must have an APPLICATION tag, found 0x${el.tag.toString(16)}`);
  const n = el.tagNumber;
  const c = el.children;
  switch (n) {
    case 0: {
      expectTag(el, 0x60, 'bindRequest');
      const version = readInt(c[0], 'bind version', 0x02, 127, 1);
      const name = readText(c[1], 'bind name');
      const auth = c[2];
      if (auth?.is(0x80)) {
        return {
          type: 'bindRequest',
          version,
          name,
          auth: { kind: 'simple', password: readBytes(auth, 'bind password', 0x80) },
        };
      }
      if (auth?.is(0xa3)) {
        // SaslCredentials ::= SEQUENCE { mechanism LDAPString, credentials OCTET STRING OPTIONAL }
        const mechanism = readText(auth.children[0], 'SASL mechanism');
        const credentials = auth.children[1]?.is(0x04) ? readBytes(auth.children[1], 'SASL credentials') : undefined;
        return {
          type: 'bindRequest',
          version,
          name,
          auth: { kind: 'sasl', mechanism, ...optional('credentials', credentials) },
        };
      }
      return malformed(
        auth === undefined
          ? 'bindRequest: authentication is missing'
          : `bindRequest: unsupported authentication choice [${auth.tagNumber}]`,
      );
    }
    case 1: {
      const { result, next } = decodeResult(expectTag(el, 0x61, 'bindResponse'), lim);
      const creds = c[next]?.is(0x87) ? readBytes(c[next], 'serverSaslCreds', 0x87) : undefined;
      return { type: 'bindResponse', ...result, ...optional('serverSaslCreds', creds) };
    }
    case 2:
      // UnbindRequest ::= [APPLICATION 2] NULL
      if (readBytes(el, 'unbindRequest', 0x42).length !== 0) malformed('unbindRequest: NULL with content');
      return { type: 'unbindRequest' };
    case 3: {
      expectTag(el, 0x63, 'searchRequest');
      return {
        type: 'searchRequest',
        baseObject: readText(c[0], 'search baseObject'),
        scope: SCOPES[readInt(c[1], 'search scope', 0x0a, 2)]!,
        derefAliases: readInt(c[2], 'search derefAliases', 0x0a, 3),
        sizeLimit: readInt(c[3], 'search sizeLimit'),
        timeLimit: readInt(c[4], 'search timeLimit'),
        typesOnly: readBool(c[5], 'search typesOnly'),
        filter: decodeFilter(c[6] ?? malformed('search filter is missing'), lim),
        attributes: items(expectTag(c[7], 0x30, 'search attributes'), lim.maxAttributes, 'search attributes').map((a) =>
          readText(a, 'search attribute'),
        ),
      };
    }
    case 4:
      expectTag(el, 0x64, 'searchResultEntry');
      return {
        type: 'searchResultEntry',
        objectName: readText(c[0], 'entry objectName'),
        attributes: decodeAttributes(c[1], lim, 'entry attributes'),
      };
    case 5:
    case 7:
    case 9:
    case 11:
    case 13:
    case 15: {
      const type = RESULT_ONLY_TYPE.get(n)!;
      return { type, ...decodeResult(expectTag(el, 0x60 | n, type), lim).result };
    }
    case 6: {
      expectTag(el, 0x66, 'modifyRequest');
      const changes = items(expectTag(c[1], 0x30, 'modify changes'), lim.maxAttributes, 'modify changes');
      return {
        type: 'modifyRequest',
        object: readText(c[0], 'modify object'),
        changes: changes.map((ch) => {
          expectTag(ch, 0x30, 'modify change');
          // ENUMERATED { add (0), delete (1), replace (2), ..., increment (3) [RFC 4525] }: increment is refused.
          const operation = MODIFY_OPERATIONS[readInt(ch.children[0], 'modify operation', 0x0a, 2)]!;
          return { operation, modification: decodeAttribute(ch.children[1], lim, 'modify') };
        }),
      };
    }
    case 8:
      expectTag(el, 0x68, 'addRequest');
      return {
        type: 'addRequest',
        entry: readText(c[0], 'add entry'),
        attributes: decodeAttributes(c[1], lim, 'add attributes'),
      };
    case 10:
      return { type: 'delRequest', dn: readText(el, 'delRequest', 0x4a) };
    case 12: {
      expectTag(el, 0x6c, 'modifyDnRequest');
      const newSuperior = c[3]?.is(0x80) ? readText(c[3], 'newSuperior', 0x80) : undefined;
      return {
        type: 'modifyDnRequest',
        entry: readText(c[0], 'modifyDn entry'),
        newRdn: readText(c[1], 'modifyDn newrdn'),
        deleteOldRdn: readBool(c[2], 'modifyDn deleteoldrdn'),
        ...optional('newSuperior', newSuperior),
      };
    }
    case 14: {
      expectTag(el, 0x6e, 'compareRequest');
      const ava = expectTag(c[1], 0x30, 'compare assertion');
      return {
        type: 'compareRequest',
        entry: readText(c[0], 'compare entry'),
        attribute: readText(ava.children[0], 'compare attribute'),
        value: readBytes(ava.children[1], 'compare value'),
      };
    }
    case 16:
      return { type: 'abandonRequest', idToAbandon: readInt(el, 'abandonRequest', 0x50) };
    case 19:
      return {
        type: 'searchResultReference',
        uris: uris(expectTag(el, 0x73, 'searchResultReference'), lim, 'searchResultReference'),
      };
    case 23: {
      expectTag(el, 0x77, 'extendedRequest');
      const value = c[1]?.is(0x81) ? readBytes(c[1], 'extendedRequest value', 0x81) : undefined;
      return {
        type: 'extendedRequest',
        name: readOidText(c[0], 'extendedRequest name', 0x80),
        ...optional('value', value),
      };
    }
    case 24: {
      const { result, next } = decodeResult(expectTag(el, 0x78, 'extendedResponse'), lim);
      let k = next;
      const name = c[k]?.is(0x8a) ? readOidText(c[k++], 'extendedResponse name', 0x8a) : undefined;
      const value = c[k]?.is(0x8b) ? readBytes(c[k], 'extendedResponse value', 0x8b) : undefined;
      return { type: 'extendedResponse', ...result, ...optional('name', name), ...optional('value', value) };
    }
    case 25: {
      expectTag(el, 0x79, 'intermediateResponse');
      let k = 0;
      const name = c[k]?.is(0x80) ? readOidText(c[k++], 'intermediateResponse name', 0x80) : undefined;
      const value = c[k]?.is(0x81) ? readBytes(c[k], 'intermediateResponse value', 0x81) : undefined;
      return { type: 'intermediateResponse', ...optional('name', name), ...optional('value', value) };
    }
    default:
      return malformed(`LDAP message: unknown protocolOp [APPLICATION ${n}]`);
  }
}

// ---------------------------------------------------------------- encoding

const str = (s: string) => octets(Buffer.from(s, 'utf8'));
const enumerated = (n: number) => retag(integer(n), 0x0a);
const EMPTY = Buffer.alloc(0);

function result(r: LdapResult): Buffer[] {
  const parts = [enumerated(checkInt(r.resultCode, 'resultCode')), str(r.matchedDN), str(r.diagnosticMessage)];
  if (r.referral !== undefined) {
    if (r.referral.length === 0) fail('INVALID_ARGUMENT', 'a referral needs at least one URI');
    parts.push(tlv(0xa3, ...r.referral.map(str)));
  }
  return parts;
}

const attribute = (a: PartialAttribute) => seq(str(a.type), tlv(0x31, ...a.values.map(octets)));

function encodeOp(op: ProtocolOp): Buffer {
  switch (op.type) {
    case 'bindRequest': {
      const auth =
        op.auth.kind === 'simple'
          ? tlv(0x80, op.auth.password)
          : tlv(0xa3, str(op.auth.mechanism), op.auth.credentials ? octets(op.auth.credentials) : EMPTY);
      return tlv(0x60, integer(checkInt(op.version, 'bind version', 127, 1)), str(op.name), auth);
    }
    case 'bindResponse':
      return tlv(0x61, ...result(op), op.serverSaslCreds ? tlv(0x87, op.serverSaslCreds) : EMPTY);
    case 'unbindRequest':
      return Buffer.from([0x42, 0x00]);
    case 'searchRequest':
      return tlv(
        0x63,
        str(op.baseObject),
        enumerated(SCOPES.indexOf(op.scope)),
        enumerated(checkInt(op.derefAliases, 'derefAliases', 3)),
        integer(checkInt(op.sizeLimit, 'sizeLimit')),
        integer(checkInt(op.timeLimit, 'timeLimit')),
        bool(op.typesOnly),
        encodeFilter(op.filter),
        seq(...op.attributes.map(str)),
      );
    case 'searchResultEntry':
      return tlv(0x64, str(op.objectName), seq(...op.attributes.map(attribute)));
    case 'searchResultDone':
    case 'modifyResponse':
    case 'addResponse':
    case 'delResponse':
    case 'modifyDnResponse':
    case 'compareResponse':
      return tlv(0x60 | RESULT_ONLY[op.type], ...result(op));
    case 'searchResultReference':
      if (op.uris.length === 0) fail('INVALID_ARGUMENT', 'a searchResultReference needs at least one URI');
      return tlv(0x73, ...op.uris.map(str));
    case 'modifyRequest':
      return tlv(
        0x66,
        str(op.object),
        seq(
          ...op.changes.map((ch) =>
            seq(enumerated(MODIFY_OPERATIONS.indexOf(ch.operation)), attribute(ch.modification)),
          ),
        ),
      );
    case 'addRequest':
      return tlv(0x68, str(op.entry), seq(...op.attributes.map(attribute)));
    case 'delRequest':
      return tlv(0x4a, Buffer.from(op.dn, 'utf8'));
    case 'modifyDnRequest':
      return tlv(
        0x6c,
        str(op.entry),
        str(op.newRdn),
        bool(op.deleteOldRdn),
        op.newSuperior !== undefined ? tlv(0x80, Buffer.from(op.newSuperior, 'utf8')) : EMPTY,
      );
    case 'compareRequest':
      return tlv(0x6e, str(op.entry), seq(str(op.attribute), octets(op.value)));
    case 'abandonRequest':
      return retag(integer(checkInt(op.idToAbandon, 'idToAbandon')), 0x50);
    case 'extendedRequest':
      return tlv(
        0x77,
        tlv(0x80, Buffer.from(checkOid(op.name, 'extendedRequest name'))),
        op.value ? tlv(0x81, op.value) : EMPTY,
      );
    case 'extendedResponse':
      return tlv(
        0x78,
        ...result(op),
        op.name !== undefined ? tlv(0x8a, Buffer.from(checkOid(op.name, 'extendedResponse name'))) : EMPTY,
        op.value ? tlv(0x8b, op.value) : EMPTY,
      );
    case 'intermediateResponse':
      return tlv(
        0x79,
        op.name !== undefined ? tlv(0x80, Buffer.from(checkOid(op.name, 'intermediateResponse name'))) : EMPTY,
        op.value ? tlv(0x81, op.value) : EMPTY,
      );
  }
}

function encodeControl(c: Control): Buffer {
  return seq(
    str(checkOid(c.oid, 'control type')),
    // DER omits a DEFAULT value (X.690 §11.5).
    c.critical ? bool(true) : EMPTY,
    c.value ? octets(c.value) : EMPTY,
  );
}

/** The BER (DER-style, minimal lengths) encoding of one LDAPMessage. */
export function encodeLdapMessage(message: LdapMessage): Uint8Array {
  return seq(
    integer(checkInt(message.id, 'messageID', MAX_INT)),
    encodeOp(message.op),
    message.controls.length > 0 ? tlv(0xa0, ...message.controls.map(encodeControl)) : EMPTY,
  );
}
