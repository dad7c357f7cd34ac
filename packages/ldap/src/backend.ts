/**
 * What the key server asks of the directory behind it. The domain (`@sealpost/services`) implements
 * this interface structurally — it cannot import this package — so it speaks only in core's LDAP
 * types. The server owns the protocol (framing, controls, limits, the root DSE, attribute selection);
 * the backend owns the entries and the meaning of its paging cursor.
 */
import type { SearchRequest, SearchResultEntry } from '@sealpost/core/ldap';

export interface LdapSearchOptions {
  /** Return at most this many entries; set `cursor` when more match. */
  readonly limit: number;
  /** Where a previous page stopped (paged results, RFC 2696); opaque. */
  readonly cursor?: string;
  /** Aborted on abandon, unbind, disconnect or time limit. */
  readonly signal: AbortSignal;
  /** Who bound: null for anonymous, else the principal `bind` returned. */
  readonly principal: string | null;
}

export interface LdapSearchPage {
  readonly entries: readonly SearchResultEntry[];
  readonly cursor?: string;
  /** A non-success outcome, e.g. noSuchObject with matchedDN, or unwillingToPerform for an unindexed search the backend refuses. */
  readonly result?: { readonly resultCode: number; readonly matchedDN?: string; readonly diagnosticMessage?: string };
}

export interface LdapBackend {
  /** Entries of the directory (never the root DSE: the server answers that) for a search request. */
  search(request: SearchRequest, options: LdapSearchOptions): Promise<LdapSearchPage>;
  /** Simple bind; the principal is what later searches see. */
  bind(
    dn: string,
    password: Uint8Array,
  ): Promise<{ readonly ok: true; readonly principal: string } | { readonly ok: false }>;
}
