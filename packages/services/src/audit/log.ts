import { createHash } from 'node:crypto';
import { ServiceError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Row, Sql } from '../ports/database.ts';
import { type AuditAction, isAuditAction } from './actions.ts';
import { canonicalJson, type JsonValue } from './canonical-json.ts';

/**
 * The tamper-evident audit log: an append-only hash chain in the audit_log table.
 *
 *   hash(n) = SHA-256( bytes of hash(n-1) || UTF-8 canonicalJson({seq, at, actor, action, subject, details}) )
 *
 * with hash(0) = 32 zero bytes, hashes stored as lowercase hex, seq = 1, 2, 3... without gaps and
 * details stored as their canonical JSON. Editing, deleting, inserting or reordering entries breaks
 * the chain at that point; rewriting every hash from some entry to the end does not, which is why a
 * verified head (`verifyChain(...).head`) should be kept outside the database and passed back as `from`.
 *
 * Appends never fork the chain: each one reads the last entry and inserts seq + 1 inside the caller's
 * transaction, and the primary key on seq (plus UNIQUE prev_hash) lets only one of two racing appends
 * commit. On PostgreSQL the adapter runs SERIALIZABLE and retries serialization failures, so the loser
 * re-reads the new last entry and appends after it; on SQLite writers are serialized by the database lock.
 * So seq is always written explicitly, never left to the column's default: only `append` writes this table.
 */

export const GENESIS_HASH = '0'.repeat(64);

export type AuditDetails = { readonly [key: string]: JsonValue };

export interface AuditEvent {
  /** Who acted: e.g. "user:<id>", "token:<id>", "system". */
  readonly actor: string;
  readonly action: AuditAction;
  /** What was acted upon: e.g. "certificate:<serial>", or null. */
  readonly subject: string | null;
  /** Non-secret context; keys naming secrets are refused (see `assertNoSecrets`). */
  readonly details?: AuditDetails;
}

export interface AuditEntry extends AuditEvent {
  readonly seq: number;
  readonly at: string;
  readonly details: AuditDetails;
  readonly prevHash: string;
  readonly hash: string;
}

/** A verified position in the chain; `{ seq: 0, hash: GENESIS_HASH }` is the empty log. */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Why verification stopped: `gap` an entry is missing (deleted); `link` an entry does not follow its
 * predecessor (entries reordered or inserted, or the predecessor forged with a recomputed hash);
 * `edited` an entry's content no longer matches its hash; `checkpoint` the `from` head is not in the log.
 */
export type ChainBreak = 'gap' | 'link' | 'edited' | 'checkpoint';

export type ChainVerification =
  | { readonly ok: true; readonly entries: number; readonly head: AuditHead }
  | { readonly ok: false; readonly brokenAt: number; readonly reason: ChainBreak; readonly message: string };

