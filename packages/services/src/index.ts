/**
 * @sealpost/services — the Sealpost server's domain, written against ports (database, clock)
 * that the store and server packages implement.
 */

export { AUDIT_ACTIONS, type AuditAction, isAuditAction } from './audit/actions.ts';
export { canonicalJson, type JsonValue } from './audit/canonical-json.ts';
export {
  type AuditDetails,
  type AuditEntry,
  type AuditEvent,
  type AuditHead,
  AuditLog,
  type ChainBreak,
  type ChainVerification,
  entryHash,
  GENESIS_HASH,
  verifyChain,
} from './audit/log.ts';
export { isServiceError, SERVICE_ERROR_CODES, ServiceError, type ServiceErrorCode } from './errors.ts';
export { type Clock, systemClock } from './ports/clock.ts';
export type { Database, Row, Sql, SqlValue } from './ports/database.ts';
export type { MasterKey } from './ports/master-key.ts';
export { type Migration, migrations } from './schema/migrations.ts';
export { createLocalMasterKey, MASTER_KEY_LENGTH, masterKeyId } from './secrets/local-master-key.ts';
export { rotateMasterKey, Vault, type VaultOptions } from './secrets/vault.ts';
