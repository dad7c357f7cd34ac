/**
 * @sealpost/core/ldap — the LDAPv3 protocol as pure functions over bytes: messages (RFC 4511),
 * search filters (RFC 4515), distinguished names (RFC 4514) and the paged-results control (RFC 2696).
 * No sockets here: `@sealpost/ldap` runs the server and the client on top of this codec.
 */

export { decodeLdapMessage, encodeLdapMessage, LDAP_LIMITS, type LdapLimits, readLdapFrame } from './codec.ts';
export { decodePagedResults, encodePagedResults, type PagedResults } from './controls.ts';
export { type Dn, formatDn, normalizeDn, parseDn, type Rdn } from './dn.ts';
export { formatFilter, parseFilter } from './filter.ts';
export * from './messages.ts';
export { prepareCaseIgnore } from './prepare.ts';
