/**
 * The key-encryption key that protects the vault's data keys (envelope encryption). The local
 * implementation (`createLocalMasterKey`) holds 32 bytes in memory; a KMS or HSM can implement the
 * same port so that the master key never enters the process.
 */
export interface MasterKey {
  /** A stable, non-secret identifier recorded next to every data key it wraps (data_keys.master_key_id). */
  readonly id: string;
  /** Encrypts a data key; the result must be integrity-protected. */
  wrap(dataKey: Uint8Array): Promise<Uint8Array>;
  /**
   * Decrypts a wrapped data key. Must throw ServiceError SECRET_TAMPERED when the wrapped bytes fail
   * their integrity check; other failures (e.g. an unreachable KMS) propagate as they are.
   */
  unwrap(wrapped: Uint8Array): Promise<Uint8Array>;
}
