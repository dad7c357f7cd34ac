import type { AuditLog } from '../audit/log.ts';
import { isServiceError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Database, Row } from '../ports/database.ts';
import type { DirectoryPublishTarget } from '../ports/directory-sync.ts';

/**
 * Publishing to external directories: each target's entry of a user carries exactly the user's
 * currently valid Sealpost certificates (status valid, notAfter not passed; a disabled user's valid
 * certificates stay published). Values Sealpost did not publish — another CA's certificates — are
 * never touched: every publication is recorded in directory_publications, and only recorded values
 * are removed.
 *
 * A publication is recorded as an intent (`adding`, `removing`) in the database before the
 * directory is contacted, and confirmed after; an intent that fails (directory down, timeout) stays
 * and is retried by `syncDue`, so a crash or an outage never loses a removal. `syncUser` runs right
 * after issuance and revocation; `syncDue` is the periodic job: it reconciles every user whose
 * certificates were issued, revoked or expired (notAfter passed — there is no event for that) since
 * its last run, and every pending intent. A target configured later gets all valid certificates on
 * its first run.
 *
 * Two syncs of the same user may overlap (issuance on one node, revocation on another). Each new
 * intent raises the row's revision, and an outcome is recorded only if the revision is still the
 * one it was planned under; an overtaken attempt that did change the directory instead turns the
 * row back into an intent to be checked on the next run, so the last word is always the current
 * state of the certificate.
 */

export interface DirectoryPublisherOptions {
  readonly db: Database;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly targets: readonly DirectoryPublishTarget[];
}

export interface PublicationFailure {
  readonly target: string;
  readonly certificateId: string;
  readonly address: string;
  readonly operation: 'add' | 'remove';
  /** The ServiceError code (DIRECTORY_UNAVAILABLE, DIRECTORY_ERROR …), `INTERNAL` for anything else. */
  readonly code: string;
  readonly message: string;
}

export interface PublishReport {
  /** Certificates now in their holders' entries (added, or found there). */
  readonly published: number;
  /** Certificates now out of the entries (removed, or found absent). */
  readonly removed: number;
  /** Certificates whose holder's address has no entry in the target (tried again later). */
  readonly noEntry: number;
  readonly failed: PublicationFailure[];
  /** Targets that could not be reached: the rest of their work waits for the next run. */
  readonly unreachable: string[];
}

export interface PendingPublication {
  readonly target: string;
  readonly certificateId: string;
  readonly address: string;
  readonly state: 'adding' | 'removing' | 'no-entry';
  readonly attempts: number;
  readonly lastError: string | null;
  readonly updatedAt: string;
}

/** The actor recorded for publications. */
export const PUBLISHER_ACTOR = 'system:directory-publisher';

/** How far back each syncDue run looks before its last run: covers transactions that committed late. */
const OVERLAP_MS = 10 * 60_000;
/** How long until an address without an entry is tried again (its entry may be created meanwhile). */
const NO_ENTRY_RETRY_MS = 24 * 60 * 60_000;

type State = 'adding' | 'published' | 'no-entry' | 'removing' | 'removed';

interface CandidateRow extends Row {
  id: string;
  serial: string;
  der: Uint8Array;
  status: string;
  not_after: string;
  state: string | null;
  address: string | null;
}

interface Action {
  readonly operation: 'add' | 'remove';
  readonly certificateId: string;
  readonly serial: string;
  readonly der: Uint8Array;
  readonly address: string;
  readonly revision: number;
}

interface Tally {
  published: number;
  removed: number;
  noEntry: number;
  readonly failed: PublicationFailure[];
  readonly unreachable: string[];
}

export class DirectoryPublisher {
  readonly #db: Database;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #targets: readonly DirectoryPublishTarget[];

  constructor(options: DirectoryPublisherOptions) {
    const names = options.targets.map((t) => t.name);
    if (new Set(names).size !== names.length)
      throw new Error(`Directory target names must be unique: ${names.join(', ')}`);
    this.#db = options.db;
    this.#audit = options.audit;
    this.#clock = options.clock;
    this.#targets = options.targets;
  }

