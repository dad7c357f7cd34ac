import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AuditLog } from '../audit/log.ts';
import { saveProfile } from '../directory/profiles.ts';
import { ServiceError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Database, Row, Sql } from '../ports/database.ts';
import { normalizeEmail } from './email.ts';
import { checkPasswordPolicy, DEFAULT_SCRYPT, hashPassword, type ScryptParams, verifyPassword } from './passwords.ts';
import { isPermission, isRole, type Permission, type Principal, ROLE_PERMISSIONS, type Role } from './permissions.ts';
import { requireUser } from './users.ts';

/**
 * Local accounts (a password and a role for a user), browser sessions and API tokens.
 *
 * Credentials are random 32-byte values shown once; only their SHA-256 is stored, so a database
 * leak yields no usable session or token (a full-entropy secret needs no slow hash).
 *
 * Login throttling: each failure is stored (login_failures) under the account's address and under
 * the source address; when the failures within the window reach the limit, further logins for that
 * key are refused with ACCOUNT_LOCKED, without checking the password, until the oldest failure
 * leaves the window. The rows live in the shared database, so every node enforces the same limit;
 * concurrent attempts racing the check may overshoot it by the number of requests in flight.
 * Locked attempts are not counted, so an attacker cannot keep an account locked indefinitely
 * beyond the window by hammering it; the per-source limit (higher, since many users may share a
 * NAT address) slows one source guessing across many accounts.
 */

export interface LockoutPolicy {
  /** Failures per account address within the window before it locks; default 5. */
  readonly maxAccountFailures: number;
  /** Failures per source within the window before it locks; default 20. */
  readonly maxSourceFailures: number;
  /** Default 15 minutes. */
  readonly windowMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxAccountFailures: 5, maxSourceFailures: 20, windowMs: 15 * 60_000 };

export interface AccountsOptions {
  readonly db: Database;
  readonly audit: AuditLog;
  readonly clock: Clock;
  /** At least 32 secret bytes, the same on every node: keys the CSRF tokens. */
  readonly csrfKey: Uint8Array;
  /** Default 8 hours. */
  readonly sessionTtlMs?: number;
  readonly lockout?: LockoutPolicy;
  /** Default DEFAULT_SCRYPT; hashes with other parameters are re-hashed at the next login. */
  readonly scrypt?: ScryptParams;
}

