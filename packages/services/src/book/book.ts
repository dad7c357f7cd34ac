import { randomUUID } from 'node:crypto';
import {
  Certificate,
  isSealpostError,
  nameToString,
  pathValidator,
  pemEncode,
  type SmimeCapability,
} from '@sealpost/core';
import type { AuditLog } from '../audit/log.ts';
import { ServiceError } from '../errors.ts';
import { normalizeEmail } from '../identity/email.ts';
import type { Clock } from '../ports/clock.ts';
import type { Database, Row, Sql } from '../ports/database.ts';
import type { TrustStore } from '../trust/trust-store.ts';
import { examineSignedMessage, type HarvestRefusal, type KeyPreference, mailboxesOf } from './harvest.ts';

/**
 * The certificate book: the certificates Sealpost may encrypt to, for every correspondent of the
 * organization. It is organization-wide; what one user harvests, every user can encrypt to.
 *
 * Where a certificate comes from decides how far it is trusted (`SOURCE_RANK`): issued by one of
 * Sealpost's CAs (read from the certificates table, never copied), published in a configured external
 * directory, harvested from a validly signed message, or added by hand.
 *
 * Key-change review: a certificate that arrives for a known correspondent from another issuer than
 * every certificate known for them, or whose chain does not reach a trust anchor, is kept beside the
 * others but marked pending: it is not encrypted to until someone accepts or pins it. Administrators
 * and operators decide for everyone; each user may decide for themselves, and a user's own decision
 * wins over everyone's when that user resolves recipients. An explicit accept or pin is a statement
 * of trust: it also lets a certificate whose chain reaches no anchor be used.
 */

export type BookSource = 'ca' | 'directory' | 'harvested' | 'manual';

/** How far each source is trusted, highest first when choosing a certificate to encrypt to. */
export const SOURCE_RANK: Readonly<Record<BookSource, number>> = { ca: 4, directory: 3, harvested: 2, manual: 1 };

export type BookDecision = 'accept' | 'pin' | 'reject';
export const BOOK_DECISIONS: readonly BookDecision[] = ['accept', 'pin', 'reject'];

/** Who a decision is for: every user of the organization, or only the deciding user. */
export type DecisionScope = 'everyone' | 'me';

export interface BookEntry {
  /** The book entry's id, or for `ca` the issued certificate's id (certificates.id). */
  readonly id: string;
  readonly address: string;
  readonly source: BookSource;
  /** The external directory it was found in (source `directory`). */
  readonly directory: string | null;
  readonly certificate: Certificate;
  /** The issuers it arrived with (or, for `ca`, the issuing CA and those above it), nearest first. */
  readonly chain: readonly Certificate[];
  readonly sha256: string;
  /** A key change waiting for review (never for `ca`). */
  readonly pending: boolean;
  /** The decision made for everyone, if any. */
  readonly decision: BookDecision | null;
  /** The viewing user's own decision, if any. */
  readonly myDecision: BookDecision | null;
  /** `ca` only: when the CA revoked it. */
  readonly revokedAt: string | null;
  readonly firstSeen: string;
  readonly lastSeen: string;
}

/** What a correspondent's latest signed message announced (RFC 8551 §2.5.2, §2.5.3). */
export interface SenderProfile {
  readonly address: string;
  /** The signingTime of that message (or when it was harvested, when it had none or a future one). */
  readonly signingTime: string;
  /** undefined when the message carried no SMIMECapabilities. */
  readonly capabilities: SmimeCapability[] | undefined;
  /** The certificate named by its SMIMEEncryptionKeyPreference. */
  readonly preference: KeyPreference | undefined;
}

export interface BookListQuery {
  /** One correspondent: their book entries and the certificates Sealpost's CAs issued to them. */
  readonly address?: string;
  /** Only key changes waiting for a decision for everyone. */
  readonly pending?: boolean;
  /** Page size, 1 to 500; default 100. Ignored with `address` (one correspondent's list is short). */
  readonly limit?: number;
  readonly cursor?: string;
}

export interface BookPage {
  readonly entries: BookEntry[];
  readonly nextCursor?: string;
}

export type HarvestReport =
  | {
      readonly status: 'harvested';
      /** The sender's mailboxes the certificates were recorded for. */
      readonly addresses: string[];
      /** The signer's and preferred encryption certificates, as the book now holds them. */
      readonly entries: BookEntry[];
      /** Certificates new to the book (the others were known already). */
      readonly added: number;
      readonly message: string;
    }
  | { readonly status: 'refused'; readonly reason: HarvestRefusal; readonly message: string };

