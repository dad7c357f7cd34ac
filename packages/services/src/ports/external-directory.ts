/** A directory outside Sealpost where certificates of correspondents are published (a partner's LDAP key server, AD). */
export interface ExternalDirectory {
  readonly name: string;
  /** DER certificates published for the mailbox; [] when none. Rejects when unreachable; must honour the signal (timeout). */
  certificatesFor(address: string, signal: AbortSignal): Promise<Uint8Array[]>;
}
