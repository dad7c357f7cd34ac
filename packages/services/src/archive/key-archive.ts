import type { AuditLog } from '../audit/log.ts';
import { ServiceError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Row, Sql } from '../ports/database.ts';
import type { Vault } from '../secrets/vault.ts';

/**
 * Escrow of encryption private keys, so that mail encrypted to a lost key can still be read.
 *
 * Each archived key is one row of archived_keys, keyed by its certificate (a certificate has at most
 * one private key), so the archived key's id IS the certificate's id. The PKCS#8 bytes are sealed in
 * the vault with the context `archived-key:<certificateId>`: a secret row moved onto another
 * certificate no longer opens.
 */

export interface ArchiveKeyInput {
  readonly certificateId: string;
  /** The holder, recorded in the audit entry; must be the certificate's user. */
  readonly userId: string;
  readonly privateKeyPkcs8: Uint8Array;
  /** Who caused the archiving, for the audit entry (e.g. the issuing operator); default "system". */
  readonly actor?: string;
}

/** One entry of a user's key history. */
export interface ArchivedKeySummary {
  /** The archived key's id (equal to its certificate's id). */
  readonly archivedKeyId: string;
  readonly certificateId: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly status: 'valid' | 'revoked';
  readonly archivedAt: string;
}

export interface KeyArchiveOptions {
  readonly vault: Vault;
  readonly audit: AuditLog;
  readonly clock: Clock;
}

interface HistoryRow extends Row {
  certificate_id: string;
  serial: string;
  not_before: string;
  not_after: string;
  status: string;
  created_at: string;
}

export function archivedKeyAad(certificateId: string): string {
  return `archived-key:${certificateId}`;
}

export class KeyArchive {
  readonly #vault: Vault;
  readonly #audit: AuditLog;
  readonly #clock: Clock;

  constructor(options: KeyArchiveOptions) {
    this.#vault = options.vault;
    this.#audit = options.audit;
    this.#clock = options.clock;
  }

  /**
   * Archives a certificate's private key inside the caller's transaction (the issuing one, so the
   * certificate never exists without its escrowed key) and audits it. Returns the archived key's id.
   */
  async archive(tx: Sql, input: ArchiveKeyInput): Promise<string> {
    const { certificateId, userId, privateKeyPkcs8 } = input;
    if (!(privateKeyPkcs8 instanceof Uint8Array) || privateKeyPkcs8.length === 0) {
      throw new ServiceError('INVALID_ARGUMENT', 'An archived key needs its PKCS#8 bytes.');
    }
    const cert = await tx.get<{ user_id: string | null } & Row>('SELECT user_id FROM certificates WHERE id = ?', [
      certificateId,
    ]);
    if (cert === undefined) throw new ServiceError('NOT_FOUND', `No certificate has id ${certificateId}.`);
    if (cert.user_id !== userId) {
      throw new ServiceError('INVALID_ARGUMENT', `Certificate ${certificateId} does not belong to user ${userId}.`);
    }
    const existing = await tx.get('SELECT certificate_id FROM archived_keys WHERE certificate_id = ?', [certificateId]);
    if (existing !== undefined) {
      throw new ServiceError('CONFLICT', `The key of certificate ${certificateId} is already archived.`);
    }
    const secretId = await this.#vault.seal(tx, privateKeyPkcs8, archivedKeyAad(certificateId));
    await tx.run('INSERT INTO archived_keys (certificate_id, secret_id, created_at) VALUES (?, ?, ?)', [
      certificateId,
      secretId,
      this.#clock.now().toISOString(),
    ]);
    await this.#audit.append(tx, {
      actor: input.actor ?? 'system',
      action: 'key.archive',
      subject: `certificate:${certificateId}`,
      details: { userId },
    });
    return certificateId;
  }

  /** The user's certificates whose keys are archived, newest first. */
  async history(tx: Sql, userId: string): Promise<ArchivedKeySummary[]> {
    const rows = await tx.all<HistoryRow>(
      `SELECT a.certificate_id, c.serial, c.not_before, c.not_after, c.status, a.created_at
         FROM archived_keys a JOIN certificates c ON c.id = a.certificate_id
        WHERE c.user_id = ? ORDER BY c.not_before DESC, a.created_at DESC, a.certificate_id DESC`,
      [userId],
    );
    return rows.map((r) => ({
      archivedKeyId: r.certificate_id,
      certificateId: r.certificate_id,
      serial: r.serial,
      notBefore: r.not_before,
      notAfter: r.not_after,
      status: r.status === 'revoked' ? 'revoked' : 'valid',
      archivedAt: r.created_at,
    }));
  }

  /**
   * Decrypts an archived key with its certificate, for the recovery and renewal flows, which decide
   * who may and audit it. The caller owns the returned key bytes and should zero them.
   */
  async open(
    tx: Sql,
    archivedKeyId: string,
  ): Promise<{ privateKeyPkcs8: Uint8Array; certificateDer: Uint8Array; userId: string | null }> {
    const row = await tx.get<{ secret_id: string; der: Uint8Array; user_id: string | null } & Row>(
      `SELECT a.secret_id, c.der, c.user_id FROM archived_keys a JOIN certificates c ON c.id = a.certificate_id
        WHERE a.certificate_id = ?`,
      [archivedKeyId],
    );
    if (row === undefined) throw new ServiceError('NOT_FOUND', `No archived key has id ${archivedKeyId}.`);
    const privateKeyPkcs8 = await this.#vault.open(tx, row.secret_id, archivedKeyAad(archivedKeyId));
    return { privateKeyPkcs8, certificateDer: row.der, userId: row.user_id };
  }
}