export interface Account {
  readonly userId: string;
  readonly email: string;
  readonly role: Role;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface LoginResult {
  /** The session token for the cookie; shown once. */
  readonly token: string;
  readonly sessionId: string;
  readonly csrfToken: string;
  readonly expiresAt: string;
  readonly principal: Principal;
}

export interface CreatedToken {
  readonly id: string;
  /** `spk_` + 43 base64url characters; shown once, stored only as a hash. */
  readonly token: string;
  readonly name: string;
  readonly scopes: readonly Permission[];
  readonly expiresAt: string | null;
}

export interface TokenInfo {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly scopes: readonly Permission[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

interface AccountRow extends Row {
  user_id: string;
  email: string;
  status: string;
  password_hash: string;
  role: string;
  created_at: string;
  updated_at: string;
}

interface TokenRow extends Row {
  id: string;
  user_id: string;
  name: string;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

const TOKEN_PREFIX = 'spk_';
const TOKEN_FORMAT = /^spk_[A-Za-z0-9_-]{43}$/;
const SESSION_FORMAT = /^[A-Za-z0-9_-]{43}$/;
/** last_used_at is refreshed at most this often, so authenticating is not a write per request. */
const LAST_USED_GRANULARITY_MS = 60_000;
const MAX_TOKEN_NAME = 100;

export class Accounts {
  readonly #db: Database;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #csrfKey: Buffer;
  readonly #sessionTtlMs: number;
  readonly #lockout: LockoutPolicy;
  readonly #scrypt: ScryptParams;
  /** Verified against when the account does not exist, so response time does not reveal which addresses have accounts. */
  #decoy: Promise<string> | undefined;

  constructor(options: AccountsOptions) {
    if (!(options.csrfKey instanceof Uint8Array) || options.csrfKey.length < 32) {
      throw new ServiceError('INVALID_ARGUMENT', 'The CSRF key must be at least 32 bytes.');
    }
    this.#db = options.db;
    this.#audit = options.audit;
    this.#clock = options.clock;
    this.#csrfKey = Buffer.from(options.csrfKey);
    this.#sessionTtlMs = options.sessionTtlMs ?? 8 * 3_600_000;
    this.#lockout = options.lockout ?? DEFAULT_LOCKOUT;
    this.#scrypt = options.scrypt ?? DEFAULT_SCRYPT;
  }

  /**
   * Creates the first administrator (and its user, if the address is new). Refused with CONFLICT
   * once any administrator exists: later ones are made with createAccount by an administrator.
   */
  async createAdmin(email: string, password: string, displayName?: string): Promise<Account> {
    checkPasswordPolicy(password);
    const address = normalizeEmail(email);
    const hash = await hashPassword(password, this.#scrypt);
    return this.#db.transaction(async (tx) => {
      if (await tx.get("SELECT user_id FROM accounts WHERE role = 'admin' LIMIT 1")) {
        throw new ServiceError('CONFLICT', 'An administrator exists already; ask them to create further accounts.');
      }
      const now = this.#now();
      let user = await tx.get<{ id: string } & Row>('SELECT id FROM users WHERE email = ?', [address]);
      if (user === undefined) {
        user = { id: randomUUID() };
        const name = displayName?.trim() || address;
        await tx.run("INSERT INTO users (id, email, display_name, status, created_at) VALUES (?, ?, ?, 'active', ?)", [
          user.id,
          address,
          name,
          now,
        ]);
        await saveProfile(tx, user.id, { email: address, displayName: name });
        await this.#audit.append(tx, {
          actor: 'system',
          action: 'user.create',
          subject: `user:${user.id}`,
          details: { email: address },
        });
      }
      return this.#insertAccount(tx, 'system', user.id, hash, 'admin');
    });
  }

  /** Gives an existing user a login with a role. */
  async createAccount(actor: string, userId: string, password: string, role: Role): Promise<Account> {
    checkRole(role);
    checkPasswordPolicy(password);
    const hash = await hashPassword(password, this.#scrypt);
    return this.#db.transaction(async (tx) => {
      await requireUser(tx, userId);
      return this.#insertAccount(tx, actor, userId, hash, role);
    });
  }

