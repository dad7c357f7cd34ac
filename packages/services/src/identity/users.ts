import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/log.ts';
import { saveProfile } from '../directory/profiles.ts';
import { ServiceError } from '../errors.ts';
import { type Listener, Listeners } from '../events/listeners.ts';
import type { Clock } from '../ports/clock.ts';
import type { Database, Row, Sql } from '../ports/database.ts';
import { parseCsv } from './csv.ts';
import { normalizeEmail } from './email.ts';

/**
 * The directory of users (mailbox holders) and groups. Every change runs in one transaction with its
 * audit entry; membership changes are announced to listeners after the commit (see onMembershipChange).
 */

export type UserStatus = 'active' | 'disabled';

export interface User {
  readonly id: string;
  /** Canonical address: domain lower-cased, local part as given (see normalizeEmail). */
  readonly email: string;
  readonly displayName: string;
  readonly status: UserStatus;
  readonly createdAt: string;
  /** Directory attributes (givenName, sn, uid); absent when not set. */
  readonly givenName?: string;
  readonly surname?: string;
  readonly uid?: string;
}

/** The directory attributes of a user; in `setProfile`, an empty string clears one. */
export interface UserProfileInput {
  readonly givenName?: string;
  readonly surname?: string;
  readonly uid?: string;
}

export interface Group {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

/** A user joined (`UserJoinedGroup`) or left a group; delivered after the change committed. */
export interface MembershipChange {
  readonly type: 'UserJoinedGroup' | 'UserLeftGroup';
  readonly userId: string;
  readonly email: string;
  readonly groupId: string;
  readonly groupName: string;
}

export type MembershipListener = Listener<MembershipChange>;

export interface UserListQuery {
  /** Addresses starting with this text, compared exactly (the domain part lower-cased, as stored). */
  readonly emailPrefix?: string;
  /** Members of the group with this name. */
  readonly group?: string;
  readonly status?: UserStatus;
  /** Page size, 1 to 500; default 50. */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface UserPage {
  readonly users: User[];
  /** Present when more users match: pass it as `cursor` for the next page. */
  readonly nextCursor?: string;
}

export interface CsvImportOptions {
  /** Import nothing if any row is bad (default false: import the good rows, report the bad). */
  readonly atomic?: boolean;
  /** Default 1 MiB. */
  readonly maxBytes?: number;
  /** Default 10 000 data rows. */
  readonly maxRows?: number;
}

export interface CsvRowError {
  /** The line the record starts on, the header being line 1. */
  readonly line: number;
  readonly message: string;
}

export interface CsvImportReport {
  /** Whether anything was written (false when `atomic` and some row is bad, or when no row was good). */
  readonly committed: boolean;
  readonly created: number;
  /** Existing users whose display name was updated or who were added to listed groups. */
  readonly updated: number;
  readonly errors: CsvRowError[];
}

export interface UserDirectoryOptions {
  readonly db: Database;
  readonly audit: AuditLog;
  readonly clock: Clock;
}

interface UserRow extends Row {
  id: string;
  email: string;
  display_name: string;
  status: string;
  created_at: string;
  given_name: string | null;
  surname: string | null;
  uid: string | null;
}

interface GroupRow extends Row {
  id: string;
  name: string;
  created_at: string;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
const DEFAULT_MAX_ROWS = 10_000;
const MAX_DISPLAY_NAME = 200;
const MAX_GROUP_NAME = 100;
const MAX_PROFILE_FIELD = 200;
const USER_COLUMNS = 'u.id, u.email, u.display_name, u.status, u.created_at, pr.given_name, pr.surname, pr.uid';
/** Every user has a user_profiles row (saveProfile); the outer join keeps users written by older code visible. */
const USERS_FROM = 'users u LEFT JOIN user_profiles pr ON pr.user_id = u.id';

export class UserDirectory {
  readonly #db: Database;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #listeners = new Listeners<MembershipChange>('membership');

  constructor(options: UserDirectoryOptions) {
    this.#db = options.db;
    this.#audit = options.audit;
    this.#clock = options.clock;
  }

  /**
   * Registers a listener for membership changes (auto-enrollment reacts to `UserJoinedGroup`);
   * returns a function that unregisters it. Delivery as events/listeners.ts describes: after the
   * commit, at most once, failures rethrown together.
   */
  onMembershipChange(listener: MembershipListener): () => void {
    return this.#listeners.add(listener);
  }