export interface CertificateBookOptions {
  readonly db: Database;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly trust: TrustStore;
}

/** What `#record` stores: a certificate for one mailbox, from one source. */
interface BookRecord {
  readonly address: string;
  readonly certificate: Certificate;
  readonly chain: readonly Certificate[];
  readonly source: Exclude<BookSource, 'ca'>;
  readonly directory?: string;
}

interface EntryRow extends Row {
  id: string;
  address: string;
  sha256: string;
  der: Uint8Array;
  chain: Uint8Array;
  source: string;
  directory: string | null;
  pending: number | bigint;
  first_seen: string;
  last_seen: string;
}

interface IssuedRow extends Row {
  id: string;
  der: Uint8Array;
  ca_id: string;
  revoked_at: string | null;
  created_at: string;
  email: string;
}

interface DecisionRow extends Row {
  sha256: string;
  scope: string;
  decision: string;
}

interface SenderRow extends Row {
  address: string;
  signing_time: string;
  capabilities: string | null;
  preference: string | null;
}

/** An upload is one certificate; bounded like any certificate file. */
const MAX_CERTIFICATE_BYTES = 64 * 1024;
const EVERYONE = '*';
const ENTRY_COLUMNS = 'id, address, sha256, der, chain, source, directory, pending, first_seen, last_seen';

export class CertificateBook {
  readonly #db: Database;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #trust: TrustStore;

  constructor(options: CertificateBookOptions) {
    this.#db = options.db;
    this.#audit = options.audit;
    this.#clock = options.clock;
    this.#trust = options.trust;
  }

