/**
 * Sealpost's two-way link with an organisation's own directory (OpenLDAP, Active Directory):
 * publishing the certificates it issues into the holders' entries, and importing people and groups
 * from it. `@sealpost/ldap` implements both over LDAP.
 */

/**
 * A directory whose entries carry users' certificates (userCertificate;binary). Each call touches
 * exactly the one value it names, so values published by others (another CA) stay.
 */
export interface DirectoryPublishTarget {
  /** Identifies the target in the publication records; keep it stable across configuration changes. */
  readonly name: string;
  /** Adds the DER certificate to the entry of the mailbox; `present` when it was there already. */
  addCertificate(address: string, der: Uint8Array): Promise<'added' | 'present' | 'no-entry'>;
  /** Removes the DER certificate from the entry of the mailbox; `absent` when it was not there. */
  removeCertificate(address: string, der: Uint8Array): Promise<'removed' | 'absent' | 'no-entry'>;
}

export interface DirectoryPerson {
  readonly dn: string;
  readonly mail: string;
  readonly displayName: string;
  readonly givenName?: string;
  readonly surname?: string;
  readonly uid?: string;
}

export interface DirectoryGroup {
  readonly name: string;
  /** The members' addresses (group members are resolved to people by the source). */
  readonly memberMails: readonly string[];
}

/**
 * Where people and groups are imported from. Both iterations must reject (not end early) when the
 * directory fails midway: an import that saw only part of the people would disable the rest.
 */
export interface DirectorySource {
  readonly name: string;
  people(signal: AbortSignal): AsyncIterable<DirectoryPerson>;
  groups(signal: AbortSignal): AsyncIterable<DirectoryGroup>;
}
