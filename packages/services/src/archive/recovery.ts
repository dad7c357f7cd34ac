import { createPrivateKey, randomUUID } from 'node:crypto';
import { buildPkcs12, Certificate, generatePkcs12Password } from '@sealpost/core';
import type { AuditLog } from '../audit/log.ts';
import { ServiceError } from '../errors.ts';
import { isRole, type Permission, ROLE_PERMISSIONS } from '../identity/permissions.ts';
import type { Clock } from '../ports/clock.ts';
import type { Database, Row, Sql } from '../ports/database.ts';
import type { ArchivedKeySummary, KeyArchive } from './key-archive.ts';

/**
 * Key recovery under four eyes: one administrator requests the key of another user's certificate
 * with a reason, a DIFFERENT administrator approves, then the requester releases it exactly once as
 * a password-protected PKCS#12. Each step is one conditional UPDATE on the request's status inside
 * the transaction that audits it, so two racing approvals or releases cannot both succeed (on
 * PostgreSQL the loser's serializable transaction is retried and then sees the new status).
 *
 *   pending --approve--> approved --release--> completed
 *      \--reject--> rejected
 *
 * A user may also retrieve the keys of their own certificates (selfRecover) without approval: they
 * are authenticated by their own credentials and the key was always theirs.
 */

export type RecoveryStatus = 'pending' | 'approved' | 'rejected' | 'completed';

export interface RecoveryRequest {
  readonly id: string;
  readonly archivedKeyId: string;
  readonly requestedBy: string;
  readonly approvedBy: string | null;
  readonly reason: string;
  readonly status: RecoveryStatus;
  readonly createdAt: string;
  readonly decidedAt: string | null;
  readonly completedAt: string | null;
}

/** A recovered key: the PKCS#12 and its generated password, both returned once and never stored. */
export interface RecoveredKey {
  readonly archivedKeyId: string;
  readonly pkcs12: Uint8Array;
  readonly password: string;
}

export interface KeyRecoveryOptions {
  readonly db: Database;
  readonly archive: KeyArchive;
  readonly audit: AuditLog;
  readonly clock: Clock;
  /** PBKDF2 iterations of the PKCS#12; default the modern profile's. */
  readonly pkcs12Iterations?: number;
}

interface RequestRow extends Row {
  id: string;
  certificate_id: string;
  requested_by: string;
  approved_by: string | null;
  reason: string;
  status: string;
  created_at: string;
  decided_at: string | null;
  completed_at: string | null;
}

const REQUEST_COLUMNS =
  'id, certificate_id, requested_by, approved_by, reason, status, created_at, decided_at, completed_at';
const MAX_REASON = 1000;

export class KeyRecovery {
  readonly #db: Database;
  readonly #archive: KeyArchive;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #iterations: number | undefined;

  constructor(options: KeyRecoveryOptions) {
    this.#db = options.db;
    this.#archive = options.archive;
    this.#audit = options.audit;
    this.#clock = options.clock;
    this.#iterations = options.pkcs12Iterations;
  }

  /** The user's certificates with archived keys, newest first. */
  history(userId: string): Promise<ArchivedKeySummary[]> {
    return this.#archive.history(this.#db, userId);
  }