  async create(
    actor: string,
    input: { email: string; displayName: string; groups?: readonly string[] } & UserProfileInput,
  ): Promise<User> {
    const email = normalizeEmail(input.email);
    const displayName = checkDisplayName(input.displayName);
    const profile = checkProfile(input);
    const groups = (input.groups ?? []).map(checkGroupName);
    const events: MembershipChange[] = [];
    const user = await this.#db.transaction(async (tx) => {
      events.length = 0;
      if (await findByEmail(tx, email)) throw new ServiceError('CONFLICT', `A user with address ${email} exists.`);
      const created = await this.#insertUser(tx, actor, email, displayName, profile);
      for (const name of groups) {
        const change = await this.#join(tx, actor, created, await this.#ensureGroup(tx, actor, name));
        if (change) events.push(change);
      }
      return created;
    });
    await this.#announce(events);
    return user;
  }

  async get(userId: string): Promise<User | undefined> {
    const row = await this.#db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM ${USERS_FROM} WHERE u.id = ?`, [userId]);
    return row && toUser(row);
  }

  async findByEmail(email: string): Promise<User | undefined> {
    return findByEmail(this.#db, normalizeEmail(email));
  }

  async rename(actor: string, userId: string, displayName: string): Promise<User> {
    const name = checkDisplayName(displayName);
    return this.#db.transaction(async (tx) => {
      const user = await mustGetUser(tx, userId);
      await tx.run('UPDATE users SET display_name = ? WHERE id = ?', [name, userId]);
      await saveProfile(tx, userId, { ...user, displayName: name });
      await this.#audit.append(tx, {
        actor,
        action: 'user.update',
        subject: `user:${userId}`,
        details: { displayName: name },
      });
      return { ...user, displayName: name };
    });
  }

  /**
   * Sets directory attributes (and the display name, the directory's cn): fields left out keep
   * their value, an empty givenName, surname or uid clears it.
   */
  async setProfile(actor: string, userId: string, changes: UserProfileInput & { displayName?: string }): Promise<User> {
    const displayName = changes.displayName === undefined ? undefined : checkDisplayName(changes.displayName);
    const profile = checkProfile(changes);
    return this.#db.transaction(async (tx) => {
      const user = await mustGetUser(tx, userId);
      const updated = withProfile(
        { ...user, displayName: displayName ?? user.displayName },
        {
          givenName: 'givenName' in profile ? profile.givenName : user.givenName,
          surname: 'surname' in profile ? profile.surname : user.surname,
          uid: 'uid' in profile ? profile.uid : user.uid,
        },
      );
      if (displayName !== undefined) {
        await tx.run('UPDATE users SET display_name = ? WHERE id = ?', [displayName, userId]);
      }
      await saveProfile(tx, userId, updated);
      await this.#audit.append(tx, {
        actor,
        action: 'user.update',
        subject: `user:${userId}`,
        details: {
          ...(displayName === undefined ? {} : { displayName }),
          ...Object.fromEntries(Object.entries(profile).map(([k, v]) => [k, v ?? null])),
        },
      });
      return updated;
    });
  }

  /** Disables or re-enables a user; a disabled user cannot log in or use API tokens. */
  async setStatus(actor: string, userId: string, status: UserStatus): Promise<User> {
    if (status !== 'active' && status !== 'disabled') {
      throw new ServiceError(
        'INVALID_ARGUMENT',
        `A user's status is active or disabled, not ${JSON.stringify(status)}.`,
      );
    }
    return this.#db.transaction(async (tx) => {
      const user = await mustGetUser(tx, userId);
      if (user.status === status) return user;
      await tx.run('UPDATE users SET status = ? WHERE id = ?', [status, userId]);
      await this.#audit.append(tx, {
        actor,
        action: status === 'disabled' ? 'user.disable' : 'user.enable',
        subject: `user:${userId}`,
      });
      return { ...user, status };
    });
  }

  async createGroup(actor: string, name: string): Promise<Group> {
    const groupName = checkGroupName(name);
    return this.#db.transaction(async (tx) => {
      if (await tx.get('SELECT id FROM groups WHERE name = ?', [groupName])) {
        throw new ServiceError('CONFLICT', `A group named ${JSON.stringify(groupName)} exists.`);
      }
      return this.#ensureGroup(tx, actor, groupName);
    });
  }

  async groups(): Promise<Group[]> {
    const rows = await this.#db.all<GroupRow>('SELECT id, name, created_at FROM groups ORDER BY name');
    return rows.map(toGroup);
  }

  /** The names of the user's groups, sorted. */
  async groupsOf(userId: string): Promise<string[]> {
    const rows = await this.#db.all<{ name: string } & Row>(
      'SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.name',
      [userId],
    );
    return rows.map((r) => r.name);
  }

  /** Adds the user to the group (created if missing); returns false when already a member. */
  async addToGroup(actor: string, userId: string, groupName: string): Promise<boolean> {
    const name = checkGroupName(groupName);
    const change = await this.#db.transaction(async (tx) => {
      const user = await mustGetUser(tx, userId);
      return this.#join(tx, actor, user, await this.#ensureGroup(tx, actor, name));
    });
    if (change) await this.#announce([change]);
    return change !== undefined;
  }

  /** Removes the user from the group; returns false when not a member. */
  async removeFromGroup(actor: string, userId: string, groupName: string): Promise<boolean> {
    const name = checkGroupName(groupName);
    const change = await this.#db.transaction(async (tx): Promise<MembershipChange | undefined> => {
      const user = await mustGetUser(tx, userId);
      const group = await tx.get<GroupRow>('SELECT id, name, created_at FROM groups WHERE name = ?', [name]);
      if (group === undefined) return undefined;
      const { changes } = await tx.run('DELETE FROM group_members WHERE group_id = ? AND user_id = ?', [
        group.id,
        userId,
      ]);
      if (changes === 0) return undefined;
      await this.#audit.append(tx, {
        actor,
        action: 'group.member.remove',
        subject: `user:${userId}`,
        details: { group: group.name },
      });
      return { type: 'UserLeftGroup', userId, email: user.email, groupId: group.id, groupName: group.name };
    });
    if (change) await this.#announce([change]);
    return change !== undefined;
  }

  /** Users in address order, filtered, a page at a time (keyset pagination: stable under inserts). */
  async list(query: UserListQuery = {}): Promise<UserPage> {
    const limit = query.limit ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500) {
      throw new ServiceError('INVALID_ARGUMENT', `The page size must be 1 to 500, not ${limit}.`);
    }
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.cursor !== undefined) {
      where.push('u.email > ?');
      params.push(decodeCursor(query.cursor));
    }
    if (query.emailPrefix !== undefined && query.emailPrefix !== '') {
      // substr rather than LIKE: LIKE is case-insensitive on SQLite and treats % and _ as wildcards.
      where.push('substr(u.email, 1, ?) = ?');
      params.push(query.emailPrefix.length, query.emailPrefix);
    }
    if (query.status !== undefined) {
      where.push('u.status = ?');
      params.push(query.status);
    }
    if (query.group !== undefined) {
      where.push(
        'EXISTS (SELECT 1 FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = u.id AND g.name = ?)',
      );
      params.push(query.group);
    }
    const rows = await this.#db.all<UserRow>(
      `SELECT ${USER_COLUMNS} FROM ${USERS_FROM} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY u.email LIMIT ?`,
      [...params, limit + 1],
    );
    const users = rows.slice(0, limit).map(toUser);
    const last = users.at(-1);
    return rows.length > limit && last ? { users, nextCursor: encodeCursor(last.email) } : { users };
  }

  /**
   * Imports users from CSV with the header `email,display_name,groups` (groups separated by `;`).
   * New addresses become active users; an existing user gets the row's display name and joins the
   * listed groups (never leaves any). Bad rows are reported with their line numbers; with `atomic`
   * nothing is written if any row is bad. A malformed CSV text (e.g. an unclosed quote) or one over
   * the size limits is refused as a whole (IMPORT_INVALID, TOO_LARGE).
   */
  async importCsv(actor: string, text: string, options: CsvImportOptions = {}): Promise<CsvImportReport> {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
    if (Buffer.byteLength(text, 'utf8') > maxBytes) {
      throw new ServiceError('TOO_LARGE', `The CSV file is larger than ${maxBytes} bytes.`);
    }
    const [header, ...records] = parseCsv(text);
    if (header === undefined) throw new ServiceError('IMPORT_INVALID', 'The CSV file is empty.');
    const columns = header.fields.map((f) => f.trim().toLowerCase());
    if (columns.join(',') !== 'email,display_name,groups') {
      throw new ServiceError(
        'IMPORT_INVALID',
        `CSV line ${header.line}: the header must be "email,display_name,groups", not "${header.fields.join(',')}".`,
      );
    }
    if (records.length > maxRows) throw new ServiceError('TOO_LARGE', `The CSV file has more than ${maxRows} rows.`);

    const errors: CsvRowError[] = [];
    const rows: { line: number; email: string; displayName: string; groups: string[] }[] = [];
    const seen = new Map<string, number>();
    for (const { line, fields } of records) {
      try {
        if (fields.length !== 3)
          throw new ServiceError('INVALID_ARGUMENT', `expected 3 fields, found ${fields.length}`);
        const email = normalizeEmail(fields[0]!);
        const first = seen.get(email);
        if (first !== undefined)
          throw new ServiceError('INVALID_ARGUMENT', `${email} already appears on line ${first}`);
        seen.set(email, line);
        const displayName = checkDisplayName(fields[1]!);
        const groups = [
          ...new Set(
            fields[2]!
              .split(';')
              .map((g) => g.trim())
              .filter((g) => g !== '')
              .map(checkGroupName),
          ),
        ];
        rows.push({ line, email, displayName, groups });
      } catch (e) {
        if (!(e instanceof ServiceError)) throw e;
        errors.push({ line, message: e.message.replace(/\.$/, '') });
      }
    }
    if (rows.length === 0 || (options.atomic === true && errors.length > 0)) {
      return { committed: false, created: 0, updated: 0, errors };
    }

    const events: MembershipChange[] = [];
    const counts = await this.#db.transaction(async (tx) => {
      events.length = 0;
      let created = 0;
      let updated = 0;
      for (const row of rows) {
        const existing = await findByEmail(tx, row.email);
        if (existing === undefined) {
          const user = await this.#insertUser(tx, actor, row.email, row.displayName, {});
          created++;
          for (const name of row.groups) {
            const change = await this.#join(tx, actor, user, await this.#ensureGroup(tx, actor, name));
            if (change) events.push(change);
          }
          continue;
        }
        let changed = false;
        if (existing.displayName !== row.displayName) {
          await tx.run('UPDATE users SET display_name = ? WHERE id = ?', [row.displayName, existing.id]);
          await saveProfile(tx, existing.id, { ...existing, displayName: row.displayName });
          await this.#audit.append(tx, {
            actor,
            action: 'user.update',
            subject: `user:${existing.id}`,
            details: { displayName: row.displayName },
          });
          changed = true;
        }
        for (const name of row.groups) {
          const change = await this.#join(tx, actor, existing, await this.#ensureGroup(tx, actor, name));
          if (change) {
            events.push(change);
            changed = true;
          }
        }
        if (changed) updated++;
      }
      await this.#audit.append(tx, {
        actor,
        action: 'user.import',
        subject: null,
        details: { created, updated, rejected: errors.length },
      });
      return { created, updated };
    });
    await this.#announce(events);
    return { committed: true, ...counts, errors };
  }

  async #insertUser(
    tx: Sql,
    actor: string,
    email: string,
    displayName: string,
    profile: CheckedProfile,
  ): Promise<User> {
    const user = withProfile(
      { id: randomUUID(), email, displayName, status: 'active', createdAt: this.#clock.now().toISOString() },
      profile,
    );
    await tx.run('INSERT INTO users (id, email, display_name, status, created_at) VALUES (?, ?, ?, ?, ?)', [
      user.id,
      user.email,
      user.displayName,
      user.status,
      user.createdAt,
    ]);
    await saveProfile(tx, user.id, user);
    await this.#audit.append(tx, { actor, action: 'user.create', subject: `user:${user.id}`, details: { email } });
    return user;
  }

  async #ensureGroup(tx: Sql, actor: string, name: string): Promise<Group> {
    const row = await tx.get<GroupRow>('SELECT id, name, created_at FROM groups WHERE name = ?', [name]);
    if (row) return toGroup(row);
    const group: Group = { id: randomUUID(), name, createdAt: this.#clock.now().toISOString() };
    await tx.run('INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)', [group.id, name, group.createdAt]);
    await this.#audit.append(tx, { actor, action: 'group.create', subject: `group:${group.id}`, details: { name } });
    return group;
  }

  async #join(tx: Sql, actor: string, user: User, group: Group): Promise<MembershipChange | undefined> {
    const { changes } = await tx.run(
      'INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT (group_id, user_id) DO NOTHING',
      [group.id, user.id],
    );
    if (changes === 0) return undefined;
    await this.#audit.append(tx, {
      actor,
      action: 'group.member.add',
      subject: `user:${user.id}`,
      details: { group: group.name },
    });
    return { type: 'UserJoinedGroup', userId: user.id, email: user.email, groupId: group.id, groupName: group.name };
  }

  async #announce(events: readonly MembershipChange[]): Promise<void> {
    await this.#listeners.announce(events);
  }
}