  /**
   * The certificates a chain may end at for mail of these addresses: the trust store's anchors for
   * their domains, and the certificates of Sealpost's own CAs (retired ones too: what they issued is
   * still theirs).
   */
  async anchorsFor(addresses: readonly string[]): Promise<Certificate[]> {
    const domains = [...new Set(addresses.map((a) => a.slice(a.lastIndexOf('@') + 1)))];
    const found = new Map<string, Certificate>();
    for (const domain of domains) {
      for (const c of await this.#trust.anchorsFor(domain)) found.set(c.fingerprintSha256, c);
    }
    for (const row of await this.#db.all<{ certificate: Uint8Array } & Row>('SELECT certificate FROM cas')) {
      const c = Certificate.fromDer(row.certificate);
      found.set(c.fingerprintSha256, c);
    }
    return [...found.values()];
  }

  /** Every certificate known for one mailbox, Sealpost's own first, each with the decisions that apply to `viewerId`. */
  async entries(address: string, viewerId?: string): Promise<BookEntry[]> {
    const canonical = normalizeEmail(address);
    const issued = await this.#db.all<IssuedRow>(
      `SELECT c.id, c.der, c.ca_id, c.revoked_at, c.created_at, u.email
         FROM certificates c JOIN users u ON u.id = c.user_id WHERE u.email = ? ORDER BY c.created_at, c.id`,
      [canonical],
    );
    const rows = await this.#db.all<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM book_entries WHERE address = ? ORDER BY first_seen, id`,
      [canonical],
    );
    const decisions = await this.#decisions([canonical], viewerId);
    const chains = await this.#caChains();
    return [
      ...issued.map((row) => issuedEntry(row, chains, decisions)),
      ...rows.map((row) => bookEntry(row, decisions)),
    ];
  }

  /** Book entries (not Sealpost's own certificates, unless `address` names one correspondent), by address. */
  async list(query: BookListQuery = {}, viewerId?: string): Promise<BookPage> {
    if (query.address !== undefined) {
      const entries = await this.entries(query.address, viewerId);
      return { entries: query.pending ? entries.filter((e) => e.pending) : entries };
    }
    const limit = query.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500) {
      throw new ServiceError('INVALID_ARGUMENT', `The page size must be 1 to 500, not ${limit}.`);
    }
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.cursor !== undefined) {
      // The cursor is the id of the last entry of the previous page.
      const last = await this.#db.get<EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM book_entries WHERE id = ?`, [
        query.cursor,
      ]);
      if (last === undefined) throw new ServiceError('INVALID_ARGUMENT', 'The cursor names no entry of the book.');
      where.push('(address > ? OR (address = ? AND id > ?))');
      params.push(last.address, last.address, last.id);
    }
    if (query.pending) where.push('pending = 1');
    const rows = await this.#db.all<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM book_entries ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY address, id LIMIT ?`,
      [...params, limit + 1],
    );
    const page = rows.slice(0, limit);
    const decisions = await this.#decisions([...new Set(page.map((r) => r.address))], viewerId);
    const entries = page.map((row) => bookEntry(row, decisions));
    const last = page.at(-1);
    return rows.length > limit && last !== undefined ? { entries, nextCursor: last.id } : { entries };
  }

  /**
   * Adds a certificate by hand (PEM or DER), for every mailbox it names. It must be an end-entity
   * certificate naming at least one mailbox; its chain is judged when someone encrypts to it.
   */
  async add(actor: string, upload: Uint8Array | string, viewerId?: string): Promise<BookEntry[]> {
    const bytes = typeof upload === 'string' ? Buffer.from(upload, 'utf8') : upload;
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      throw new ServiceError('INVALID_ARGUMENT', 'The certificate is empty.');
    }
    if (bytes.length > MAX_CERTIFICATE_BYTES) {
      throw new ServiceError('TOO_LARGE', `A certificate file is at most ${MAX_CERTIFICATE_BYTES} bytes.`);
    }
    let certificates: Certificate[];
    try {
      certificates = Certificate.all(bytes);
    } catch (e) {
      if (!isSealpostError(e)) throw e;
      throw new ServiceError('INVALID_ARGUMENT', `The certificate cannot be read: ${e.message}`, { cause: e });
    }
    const [certificate, ...chain] = certificates;
    if (certificate === undefined) throw new ServiceError('INVALID_ARGUMENT', 'The PEM text holds no certificate.');
    if (isCa(certificate)) {
      throw new ServiceError(
        'INVALID_ARGUMENT',
        'This is a CA certificate: nobody encrypts to it. Import CA certificates as trust anchors instead.',
      );
    }
    const addresses = mailboxesOf(certificate);
    if (addresses.length === 0) {
      throw new ServiceError('INVALID_ARGUMENT', 'The certificate names no mailbox, so no recipient can match it.');
    }
    await this.#db.transaction(async (tx) => {
      for (const address of addresses) {
        await this.#record(tx, actor, { address, certificate, chain, source: 'manual' });
      }
    });
    return (await Promise.all(addresses.map((a) => this.entries(a, viewerId))))
      .flat()
      .filter((e) => e.sha256 === certificate.fingerprintSha256);
  }

  /**
   * Harvests a signed message (RFC 5322 bytes): when every signature verifies, every signer chains
   * to a trust anchor and the signer is the sender, the signer's certificates, the one its
   * SMIMEEncryptionKeyPreference names and its SMIMECapabilities are recorded for the sender's
   * mailboxes. Otherwise nothing is recorded and the report says why.
   */
  async harvest(actor: string, message: Uint8Array, viewerId?: string): Promise<HarvestReport> {
    const now = this.#clock.now();
    const verdict = await examineSignedMessage(message, { time: now, anchorsFor: (a) => this.anchorsFor(a) });
    if (!verdict.ok) return { status: 'refused', reason: verdict.reason, message: verdict.message };
    // Counted inside the transaction: PostgreSQL may run it again after a serialization failure.
    const added = await this.#db.transaction(async (tx) => {
      let count = 0;
      // Everything one message brings for a mailbox is judged against what was known before it.
      const established = new Map<string, BookEntry[]>();
      for (const address of verdict.addresses) established.set(address, await this.#established(address));
      for (const signer of verdict.signers) {
        for (const address of signer.addresses) {
          const known = established.get(address) ?? [];
          const certs = [signer, ...(signer.encryption ? [signer.encryption] : [])];
          for (const { certificate, chain } of certs) {
            if (!mailboxesOf(certificate).includes(address)) continue;
            const record = { address, certificate, chain, source: 'harvested' as const };
            if ((await this.#record(tx, actor, record, known)).added) count++;
          }
          await this.#noteSender(tx, address, signer.signingTime, signer.capabilities, signer.preference);
        }
      }
      return count;
    });
    const fingerprints = new Set(
      verdict.signers.flatMap((s) =>
        [s, ...(s.encryption ? [s.encryption] : [])].map((c) => c.certificate.fingerprintSha256),
      ),
    );
    const entries = (await Promise.all(verdict.addresses.map((a) => this.entries(a, viewerId))))
      .flat()
      .filter((e) => fingerprints.has(e.sha256));
    return {
      status: 'harvested',
      addresses: verdict.addresses,
      entries,
      added,
      message: `validly signed by ${verdict.addresses.join(', ')}: ${added} certificate(s) new to the book`,
    };
  }

  /**
   * Stores a certificate for a mailbox, or notes that it was seen again (keeping the most trusted
   * source). A new certificate is pending when the mailbox has established certificates (issued by
   * Sealpost, or in the book, not pending and not rejected for everyone) and it comes from another
   * issuer than all of them, or its chain does not reach a trust anchor. `established` overrides
   * what is read from the database (a message bringing two certificates at once).
   */
  async #record(
    tx: Sql,
    actor: string,
    input: BookRecord,
    established?: readonly BookEntry[],
  ): Promise<{ id: string; added: boolean }> {
    const { address, certificate } = input;
    const sha256 = certificate.fingerprintSha256;
    const now = this.#clock.now().toISOString();
    const existing = await tx.get<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM book_entries WHERE address = ? AND sha256 = ?`,
      [address, sha256],
    );
    if (existing !== undefined) {
      await tx.run('UPDATE book_entries SET last_seen = ? WHERE id = ?', [now, existing.id]);
      if (SOURCE_RANK[input.source] > SOURCE_RANK[existing.source as BookSource]) {
        await tx.run('UPDATE book_entries SET source = ?, directory = ?, chain = ? WHERE id = ?', [
          input.source,
          input.directory ?? null,
          concat(input.chain),
          existing.id,
        ]);
      }
      return { id: existing.id, added: false };
    }
    const known = established ?? (await this.#established(address));
    const change = await this.#keyChange(certificate, input.chain, address, known);
    const id = randomUUID();
    const inserted = await tx.run(
      `INSERT INTO book_entries (id, address, sha256, der, chain, source, directory, pending, first_seen, last_seen)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address, sha256) DO NOTHING`,
      [
        id,
        address,
        sha256,
        certificate.der,
        concat(input.chain),
        input.source,
        input.directory ?? null,
        change === undefined ? 0 : 1,
        now,
        now,
      ],
    );
    if (inserted.changes === 0) return { id, added: false };
    await this.#audit.append(tx, {
      actor,
      action: 'book.add',
      subject: `book:${id}`,
      details: {
        address,
        sha256,
        subject: nameToString(certificate.subject),
        issuer: nameToString(certificate.issuer),
        source: input.source,
        ...(input.directory === undefined ? {} : { directory: input.directory }),
        pending: change !== undefined,
        ...(change === undefined ? {} : { keyChange: change }),
      },
    });
    return { id, added: true };
  }

  /**
   * Records what an external directory publishes for a mailbox: the certificates that name it and
   * are no CA certificates. Returns how many were new to the book.
   */
  async recordPublished(directory: string, address: string, certificates: readonly Certificate[]): Promise<number> {
    const canonical = normalizeEmail(address);
    const fitting = certificates.filter((c) => !isCa(c) && mailboxesOf(c).includes(canonical));
    if (fitting.length === 0) return 0;
    return this.#db.transaction(async (tx) => {
      let added = 0;
      for (const certificate of fitting) {
        const record = { address: canonical, certificate, chain: [], source: 'directory' as const, directory };
        if ((await this.#record(tx, `directory:${directory}`, record)).added) added++;
      }
      return added;
    });
  }

  /**
   * Accepts, pins or rejects a certificate of the book (or one Sealpost issued), for everyone or
   * for the deciding user only; the caller checks who may decide for everyone. Pinning makes it the
   * only certificate used for its mailbox: earlier pins of the same scope become accepts. A decision
   * for everyone ends the key-change review.
   */
  async decide(userId: string, id: string, decision: BookDecision, scope: DecisionScope): Promise<BookEntry> {
    if (!BOOK_DECISIONS.includes(decision)) {
      throw new ServiceError(
        'INVALID_ARGUMENT',
        `A decision is accept, pin or reject, not ${JSON.stringify(decision)}.`,
      );
    }
    const target = await this.#db.transaction(async (tx) => {
      const { address, sha256 } = await this.#locate(tx, id);
      const key = scope === 'everyone' ? EVERYONE : userId;
      const now = this.#clock.now().toISOString();
      let unpinned: string[] = [];
      if (decision === 'pin') {
        const pins = await tx.all<{ sha256: string } & Row>(
          "SELECT sha256 FROM book_decisions WHERE address = ? AND scope = ? AND decision = 'pin' AND sha256 <> ?",
          [address, key, sha256],
        );
        unpinned = pins.map((p) => p.sha256);
        await tx.run(
          "UPDATE book_decisions SET decision = 'accept' WHERE address = ? AND scope = ? AND decision = 'pin'",
          [address, key],
        );
      }
      await tx.run(
        `INSERT INTO book_decisions (address, sha256, scope, decision, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (address, sha256, scope) DO UPDATE SET decision = excluded.decision,
           decided_by = excluded.decided_by, decided_at = excluded.decided_at`,
        [address, sha256, key, decision, userId, now],
      );
      if (scope === 'everyone') {
        await tx.run('UPDATE book_entries SET pending = 0 WHERE address = ? AND sha256 = ?', [address, sha256]);
      }
      await this.#audit.append(tx, {
        actor: `user:${userId}`,
        action: decision === 'accept' ? 'book.accept' : decision === 'pin' ? 'book.pin' : 'book.reject',
        subject: `book:${id}`,
        details: { address, sha256, scope, ...(unpinned.length > 0 ? { unpinned } : {}) },
      });
      return address;
    });
    const entry = (await this.entries(target, userId)).find((e) => e.id === id);
    if (entry === undefined) throw new ServiceError('NOT_FOUND', `No certificate of the book has id ${id}.`);
    return entry;
  }

  /** What the mailbox's latest signed message announced, if one was harvested. */
  async sender(address: string): Promise<SenderProfile | undefined> {
    const row = await this.#db.get<SenderRow>(
      'SELECT address, signing_time, capabilities, preference FROM book_senders WHERE address = ?',
      [normalizeEmail(address)],
    );
    if (row === undefined) return undefined;
    return {
      address: row.address,
      signingTime: row.signing_time,
      capabilities: row.capabilities === null ? undefined : decodeCapabilities(row.capabilities),
      preference: row.preference === null ? undefined : (JSON.parse(row.preference) as KeyPreference),
    };
  }

  /**
   * Keeps what a message announced when it is the latest one seen from the mailbox. A signingTime in
   * the future counts as now, so that one forged date cannot hold a preference in place for ever.
   */
  async #noteSender(
    tx: Sql,
    address: string,
    signingTime: Date | undefined,
    capabilities: SmimeCapability[] | undefined,
    preference: KeyPreference | undefined,
  ): Promise<void> {
    const now = this.#clock.now();
    const at = (signingTime === undefined || signingTime > now ? now : signingTime).toISOString();
    const values = [
      at,
      capabilities === undefined ? null : encodeCapabilities(capabilities),
      preference === undefined ? null : JSON.stringify(preference),
      now.toISOString(),
    ];
    await tx.run(
      `INSERT INTO book_senders (address, signing_time, capabilities, preference, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (address) DO UPDATE SET signing_time = excluded.signing_time, capabilities = excluded.capabilities,
         preference = excluded.preference, updated_at = excluded.updated_at
       WHERE book_senders.signing_time <= excluded.signing_time`,
      [address, ...values],
    );
  }

  /**
   * The certificates a new one is compared with: Sealpost's own, and the book's not pending nor
   * rejected for everyone. Called inside a transaction, whose reads it joins (docs/storage.md).
   */
  async #established(address: string): Promise<BookEntry[]> {
    return (await this.entries(address)).filter((e) => !e.pending && e.decision !== 'reject');
  }

  /** Why a new certificate is a key change needing review, or undefined when it is not. */
  async #keyChange(
    certificate: Certificate,
    chain: readonly Certificate[],
    address: string,
    known: readonly BookEntry[],
  ): Promise<string | undefined> {
    if (known.length === 0) return undefined;
    const result = pathValidator.validate({
      leaf: certificate,
      candidates: [...chain],
      trustAnchors: await this.anchorsFor([address]),
      time: this.#clock.now(),
      purpose: 'any',
      email: address,
    });
    if (!result.valid) return `its chain does not reach a trust anchor: ${result.problems[0]?.message ?? 'untrusted'}`;
    const issuer = nameToString(certificate.issuer);
    if (known.some((e) => nameToString(e.certificate.issuer) === issuer)) return undefined;
    const before = [...new Set(known.map((e) => nameToString(e.certificate.issuer)))].join('; ');
    return `it is issued by "${issuer}", the known certificates by "${before}"`;
  }

  /** The mailbox and certificate an id names: a book entry, or a certificate Sealpost issued to a user. */
  async #locate(sql: Sql, id: string): Promise<{ address: string; sha256: string }> {
    const entry = await sql.get<EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM book_entries WHERE id = ?`, [id]);
    if (entry !== undefined) return { address: entry.address, sha256: entry.sha256 };
    const issued = await sql.get<IssuedRow>(
      `SELECT c.id, c.der, c.ca_id, c.revoked_at, c.created_at, u.email
         FROM certificates c JOIN users u ON u.id = c.user_id WHERE c.id = ?`,
      [id],
    );
    if (issued !== undefined)
      return { address: issued.email, sha256: Certificate.fromDer(issued.der).fingerprintSha256 };
    throw new ServiceError('NOT_FOUND', `No certificate of the book has id ${id}.`);
  }

  async #decisions(addresses: readonly string[], viewerId: string | undefined): Promise<Decisions> {
    const out: Decisions = new Map();
    for (const address of addresses) {
      const rows = await this.#db.all<DecisionRow>(
        'SELECT sha256, scope, decision FROM book_decisions WHERE address = ? AND (scope = ? OR scope = ?)',
        [address, EVERYONE, viewerId ?? EVERYONE],
      );
      for (const row of rows) {
        const key = `${address} ${row.sha256}`;
        const d = out.get(key) ?? { everyone: null, mine: null };
        if (row.scope === EVERYONE) d.everyone = row.decision as BookDecision;
        else d.mine = row.decision as BookDecision;
        out.set(key, d);
      }
    }
    return out;
  }

  /** Each CA's certificate followed by the issuers above it. */
  async #caChains(): Promise<Map<string, Certificate[]>> {
    const rows = await this.#db.all<{ id: string; certificate: Uint8Array; chain: Uint8Array | null } & Row>(
      'SELECT c.id, c.certificate, s.chain FROM cas c LEFT JOIN ca_settings s ON s.ca_id = c.id',
    );
    return new Map(
      rows.map((r) => [
        r.id,
        [
          Certificate.fromDer(r.certificate),
          ...(r.chain !== null && r.chain.length > 0 ? Certificate.all(r.chain) : []),
        ],
      ]),
    );
  }
}