  async request(requesterId: string, archivedKeyId: string, reason: string): Promise<RecoveryRequest> {
    const why = typeof reason === 'string' ? reason.trim() : '';
    if (why === '' || why.length > MAX_REASON) {
      throw new ServiceError('INVALID_ARGUMENT', `A recovery request needs a reason of 1 to ${MAX_REASON} characters.`);
    }
    return this.#db.transaction(async (tx) => {
      await requirePermission(tx, requesterId, 'archive.request');
      if (!(await tx.get('SELECT certificate_id FROM archived_keys WHERE certificate_id = ?', [archivedKeyId]))) {
        throw new ServiceError('NOT_FOUND', `No archived key has id ${archivedKeyId}.`);
      }
      const row: RequestRow = {
        id: randomUUID(),
        certificate_id: archivedKeyId,
        requested_by: requesterId,
        approved_by: null,
        reason: why,
        status: 'pending',
        created_at: this.#now(),
        decided_at: null,
        completed_at: null,
      };
      await tx.run(
        `INSERT INTO recovery_requests (id, certificate_id, requested_by, reason, status, created_at)
         VALUES (?, ?, ?, ?, 'pending', ?)`,
        [row.id, archivedKeyId, requesterId, why, row.created_at],
      );
      await this.#audit.append(tx, {
        actor: `user:${requesterId}`,
        action: 'key.recovery.request',
        subject: `recovery:${row.id}`,
        details: { archivedKeyId, reason: why },
      });
      return toRequest(row);
    });
  }

  /** Approves a pending request; the approver must be an administrator other than the requester (FOUR_EYES). */
  async approve(approverId: string, requestId: string): Promise<RecoveryRequest> {
    return this.#decide(approverId, requestId, 'approved');
  }

  async reject(approverId: string, requestId: string): Promise<RecoveryRequest> {
    return this.#decide(approverId, requestId, 'rejected');
  }

  /**
   * Releases an approved request to its requester, exactly once: the key as a PKCS#12 (modern
   * profile, with the issuing CA's certificate) under a freshly generated password. Neither is stored.
   */
  async release(releaserId: string, requestId: string): Promise<RecoveredKey> {
    return this.#db.transaction(async (tx) => {
      const request = await mustGetRequest(tx, requestId);
      await requirePermission(tx, releaserId, 'archive.release');
      if (request.requested_by !== releaserId) {
        throw new ServiceError('FORBIDDEN', 'Only the administrator who requested the recovery may release it.');
      }
      const { changes } = await tx.run(
        "UPDATE recovery_requests SET status = 'completed', completed_at = ? WHERE id = ? AND status = 'approved'",
        [this.#now(), requestId],
      );
      if (changes !== 1) {
        const why = request.status === 'completed' ? 'was released already' : `is ${request.status}, not approved`;
        throw new ServiceError('INVALID_STATE', `Recovery request ${requestId} ${why}.`);
      }
      const recovered = await this.#export(tx, request.certificate_id);
      await this.#audit.append(tx, {
        actor: `user:${releaserId}`,
        action: 'key.recovery.release',
        subject: `recovery:${requestId}`,
        details: { archivedKeyId: request.certificate_id, reason: request.reason, approvedBy: request.approved_by },
      });
      return recovered;
    });
  }

  /** A user retrieves the archived key of one of their own certificates (no approval needed). */
  async selfRecover(userId: string, archivedKeyId: string): Promise<RecoveredKey> {
    return this.#db.transaction(async (tx) => {
      await requirePermission(tx, userId, 'self.recover');
      const owner = await tx.get<{ user_id: string | null } & Row>(
        'SELECT c.user_id FROM archived_keys a JOIN certificates c ON c.id = a.certificate_id WHERE a.certificate_id = ?',
        [archivedKeyId],
      );
      // Someone else's key is reported as missing, so ids cannot be probed.
      if (owner === undefined || owner.user_id !== userId) {
        throw new ServiceError('NOT_FOUND', `You have no archived key with id ${archivedKeyId}.`);
      }
      const recovered = await this.#export(tx, archivedKeyId);
      await this.#audit.append(tx, {
        actor: `user:${userId}`,
        action: 'key.recovery.self',
        subject: `certificate:${archivedKeyId}`,
        details: { archivedKeyId },
      });
      return recovered;
    });
  }

  async get(requestId: string): Promise<RecoveryRequest> {
    return toRequest(await mustGetRequest(this.#db, requestId));
  }

  /** Requests, oldest first, optionally of one status. */
  async list(status?: RecoveryStatus): Promise<RecoveryRequest[]> {
    const rows =
      status === undefined
        ? await this.#db.all<RequestRow>(`SELECT ${REQUEST_COLUMNS} FROM recovery_requests ORDER BY created_at, id`)
        : await this.#db.all<RequestRow>(
            `SELECT ${REQUEST_COLUMNS} FROM recovery_requests WHERE status = ? ORDER BY created_at, id`,
            [status],
          );
    return rows.map(toRequest);
  }

  async #decide(approverId: string, requestId: string, outcome: 'approved' | 'rejected'): Promise<RecoveryRequest> {
    return this.#db.transaction(async (tx) => {
      const request = await mustGetRequest(tx, requestId);
      await requirePermission(tx, approverId, 'archive.approve');
      if (request.requested_by === approverId) {
        throw new ServiceError('FOUR_EYES', 'The requester of a key recovery cannot also decide it.');
      }
      const now = this.#now();
      const { changes } = await tx.run(
        "UPDATE recovery_requests SET status = ?, approved_by = ?, decided_at = ? WHERE id = ? AND status = 'pending'",
        [outcome, approverId, now, requestId],
      );
      if (changes !== 1) {
        throw new ServiceError('INVALID_STATE', `Recovery request ${requestId} is ${request.status}, not pending.`);
      }
      await this.#audit.append(tx, {
        actor: `user:${approverId}`,
        action: outcome === 'approved' ? 'key.recovery.approve' : 'key.recovery.reject',
        subject: `recovery:${requestId}`,
        details: { archivedKeyId: request.certificate_id, reason: request.reason, requestedBy: request.requested_by },
      });
      return toRequest({ ...request, status: outcome, approved_by: approverId, decided_at: now });
    });
  }

  async #export(tx: Sql, archivedKeyId: string): Promise<RecoveredKey> {
    const opened = await this.#archive.open(tx, archivedKeyId);
    try {
      const privateKey = createPrivateKey({ key: Buffer.from(opened.privateKeyPkcs8), format: 'der', type: 'pkcs8' });
      const certificate = Certificate.fromDer(opened.certificateDer);
      const ca = await tx.get<{ certificate: Uint8Array } & Row>(
        'SELECT k.certificate FROM certificates c JOIN cas k ON k.id = c.ca_id WHERE c.id = ?',
        [archivedKeyId],
      );
      const password = generatePkcs12Password();
      const pkcs12 = buildPkcs12({
        privateKey,
        certificate,
        chain: ca ? [Certificate.fromDer(ca.certificate)] : [],
        password,
        profile: 'modern',
        ...(this.#iterations === undefined ? {} : { iterations: this.#iterations }),
      });
      return { archivedKeyId, pkcs12, password };
    } finally {
      opened.privateKeyPkcs8.fill(0);
    }
  }

  #now(): string {
    return this.#clock.now().toISOString();
  }
}

