/**
 * @sealpost/services — the Sealpost server's domain, written against ports (database, clock)
 * that the store and server packages implement.
 */

export {
  type ArchivedKeySummary,
  type ArchiveKeyInput,
  archivedKeyAad,
  KeyArchive,
  type KeyArchiveOptions,
} from './archive/key-archive.ts';
export {
  KeyRecovery,
  type KeyRecoveryOptions,
  type RecoveredKey,
  type RecoveryRequest,
  type RecoveryStatus,
} from './archive/recovery.ts';
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
  listAuditEntries,
  verifyChain,
} from './audit/log.ts';
export {
  BOOK_DECISIONS,
  type BookDecision,
  type BookEntry,
  type BookListQuery,
  type BookPage,
  type BookSource,
  CertificateBook,
  type CertificateBookOptions,
  type DecisionScope,
  type HarvestReport,
  type SenderProfile,
  SOURCE_RANK,
} from './book/book.ts';
export { HARVEST_REFUSALS, type HarvestRefusal, type KeyPreference } from './book/harvest.ts';
export {
  type CertificateChoice,
  EXCLUSION_REASONS,
  type Exclusion,
  type ExclusionReason,
  RECIPIENT_REASONS,
  type RecipientReason,
  type RevocationCheck,
  type UsableCertificate,
} from './book/ranking.ts';
export {
  DIRECTORY_TIMEOUT_MS,
  type LookupFailure,
  MAX_RECIPIENTS,
  type RecipientResolution,
  RecipientResolver,
  type RecipientResolverOptions,
  type Resolution,
} from './book/resolve.ts';
export {
  type CaInfo,
  CaService,
  type CaServiceOptions,
  type CertificateChange,
  type CreateRootInput,
  caKeyAad,
  type ImportCaInput,
  type IntermediateRequestInput,
  type IssueRequest,
  type IssueResult,
  type RenewalCandidate,
  type RenewOptions,
} from './ca/ca-service.ts';
export type { CaUrls } from './ca/checks.ts';
export { LintFailedError, TemplateError } from './ca/errors.ts';
export { CA_KEY_ALGORITHMS, type CaKeyAlgorithm, type EcCurve, KEY_ALGORITHMS, type KeyAlgorithm } from './ca/keys.ts';
export { type IssuedCertificate, REVOCATION_REASONS } from './ca/records.ts';
export {
  type CertificateTemplate,
  DEFAULT_TEMPLATES,
  type KeyPolicy,
  MAX_VALIDITY_DAYS,
  type TemplateBody,
  type TemplatePurpose,
} from './ca/templates.ts';
export {
  Directory,
  type DirectoryBindResult,
  type DirectoryOptions,
  type DirectorySearchOptions,
  type DirectorySearchResult,
} from './directory/directory.ts';
export {
  DirectoryImport,
  type DirectoryImportOptions,
  type DirectoryImportReport,
} from './directory/import.ts';
export {
  DirectoryPublisher,
  type DirectoryPublisherOptions,
  type PendingPublication,
  PUBLISHER_ACTOR,
  type PublicationFailure,
  type PublishReport,
} from './directory/publishing.ts';
export {
  AutoEnrollment,
  type AutoEnrollmentOptions,
  type EnrolledCertificate,
  type EnrollmentFailure,
  type EnrollmentReport,
  type EnrollmentScope,
  type RenewalFailure,
  type RenewalReport,
  SYSTEM_ACTOR,
} from './enrollment/auto-enrollment.ts';
export {
  type CertificateListQuery,
  type CertificatePage,
  type CertificateState,
  certificateBySerial,
  certificateState,
  listCertificates,
} from './enrollment/certificate-list.ts';
export { isServiceError, SERVICE_ERROR_CODES, ServiceError, type ServiceErrorCode } from './errors.ts';
export { type Listener, Listeners } from './events/listeners.ts';
export {
  type Account,
  Accounts,
  type AccountsOptions,
  type CreatedToken,
  DEFAULT_LOCKOUT,
  type LockoutPolicy,
  type LoginResult,
  type TokenInfo,
} from './identity/accounts.ts';
export { normalizeDomain, normalizeEmail } from './identity/email.ts';
export {
  checkPasswordPolicy,
  DEFAULT_SCRYPT,
  hashPassword,
  MIN_PASSWORD_LENGTH,
  type ScryptParams,
  verifyPassword,
} from './identity/passwords.ts';
export {
  authorize,
  can,
  isPermission,
  isRole,
  PERMISSIONS,
  type Permission,
  type Principal,
  ROLE_PERMISSIONS,
  ROLES,
  type Role,
} from './identity/permissions.ts';
export {
  type CsvImportOptions,
  type CsvImportReport,
  type CsvRowError,
  type Group,
  type MembershipChange,
  type MembershipListener,
  type User,
  UserDirectory,
  type UserDirectoryOptions,
  type UserListQuery,
  type UserPage,
  type UserProfileInput,
  type UserStatus,
} from './identity/users.ts';
export { type Clock, systemClock } from './ports/clock.ts';
export type { Database, Row, Sql, SqlValue } from './ports/database.ts';
export type {
  DirectoryGroup,
  DirectoryPerson,
  DirectoryPublishTarget,
  DirectorySource,
} from './ports/directory-sync.ts';
export type { ExternalDirectory } from './ports/external-directory.ts';
export type { MasterKey } from './ports/master-key.ts';
export { type Migration, migrations } from './schema/migrations.ts';
export { createLocalMasterKey, MASTER_KEY_LENGTH, masterKeyId } from './secrets/local-master-key.ts';
export { rotateMasterKey, Vault, type VaultOptions } from './secrets/vault.ts';
export {
  type TrustAnchor,
  type TrustImportReport,
  type TrustRefusal,
  TrustStore,
  type TrustStoreOptions,
} from './trust/trust-store.ts';