type Decisions = Map<string, { everyone: BookDecision | null; mine: BookDecision | null }>;

function bookEntry(row: EntryRow, decisions: Decisions): BookEntry {
  const d = decisions.get(`${row.address} ${row.sha256}`);
  return {
    id: row.id,
    address: row.address,
    source: row.source as BookSource,
    directory: row.directory,
    certificate: Certificate.fromDer(row.der),
    chain: row.chain.length > 0 ? Certificate.all(row.chain) : [],
    sha256: row.sha256,
    pending: Number(row.pending) === 1,
    decision: d?.everyone ?? null,
    myDecision: d?.mine ?? null,
    revokedAt: null,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
  };
}

function issuedEntry(row: IssuedRow, chains: Map<string, Certificate[]>, decisions: Decisions): BookEntry {
  const certificate = Certificate.fromDer(row.der);
  const d = decisions.get(`${row.email} ${certificate.fingerprintSha256}`);
  return {
    id: row.id,
    address: row.email,
    source: 'ca',
    directory: null,
    certificate,
    chain: chains.get(row.ca_id) ?? [],
    sha256: certificate.fingerprintSha256,
    pending: false,
    decision: d?.everyone ?? null,
    myDecision: d?.mine ?? null,
    revokedAt: row.revoked_at,
    firstSeen: row.created_at,
    lastSeen: row.created_at,
  };
}

function isCa(certificate: Certificate): boolean {
  try {
    return certificate.basicConstraints?.ca === true;
  } catch {
    return false;
  }
}

/** A chain as stored: PEM blocks, which `Certificate.all` reads back (concatenated DER would need a splitter). */
function concat(certificates: readonly Certificate[]): Uint8Array {
  return Buffer.from(certificates.map((c) => pemEncode('CERTIFICATE', c.der)).join(''), 'latin1');
}

/** SMIMECapabilities as stored: JSON of OIDs with base64 parameters. */
function encodeCapabilities(capabilities: readonly SmimeCapability[]): string {
  return JSON.stringify(
    capabilities.map((c) =>
      c.params ? { oid: c.oid, params: Buffer.from(c.params).toString('base64') } : { oid: c.oid },
    ),
  );
}

function decodeCapabilities(text: string): SmimeCapability[] {
  return (JSON.parse(text) as { oid: string; params?: string }[]).map((c) =>
    c.params === undefined ? { oid: c.oid } : { oid: c.oid, params: Buffer.from(c.params, 'base64') },
  );
}
