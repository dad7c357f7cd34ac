/**
 * The root DSE (RFC 4512 §5.1): the entry with the empty DN that tells a client what the server is
 * — its naming contexts, protocol version, controls and extended operations. The server answers it
 * itself; backends never see a search for it.
 */
import { LdapOid, type SearchRequest, type SearchResultEntry } from '@sealpost/core/ldap';

export interface RootDseOptions {
  readonly namingContexts: readonly string[];
  /** Whether StartTLS is offered (a TLS certificate is configured and StartTLS is enabled). */
  readonly startTls: boolean;
}

/** A search for the root DSE: base "" with scope base (RFC 4512 §5.1). */
export function isRootDseSearch(request: SearchRequest): boolean {
  return request.scope === 'base' && request.baseObject.trim() === '';
}

const encoder = new TextEncoder();
const text = (values: readonly string[]) => values.map((v) => encoder.encode(v));

export function rootDse(options: RootDseOptions): SearchResultEntry {
  const extensions = [LdapOid.whoAmI, ...(options.startTls ? [LdapOid.startTls] : [])];
  return {
    type: 'searchResultEntry',
    objectName: '',
    attributes: [
      { type: 'objectClass', values: text(['top']) },
      ...(options.namingContexts.length > 0 ? [{ type: 'namingContexts', values: text(options.namingContexts) }] : []),
      { type: 'supportedLDAPVersion', values: text(['3']) },
      { type: 'supportedControl', values: text([LdapOid.pagedResults]) },
      { type: 'supportedExtension', values: text(extensions) },
      { type: 'vendorName', values: text(['Sealpost']) },
    ],
  };
}