interface AuditRow extends Row {
  seq: number | bigint | string;
  at: string;
  actor: string;
  action: string;
  subject: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export class AuditLog {
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Appends an entry inside the caller's transaction, so it commits or rolls back with the change it records. */
  async append(tx: Sql, event: AuditEvent): Promise<AuditEntry> {
    if (!isAuditAction(event.action)) {
      throw new ServiceError('INVALID_ARGUMENT', `Unknown audit action ${JSON.stringify(event.action)}.`);
    }
    if (typeof event.actor !== 'string' || event.actor.length === 0) {
      throw new ServiceError('INVALID_ARGUMENT', 'An audit entry needs an actor.');
    }
    const subject = event.subject ?? null;
    if (subject !== null && typeof subject !== 'string') {
      throw new ServiceError('INVALID_ARGUMENT', 'An audit subject is a string or null.');
    }
    const details = event.details ?? {};
    if (typeof details !== 'object' || details === null || Array.isArray(details)) {
      throw new ServiceError('AUDIT_DETAILS_INVALID', 'Audit details must be an object.');
    }
    const detailsJson = canonicalJson(details);
    assertNoSecrets(details, '$');

    const last = await tx.get<AuditRow>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    const seq = last === undefined ? 1 : toSeq(last.seq) + 1;
    const prevHash = last === undefined ? GENESIS_HASH : last.hash;
    const at = this.#clock.now().toISOString();
    const entry = { seq, at, actor: event.actor, action: event.action, subject, details };
    const hash = entryHash(prevHash, entry);
    await tx.run(
      'INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [seq, at, entry.actor, entry.action, entry.subject, detailsJson, prevHash, hash],
    );
    return { ...entry, prevHash, hash };
  }
}

/**
 * A page of entries, newest first, before the entry `before` (exclusive): keyset pagination on seq,
 * so pages stay stable while entries are appended. `next` is the `before` of the following page.
 */
export async function listAuditEntries(
  db: Sql,
  options: { before?: number; limit: number },
): Promise<{ items: AuditEntry[]; next?: number }> {
  const { before, limit } = options;
  const rows = await db.all<AuditRow>(
    `SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log
      ${before === undefined ? '' : 'WHERE seq < ?'} ORDER BY seq DESC LIMIT ?`,
    before === undefined ? [limit + 1] : [before, limit + 1],
  );
  const items = rows.slice(0, limit).map(
    (row): AuditEntry => ({
      seq: toSeq(row.seq),
      at: row.at,
      actor: row.actor,
      action: row.action as AuditAction,
      subject: row.subject,
      details: JSON.parse(row.details) as AuditDetails,
      prevHash: row.prev_hash,
      hash: row.hash,
    }),
  );
  const last = items.at(-1);
  return rows.length > limit && last !== undefined ? { items, next: last.seq } : { items };
}

/** The chain hash of one entry (see the module comment). */
export function entryHash(
  prevHash: string,
  entry: { seq: number; at: string; actor: string; action: string; subject: string | null; details: JsonValue },
): string {
  const { seq, at, actor, action, subject, details } = entry;
  return createHash('sha256')
    .update(Buffer.from(prevHash, 'hex'))
    .update(canonicalJson({ seq, at, actor, action, subject, details }), 'utf8')
    .digest('hex');
}

/**
 * Walks the chain in seq order, `batch` entries per query, from the start or from a head verified
 * earlier, and reports the first break. Reads outside any transaction: entries are only ever appended.
 */
export async function verifyChain(
  db: Sql,
  options: { from?: AuditHead; batch?: number } = {},
): Promise<ChainVerification> {
  const batch = options.batch ?? 500;
  if (!Number.isSafeInteger(batch) || batch < 1) {
    throw new ServiceError('INVALID_ARGUMENT', `batch must be a positive integer, not ${batch}.`);
  }
  let expected = (options.from?.seq ?? 0) + 1;
  let prevHash = options.from?.hash ?? GENESIS_HASH;
  if (options.from !== undefined && options.from.seq > 0) {
    const anchor = await db.get<AuditRow>('SELECT hash FROM audit_log WHERE seq = ?', [options.from.seq]);
    if (anchor?.hash !== options.from.hash) {
      return broken(
        options.from.seq,
        'checkpoint',
        `Entry ${options.from.seq} is gone or no longer has the hash verified earlier.`,
      );
    }
  }
  let entries = 0;
  for (;;) {
    const rows = await db.all<AuditRow>(
      'SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?',
      [expected, batch],
    );
    for (const row of rows) {
      const seq = toSeq(row.seq);
      if (seq !== expected) return broken(expected, 'gap', `Entry ${expected} is missing: the log jumps to ${seq}.`);
      if (row.prev_hash !== prevHash) {
        return broken(
          seq,
          'link',
          `Entry ${seq} does not follow entry ${seq - 1}: entries were reordered, inserted, or entry ${seq - 1} was rewritten.`,
        );
      }
      const problem = contentProblem(row, seq);
      if (problem !== undefined) return broken(seq, 'edited', `Entry ${seq} was edited: ${problem}.`);
      prevHash = row.hash;
      expected++;
      entries++;
    }
    if (rows.length < batch) return { ok: true, entries, head: { seq: expected - 1, hash: prevHash } };
  }
}

function contentProblem(row: AuditRow, seq: number): string | undefined {
  let details: JsonValue;
  try {
    details = JSON.parse(row.details) as JsonValue;
    if (canonicalJson(details) !== row.details) return 'its details are not in canonical form';
  } catch {
    return 'its details are not valid JSON';
  }
  const expectedHash = entryHash(row.prev_hash, {
    seq,
    at: row.at,
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    details,
  });
  return expectedHash === row.hash ? undefined : 'its content does not match its hash';
}

function broken(brokenAt: number, reason: ChainBreak, message: string): ChainVerification {
  return { ok: false, brokenAt, reason, message };
}

function toSeq(value: number | bigint | string): number {
  const seq = Number(value);
  if (!Number.isSafeInteger(seq)) throw new ServiceError('INVALID_ARGUMENT', `Audit seq ${value} is out of range.`);
  return seq;
}

/** Key words that name secrets, matched inside a key once it is lowercased and stripped of separators. */
const SECRET_WORDS = ['password', 'passwd', 'passphrase', 'secret', 'privatekey', 'token', 'apikey', 'pkcs12', 'pfx'];
/** A last word that makes the key a reference or a fact about a secret rather than the secret itself. */
const REFERENCE_SUFFIXES = new Set(['id', 'ids', 'ref', 'name', 'count', 'at', 'fingerprint']);

/**
 * Defence in depth: audit details outlive everything and are shown to auditors, so they must never
 * hold secrets. Refuses keys such as password, clientSecret, private_key, accessToken (but allows
 * references like secretId or tokenName), and any string holding a PEM private key. The error names
 * the offending path, never the value.
 */
function assertNoSecrets(value: JsonValue, path: string): void {
  if (typeof value === 'string') {
    if (/PRIVATE KEY-----/.test(value)) refuse(`${path} holds a PEM private key`);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) assertNoSecrets(item, `${path}[${i}]`);
    return;
  }
  for (const [key, item] of Object.entries(value as AuditDetails)) {
    const words = key
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 0);
    const joined = words.join('');
    const last = words.at(-1) ?? '';
    if (!REFERENCE_SUFFIXES.has(last) && SECRET_WORDS.some((w) => joined.includes(w))) {
      refuse(`the key ${path}.${key} names a secret`);
    }
    assertNoSecrets(item, `${path}.${key}`);
  }
}

function refuse(what: string): never {
  throw new ServiceError('AUDIT_SECRET_IN_DETAILS', `Audit details must not contain secrets: ${what}.`);
}
