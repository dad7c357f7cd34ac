import { randomUUID } from 'node:crypto';
import { Certificate, isPem, isSealpostError, nameToString, parseSignedData, pemDecodeAll } from '@sealpost/core';
import type { AuditLog } from '../audit/log.ts';
import { ServiceError } from '../errors.ts';
import { normalizeDomain } from '../identity/email.ts';
import type { Clock } from '../ports/clock.ts';
import type { Database, Row } from '../ports/database.ts';

/**
 * The certificates this server trusts when verifying S/MIME signatures: roots and intermediates
 * imported by an operator from PEM, DER or PKCS#7 certs-only bundles (.p7b, RFC 5652 §5 SignedData
 * with no signers). Every stored certificate is a CA certificate valid when imported; each may be
 * scoped to one mail domain, in which case it is trusted only for that domain's correspondents.
 * Certificates are identified by the SHA-256 of their DER, so importing one twice adds it once.
 */

export type TrustRefusal = 'malformed' | 'unsupported' | 'not-ca' | 'expired' | 'not-yet-valid';

export interface TrustAnchor {
  readonly id: string;
  readonly sha256: string;
  readonly subject: string;
  readonly issuer: string;
  /** `root` when self-issued, else `intermediate`. */
  readonly kind: 'root' | 'intermediate';
  readonly notBefore: string;
  readonly notAfter: string;
  /** The mail domain it is trusted for, or null for every domain. */
  readonly scopeDomain: string | null;
  readonly createdAt: string;
}

export interface TrustImportReport {
  readonly added: TrustAnchor[];
  /** Certificates already in the store (or twice in the bundle), by SHA-256; left unchanged. */
  readonly duplicates: { readonly sha256: string; readonly subject: string }[];
  /** Certificates or blocks not imported, in bundle order (index counts every item found, from 0). */
  readonly refused: {
    readonly index: number;
    readonly reason: TrustRefusal;
    readonly message: string;
    readonly subject?: string;
  }[];
}

export interface TrustStoreOptions {
  readonly db: Database;
  readonly audit: AuditLog;
  readonly clock: Clock;
}

interface AnchorRow extends Row {
  id: string;
  der: Uint8Array;
  sha256: string;
  scope_domain: string | null;
  created_at: string;
}

/** Bounds an import, so an upload cannot exhaust memory (the whole Mozilla root set is ~250 KiB, 150 certificates). */
const MAX_BUNDLE_BYTES = 8 * 1024 * 1024;
const MAX_CERTIFICATES = 2000;
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE']);
const PKCS7_LABELS = new Set(['PKCS7', 'CMS']);

type Item = { ok: true; certificate: Certificate } | { ok: false; reason: TrustRefusal; message: string };

export class TrustStore {
  readonly #db: Database;
  readonly #audit: AuditLog;
  readonly #clock: Clock;

  constructor(options: TrustStoreOptions) {
    this.#db = options.db;
    this.#audit = options.audit;
    this.#clock = options.clock;
  }

  /**
   * Imports every acceptable certificate of a bundle and reports the others with their reason:
   * malformed, unsupported (a PEM block or content that is not a certificate), not-ca
   * (basicConstraints absent or cA false), expired or not-yet-valid at the clock's time.
   */
  async import(
    actor: string,
    bundle: Uint8Array | string,
    options: { scopeDomain?: string } = {},
  ): Promise<TrustImportReport> {
    const bytes = typeof bundle === 'string' ? Buffer.from(bundle, 'utf8') : bundle;
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      throw new ServiceError('INVALID_ARGUMENT', 'The trust bundle is empty.');
    }
    if (bytes.length > MAX_BUNDLE_BYTES) {
      throw new ServiceError('TOO_LARGE', `A trust bundle is at most ${MAX_BUNDLE_BYTES} bytes.`);
    }
    const scope = options.scopeDomain === undefined ? null : normalizeDomain(options.scopeDomain);
    const items = readBundle(bytes);
    if (items.length > MAX_CERTIFICATES) {
      throw new ServiceError('TOO_LARGE', `A trust bundle holds at most ${MAX_CERTIFICATES} certificates.`);
    }
    const now = this.#clock.now();
    const refused: TrustImportReport['refused'][number][] = [];
    const candidates: Certificate[] = [];
    for (const [index, item] of items.entries()) {
      if (!item.ok) {
        refused.push({ index, reason: item.reason, message: item.message });
        continue;
      }
      const cert = item.certificate;
      const problem = acceptability(cert, now);
      if (problem !== undefined) refused.push({ index, subject: nameToString(cert.subject), ...problem });
      else candidates.push(cert);
    }