async function findByEmail(sql: Sql, email: string): Promise<User | undefined> {
  const row = await sql.get<UserRow>(`SELECT ${USER_COLUMNS} FROM ${USERS_FROM} WHERE u.email = ?`, [email]);
  return row && toUser(row);
}

async function mustGetUser(sql: Sql, userId: string): Promise<User> {
  const row = await sql.get<UserRow>(`SELECT ${USER_COLUMNS} FROM ${USERS_FROM} WHERE u.id = ?`, [userId]);
  if (row === undefined) throw new ServiceError('NOT_FOUND', `No user has id ${userId}.`);
  return toUser(row);
}

function toUser(row: UserRow): User {
  return withProfile(
    {
      id: row.id,
      email: row.email,
      displayName: row.display_name,
      status: row.status === 'disabled' ? 'disabled' : 'active',
      createdAt: row.created_at,
    },
    { givenName: row.given_name ?? undefined, surname: row.surname ?? undefined, uid: row.uid ?? undefined },
  );
}

/** Profile fields after checking: a present key with `undefined` means "clear it". */
type CheckedProfile = { -readonly [K in keyof UserProfileInput]?: string | undefined };

/** The user with the profile fields that are set (unset ones are left out, not undefined). */
function withProfile(user: User, profile: CheckedProfile): User {
  const { givenName: _g, surname: _s, uid: _u, ...rest } = user;
  return {
    ...rest,
    ...(profile.givenName === undefined ? {} : { givenName: profile.givenName }),
    ...(profile.surname === undefined ? {} : { surname: profile.surname }),
    ...(profile.uid === undefined ? {} : { uid: profile.uid }),
  };
}

