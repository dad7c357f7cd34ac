export type { LdapBackend, LdapSearchOptions, LdapSearchPage } from './backend.ts';
export {
  type AttributeValues,
  CLIENT_LIMITS,
  LdapClient,
  type LdapClientOptions,
  LdapEntry,
  type LdapTlsOptions,
  type Modification,
  type OperationOptions,
  type SearchOptions,
} from './client.ts';
export { LdapDirectory, type LdapDirectoryConfig } from './external.ts';
export { isLdapError, LdapError, resultCodeName } from './ldap-error.ts';
export {
  DEFAULT_LDAP_SERVER_LIMITS,
  type LdapServer,
  type LdapServerEvent,
  type LdapServerLimits,
  type LdapServerOptions,
  startLdapServer,
} from './server.ts';