  async getAccount(userId: string): Promise<Account | undefined> {
    const row = await accountById(this.#db, userId);
    return row && toAccount(row);
  }

  /** Changes a role; the last administrator cannot be demoted (the system would lose its keeper). */
  async setRole(actor: string, userId: string, role: Role): Promise<Account> {
    checkRole(role);
    return this.#db.transaction(async (tx) => {
      const row = await mustGetAccount(tx, userId);
      if (row.role === role) return toAccount(row);
      if (row.role === 'admin') {
        const others = await tx.get<{ n: number } & Row>(
          "SELECT COUNT(*) AS n FROM accounts WHERE role = 'admin' AND user_id <> ?",
          [userId],
        );
        if (Number(others?.n ?? 0) === 0)
          throw new ServiceError('CONFLICT', 'The last administrator cannot be demoted.');
      }
      const now = this.#now();
      await tx.run('UPDATE accounts SET role = ?, updated_at = ? WHERE user_id = ?', [role, now, userId]);
      await this.#audit.append(tx, {
        actor,
        action: 'user.role.change',
        subject: `user:${userId}`,
        details: { from: row.role, to: role },
      });
      return toAccount({ ...row, role, updated_at: now });
    });
  }

  /** Sets a new password and ends the user's sessions (a reset must lock out whoever held the old one). */
  async setPassword(actor: string, userId: string, password: string): Promise<void> {
    checkPasswordPolicy(password);
    const hash = await hashPassword(password, this.#scrypt);
    await this.#db.transaction(async (tx) => {
      await mustGetAccount(tx, userId);
      await tx.run('UPDATE accounts SET password_hash = ?, updated_at = ? WHERE user_id = ?', [
        hash,
        this.#now(),
        userId,
      ]);
      const { changes } = await tx.run('DELETE FROM sessions WHERE user_id = ?', [userId]);
      await this.#audit.append(tx, {
        actor,
        action: 'account.password.change',
        subject: `user:${userId}`,
        details: { sessionsEnded: changes },
      });
    });
  }

  /**
   * Checks a password and opens a session. Throws ACCOUNT_LOCKED when the account or the source has
   * too many recent failures, UNAUTHENTICATED for a wrong address, password or a disabled user (one
   * message for all, so the answer does not reveal which addresses exist).
   */
  async login(email: string, password: string, source: string): Promise<LoginResult> {
    const { row, needsRehash, keys } = await this.#checkPassword(email, password, source);
    const rehash = needsRehash ? await hashPassword(password, this.#scrypt) : undefined;
    const token = randomBytes(32).toString('base64url');
    const sessionId = randomUUID();
    const now = this.#clock.now();
    const expiresAt = new Date(now.getTime() + this.#sessionTtlMs).toISOString();
    await this.#db.transaction(async (tx) => {
      if (rehash !== undefined) {
        await tx.run('UPDATE accounts SET password_hash = ?, updated_at = ? WHERE user_id = ? AND password_hash = ?', [
          rehash,
          now.toISOString(),
          row.user_id,
          row.password_hash,
        ]);
      }
      await tx.run('DELETE FROM login_failures WHERE limiter_key = ?', [keys.account]);
      await tx.run('INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)', [
        sessionId,
        row.user_id,
        sha256(token),
        now.toISOString(),
        expiresAt,
      ]);
      await this.#audit.append(tx, {
        actor: `user:${row.user_id}`,
        action: 'auth.login',
        subject: `session:${sessionId}`,
        details: { source, rehashed: rehash !== undefined },
      });
    });
    const principal: Principal = {
      userId: row.user_id,
      role: row.role,
      via: 'session',
      credentialId: sessionId,
    };
    return { token, sessionId, csrfToken: this.csrfToken(sessionId), expiresAt, principal };
  }

  /**
   * Checks a password as `login` does — the same lockout, failures counted and audited — but opens
   * no session: for protocols that authenticate each connection (an LDAP simple bind). Without a
   * `source`, only the per-account limit applies. Returns the user's id; throws ACCOUNT_LOCKED or
   * UNAUTHENTICATED like `login`.
   */
  async verifyPassword(email: string, password: string, source?: string): Promise<string> {
    const { row, needsRehash, keys } = await this.#checkPassword(email, password, source);
    const rehash = needsRehash ? await hashPassword(password, this.#scrypt) : undefined;
    await this.#db.transaction(async (tx) => {
      if (rehash !== undefined) {
        await tx.run('UPDATE accounts SET password_hash = ?, updated_at = ? WHERE user_id = ? AND password_hash = ?', [
          rehash,
          this.#now(),
          row.user_id,
          row.password_hash,
        ]);
      }
      await tx.run('DELETE FROM login_failures WHERE limiter_key = ?', [keys.account]);
    });
    return row.user_id;
  }

  /** The lockout check, the password check and the bookkeeping of a failure, shared by login and verifyPassword. */
  async #checkPassword(
    email: string,
    password: string,
    source: string | undefined,
  ): Promise<{ row: AccountRow & { role: Role }; needsRehash: boolean; keys: { account: string } }> {
    let address: string;
    try {
      address = normalizeEmail(email);
    } catch {
      address = String(email).trim();
    }
    const keys = { account: `account:${address}`, source: source === undefined ? undefined : `source:${source}` };
    const actor = `source:${source ?? 'unknown'}`;
    const lockedUntil = await this.#lockedUntil(keys);
    if (lockedUntil !== undefined) {
      await this.#db.transaction((tx) =>
        this.#audit.append(tx, {
          actor,
          action: 'auth.login.fail',
          subject: `email:${address}`,
          details: { reason: 'locked', until: lockedUntil },
        }),
      );
      throw new ServiceError(
        'ACCOUNT_LOCKED',
        `Too many failed logins for this account or from this address; try again after ${lockedUntil}.`,
      );
    }

    const row = await this.#db.get<AccountRow>(`${ACCOUNT_SELECT} WHERE u.email = ?`, [address]);
    const stored = row?.password_hash ?? (await this.#decoyHash());
    const { ok, needsRehash } = await verifyPassword(password, stored, this.#scrypt);
    if (!ok || row === undefined || row.status !== 'active' || !isRole(row.role)) {
      await this.#db.transaction(async (tx) => {
        const now = this.#now();
        const horizon = this.#windowStart();
        for (const key of [keys.account, keys.source]) {
          if (key === undefined) continue;
          await tx.run('DELETE FROM login_failures WHERE limiter_key = ? AND failed_at < ?', [key, horizon]);
          await tx.run('INSERT INTO login_failures (limiter_key, failed_at) VALUES (?, ?)', [key, now]);
        }
        await this.#audit.append(tx, {
          actor,
          action: 'auth.login.fail',
          subject: row ? `user:${row.user_id}` : `email:${address}`,
          details: { reason: !ok ? 'bad-credentials' : 'disabled' },
        });
      });
      throw new ServiceError('UNAUTHENTICATED', 'The address or password is wrong, or the account is disabled.');
    }
    return { row: { ...row, role: row.role }, needsRehash, keys };
  }

  /** The principal of a live session token, or null (unknown, expired, user disabled). */
  async authenticateSession(token: string): Promise<Principal | null> {
    if (typeof token !== 'string' || !SESSION_FORMAT.test(token)) return null;
    const row = await this.#db.get<{ id: string; user_id: string; role: string; status: string } & Row>(
      `SELECT s.id, s.user_id, a.role, u.status FROM sessions s
         JOIN accounts a ON a.user_id = s.user_id JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = ? AND s.expires_at > ?`,
      [sha256(token), this.#now()],
    );
    if (row === undefined || row.status !== 'active' || !isRole(row.role)) return null;
    return { userId: row.user_id, role: row.role, via: 'session', credentialId: row.id };
  }

  /** The CSRF token of a session: HMAC-SHA256 of its id, so any node can check it without storage. */
  csrfToken(sessionId: string): string {
    return createHmac('sha256', this.#csrfKey).update(`sealpost/csrf/v1\0${sessionId}`).digest('base64url');
  }

  verifyCsrf(sessionId: string, token: string): boolean {
    if (typeof token !== 'string') return false;
    const expected = Buffer.from(this.csrfToken(sessionId));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Ends the session of this token; returns whether it existed. */
  async logout(token: string): Promise<boolean> {
    if (typeof token !== 'string' || !SESSION_FORMAT.test(token)) return false;
    return this.#db.transaction(async (tx) => {
      const row = await tx.get<{ id: string; user_id: string } & Row>(
        'SELECT id, user_id FROM sessions WHERE token_hash = ?',
        [sha256(token)],
      );
      if (row === undefined) return false;
      await tx.run('DELETE FROM sessions WHERE id = ?', [row.id]);
      await this.#audit.append(tx, {
        actor: `user:${row.user_id}`,
        action: 'auth.logout',
        subject: `session:${row.id}`,
      });
      return true;
    });
  }

  /** Ends every session of a user (e.g. when disabling them); returns how many. */
  async revokeSessions(actor: string, userId: string): Promise<number> {
    return this.#db.transaction(async (tx) => {
      const { changes } = await tx.run('DELETE FROM sessions WHERE user_id = ?', [userId]);
      await this.#audit.append(tx, {
        actor,
        action: 'auth.session.revoke',
        subject: `user:${userId}`,
        details: { count: changes },
      });
      return changes;
    });
  }

  /** Deletes expired sessions and stale login failures; returns how many sessions went. */
  async purgeExpired(): Promise<number> {
    return this.#db.transaction(async (tx) => {
      await tx.run('DELETE FROM login_failures WHERE failed_at < ?', [this.#windowStart()]);
      return (await tx.run('DELETE FROM sessions WHERE expires_at <= ?', [this.#now()])).changes;
    });
  }

  /**
   * Creates an API token for a user with an account. Its scopes must be permissions the user's
   * role holds (a token never widens its owner's rights); the token is returned once.
   */
  async createToken(
    actor: string,
    userId: string,
    name: string,
    scopes: readonly Permission[],
    expiresAt?: Date,
  ): Promise<CreatedToken> {
    const tokenName = typeof name === 'string' ? name.trim() : '';
    if (tokenName === '' || tokenName.length > MAX_TOKEN_NAME || /\p{Cc}/u.test(tokenName)) {
      throw new ServiceError('INVALID_ARGUMENT', `A token name has 1 to ${MAX_TOKEN_NAME} characters.`);
    }
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every(isPermission)) {
      throw new ServiceError('INVALID_ARGUMENT', 'A token needs one or more known permissions as scopes.');
    }
    const unique = [...new Set(scopes)].sort();
    if (expiresAt !== undefined && !(expiresAt instanceof Date && expiresAt.getTime() > this.#clock.now().getTime())) {
      throw new ServiceError('INVALID_ARGUMENT', 'A token expiry must be a date in the future.');
    }
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const id = randomUUID();
    const expires = expiresAt?.toISOString() ?? null;
    await this.#db.transaction(async (tx) => {
      const account = await mustGetAccount(tx, userId);
      const role = account.role as Role;
      const beyond = unique.filter((s) => !ROLE_PERMISSIONS[role].includes(s));
      if (beyond.length > 0) {
        throw new ServiceError('FORBIDDEN', `A ${role} cannot hold a token scoped to ${beyond.join(', ')}.`);
      }
      await tx.run(
        'INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [id, userId, tokenName, sha256(token), JSON.stringify(unique), this.#now(), expires],
      );
      await this.#audit.append(tx, {
        actor,
        action: 'token.create',
        subject: `token:${id}`,
        details: { userId, name: tokenName, scopes: unique, expiresAt: expires },
      });
    });
    return { id, token, name: tokenName, scopes: unique, expiresAt: expires };
  }

  async listTokens(userId: string): Promise<TokenInfo[]> {
    const rows = await this.#db.all<TokenRow>(
      `SELECT id, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at
         FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC, id`,
      [userId],
    );
    return rows.map((r) => ({
      id: r.id,
      userId: r.user_id,
      name: r.name,
      scopes: parseScopes(r.scopes),
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
    }));
  }

  /** Revokes a token; returns false when it was already revoked. */
  async revokeToken(actor: string, tokenId: string): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const row = await tx.get<TokenRow>('SELECT id, user_id, revoked_at FROM api_tokens WHERE id = ?', [tokenId]);
      if (row === undefined) throw new ServiceError('NOT_FOUND', `No API token has id ${tokenId}.`);
      if (row.revoked_at !== null) return false;
      await tx.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [this.#now(), tokenId]);
      await this.#audit.append(tx, {
        actor,
        action: 'token.revoke',
        subject: `token:${tokenId}`,
        details: { userId: row.user_id },
      });
      return true;
    });
  }

  /** The principal of a bearer token (with or without "Bearer "), or null (unknown, expired, revoked, user disabled). */
  async authenticateToken(bearer: string): Promise<Principal | null> {
    if (typeof bearer !== 'string') return null;
    const token = bearer.replace(/^Bearer\s+/i, '').trim();
    if (!TOKEN_FORMAT.test(token)) return null;
    const now = this.#now();
    const row = await this.#db.get<TokenRow & { role: string; status: string }>(
      `SELECT t.id, t.user_id, t.scopes, t.expires_at, t.revoked_at, t.last_used_at, a.role, u.status
         FROM api_tokens t JOIN accounts a ON a.user_id = t.user_id JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = ?`,
      [sha256(token)],
    );
    if (row === undefined || row.revoked_at !== null || row.status !== 'active' || !isRole(row.role)) return null;
    if (row.expires_at !== null && row.expires_at <= now) return null;
    const stale = new Date(this.#clock.now().getTime() - LAST_USED_GRANULARITY_MS).toISOString();
    if (row.last_used_at === null || row.last_used_at < stale) {
      await this.#db.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [now, row.id]);
    }
    // Scopes beyond the current role (after a demotion) are dropped by `can`, which checks both.
    return { userId: row.user_id, role: row.role, scopes: parseScopes(row.scopes), via: 'token', credentialId: row.id };
  }

  async #insertAccount(tx: Sql, actor: string, userId: string, hash: string, role: Role): Promise<Account> {
    if (await tx.get('SELECT user_id FROM accounts WHERE user_id = ?', [userId])) {
      throw new ServiceError('CONFLICT', `User ${userId} has an account already.`);
    }
    const now = this.#now();
    await tx.run('INSERT INTO accounts (user_id, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [
      userId,
      hash,
      role,
      now,
      now,
    ]);
    await this.#audit.append(tx, { actor, action: 'account.create', subject: `user:${userId}`, details: { role } });
    return toAccount(await mustGetAccount(tx, userId));
  }

  /** When the account or the source is locked, the time the lock lifts. */
  async #lockedUntil(keys: { account: string; source: string | undefined }): Promise<string | undefined> {
    const horizon = this.#windowStart();
    const limits: [string | undefined, number][] = [
      [keys.account, this.#lockout.maxAccountFailures],
      [keys.source, this.#lockout.maxSourceFailures],
    ];
    let until: string | undefined;
    for (const [key, max] of limits) {
      if (key === undefined) continue;
      const rows = await this.#db.all<{ failed_at: string } & Row>(
        'SELECT failed_at FROM login_failures WHERE limiter_key = ? AND failed_at >= ? ORDER BY failed_at DESC LIMIT ?',
        [key, horizon, max],
      );
      if (rows.length >= max) {
        // Unlocked once the max-th most recent failure leaves the window.
        const lifts = new Date(Date.parse(rows[max - 1]!.failed_at) + this.#lockout.windowMs).toISOString();
        if (until === undefined || lifts > until) until = lifts;
      }
    }
    return until;
  }

  #decoyHash(): Promise<string> {
    this.#decoy ??= hashPassword(randomBytes(16).toString('hex'), this.#scrypt);
    return this.#decoy;
  }

  #windowStart(): string {
    return new Date(this.#clock.now().getTime() - this.#lockout.windowMs).toISOString();
  }

  #now(): string {
    return this.#clock.now().toISOString();
  }
}

const ACCOUNT_SELECT = `SELECT a.user_id, u.email, u.status, a.password_hash, a.role, a.created_at, a.updated_at
  FROM accounts a JOIN users u ON u.id = a.user_id`;

function accountById(sql: Sql, userId: string): Promise<AccountRow | undefined> {
  return sql.get<AccountRow>(`${ACCOUNT_SELECT} WHERE a.user_id = ?`, [userId]);
}

async function mustGetAccount(sql: Sql, userId: string): Promise<AccountRow> {
  const row = await accountById(sql, userId);
  if (row === undefined) throw new ServiceError('NOT_FOUND', `User ${userId} has no account.`);
  return row;
}

function toAccount(row: AccountRow): Account {
  if (!isRole(row.role)) throw new ServiceError('INVALID_STATE', `Account ${row.user_id} has an unknown role.`);
  return {
    userId: row.user_id,
    email: row.email,
    role: row.role,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function checkRole(role: Role): void {
  if (!isRole(role)) throw new ServiceError('INVALID_ARGUMENT', `Unknown role ${JSON.stringify(role)}.`);
}

function parseScopes(text: string): Permission[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter(isPermission) : [];
}

function sha256(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
