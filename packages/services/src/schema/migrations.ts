/**
 * The database schema as an ordered list of migrations. Each `up` is written in the portable subset
 * described in docs/storage.md: plain CREATE TABLE / CREATE INDEX statements separated by `;`, column
 * types TEXT, INTEGER (32-bit), BIGINT and DOUBLE PRECISION, plus two tokens each adapter replaces:
 *   {{id}}    auto-increment primary key (SQLite `INTEGER PRIMARY KEY AUTOINCREMENT`, PostgreSQL `BIGSERIAL PRIMARY KEY`)
 *   {{bytes}} a byte string (SQLite `BLOB`, PostgreSQL `BYTEA`)
 * Times are TEXT ISO-8601 UTC with milliseconds, so they sort and compare as strings; booleans are
 * INTEGER 0/1; entity ids are TEXT (random UUIDs made by the services, so any node can mint them).
 * A migration, once released, never changes: fix forward with a new version.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: string;
}

const initial = `
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  created_at TEXT NOT NULL
);

CREATE TABLE groups (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);

CREATE TABLE group_members (
  group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members (user_id);

CREATE TABLE accounts (
  user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor', 'user')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  last_used_at TEXT,
  revoked_at TEXT
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE data_keys (
  id TEXT PRIMARY KEY,
  wrapped_key {{bytes}} NOT NULL,
  master_key_id TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX data_keys_by_master_key ON data_keys (master_key_id, created_at);

CREATE TABLE secrets (
  id TEXT PRIMARY KEY,
  data_key_id TEXT NOT NULL REFERENCES data_keys (id),
  nonce {{bytes}} NOT NULL,
  ciphertext {{bytes}} NOT NULL,
  aad {{bytes}} NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX secrets_by_data_key ON secrets (data_key_id);

CREATE TABLE cas (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  certificate {{bytes}} NOT NULL,
  key_secret_id TEXT NOT NULL REFERENCES secrets (id),
  status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
  created_at TEXT NOT NULL
);

CREATE TABLE templates (
  name TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE certificates (
  id TEXT PRIMARY KEY,
  serial TEXT NOT NULL UNIQUE,
  ca_id TEXT NOT NULL REFERENCES cas (id),
  user_id TEXT REFERENCES users (id),
  template TEXT NOT NULL,
  der {{bytes}} NOT NULL,
  not_before TEXT NOT NULL,
  not_after TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('valid', 'revoked')),
  revoked_at TEXT,
  revocation_reason INTEGER,
  created_at TEXT NOT NULL
);
CREATE INDEX certificates_by_user ON certificates (user_id);
CREATE INDEX certificates_by_not_after ON certificates (not_after);
CREATE INDEX certificates_by_ca_status ON certificates (ca_id, status);

CREATE TABLE archived_keys (
  certificate_id TEXT PRIMARY KEY REFERENCES certificates (id),
  secret_id TEXT NOT NULL REFERENCES secrets (id),
  created_at TEXT NOT NULL
);

CREATE TABLE recovery_requests (
  id TEXT PRIMARY KEY,
  certificate_id TEXT NOT NULL REFERENCES certificates (id),
  requested_by TEXT NOT NULL REFERENCES users (id),
  approved_by TEXT REFERENCES users (id),
  reason TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'completed')),
  created_at TEXT NOT NULL,
  decided_at TEXT,
  completed_at TEXT
);
CREATE INDEX recovery_requests_by_status ON recovery_requests (status, created_at);

CREATE TABLE trust_anchors (
  id TEXT PRIMARY KEY,
  der {{bytes}} NOT NULL,
  sha256 TEXT NOT NULL UNIQUE,
  scope_domain TEXT,
  created_at TEXT NOT NULL
);

CREATE TABLE audit_log (
  seq {{id}},
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL UNIQUE,
  hash TEXT NOT NULL UNIQUE
);

CREATE TABLE jobs (
  name TEXT PRIMARY KEY,
  last_run_at TEXT,
  holder TEXT
)
`;

/**
 * Failed logins, one row per failure and per key ("account:<email>", "source:<address>"), so that
 * every node sees the same count (identity/accounts.ts). Rows older than the lockout window are
 * deleted as new failures arrive.
 */