/** Checks the profile fields given: trimmed, '' becomes "cleared", no control characters. */
function checkProfile(input: UserProfileInput): CheckedProfile {
  const out: CheckedProfile = {};
  for (const field of ['givenName', 'surname', 'uid'] as const) {
    const value = input[field];
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value.trim() : undefined;
    if (text === undefined || text.length > MAX_PROFILE_FIELD || /\p{Cc}/u.test(text) || !text.isWellFormed()) {
      throw new ServiceError(
        'INVALID_ARGUMENT',
        `A user's ${field} has at most ${MAX_PROFILE_FIELD} characters and no control characters.`,
      );
    }
    out[field] = text === '' ? undefined : text;
  }
  return out;
}

function toGroup(row: GroupRow): Group {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}

function checkDisplayName(value: string): string {
  const name = typeof value === 'string' ? value.trim() : '';
  if (name === '') throw new ServiceError('INVALID_ARGUMENT', 'A display name is required.');
  if (name.length > MAX_DISPLAY_NAME || /\p{Cc}/u.test(name) || !name.isWellFormed()) {
    throw new ServiceError(
      'INVALID_ARGUMENT',
      `A display name has at most ${MAX_DISPLAY_NAME} characters and no control characters.`,
    );
  }
  return name;
}

function checkGroupName(value: string): string {
  const name = typeof value === 'string' ? value.trim() : '';
  if (
    name === '' ||
    name.length > MAX_GROUP_NAME ||
    name.includes(';') ||
    /\p{Cc}/u.test(name) ||
    !name.isWellFormed()
  ) {
    throw new ServiceError(
      'INVALID_ARGUMENT',
      `A group name has 1 to ${MAX_GROUP_NAME} characters, no ";" and no control characters (got ${JSON.stringify(value)}).`,
    );
  }
  return name;
}

function encodeCursor(email: string): string {
  return Buffer.from(email, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const email = Buffer.from(cursor, 'base64url').toString('utf8');
  if (cursor === '' || encodeCursor(email) !== cursor)
    throw new ServiceError('INVALID_ARGUMENT', 'The cursor is malformed.');
  return email;
}

/** Looks a user up for other services (accounts, recovery), throwing NOT_FOUND when missing. */
export { mustGetUser as requireUser };