/** The acting user must be active and hold an account whose role grants `permission`. */
async function requirePermission(tx: Sql, userId: string, permission: Permission): Promise<void> {
  const row = await tx.get<{ role: string; status: string } & Row>(
    'SELECT a.role, u.status FROM accounts a JOIN users u ON u.id = a.user_id WHERE a.user_id = ?',
    [userId],
  );
  if (
    row === undefined ||
    row.status !== 'active' ||
    !isRole(row.role) ||
    !ROLE_PERMISSIONS[row.role].includes(permission)
  ) {
    throw new ServiceError('FORBIDDEN', `User ${userId} may not ${permission}.`);
  }
}

async function mustGetRequest(sql: Sql, requestId: string): Promise<RequestRow> {
  const row = await sql.get<RequestRow>(`SELECT ${REQUEST_COLUMNS} FROM recovery_requests WHERE id = ?`, [requestId]);
  if (row === undefined) throw new ServiceError('NOT_FOUND', `No recovery request has id ${requestId}.`);
  return row;
}

function toRequest(row: RequestRow): RecoveryRequest {
  return {
    id: row.id,
    archivedKeyId: row.certificate_id,
    requestedBy: row.requested_by,
    approvedBy: row.approved_by,
    reason: row.reason,
    status: row.status as RecoveryStatus,
    createdAt: row.created_at,
    decidedAt: row.decided_at,
    completedAt: row.completed_at,
  };
}