    return this.#db.transaction(async (tx) => {
      const added: TrustAnchor[] = [];
      const duplicates: TrustImportReport['duplicates'][number][] = [];
      const seen = new Set<string>();
      const createdAt = now.toISOString();
      for (const cert of candidates) {
        const sha256 = cert.fingerprintSha256;
        const subject = nameToString(cert.subject);
        if (seen.has(sha256) || (await tx.get('SELECT id FROM trust_anchors WHERE sha256 = ?', [sha256]))) {
          duplicates.push({ sha256, subject });
          continue;
        }
        seen.add(sha256);
        const id = randomUUID();
        await tx.run('INSERT INTO trust_anchors (id, der, sha256, scope_domain, created_at) VALUES (?, ?, ?, ?, ?)', [
          id,
          cert.der,
          sha256,
          scope,
          createdAt,
        ]);
        const anchor = describe({ id, der: cert.der, sha256, scope_domain: scope, created_at: createdAt }, cert);
        await this.#audit.append(tx, {
          actor,
          action: 'trust.add',
          subject: `trust:${id}`,
          details: { sha256, subject, kind: anchor.kind, scopeDomain: scope },
        });
        added.push(anchor);
      }
      return { added, duplicates, refused };
    });
  }

  /** Every stored certificate, roots first, then by subject. */
  async list(): Promise<TrustAnchor[]> {
    const rows = await this.#db.all<AnchorRow>(
      'SELECT id, der, sha256, scope_domain, created_at FROM trust_anchors ORDER BY created_at, id',
    );
    return rows
      .map((row) => describe(row, Certificate.fromDer(row.der)))
      .sort((a, b) => (a.kind === b.kind ? a.subject.localeCompare(b.subject) : a.kind === 'root' ? -1 : 1));
  }

  /**
   * The certificates to trust when verifying mail from `domain`: the unscoped ones plus those scoped
   * to that domain (exactly; no subdomain inheritance). Without a domain, only the unscoped ones.
   * Intermediates are returned too: an operator who imported one chose to trust it as an anchor.
   */
  async anchorsFor(domain?: string): Promise<Certificate[]> {
    const rows =
      domain === undefined
        ? await this.#db.all<AnchorRow>('SELECT der FROM trust_anchors WHERE scope_domain IS NULL ORDER BY sha256')
        : await this.#db.all<AnchorRow>(
            'SELECT der FROM trust_anchors WHERE scope_domain IS NULL OR scope_domain = ? ORDER BY sha256',
            [normalizeDomain(domain)],
          );
    return rows.map((row) => Certificate.fromDer(row.der));
  }

  /** Removes a certificate from the store; NOT_FOUND when no such id. */
  async remove(actor: string, id: string): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const row = await tx.get<AnchorRow>('SELECT id, der, sha256, scope_domain FROM trust_anchors WHERE id = ?', [id]);
      if (row === undefined) throw new ServiceError('NOT_FOUND', `No trust anchor has id ${id}.`);
      await tx.run('DELETE FROM trust_anchors WHERE id = ?', [id]);
      await this.#audit.append(tx, {
        actor,
        action: 'trust.remove',
        subject: `trust:${id}`,
        details: {
          sha256: row.sha256,
          subject: nameToString(Certificate.fromDer(row.der).subject),
          scopeDomain: row.scope_domain,
        },
      });
    });
  }
}

