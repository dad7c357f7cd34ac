/**
 * @sealpost/revocation — gathers CRLs and OCSP responses (files, a cache, HTTP) for the pure
 * revocation checker of @sealpost/core.
 */
export {
  type GatheredRevocationData,
  type GatherOptions,
  gatherRevocationData,
  type PolicyOptions,
  revocationPolicy,
} from './gather.ts';
export { type FetchOptions, type FetchResult, fetchBytes } from './http.ts';
