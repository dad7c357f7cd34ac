/**
 * The LDAPv3 protocol data units (RFC 4511 §4) as plain values. `codec.ts` turns them into BER and
 * back; the server and client in `@sealpost/ldap` speak only in these types.
 *
 * Strings (LDAPString, LDAPDN, LDAPOID) are UTF-8 and decoded to `string`; attribute values and
 * assertion values stay bytes, because `userCertificate;binary` is DER and equality is per matching rule.
 */

/**
 * LDAPMessage ::= SEQUENCE {
 *      messageID       MessageID,               -- INTEGER (0 .. maxInt)
 *      protocolOp      CHOICE { … },
 *      controls       [0] Controls OPTIONAL }
 */
export interface LdapMessage {
  readonly id: number;
  readonly op: ProtocolOp;
  readonly controls: readonly Control[];
}

/** Control ::= SEQUENCE { controlType LDAPOID, criticality BOOLEAN DEFAULT FALSE, controlValue OCTET STRING OPTIONAL } */
export interface Control {
  readonly oid: string;
  readonly critical: boolean;
  readonly value?: Uint8Array;
}

/**
 * LDAPResult ::= SEQUENCE { resultCode ENUMERATED, matchedDN LDAPDN, diagnosticMessage LDAPString,
 *                           referral [3] Referral OPTIONAL }
 */
export interface LdapResult {
  readonly resultCode: number;
  readonly matchedDN: string;
  readonly diagnosticMessage: string;
  readonly referral?: readonly string[];
}

/** PartialAttribute ::= SEQUENCE { type AttributeDescription, vals SET OF value AttributeValue } */
export interface PartialAttribute {
  readonly type: string;
  readonly values: readonly Uint8Array[];
}

/** BindRequest ::= [APPLICATION 0] SEQUENCE { version INTEGER (1..127), name LDAPDN, authentication AuthenticationChoice } */
export interface BindRequest {
  readonly type: 'bindRequest';
  readonly version: number;
  readonly name: string;
  /** AuthenticationChoice ::= CHOICE { simple [0] OCTET STRING, sasl [3] SaslCredentials } */
  readonly auth:
    | { readonly kind: 'simple'; readonly password: Uint8Array }
    | { readonly kind: 'sasl'; readonly mechanism: string; readonly credentials?: Uint8Array };
}

/** BindResponse ::= [APPLICATION 1] SEQUENCE { COMPONENTS OF LDAPResult, serverSaslCreds [7] OCTET STRING OPTIONAL } */
export interface BindResponse extends LdapResult {
  readonly type: 'bindResponse';
  readonly serverSaslCreds?: Uint8Array;
}

/** UnbindRequest ::= [APPLICATION 2] NULL */
export interface UnbindRequest {
  readonly type: 'unbindRequest';
}

export type SearchScope = 'base' | 'one' | 'sub';

/**
 * SearchRequest ::= [APPLICATION 3] SEQUENCE {
 *      baseObject LDAPDN, scope ENUMERATED { baseObject (0), singleLevel (1), wholeSubtree (2) },
 *      derefAliases ENUMERATED (0..3), sizeLimit INTEGER (0 .. maxInt), timeLimit INTEGER (0 .. maxInt),
 *      typesOnly BOOLEAN, filter Filter, attributes AttributeSelection }
 */
export interface SearchRequest {
  readonly type: 'searchRequest';
  readonly baseObject: string;
  readonly scope: SearchScope;
  readonly derefAliases: number;
  readonly sizeLimit: number;
  /** Seconds; 0 = no client limit. */
  readonly timeLimit: number;
  readonly typesOnly: boolean;
  readonly filter: Filter;
  readonly attributes: readonly string[];
}

/** SearchResultEntry ::= [APPLICATION 4] SEQUENCE { objectName LDAPDN, attributes PartialAttributeList } */
export interface SearchResultEntry {
  readonly type: 'searchResultEntry';
  readonly objectName: string;
  readonly attributes: readonly PartialAttribute[];
}

/** SearchResultDone ::= [APPLICATION 5] LDAPResult */
export interface SearchResultDone extends LdapResult {
  readonly type: 'searchResultDone';
}

/** SearchResultReference ::= [APPLICATION 19] SEQUENCE SIZE (1..MAX) OF uri URI */
export interface SearchResultReference {
  readonly type: 'searchResultReference';
  readonly uris: readonly string[];
}

export type ModifyOperation = 'add' | 'delete' | 'replace';

/**
 * ModifyRequest ::= [APPLICATION 6] SEQUENCE { object LDAPDN, changes SEQUENCE OF change SEQUENCE {
 *      operation ENUMERATED { add (0), delete (1), replace (2) }, modification PartialAttribute } }
 */
export interface ModifyRequest {
  readonly type: 'modifyRequest';
  readonly object: string;
  readonly changes: readonly { readonly operation: ModifyOperation; readonly modification: PartialAttribute }[];
}

/** ModifyResponse ::= [APPLICATION 7] LDAPResult */
export interface ModifyResponse extends LdapResult {
  readonly type: 'modifyResponse';
}

/** AddRequest ::= [APPLICATION 8] SEQUENCE { entry LDAPDN, attributes AttributeList } */
export interface AddRequest {
  readonly type: 'addRequest';
  readonly entry: string;
  readonly attributes: readonly PartialAttribute[];
}

/** AddResponse ::= [APPLICATION 9] LDAPResult */
export interface AddResponse extends LdapResult {
  readonly type: 'addResponse';
}

/** DelRequest ::= [APPLICATION 10] LDAPDN */
export interface DelRequest {
  readonly type: 'delRequest';
  readonly dn: string;
}

/** DelResponse ::= [APPLICATION 11] LDAPResult */
export interface DelResponse extends LdapResult {
  readonly type: 'delResponse';
}