/** Why a parsed certificate cannot be a trust anchor, or undefined when it can. */
function acceptability(cert: Certificate, now: Date): { reason: TrustRefusal; message: string } | undefined {
  let ca: boolean;
  try {
    ca = cert.basicConstraints?.ca === true;
  } catch (e) {
    return { reason: 'malformed', message: `its basicConstraints extension is malformed: ${errorMessage(e)}` };
  }
  // RFC 5280 §4.2.1.9: only a certificate asserting cA may sign certificates.
  if (!ca) return { reason: 'not-ca', message: 'it is not a CA certificate (basicConstraints cA is absent or false)' };
  if (cert.notAfter.getTime() < now.getTime()) {
    return { reason: 'expired', message: `it expired on ${cert.notAfter.toISOString()}` };
  }
  if (cert.notBefore.getTime() > now.getTime()) {
    return { reason: 'not-yet-valid', message: `it is not valid before ${cert.notBefore.toISOString()}` };
  }
  return undefined;
}

/** Splits a bundle into certificates (or reasons why an item is unusable), in order. */
function readBundle(bytes: Uint8Array): Item[] {
  if (isPem(bytes)) {
    const text = Buffer.from(bytes).toString('latin1');
    const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 #]+)-----[\s\S]*?-----END \1-----/g)];
    if (blocks.length === 0) return [{ ok: false, reason: 'malformed', message: 'no complete PEM block' }];
    return blocks.flatMap((m): Item[] => {
      const label = m[1]!;
      let der: Uint8Array;
      try {
        der = pemDecodeAll(m[0])[0]!.der;
      } catch (e) {
        return [{ ok: false, reason: 'malformed', message: errorMessage(e) }];
      }
      if (CERTIFICATE_LABELS.has(label)) return [readCertificate(der)];
      if (PKCS7_LABELS.has(label)) return readPkcs7(der);
      return [{ ok: false, reason: 'unsupported', message: `a PEM block "${label}" is not a certificate` }];
    });
  }
  const single = readCertificate(bytes);
  if (single.ok) return [single];
  const bundle = readPkcs7(bytes);
  // Neither a certificate nor a SignedData: report it as the certificate it most likely meant to be.
  return bundle.length === 1 && !bundle[0]!.ok && bundle[0]!.reason === 'malformed' ? [single] : bundle;
}

function readCertificate(der: Uint8Array): Item {
  try {
    return { ok: true, certificate: Certificate.fromDer(der) };
  } catch (e) {
    if (!isSealpostError(e)) throw e;
    return { ok: false, reason: 'malformed', message: errorMessage(e) };
  }
}

/** The certificates of a PKCS#7 / CMS SignedData, typically certs-only (RFC 5652 §5.1, RFC 8551 §3.9 .p7c/.p7b). */
function readPkcs7(der: Uint8Array): Item[] {
  try {
    const info = parseSignedData(der, { maxCertificates: MAX_CERTIFICATES });
    const items: Item[] = info.certificates.map((certificate) => ({ ok: true, certificate }));
    for (const message of info.certificateErrors) items.push({ ok: false, reason: 'malformed', message });
    for (let i = 0; i < info.skippedCertificates; i++) {
      items.push({ ok: false, reason: 'unsupported', message: 'an attribute or other-format certificate was skipped' });
    }
    if (items.length === 0)
      return [{ ok: false, reason: 'malformed', message: 'the PKCS#7 bundle holds no certificates' }];
    return items;
  } catch (e) {
    if (!isSealpostError(e)) throw e;
    const reason: TrustRefusal = e.code === 'UNSUPPORTED_CONTENT' ? 'unsupported' : 'malformed';
    return [{ ok: false, reason, message: errorMessage(e) }];
  }
}

function describe(row: AnchorRow, cert: Certificate): TrustAnchor {
  return {
    id: row.id,
    sha256: row.sha256,
    subject: nameToString(cert.subject),
    issuer: nameToString(cert.issuer),
    kind: cert.isSelfIssued ? 'root' : 'intermediate',
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    scopeDomain: row.scope_domain,
    createdAt: row.created_at,
  };
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