const loginFailures = `
CREATE TABLE login_failures (
  id {{id}},
  limiter_key TEXT NOT NULL,
  failed_at TEXT NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures (limiter_key, failed_at)
`;

/**
 * What the CA service keeps beside the cas rows (ca/ca-service.ts):
 *   ca_settings  the URLs written into issued certificates (CDP, AIA) and the issuers above the CA
 *                certificate (DER certificates concatenated, issuer first; empty for a root);
 *   ca_requests  intermediate CAs waiting for their certificate from an external root: the key is
 *                already sealed (context ca-key:<id>), and the id becomes the CA's id on import;
 *   crls         the current CRL of each CA, re-signed on every revocation and before nextUpdate.
 */
const caState = `
CREATE TABLE ca_settings (
  ca_id TEXT PRIMARY KEY REFERENCES cas (id),
  crl_url TEXT,
  ocsp_url TEXT,
  ca_issuers_url TEXT,
  chain {{bytes}} NOT NULL
);

CREATE TABLE ca_requests (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  csr {{bytes}} NOT NULL,
  key_secret_id TEXT NOT NULL REFERENCES secrets (id),
  crl_url TEXT,
  ocsp_url TEXT,
  ca_issuers_url TEXT,
  created_at TEXT NOT NULL
);

CREATE TABLE crls (
  ca_id TEXT PRIMARY KEY REFERENCES cas (id),
  crl_number BIGINT NOT NULL,
  der {{bytes}} NOT NULL,
  this_update TEXT NOT NULL,
  next_update TEXT NOT NULL
)
`;

/**
 * Auto-enrollment (enrollment/auto-enrollment.ts): every active member of a group gets a certificate
 * from each template assigned to the group. Deleting the group or the template ends the assignment.
 */
const groupTemplates = `
CREATE TABLE group_templates (
  group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  template_name TEXT NOT NULL REFERENCES templates (name) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  PRIMARY KEY (group_id, template_name)
);
CREATE INDEX group_templates_by_template ON group_templates (template_name)
`;

/**
 * The certificate book (book/book.ts): correspondents' certificates to encrypt to. Certificates of
 * Sealpost's own CAs are not copied here; they are read from the certificates table.
 *   book_entries    one row per mailbox and certificate: where it came from (`source`, and the
 *                   directory's name), the issuers it came with (PEM blocks, nearest first),
 *                   and `pending` (1 while a key change awaits review);
 *   book_decisions  accept / pin / reject of a mailbox's certificate, for everyone (`scope` '*') or
 *                   for one user (`scope` the user's id); the later decision of a scope replaces it;
 *   book_senders    per mailbox, what its latest signed message announced (RFC 8551 §2.5.2, §2.5.3):
 *                   SMIMECapabilities as JSON and the SMIMEEncryptionKeyPreference, with its signingTime.
 */
const certificateBook = `
CREATE TABLE book_entries (
  id TEXT PRIMARY KEY,
  address TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  der {{bytes}} NOT NULL,
  chain {{bytes}} NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('directory', 'harvested', 'manual')),
  directory TEXT,
  pending INTEGER NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL
);
CREATE UNIQUE INDEX book_entries_by_address ON book_entries (address, sha256);
CREATE INDEX book_entries_by_pending ON book_entries (pending, address);

CREATE TABLE book_decisions (
  address TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  scope TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('accept', 'pin', 'reject')),
  decided_by TEXT NOT NULL,
  decided_at TEXT NOT NULL,
  PRIMARY KEY (address, sha256, scope)
);

CREATE TABLE book_senders (
  address TEXT PRIMARY KEY,
  signing_time TEXT NOT NULL,
  capabilities TEXT,
  preferred_sha256 TEXT,
  preference TEXT,
  updated_at TEXT NOT NULL
)
`;