/**
 * ModifyDNRequest ::= [APPLICATION 12] SEQUENCE { entry LDAPDN, newrdn RelativeLDAPDN,
 *      deleteoldrdn BOOLEAN, newSuperior [0] LDAPDN OPTIONAL }
 */
export interface ModifyDnRequest {
  readonly type: 'modifyDnRequest';
  readonly entry: string;
  readonly newRdn: string;
  readonly deleteOldRdn: boolean;
  readonly newSuperior?: string;
}

/** ModifyDNResponse ::= [APPLICATION 13] LDAPResult */
export interface ModifyDnResponse extends LdapResult {
  readonly type: 'modifyDnResponse';
}

/** CompareRequest ::= [APPLICATION 14] SEQUENCE { entry LDAPDN, ava AttributeValueAssertion } */
export interface CompareRequest {
  readonly type: 'compareRequest';
  readonly entry: string;
  readonly attribute: string;
  readonly value: Uint8Array;
}

/** CompareResponse ::= [APPLICATION 15] LDAPResult */
export interface CompareResponse extends LdapResult {
  readonly type: 'compareResponse';
}

/** AbandonRequest ::= [APPLICATION 16] MessageID */
export interface AbandonRequest {
  readonly type: 'abandonRequest';
  readonly idToAbandon: number;
}

/** ExtendedRequest ::= [APPLICATION 23] SEQUENCE { requestName [0] LDAPOID, requestValue [1] OCTET STRING OPTIONAL } */
export interface ExtendedRequest {
  readonly type: 'extendedRequest';
  readonly name: string;
  readonly value?: Uint8Array;
}

/**
 * ExtendedResponse ::= [APPLICATION 24] SEQUENCE { COMPONENTS OF LDAPResult,
 *      responseName [10] LDAPOID OPTIONAL, responseValue [11] OCTET STRING OPTIONAL }
 */
export interface ExtendedResponse extends LdapResult {
  readonly type: 'extendedResponse';
  readonly name?: string;
  readonly value?: Uint8Array;
}

/** IntermediateResponse ::= [APPLICATION 25] SEQUENCE { responseName [0] LDAPOID OPTIONAL, responseValue [1] OCTET STRING OPTIONAL } */
export interface IntermediateResponse {
  readonly type: 'intermediateResponse';
  readonly name?: string;
  readonly value?: Uint8Array;
}

export type ProtocolOp =
  | BindRequest
  | BindResponse
  | UnbindRequest
  | SearchRequest
  | SearchResultEntry
  | SearchResultDone
  | SearchResultReference
  | ModifyRequest
  | ModifyResponse
  | AddRequest
  | AddResponse
  | DelRequest
  | DelResponse
  | ModifyDnRequest
  | ModifyDnResponse
  | CompareRequest
  | CompareResponse
  | AbandonRequest
  | ExtendedRequest
  | ExtendedResponse
  | IntermediateResponse;

/**
 * Filter ::= CHOICE {
 *      and [0] SET SIZE (1..MAX) OF filter Filter,   or [1] SET SIZE (1..MAX) OF filter Filter,
 *      not [2] Filter,                                equalityMatch [3] AttributeValueAssertion,
 *      substrings [4] SubstringFilter,                greaterOrEqual [5] AttributeValueAssertion,
 *      lessOrEqual [6] AttributeValueAssertion,       present [7] AttributeDescription,
 *      approxMatch [8] AttributeValueAssertion,       extensibleMatch [9] MatchingRuleAssertion, … }
 */
export type Filter =
  | { readonly type: 'and'; readonly filters: readonly Filter[] }
  | { readonly type: 'or'; readonly filters: readonly Filter[] }
  | { readonly type: 'not'; readonly filter: Filter }
  | { readonly type: 'equality'; readonly attribute: string; readonly value: Uint8Array }
  | {
      readonly type: 'substrings';
      readonly attribute: string;
      readonly initial?: Uint8Array;
      readonly any: readonly Uint8Array[];
      readonly final?: Uint8Array;
    }
  | { readonly type: 'greaterOrEqual'; readonly attribute: string; readonly value: Uint8Array }
  | { readonly type: 'lessOrEqual'; readonly attribute: string; readonly value: Uint8Array }
  | { readonly type: 'present'; readonly attribute: string }
  | { readonly type: 'approx'; readonly attribute: string; readonly value: Uint8Array }
  | {
      readonly type: 'extensible';
      readonly matchingRule?: string;
      readonly attribute?: string;
      readonly value: Uint8Array;
      readonly dnAttributes: boolean;
    };

/** RFC 4511 §4.1.9 result codes that Sealpost sends or interprets. */
export const ResultCode = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  authMethodNotSupported: 7,
  strongerAuthRequired: 8,
  adminLimitExceeded: 11,
  unavailableCriticalExtension: 12,
  confidentialityRequired: 13,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  inappropriateMatching: 18,
  constraintViolation: 19,
  attributeOrValueExists: 20,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  invalidDNSyntax: 34,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  other: 80,
} as const;

/** Well-known OIDs of LDAP extended operations and controls. */
export const LdapOid = {
  /** RFC 4511 §4.14 StartTLS extended operation. */
  startTls: '1.3.6.1.4.1.1466.20037',
  /** RFC 4511 §4.4.1 Notice of Disconnection (unsolicited, message ID 0). */
  noticeOfDisconnection: '1.3.6.1.4.1.1466.20036',
  /** RFC 2696 Simple Paged Results control. */
  pagedResults: '1.2.840.113556.1.4.319',
  /** RFC 4532 "Who am I?" extended operation. */
  whoAmI: '1.3.6.1.4.1.4203.1.11.3',
} as const;
