import type { AuditLog } from '../audit/log.ts';
import { isServiceError, ServiceError } from '../errors.ts';
import { normalizeEmail } from '../identity/email.ts';
import type { User, UserDirectory, UserProfileInput } from '../identity/users.ts';
import type { Clock } from '../ports/clock.ts';
import type { Database, Row } from '../ports/database.ts';
import type { DirectoryPerson, DirectorySource } from '../ports/directory-sync.ts';

/**
 * Importing people and groups from an organisation's directory into Sealpost's users and groups.
 * The source is authoritative for what it imported, and only for that:
 *   - a person becomes a user (matched by address; an existing local user is adopted) whose display
 *     name, givenName, surname and uid follow the source; a user whose person left the source is
 *     disabled, never deleted, and enabled again if the person comes back (a user an administrator
 *     disabled stays disabled);
 *   - the source's groups become groups of the same name, and the source decides the memberships of
 *     its users in them; members added by hand who are not the source's users are left alone; when a
 *     group leaves the source, its users leave it.
 * Everything is read before anything is written, so a source failing midway changes nothing; and
 * every step is idempotent, so a run that stopped (crash, database error) is completed by the next.
 * Each change goes through UserDirectory (its own transaction and audit entry, membership listeners
 * such as auto-enrollment) and the run ends with one `directory.import` audit entry with the counts.
 */

export interface DirectoryImportOptions {
  readonly db: Database;
  readonly users: UserDirectory;
  readonly audit: AuditLog;
  readonly clock: Clock;
}

export interface DirectoryImportReport {
  readonly source: string;
  /** People read from the source and imported (skipped ones excluded). */
  readonly people: number;
  readonly groups: number;
  readonly created: number;
  /** Existing users whose display name, givenName, surname or uid changed to the source's. */
  readonly updated: number;
  readonly disabled: number;
  readonly enabled: number;
  readonly joined: number;
  readonly left: number;
  /** People and groups that could not be imported, with the reason. */
  readonly skipped: readonly { readonly entry: string; readonly reason: string }[];
}

interface Imported extends Row {
  user_id: string;
  email: string;
  missing_since: string | null;
  status: string;
}

export class DirectoryImport {
  readonly #db: Database;
  readonly #users: UserDirectory;
  readonly #audit: AuditLog;
  readonly #clock: Clock;

  constructor(options: DirectoryImportOptions) {
    this.#db = options.db;
    this.#users = options.users;
    this.#audit = options.audit;
    this.#clock = options.clock;
  }

  /**
   * Imports from `source`. Refuses (INVALID_STATE) when the source lists no people although users
   * were imported from it before: an emptied or misconfigured search must not disable everyone.
   */
  async importFrom(actor: string, source: DirectorySource, signal?: AbortSignal): Promise<DirectoryImportReport> {
    const abort = signal ?? new AbortController().signal;
    const skipped: { entry: string; reason: string }[] = [];
    const people = new Map<string, DirectoryPerson>();
    for await (const person of source.people(abort)) {
      let email: string;
      try {
        email = normalizeEmail(person.mail);
      } catch (e) {
        skipped.push({ entry: person.dn, reason: reasonOf(e) });
        continue;
      }
      if (people.has(email)) {
        skipped.push({ entry: person.dn, reason: `${email} is also the address of ${people.get(email)!.dn}` });
        continue;
      }
      people.set(email, person);
    }
    // Groups of the same name (in different branches of the directory) become one.
    const groups = new Map<string, string[]>();
    for await (const group of source.groups(abort)) {
      const name = group.name.trim();
      groups.set(name, [...(groups.get(name) ?? []), ...group.memberMails]);
    }

    const previously = await this.#db.all<Imported>(
      `SELECT i.user_id, u.email, i.missing_since, u.status FROM directory_import_users i JOIN users u ON u.id = i.user_id
       WHERE i.source = ?`,
      [source.name],
    );
    if (people.size === 0 && previously.length > 0) {
      throw new ServiceError(
        'INVALID_STATE',
        `Directory ${source.name} returned no people; refusing to disable the ${previously.length} users imported from it. Check its base DN and filter.`,
      );
    }