/**
 * The directory's view of a user (directory/, the LDAP key server): the profile attributes beside
 * users.display_name, and search keys — the values as LDAP matching rules compare them (RFC 4518:
 * NFKC, lower case, spaces folded), so equality and initial-substring filters are index lookups.
 * Every user has a row. The keys of each index end with (mail_key, user_id), the directory's
 * result order, so an equality lookup reads its matches already in page order.
 * The backfill can compute only mail_key in portable SQL (the address is ASCII); it marks the rows
 * keys_stale, and the directory computes the other keys before its first search.
 */
const directory = `
CREATE TABLE user_profiles (
  user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  given_name TEXT,
  surname TEXT,
  uid TEXT,
  mail_key TEXT NOT NULL,
  cn_key TEXT,
  sn_key TEXT,
  given_name_key TEXT,
  uid_key TEXT,
  keys_stale INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX user_profiles_by_mail ON user_profiles (mail_key, user_id);
CREATE INDEX user_profiles_by_cn ON user_profiles (cn_key, mail_key, user_id);
CREATE INDEX user_profiles_by_sn ON user_profiles (sn_key, mail_key, user_id);
CREATE INDEX user_profiles_by_given_name ON user_profiles (given_name_key, mail_key, user_id);
CREATE INDEX user_profiles_by_uid ON user_profiles (uid_key, mail_key, user_id);
CREATE INDEX user_profiles_stale ON user_profiles (user_id) WHERE keys_stale = 1;
INSERT INTO user_profiles (user_id, mail_key, keys_stale) SELECT id, lower(email), 1 FROM users
`;

/**
 * External directories (directory/publishing.ts and directory/import.ts):
 *   directory_publications   per publish target and certificate, what Sealpost put into (or means to
 *                            put into, or take out of) that directory: `adding`/`removing` are
 *                            intents not yet confirmed, retried by the periodic sync; `published`/
 *                            `removed` are done; `no-entry` means the mailbox has no entry there
 *                            (tried again after next_attempt_at). `revision` changes with every new
 *                            intent, so the outcome of an older, overtaken attempt is not recorded as
 *                            current. Only values recorded here are ever removed from a directory.
 *   directory_sync           per target, the time up to which changes (issued, revoked, expired) were published;
 *   directory_import_users   users an import created or adopted, per source; missing_since is set
 *                            when the person left the source and the import disabled the user;
 *   directory_import_groups  the groups whose members a source manages.
 * The two certificate indexes serve "issued or revoked since the last run".
 */
const directoryPublishing = `
CREATE TABLE directory_publications (
  target TEXT NOT NULL,
  certificate_id TEXT NOT NULL REFERENCES certificates (id),
  address TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('adding', 'published', 'no-entry', 'removing', 'removed')),
  revision INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT,
  next_attempt_at TEXT,
  published_at TEXT,
  removed_at TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (target, certificate_id)
);
CREATE INDEX directory_publications_pending ON directory_publications (target, state, next_attempt_at);
CREATE INDEX directory_publications_by_certificate ON directory_publications (certificate_id);

CREATE TABLE directory_sync (
  target TEXT PRIMARY KEY,
  synced_until TEXT NOT NULL
);

CREATE TABLE directory_import_users (
  source TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  dn TEXT NOT NULL,
  missing_since TEXT,
  imported_at TEXT NOT NULL,
  PRIMARY KEY (source, user_id)
);

CREATE TABLE directory_import_groups (
  source TEXT NOT NULL,
  group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  PRIMARY KEY (source, group_id)
);

CREATE INDEX certificates_by_created ON certificates (created_at);
CREATE INDEX certificates_by_revoked ON certificates (revoked_at)
`;

export const migrations: readonly Migration[] = [
  { version: 1, name: 'initial', up: initial },
  { version: 2, name: 'login-failures', up: loginFailures },
  { version: 3, name: 'ca-state', up: caState },
  { version: 4, name: 'group-templates', up: groupTemplates },
  { version: 5, name: 'directory', up: directory },
  { version: 6, name: 'certificate-book', up: certificateBook },
  { version: 7, name: 'directory-publishing', up: directoryPublishing },
];
