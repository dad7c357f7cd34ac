import {
  CERTIFICATE_COLUMNS,
  type CertificateRow,
  type IssuedCertificate,
  normalizeSerial,
  toIssued,
} from '../ca/records.ts';
import { ServiceError } from '../errors.ts';
import type { Sql, SqlValue } from '../ports/database.ts';

/**
 * Read-only queries over issued certificates for the API: a filtered, paged list and the lookup by
 * serial. `expired` is not stored: it is a `valid` row whose notAfter has passed at `now`.
 */

export type CertificateState = 'valid' | 'revoked' | 'expired';

export interface CertificateListQuery {
  readonly userId?: string;
  readonly status?: CertificateState;
  /** Page size, 1 to 500; default 50. */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface CertificatePage {
  readonly certificates: IssuedCertificate[];
  /** Present when more certificates match: pass it as `cursor` for the next page. */
  readonly nextCursor?: string;
}

/** Whether the certificate is expired at `now` (revocation wins over expiry). */
export function certificateState(certificate: IssuedCertificate, now: Date): CertificateState {
  if (certificate.status === 'revoked') return 'revoked';
  return certificate.notAfter.getTime() <= now.getTime() ? 'expired' : 'valid';
}

/** Certificates, oldest first (keyset pagination on created_at and id: stable under inserts). */
export async function listCertificates(
  sql: Sql,
  now: Date,
  query: CertificateListQuery = {},
): Promise<CertificatePage> {
  const limit = query.limit ?? 50;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500) {
    throw new ServiceError('INVALID_ARGUMENT', `The page size must be 1 to 500, not ${limit}.`);
  }
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (query.cursor !== undefined) {
    const [createdAt, id] = decodeCursor(query.cursor);
    where.push('(created_at > ? OR (created_at = ? AND id > ?))');
    params.push(createdAt, createdAt, id);
  }
  if (query.userId !== undefined) {
    where.push('user_id = ?');
    params.push(query.userId);
  }
  const at = now.toISOString();
  if (query.status === 'revoked') where.push("status = 'revoked'");
  else if (query.status === 'valid') {
    where.push("status = 'valid' AND not_after > ?");
    params.push(at);
  } else if (query.status === 'expired') {
    where.push("status = 'valid' AND not_after <= ?");
    params.push(at);
  }
  const rows = await sql.all<CertificateRow & { created_at: string }>(
    `SELECT ${CERTIFICATE_COLUMNS}, created_at FROM certificates ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at, id LIMIT ?`,
    [...params, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const certificates = page.map(toIssued);
  return rows.length > limit && last !== undefined
    ? { certificates, nextCursor: encodeCursor(last.created_at, last.id) }
    : { certificates };
}

/** A certificate by serial (hex, any case, colons allowed); NOT_FOUND when there is none. */
export async function certificateBySerial(sql: Sql, serial: string): Promise<IssuedCertificate> {
  const key = normalizeSerial(serial);
  const row = await sql.get<CertificateRow>(`SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE serial = ?`, [key]);
  if (row === undefined) throw new ServiceError('NOT_FOUND', `No certificate has serial ${key}.`);
  return toIssued(row);
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== 'string' ||
    typeof value[1] !== 'string' ||
    encodeCursor(value[0], value[1]) !== cursor
  ) {
    throw new ServiceError('INVALID_ARGUMENT', 'The cursor is malformed.');
  }
  return [value[0], value[1]];
}