    const counts = { created: 0, updated: 0, disabled: 0, enabled: 0, joined: 0, left: 0 };
    const known = new Map(previously.map((r) => [r.user_id, r]));
    /** Present people: address → user id. */
    const present = new Map<string, string>();
    for (const [email, person] of people) {
      try {
        const userId = await this.#importPerson(actor, source.name, email, person, known, counts);
        present.set(email, userId);
      } catch (e) {
        if (!isServiceError(e)) throw e;
        skipped.push({ entry: person.dn, reason: reasonOf(e) });
      }
    }
    const presentIds = new Set(present.values());
    const now = this.#clock.now().toISOString();
    for (const row of previously) {
      // Still listed (even if this run could not update the user): not gone.
      if (people.has(row.email) || row.missing_since !== null || row.status !== 'active') continue;
      // One transaction (setStatus joins it): the mark says the import disabled the user, so it may enable them again.
      await this.#db.transaction(async (tx) => {
        await this.#users.setStatus(actor, row.user_id, 'disabled');
        await tx.run('UPDATE directory_import_users SET missing_since = ? WHERE source = ? AND user_id = ?', [
          now,
          source.name,
          row.user_id,
        ]);
      });
      counts.disabled++;
    }

    // The source's users: those it imported, present or gone. Their memberships in its groups are its to decide.
    const managed = new Set([...known.keys(), ...presentIds]);
    const listed = new Set<string>();
    for (const [name, mails] of groups) {
      try {
        const members = new Set(
          mails.flatMap((mail) => {
            const id = present.get(safeEmail(mail) ?? '');
            return id === undefined ? [] : [id];
          }),
        );
        await this.#syncGroup(actor, source.name, name, members, managed, counts);
        listed.add(name);
      } catch (e) {
        if (!isServiceError(e)) throw e;
        skipped.push({ entry: `group ${JSON.stringify(name)}`, reason: reasonOf(e) });
      }
    }
    const gone = await this.#db.all<{ group_id: string; name: string } & Row>(
      `SELECT d.group_id, g.name FROM directory_import_groups d JOIN groups g ON g.id = d.group_id WHERE d.source = ?`,
      [source.name],
    );
    for (const group of gone) {
      if (listed.has(group.name)) continue;
      await this.#syncGroup(actor, source.name, group.name, new Set(), managed, counts);
      await this.#db.run('DELETE FROM directory_import_groups WHERE source = ? AND group_id = ?', [
        source.name,
        group.group_id,
      ]);
    }

    const report: DirectoryImportReport = {
      source: source.name,
      people: present.size,
      groups: listed.size,
      ...counts,
      skipped,
    };
    await this.#db.transaction((tx) =>
      this.#audit.append(tx, {
        actor,
        action: 'directory.import',
        subject: `directory:${source.name}`,
        details: { ...counts, people: present.size, groups: listed.size, skipped: skipped.length },
      }),
    );
    return report;
  }

  /** Creates, adopts or updates the user of one person; returns the user's id. */
  async #importPerson(
    actor: string,
    source: string,
    email: string,
    person: DirectoryPerson,
    known: ReadonlyMap<string, Imported>,
    counts: { created: number; updated: number; enabled: number },
  ): Promise<string> {
    const now = this.#clock.now().toISOString();
    const displayName = person.displayName.trim() === '' ? email : person.displayName;
    let user = await this.#users.findByEmail(email);
    if (user === undefined) {
      user = await this.#users.create(actor, {
        email,
        displayName,
        ...optional('givenName', person.givenName),
        ...optional('surname', person.surname),
        ...optional('uid', person.uid),
      });
      counts.created++;
    } else {
      const changes = profileChanges(user, displayName, person);
      if (changes !== undefined) {
        await this.#users.setProfile(actor, user.id, changes);
        counts.updated++;
      }
      const row = known.get(user.id);
      if (row?.missing_since != null && user.status === 'disabled') {
        await this.#users.setStatus(actor, user.id, 'active');
        counts.enabled++;
      }
    }
    await this.#db.run(
      `INSERT INTO directory_import_users (source, user_id, dn, missing_since, imported_at) VALUES (?, ?, ?, NULL, ?)
       ON CONFLICT (source, user_id) DO UPDATE SET dn = excluded.dn, missing_since = NULL, imported_at = excluded.imported_at`,
      [source, user.id, person.dn, now],
    );
    return user.id;
  }

  /** Makes the source's users in the group exactly `members`; creates the group if needed. */
  async #syncGroup(
    actor: string,
    source: string,
    name: string,
    members: ReadonlySet<string>,
    managed: ReadonlySet<string>,
    counts: { joined: number; left: number },
  ): Promise<void> {
    const existing = await this.#db.get<{ id: string } & Row>('SELECT id FROM groups WHERE name = ?', [name]);
    const groupId = existing?.id ?? (await this.#users.createGroup(actor, name)).id;
    const current = await this.#db.all<{ user_id: string } & Row>(
      'SELECT user_id FROM group_members WHERE group_id = ?',
      [groupId],
    );
    const have = new Set(current.map((r) => r.user_id));
    for (const userId of members) {
      if (!have.has(userId) && (await this.#users.addToGroup(actor, userId, name))) counts.joined++;
    }
    for (const userId of have) {
      if (managed.has(userId) && !members.has(userId) && (await this.#users.removeFromGroup(actor, userId, name))) {
        counts.left++;
      }
    }
    await this.#db.run(
      'INSERT INTO directory_import_groups (source, group_id) VALUES (?, ?) ON CONFLICT (source, group_id) DO NOTHING',
      [source, groupId],
    );
  }
}

/** The profile fields in which the user differs from the person ('' clears one), or undefined when none. */
function profileChanges(
  user: User,
  displayName: string,
  person: DirectoryPerson,
): (UserProfileInput & { displayName?: string }) | undefined {
  const changes: { -readonly [K in keyof UserProfileInput]: string } & { displayName?: string } = {};
  if (user.displayName !== displayName.trim()) changes.displayName = displayName;
  for (const field of ['givenName', 'surname', 'uid'] as const) {
    const wanted = (person[field] ?? '').trim();
    if (wanted !== (user[field] ?? '')) changes[field] = wanted;
  }
  return Object.keys(changes).length === 0 ? undefined : changes;
}

function reasonOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\.$/, '');
}

function safeEmail(mail: string): string | undefined {
  try {
    return normalizeEmail(mail);
  } catch {
    return undefined;
  }
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return value === undefined || value === '' ? {} : ({ [key]: value } as { [P in K]?: string });
}