  /**
   * Brings the user's entry in every target in line with their certificates now. Directory
   * failures do not throw: they are reported and left as intents for `syncDue`.
   */
  async syncUser(userId: string): Promise<PublishReport> {
    const tally = newTally();
    const now = this.#clock.now();
    for (const target of this.#targets) {
      if (!(await this.#reconcile(target, userId, now, tally))) tally.unreachable.push(target.name);
    }
    return tally;
  }

  /**
   * The periodic job: per target, reconciles the users whose certificates were issued, revoked or
   * expired since the last completed run (all holders of valid certificates on a target's first
   * run), and the users with pending intents. A target that turns out unreachable is left for the
   * next run, which then covers the same period again. Run it on one node at a time (the job runner's
   * `db.exclusive`); overlapping runs are safe, only wasteful.
   */
  async syncDue(): Promise<PublishReport> {
    const tally = newTally();
    const now = this.#clock.now();
    const at = now.toISOString();
    for (const target of this.#targets) {
      const mark = await this.#db.get<{ synced_until: string } & Row>(
        'SELECT synced_until FROM directory_sync WHERE target = ?',
        [target.name],
      );
      const users = new Set<string>();
      const since = mark && new Date(Date.parse(mark.synced_until) - OVERLAP_MS).toISOString();
      // First run: every holder of a valid certificate, and whoever syncUser published for before it.
      const changed =
        since === undefined
          ? await this.#db.all<{ user_id: string } & Row>(
              `SELECT user_id FROM certificates WHERE status = 'valid' AND not_after > ? AND user_id IS NOT NULL
               UNION SELECT c.user_id FROM directory_publications p JOIN certificates c ON c.id = p.certificate_id
                 WHERE p.target = ? AND p.state = 'published' AND c.user_id IS NOT NULL`,
              [at, target.name],
            )
          : await this.#db.all<{ user_id: string } & Row>(
              `SELECT user_id FROM certificates WHERE created_at > ? AND user_id IS NOT NULL
               UNION SELECT user_id FROM certificates WHERE revoked_at > ? AND user_id IS NOT NULL
               UNION SELECT user_id FROM certificates WHERE not_after > ? AND not_after <= ? AND user_id IS NOT NULL`,
              [since, since, since, at],
            );
      for (const row of changed) users.add(row.user_id);
      const pending = await this.#db.all<{ user_id: string } & Row>(
        `SELECT DISTINCT c.user_id FROM directory_publications p JOIN certificates c ON c.id = p.certificate_id
         WHERE p.target = ? AND c.user_id IS NOT NULL
           AND (p.state IN ('adding', 'removing') OR (p.state = 'no-entry' AND p.next_attempt_at <= ?))`,
        [target.name, at],
      );
      for (const row of pending) users.add(row.user_id);
      let reachable = true;
      for (const userId of users) {
        if (!(await this.#reconcile(target, userId, now, tally))) {
          reachable = false;
          break;
        }
      }
      if (!reachable) {
        tally.unreachable.push(target.name);
        continue;
      }
      await this.#db.run(
        `INSERT INTO directory_sync (target, synced_until) VALUES (?, ?)
         ON CONFLICT (target) DO UPDATE SET synced_until = excluded.synced_until`,
        [target.name, at],
      );
    }
    return tally;
  }

  /** Intents not yet confirmed and addresses without an entry, oldest first (for operators and health checks). */
  async pending(): Promise<PendingPublication[]> {
    const rows = await this.#db.all<
      {
        target: string;
        certificate_id: string;
        address: string;
        state: string;
        attempts: number;
        last_error: string | null;
        updated_at: string;
      } & Row
    >(
      `SELECT target, certificate_id, address, state, attempts, last_error, updated_at FROM directory_publications
       WHERE state IN ('adding', 'removing', 'no-entry') ORDER BY updated_at, target, certificate_id`,
    );
    return rows.map((r) => ({
      target: r.target,
      certificateId: r.certificate_id,
      address: r.address,
      state: r.state as PendingPublication['state'],
      attempts: Number(r.attempts),
      lastError: r.last_error,
      updatedAt: r.updated_at,
    }));
  }

  /** Plans and runs the user's publications on one target; false when the target was unreachable. */
  async #reconcile(target: DirectoryPublishTarget, userId: string, now: Date, tally: Tally): Promise<boolean> {
    const actions = await this.#plan(target, userId, now);
    for (const action of actions) {
      let outcome: 'added' | 'present' | 'removed' | 'absent' | 'no-entry';
      try {
        outcome =
          action.operation === 'add'
            ? await target.addCertificate(action.address, action.der)
            : await target.removeCertificate(action.address, action.der);
      } catch (e) {
        const code = isServiceError(e) ? e.code : 'INTERNAL';
        const message = e instanceof Error ? e.message : String(e);
        const { certificateId, address, operation } = action;
        tally.failed.push({ target: target.name, certificateId, address, operation, code, message });
        await this.#db.run(
          `UPDATE directory_publications SET attempts = attempts + 1, last_error = ?, updated_at = ?
           WHERE target = ? AND certificate_id = ? AND revision = ?`,
          [message, now.toISOString(), target.name, action.certificateId, action.revision],
        );
        // Unreachable: the remaining intents wait for the next run rather than each waiting for a timeout.
        if (code === 'DIRECTORY_UNAVAILABLE') return false;
        continue;
      }
      await this.#record(target, action, outcome, now, tally);
    }
    return true;
  }

  /** Writes the intents for the user's certificates on the target, in one transaction; returns the work. */
  async #plan(target: DirectoryPublishTarget, userId: string, now: Date): Promise<Action[]> {
    const at = now.toISOString();
    return this.#db.transaction(async (tx) => {
      const actions: Action[] = [];
      const user = await tx.get<{ email: string } & Row>('SELECT email FROM users WHERE id = ?', [userId]);
      if (user === undefined) return actions;
      const rows = await tx.all<CandidateRow>(
        `SELECT c.id, c.serial, c.der, c.status, c.not_after, p.state, p.address
         FROM certificates c LEFT JOIN directory_publications p ON p.certificate_id = c.id AND p.target = ?
         WHERE c.user_id = ?
           AND ((c.status = 'valid' AND c.not_after > ?) OR p.state IN ('adding', 'published', 'no-entry', 'removing'))
         ORDER BY c.created_at, c.id`,
        [target.name, userId, at],
      );
      for (const row of rows) {
        const state = row.state as State | null;
        if (isWanted(row, at)) {
          if (state === 'published') continue;
          const r = await tx.get<{ revision: number } & Row>(
            `INSERT INTO directory_publications (target, certificate_id, address, state, revision, attempts, updated_at)
             VALUES (?, ?, ?, 'adding', 1, 0, ?)
             ON CONFLICT (target, certificate_id) DO UPDATE SET state = 'adding', address = excluded.address,
               revision = directory_publications.revision + 1, updated_at = excluded.updated_at
             RETURNING revision`,
            [target.name, row.id, user.email, at],
          );
          actions.push({ operation: 'add', ...fields(row), address: user.email, revision: Number(r!.revision) });
        } else if (state === 'no-entry') {
          // Never added (the mailbox had no entry): nothing to take out.
          await tx.run(
            `UPDATE directory_publications SET state = 'removed', revision = revision + 1, removed_at = ?,
               next_attempt_at = NULL, last_error = NULL, updated_at = ? WHERE target = ? AND certificate_id = ?`,
            [at, at, target.name, row.id],
          );
        } else {
          const r = await tx.get<{ revision: number } & Row>(
            `UPDATE directory_publications SET state = 'removing', revision = revision + 1, updated_at = ?
             WHERE target = ? AND certificate_id = ? RETURNING revision`,
            [at, target.name, row.id],
          );
          actions.push({ operation: 'remove', ...fields(row), address: row.address!, revision: Number(r!.revision) });
        }
      }
      return actions;
    });
  }

  /** Records what the directory said, unless a newer intent overtook the attempt. */
  async #record(
    target: DirectoryPublishTarget,
    action: Action,
    outcome: 'added' | 'present' | 'removed' | 'absent' | 'no-entry',
    now: Date,
    tally: Tally,
  ): Promise<void> {
    const at = now.toISOString();
    const key = [target.name, action.certificateId, action.revision];
    await this.#db.transaction(async (tx) => {
      let changes: number;
      if (action.operation === 'add' && outcome === 'no-entry') {
        ({ changes } = await tx.run(
          `UPDATE directory_publications SET state = 'no-entry', attempts = 0, last_error = ?, next_attempt_at = ?,
             updated_at = ? WHERE target = ? AND certificate_id = ? AND revision = ?`,
          [
            `${action.address} has no entry in ${target.name}`,
            new Date(now.getTime() + NO_ENTRY_RETRY_MS).toISOString(),
            at,
            ...key,
          ],
        ));
        if (changes > 0) tally.noEntry++;
        return;
      }
      const done = action.operation === 'add' ? 'published' : 'removed';
      ({ changes } = await tx.run(
        `UPDATE directory_publications SET state = ?, attempts = 0, last_error = NULL, next_attempt_at = NULL,
           ${done}_at = ?, updated_at = ? WHERE target = ? AND certificate_id = ? AND revision = ?`,
        [done, at, at, ...key],
      ));
      if (changes === 0) {
        // Overtaken by a newer intent; this attempt may have landed after it, so check again next run.
        const cert = await tx.get<{ status: string; not_after: string } & Row>(
          'SELECT status, not_after FROM certificates WHERE id = ?',
          [action.certificateId],
        );
        await tx.run(
          `UPDATE directory_publications SET state = ?, revision = revision + 1, updated_at = ?
           WHERE target = ? AND certificate_id = ?`,
          [cert && isWanted(cert, at) ? 'adding' : 'removing', at, target.name, action.certificateId],
        );
        return;
      }
      if (done === 'published') tally.published++;
      else tally.removed++;
      if (outcome === 'added' || outcome === 'removed') {
        await this.#audit.append(tx, {
          actor: PUBLISHER_ACTOR,
          action: outcome === 'added' ? 'directory.publish' : 'directory.unpublish',
          subject: `certificate:${action.certificateId}`,
          details: { target: target.name, address: action.address, serial: action.serial },
        });
      }
    });
  }
}

function newTally(): Tally {
  return { published: 0, removed: 0, noEntry: 0, failed: [], unreachable: [] };
}

function isWanted(cert: { status: string; not_after: string }, at: string): boolean {
  return cert.status === 'valid' && cert.not_after > at;
}

function fields(row: CandidateRow): Pick<Action, 'certificateId' | 'serial' | 'der'> {
  return { certificateId: row.id, serial: row.serial, der: row.der };
}
