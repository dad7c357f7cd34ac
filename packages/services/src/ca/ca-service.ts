import { createPrivateKey, type KeyObject, randomUUID } from 'node:crypto';
import {
  buildCsr,
  buildOcspResponse,
  buildPkcs12,
  Certificate,
  type CertificateRequestSpec,
  certIdIssuedBy,
  generatePkcs12Password,
  issueCertificate,
  issueCrl,
  type KeySigner,
  keyMatchesCertificate,
  keySigner,
  lintCertificate,
  loadPrivateKey,
  type NameSpec,
  type OcspAnswer,
  OID,
  ocspErrorResponse,
  type ParsedOcspRequest,
  parseCsr,
  parseOcspRequest,
  pemEncode,
  type RevocationReason,
  randomSerial,
  SealpostError,
  splitConcatenatedDer,
} from '@sealpost/core';
import { KeyArchive } from '../archive/key-archive.ts';
import type { JsonValue } from '../audit/canonical-json.ts';
import type { AuditLog } from '../audit/log.ts';
import { ServiceError } from '../errors.ts';
import { type Listener, Listeners } from '../events/listeners.ts';
import { normalizeEmail } from '../identity/email.ts';
import { requireUser } from '../identity/users.ts';
import type { Clock } from '../ports/clock.ts';
import type { Database, Row, Sql } from '../ports/database.ts';
import type { Vault } from '../secrets/vault.ts';
import {
  type CaUrls,
  checkCaAlgorithm,
  checkCaCertificate,
  checkCaName,
  checkSubject,
  checkUrls,
  checkWhole,
  core,
  messageOf,
  type NullableUrls,
  readCertificates,
  type SubjectKey,
  subjectKeyFromCsr,
} from './checks.ts';
import { LintFailedError, TemplateError } from './errors.ts';
import {
  algorithmShape,
  type CaKeyAlgorithm,
  describeShape,
  generateKey,
  isKeyAlgorithm,
  type KeyAlgorithm,
  keyShape,
} from './keys.ts';
import {
  CERTIFICATE_COLUMNS,
  type CertificateRow,
  DAY_MS,
  type IssuedCertificate,
  isUniqueViolation,
  keyUsageFor,
  normalizeSerial,
  REVOCATION_REASONS,
  reasonOfCode,
  SMIME_MAILBOX_STRICT,
  serialKey,
  toIssued,
  wholeSeconds,
} from './records.ts';
import {
  type CertificateTemplate,
  checkTemplateName,
  DEFAULT_TEMPLATES,
  keyProblem,
  readTemplate,
  readTemplates,
  type TemplateBody,
  templateJson,
  validateTemplateBody,
} from './templates.ts';

/**
 * The certificate authority: CA keys and certificates, templates, issuance, renewal, revocation,
 * CRLs and OCSP, over the Database port. Every state change runs in one transaction with its audit
 * entry. CA private keys live only in the vault (context `ca-key:<caId>`) and are used only through
 * the KeySigner that `signerFor` returns, so that an HSM-backed signer can take its place.
 *
 * Serial numbers are random (126 bits, `randomSerial`) and unique across nodes through the UNIQUE
 * constraint on certificates.serial: a collision fails the insert with UNIQUE_VIOLATION, and an
 * issuance that owns its transaction draws a new serial and runs it again.
 */

/** Announced after the commit of an issuance, renewal or revocation (directory publishing listens). */
export interface CertificateChange {
  readonly type: 'CertificateIssued' | 'CertificateRevoked';
  readonly certificateId: string;
  /** The holder; null for a certificate without one. */
  readonly userId: string | null;
}

export interface CaServiceOptions {
  readonly db: Database;
  readonly vault: Vault;
  readonly audit: AuditLog;
  readonly clock: Clock;
  /** Serial numbers for new certificates (unsigned big-endian bytes); default `randomSerial`. Tests inject collisions. */
  readonly serialNumbers?: () => Uint8Array;
}

export interface CreateRootInput extends CaUrls {
  /** The new CA's id, when the caller chose it (so that its URLs can name it); a fresh UUID otherwise. */
  readonly id?: string;
  readonly name: string;
  readonly subject: NameSpec;
  readonly keyAlgorithm: CaKeyAlgorithm;
  readonly validityDays: number;
}

export interface IntermediateRequestInput extends CaUrls {
  readonly name: string;
  readonly subject: NameSpec;
  readonly keyAlgorithm: CaKeyAlgorithm;
}

export interface ImportCaInput extends CaUrls {
  readonly name: string;
  /** The CA certificate, followed by the issuers above it (PEM or DER). */
  readonly certificatePem: string | Uint8Array;
  readonly keyPem: string | Uint8Array;
  readonly keyPassword?: string;
}

export interface CaInfo {
  readonly id: string;
  readonly name: string;
  /** `pending`: an intermediate waiting for its certificate (see `csrPem`). */
  readonly status: 'active' | 'retired' | 'pending';
  readonly certificate: Certificate | null;
  /** The issuers above the CA certificate, nearest first; empty for a root. */
  readonly chain: readonly Certificate[];
  readonly csrPem: string | null;
  readonly crlUrl: string | null;
  readonly ocspUrl: string | null;
  readonly caIssuersUrl: string | null;
  readonly createdAt: string;
}

export interface IssueRequest {
  readonly userEmail: string;
  readonly template: string;
  /** A PKCS#10 request: only its key is used. Without it the server generates the key. */
  readonly csrPem?: string | Uint8Array;
  /** For server-side generation; default the template's defaultKeyAlgorithm. */
  readonly keyAlgorithm?: KeyAlgorithm;
}

export interface IssueResult {
  readonly certificate: IssuedCertificate;
  /** The CA certificate and the issuers above it, nearest first. */
  readonly chain: readonly Certificate[];
  /** Server-generated keys only: the PKCS#12 (modern profile) and its password, shown once, never stored. */
  readonly pkcs12?: Uint8Array;
  readonly pkcs12Password?: string;
  /** Whether the private key was escrowed in the key archive. */
  readonly archived: boolean;
}

export interface RenewOptions {
  /** Generate a new key (server side, PKCS#12 returned) rather than certify the same key again. */
  readonly newKey: boolean;
  readonly keyAlgorithm?: KeyAlgorithm;
}

export interface RenewalCandidate {
  readonly certificate: IssuedCertificate;
  /** From when the template's renewal window makes it due. */
  readonly dueFrom: Date;
}

interface CaRow extends Row {
  id: string;
  name: string;
  certificate: Uint8Array;
  key_secret_id: string;
  status: string;
  created_at: string;
  crl_url: string | null;
  ocsp_url: string | null;
  ca_issuers_url: string | null;
  chain: Uint8Array | null;
}

interface CaRequestRow extends Row {
  id: string;
  name: string;
  csr: Uint8Array;
  key_secret_id: string;
  crl_url: string | null;
  ocsp_url: string | null;
  ca_issuers_url: string | null;
  created_at: string;
}

interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly status: string;
}

interface IssueParams {
  readonly actor: string;
  readonly user: UserRecord;
  readonly template: CertificateTemplate;
  readonly key: SubjectKey;
  readonly action: 'certificate.issue' | 'certificate.renew';
  readonly details: Record<string, string | boolean>;
}

const CA_SELECT = `SELECT c.id, c.name, c.certificate, c.key_secret_id, c.status, c.created_at,
    s.crl_url, s.ocsp_url, s.ca_issuers_url, s.chain
  FROM cas c LEFT JOIN ca_settings s ON s.ca_id = c.id`;
const MAX_CA_VALIDITY_DAYS = 9131; // 25 years
/** Draws of a new serial after collisions before giving up (each collision has probability ~n/2^126). */
const SERIAL_ATTEMPTS = 5;
/** CRLs are valid 7 days (S/MIME BR §4.9.7) and re-signed once less than half of that remains. */
const CRL_VALIDITY_MS = 7 * DAY_MS;
/** OCSP answers are valid one day (S/MIME BR §4.9.10 asks for 8 hours to 10 days). */
const OCSP_VALIDITY_MS = DAY_MS;

export function caKeyAad(caId: string): string {
  return `ca-key:${caId}`;
}

export class CaService {
  readonly #db: Database;
  readonly #vault: Vault;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #archive: KeyArchive;
  readonly #serials: () => Uint8Array;
  readonly #changes = new Listeners<CertificateChange>('certificate');

  constructor(options: CaServiceOptions) {
    this.#db = options.db;
    this.#vault = options.vault;
    this.#audit = options.audit;
    this.#clock = options.clock;
    this.#archive = new KeyArchive({ vault: options.vault, audit: options.audit, clock: options.clock });
    this.#serials = options.serialNumbers ?? randomSerial;
  }

  /**
   * Registers a listener for issued, renewed and revoked certificates; returns a function that
   * unregisters it. Delivery as events/listeners.ts describes: after the commit, at most once.
   * An issuance inside a caller's transaction (`issue(…, tx)`) is not announced: its commit is the caller's.
   */
  onCertificateChange(listener: Listener<CertificateChange>): () => void {
    return this.#changes.add(listener);
  }

  // ---------------------------------------------------------------- CAs

  /** Creates a self-signed root CA: a new key (sealed in the vault) and its certificate. */
  async createRoot(actor: string, input: CreateRootInput): Promise<CaInfo> {
    const name = checkCaName(input.name);
    const algorithm = checkCaAlgorithm(input.keyAlgorithm);
    const days = checkWhole(input.validityDays, 'validityDays', 1, MAX_CA_VALIDITY_DAYS);
    const urls = checkUrls(input);
    const key = await generateKey(algorithm);
    const notBefore = wholeSeconds(this.#clock.now());
    const certificate = await core(() =>
      issueCertificate(
        {
          subject: checkSubject(input.subject),
          publicKey: key,
          serialNumber: this.#serials(),
          notBefore,
          notAfter: new Date(notBefore.getTime() + days * DAY_MS - 1000),
          ca: true,
          keyUsage: ['keyCertSign', 'cRLSign'],
        },
        { signer: keySigner(key) },
      ),
    );
    const id = input.id ?? randomUUID();
    await this.#db.transaction(async (tx) => {
      await this.#requireFreeName(tx, name);
      await this.#insertCa(tx, { id, name, certificate, chain: [], urls, key });
      await this.#audit.append(tx, {
        actor,
        action: 'ca.create',
        subject: `ca:${id}`,
        details: { name, kind: 'root', keyAlgorithm: algorithm, serial: certificate.serialHex },
      });
    });
    return this.get(id);
  }

  /**
   * Starts an intermediate CA signed by an external root: generates and seals its key and returns
   * the CA (status `pending`) with the PKCS#10 request to take to the root.
   */
  async createIntermediateRequest(actor: string, input: IntermediateRequestInput): Promise<CaInfo> {
    const name = checkCaName(input.name);
    const algorithm = checkCaAlgorithm(input.keyAlgorithm);
    const urls = checkUrls(input);
    const subject = checkSubject(input.subject);
    const key = await generateKey(algorithm);
    const csr = await core(async () => buildCsr({ subject, key }));
    const id = randomUUID();
    await this.#db.transaction(async (tx) => {
      await this.#requireFreeName(tx, name);
      const secretId = await this.#sealKey(tx, id, key);
      await tx.run(
        `INSERT INTO ca_requests (id, name, csr, key_secret_id, crl_url, ocsp_url, ca_issuers_url, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [id, name, csr, secretId, urls.crlUrl, urls.ocspUrl, urls.caIssuersUrl, this.#clock.now().toISOString()],
      );
      await this.#audit.append(tx, {
        actor,
        action: 'ca.create',
        subject: `ca:${id}`,
        details: { name, kind: 'intermediate-request', keyAlgorithm: algorithm },
      });
    });
    return this.get(id);
  }

  /**
   * Completes a pending intermediate with the certificate the root issued (PEM or DER, optionally
   * followed by the issuers above it). It must certify the requested key and be a CA certificate
   * allowed to sign certificates and CRLs.
   */
  async importSignedIntermediate(actor: string, caId: string, certificatePem: string | Uint8Array): Promise<CaInfo> {
    const [certificate, ...chain] = readCertificates(certificatePem);
    await this.#db.transaction(async (tx) => {
      const request = await tx.get<CaRequestRow>('SELECT * FROM ca_requests WHERE id = ?', [caId]);
      if (request === undefined) throw new ServiceError('NOT_FOUND', `No pending intermediate CA has id ${caId}.`);
      const requested = parseCsr(request.csr).publicKeyInfo;
      if (Buffer.compare(Buffer.from(requested), Buffer.from(certificate!.publicKeyInfo.spki)) !== 0) {
        throw new ServiceError('INVALID_ARGUMENT', 'The certificate does not certify the key of this CA request.');
      }
      checkCaCertificate(certificate!, this.#clock.now());
      await tx.run('DELETE FROM ca_requests WHERE id = ?', [caId]);
      await this.#insertCa(tx, {
        id: caId,
        name: request.name,
        certificate: certificate!,
        chain,
        urls: { crlUrl: request.crl_url, ocspUrl: request.ocsp_url, caIssuersUrl: request.ca_issuers_url },
        secretId: request.key_secret_id,
      });
      await this.#audit.append(tx, {
        actor,
        action: 'ca.create',
        subject: `ca:${caId}`,
        details: { name: request.name, kind: 'intermediate', serial: certificate!.serialHex },
      });
    });
    return this.get(caId);
  }

  /** Imports an existing CA: its certificate (with the issuers above it) and its private key. */
  async importCa(actor: string, input: ImportCaInput): Promise<CaInfo> {
    const name = checkCaName(input.name);
    const urls = checkUrls(input);
    const [certificate, ...chain] = readCertificates(input.certificatePem);
    let key: KeyObject;
    try {
      key = loadPrivateKey(
        typeof input.keyPem === 'string' ? Buffer.from(input.keyPem, 'utf8') : input.keyPem,
        input.keyPassword,
      );
    } catch (e) {
      throw new ServiceError('INVALID_ARGUMENT', `The CA private key cannot be read: ${messageOf(e)}`, { cause: e });
    }
    if (!keyMatchesCertificate(key, certificate!)) {
      throw new ServiceError('INVALID_ARGUMENT', 'The private key does not belong to the CA certificate.');
    }
    checkCaCertificate(certificate!, this.#clock.now());
    const id = randomUUID();
    await this.#db.transaction(async (tx) => {
      await this.#requireFreeName(tx, name);
      await this.#insertCa(tx, { id, name, certificate: certificate!, chain, urls, key });
      await this.#audit.append(tx, {
        actor,
        action: 'ca.create',
        subject: `ca:${id}`,
        details: { name, kind: 'import', serial: certificate!.serialHex },
      });
    });
    return this.get(id);
  }

  /** All CAs, pending intermediates included, by name. */
  async list(): Promise<CaInfo[]> {
    const cas = (await this.#db.all<CaRow>(CA_SELECT)).map(caInfo);
    const pending = (await this.#db.all<CaRequestRow>('SELECT * FROM ca_requests')).map(requestInfo);
    return [...cas, ...pending].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async get(caId: string): Promise<CaInfo> {
    return readCa(this.#db, caId);
  }

  /**
   * The CA certificate and a signer over its key, opened from the vault inside `tx`. The one place
   * that touches a CA private key: an HSM-backed implementation replaces this method.
   */
  async signerFor(tx: Sql, caId: string): Promise<{ certificate: Certificate; signer: KeySigner }> {
    const row = await tx.get<CaRow>(`${CA_SELECT} WHERE c.id = ?`, [caId]);
    if (row === undefined) throw new ServiceError('NOT_FOUND', `No CA has id ${caId}.`);
    const pkcs8 = await this.#vault.open(tx, row.key_secret_id, caKeyAad(caId));
    try {
      const key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
      return { certificate: Certificate.fromDer(row.certificate), signer: keySigner(key) };
    } finally {
      pkcs8.fill(0);
    }
  }

  async #requireFreeName(tx: Sql, name: string): Promise<void> {
    const taken =
      (await tx.get('SELECT id FROM cas WHERE name = ?', [name])) ??
      (await tx.get('SELECT id FROM ca_requests WHERE name = ?', [name]));
    if (taken !== undefined) throw new ServiceError('CONFLICT', `A CA named ${JSON.stringify(name)} exists already.`);
  }

  async #sealKey(tx: Sql, caId: string, key: KeyObject): Promise<string> {
    const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
    try {
      return await this.#vault.seal(tx, pkcs8, caKeyAad(caId));
    } finally {
      pkcs8.fill(0);
    }
  }

  async #insertCa(
    tx: Sql,
    ca: {
      id: string;
      name: string;
      certificate: Certificate;
      chain: readonly Certificate[];
      urls: NullableUrls;
      key?: KeyObject;
      secretId?: string;
    },
  ): Promise<void> {
    const secretId = ca.secretId ?? (await this.#sealKey(tx, ca.id, ca.key!));
    const now = this.#clock.now().toISOString();
    await tx.run(
      'INSERT INTO cas (id, name, certificate, key_secret_id, status, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [ca.id, ca.name, ca.certificate.der, secretId, 'active', now],
    );
    await tx.run('INSERT INTO ca_settings (ca_id, crl_url, ocsp_url, ca_issuers_url, chain) VALUES (?, ?, ?, ?, ?)', [
      ca.id,
      ca.urls.crlUrl,
      ca.urls.ocspUrl,
      ca.urls.caIssuersUrl,
      Buffer.concat(ca.chain.map((c) => Buffer.from(c.der))),
    ]);
  }

  // ---------------------------------------------------------------- templates

  /** Stores the ready-made templates that are missing; returns the names it added. */
  async installDefaultTemplates(actor: string): Promise<string[]> {
    return this.#db.transaction(async (tx) => {
      const added: string[] = [];
      for (const template of DEFAULT_TEMPLATES) {
        if (await tx.get('SELECT name FROM templates WHERE name = ?', [template.name])) continue;
        await this.#writeTemplate(tx, actor, template, 'create');
        added.push(template.name);
      }
      return added;
    });
  }

  async templates(): Promise<CertificateTemplate[]> {
    return readTemplates(this.#db);
  }

  async template(name: string): Promise<CertificateTemplate> {
    return readTemplate(this.#db, checkTemplateName(name));
  }

  /** Creates a template; TEMPLATE_INVALID names the first bad field, CONFLICT if the name is taken. */
  async createTemplate(actor: string, template: CertificateTemplate): Promise<CertificateTemplate> {
    const { name, ...rest } = template;
    const body = validateTemplateBody(rest);
    const full = { name: checkTemplateName(name), ...body };
    return this.#db.transaction(async (tx) => {
      if (await tx.get('SELECT name FROM templates WHERE name = ?', [full.name])) {
        throw new ServiceError('CONFLICT', `A template named ${full.name} exists already.`);
      }
      await this.#writeTemplate(tx, actor, full, 'create');
      return full;
    });
  }

  /**
   * Changes some fields of a template. The result is validated as a whole (TEMPLATE_INVALID names
   * the field), so that a template can never say something the CA would refuse to issue.
   */
  async updateTemplate(actor: string, name: string, changes: Partial<TemplateBody>): Promise<CertificateTemplate> {
    checkTemplateName(name);
    if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) {
      throw new TemplateError('(body)', 'the changes are a JSON object.');
    }
    return this.#db.transaction(async (tx) => {
      const { name: _, ...current } = await readTemplate(tx, name);
      const full = { name, ...validateTemplateBody({ ...current, ...changes }) };
      await this.#writeTemplate(tx, actor, full, 'update');
      return full;
    });
  }

  async #writeTemplate(
    tx: Sql,
    actor: string,
    template: CertificateTemplate,
    change: 'create' | 'update',
  ): Promise<void> {
    if (template.caId !== null) {
      const ca = await tx.get<{ status: string } & Row>('SELECT status FROM cas WHERE id = ?', [template.caId]);
      if (ca?.status !== 'active') throw new TemplateError('caId', `no active CA has id ${template.caId}.`);
    }
    const { name, ...body } = template;
    const now = this.#clock.now().toISOString();
    if (change === 'create') {
      await tx.run('INSERT INTO templates (name, body, created_at, updated_at) VALUES (?, ?, ?, ?)', [
        name,
        templateJson(body),
        now,
        now,
      ]);
    } else {
      await tx.run('UPDATE templates SET body = ?, updated_at = ? WHERE name = ?', [templateJson(body), now, name]);
    }
    await this.#audit.append(tx, {
      actor,
      action: 'template.change',
      subject: `template:${name}`,
      details: { change, template: JSON.parse(templateJson(body)) as JsonValue },
    });
  }

  // ---------------------------------------------------------------- issuance

  /**
   * Issues a certificate for a user under a template. With a CSR, only its key is used (after its
   * signature proves possession): subject and subjectAltName come from the user record, everything
   * else from the template. Without one, the server generates the key and returns it in a PKCS#12
   * with a generated password (neither is stored; the key is escrowed if the template says so).
   * The certificate is linted (BR strict) before it is stored: an error finding blocks it.
   *
   * With `tx`, issuance joins the caller's transaction; a serial collision then fails that
   * transaction (UNIQUE_VIOLATION) and the caller's retry draws a new serial.
   */
  async issue(actor: string, request: IssueRequest, tx?: Sql): Promise<IssueResult> {
    const sql = tx ?? this.#db;
    const template = await readTemplate(sql, checkTemplateName(request.template));
    const email = normalizeEmail(request.userEmail);
    const key =
      request.csrPem !== undefined
        ? subjectKeyFromCsr(request.csrPem)
        : await this.#generateFor(template, request.keyAlgorithm);
    if (key.privateKey === undefined && template.archiveKeys) {
      throw new ServiceError(
        'INVALID_ARGUMENT',
        `Template ${template.name} escrows keys, so the server must generate them: leave out the CSR.`,
      );
    }
    const run = async (t: Sql) => {
      const current = await readTemplate(t, template.name);
      const user = await findUserByEmail(t, email);
      return this.#issueIn(t, {
        actor,
        user,
        template: current,
        key,
        action: 'certificate.issue',
        details: { keyGeneratedByServer: key.privateKey !== undefined },
      });
    };
    if (tx !== undefined) return this.#result(sql, await run(tx), key.privateKey);
    const issued = await this.#withFreshSerial(run);
    await this.#announceIssued(issued.certificate);
    return this.#result(sql, issued, key.privateKey);
  }

  /**
   * Issues the next certificate for the holder of a valid one, under its template as it is now:
   * with a new server-generated key, or for the same key (whose escrowed copy, if any, is archived
   * again for the new certificate).
   */
  async renew(actor: string, certificateId: string, options: RenewOptions): Promise<IssueResult> {
    const old = await this.#certificateById(this.#db, certificateId);
    const template = await readTemplate(this.#db, old.template);
    const key: SubjectKey = options.newKey
      ? await this.#generateFor(template, options.keyAlgorithm)
      : { publicKey: old.certificate.publicKey };
    const issued = await this.#withFreshSerial(async (tx) => {
      const current = await this.#certificateById(tx, certificateId);
      if (current.status !== 'valid')
        throw new ServiceError('INVALID_STATE', `Certificate ${certificateId} is revoked.`);
      if (current.userId === null)
        throw new ServiceError('INVALID_STATE', `Certificate ${certificateId} has no holder.`);
      const user = await requireUser(tx, current.userId);
      const next = await this.#issueIn(tx, {
        actor,
        user,
        template: await readTemplate(tx, current.template),
        key,
        action: 'certificate.renew',
        details: { previousCertificateId: current.id, previousSerial: current.serial, newKey: options.newKey },
      });
      if (!options.newKey && !next.archived) {
        const escrowed = await tx.get('SELECT certificate_id FROM archived_keys WHERE certificate_id = ?', [
          current.id,
        ]);
        if (escrowed !== undefined) {
          const copy = await this.#archive.open(tx, current.id);
          try {
            await this.#archive.archive(tx, {
              certificateId: next.certificate.id,
              userId: user.id,
              privateKeyPkcs8: copy.privateKeyPkcs8,
            });
          } finally {
            copy.privateKeyPkcs8.fill(0);
          }
          return { ...next, archived: true };
        }
      }
      return next;
    });
    await this.#announceIssued(issued.certificate);
    return this.#result(this.#db, issued, key.privateKey);
  }

  /**
   * Valid certificates inside their template's renewal window at `now` (not yet expired) that have
   * not been superseded by a later certificate of the same holder and template.
   */
  async dueForRenewal(now: Date = this.#clock.now()): Promise<RenewalCandidate[]> {
    const windows = new Map((await readTemplates(this.#db)).map((t) => [t.name, t.renewalWindowDays]));
    const widest = Math.max(0, ...windows.values());
    const rows = await this.#db.all<CertificateRow>(
      `SELECT ${CERTIFICATE_COLUMNS} FROM certificates c
        WHERE c.status = 'valid' AND c.user_id IS NOT NULL AND c.not_after > ? AND c.not_after <= ?
          AND NOT EXISTS (SELECT 1 FROM certificates n WHERE n.user_id = c.user_id AND n.template = c.template
                          AND n.status = 'valid' AND n.not_after > c.not_after)
        ORDER BY c.not_after, c.id`,
      [now.toISOString(), new Date(now.getTime() + widest * DAY_MS).toISOString()],
    );
    const due: RenewalCandidate[] = [];
    for (const row of rows) {
      const window = windows.get(row.template);
      if (window === undefined) continue; // the template was deleted: nothing to renew under
      const dueFrom = new Date(new Date(row.not_after).getTime() - window * DAY_MS);
      if (dueFrom.getTime() <= now.getTime()) due.push({ certificate: toIssued(row), dueFrom });
    }
    return due;
  }

  /** A stored certificate by id. */
  async certificate(certificateId: string): Promise<IssuedCertificate> {
    return this.#certificateById(this.#db, certificateId);
  }

  async #certificateById(sql: Sql, certificateId: string): Promise<IssuedCertificate> {
    const row = await sql.get<CertificateRow>(`SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE id = ?`, [
      certificateId,
    ]);
    if (row === undefined) throw new ServiceError('NOT_FOUND', `No certificate has id ${certificateId}.`);
    return toIssued(row);
  }

  async #generateFor(template: CertificateTemplate, requested: KeyAlgorithm | undefined): Promise<SubjectKey> {
    if (!template.exportable) {
      throw new ServiceError(
        'INVALID_ARGUMENT',
        `Template ${template.name} does not let the server generate keys: send a CSR.`,
      );
    }
    if (requested !== undefined && !isKeyAlgorithm(requested)) {
      throw new ServiceError('KEY_REJECTED', `Unknown key algorithm ${JSON.stringify(requested)}.`);
    }
    const algorithm = requested ?? template.defaultKeyAlgorithm;
    const problem = keyProblem(template, algorithmShape(algorithm));
    if (problem !== undefined) throw new ServiceError('KEY_REJECTED', problem);
    const privateKey = await generateKey(algorithm);
    return { publicKey: privateKey, privateKey };
  }

  /**
   * Runs an issuing transaction, again (with a new serial) after a UNIQUE_VIOLATION: a serial another
   * node just used, or any other duplicate key from a concurrent writer; re-running is safe either way.
   */
  async #withFreshSerial<T>(run: (tx: Sql) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#db.transaction(run);
      } catch (e) {
        if (!isUniqueViolation(e) || attempt >= SERIAL_ATTEMPTS) throw e;
      }
    }
  }

  async #issueIn(tx: Sql, p: IssueParams): Promise<{ certificate: IssuedCertificate; archived: boolean }> {
    const { template, user, key } = p;
    if (user.status !== 'active') throw new ServiceError('INVALID_STATE', `User ${user.email} is disabled.`);
    const shape = keyShape(key.publicKey);
    const problem = keyProblem(template, shape);
    if (problem !== undefined) throw new ServiceError('KEY_REJECTED', problem);
    const ca = await this.#issuingCa(tx, template);
    const notBefore = wholeSeconds(this.#clock.now());
    // RFC 5280 §4.1.2.5: the validity period includes both ends, hence the second less.
    const notAfter = new Date(notBefore.getTime() + template.validityDays * DAY_MS - 1000);
    const { certificate: caCertificate, signer } = await this.signerFor(tx, ca.id);
    if (notAfter.getTime() > caCertificate.notAfter.getTime()) {
      throw new ServiceError(
        'INVALID_STATE',
        `CA ${ca.name} expires before a ${template.validityDays}-day certificate would.`,
      );
    }
    const spec: CertificateRequestSpec = {
      subject: [
        { type: 'CN', value: user.email },
        ...(template.mailboxInSubject ? [{ type: 'emailAddress', value: user.email }] : []),
      ],
      emails: [user.email],
      publicKey: key.publicKey,
      serialNumber: this.#serials(),
      notBefore,
      notAfter,
      keyUsage: keyUsageFor(template.purpose, shape),
      extKeyUsage: [OID.emailProtection],
      policies: [SMIME_MAILBOX_STRICT],
      crlUrls: ca.crl_url !== null ? [ca.crl_url] : [],
      ocspUrls: ca.ocsp_url !== null ? [ca.ocsp_url] : [],
      caIssuersUrls: ca.ca_issuers_url !== null ? [ca.ca_issuers_url] : [],
    };
    const certificate = await core(() => issueCertificate(spec, { certificate: caCertificate, signer }));
    const errors = lintCertificate(certificate, { profile: 'strict', validation: 'mailbox' }).filter(
      (f) => f.severity === 'error',
    );
    if (errors.length > 0) throw new LintFailedError(errors);

    const id = randomUUID();
    const serial = serialKey(certificate.serialNumber);
    const now = this.#clock.now().toISOString();
    await tx.run(
      `INSERT INTO certificates (id, serial, ca_id, user_id, template, der, not_before, not_after, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'valid', ?)`,
      [
        id,
        serial,
        ca.id,
        user.id,
        template.name,
        certificate.der,
        notBefore.toISOString(),
        notAfter.toISOString(),
        now,
      ],
    );
    let archived = false;
    if (key.privateKey !== undefined && template.archiveKeys) {
      const pkcs8 = key.privateKey.export({ type: 'pkcs8', format: 'der' });
      try {
        await this.#archive.archive(tx, { certificateId: id, userId: user.id, privateKeyPkcs8: pkcs8 });
      } finally {
        pkcs8.fill(0);
      }
      archived = true;
    }
    await this.#audit.append(tx, {
      actor: p.actor,
      action: p.action,
      subject: `certificate:${id}`,
      details: {
        ...p.details,
        serial,
        caId: ca.id,
        userId: user.id,
        template: template.name,
        key: describeShape(shape),
        notAfter: notAfter.toISOString(),
        archived,
      },
    });
    const row = await tx.get<CertificateRow>(`SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE id = ?`, [id]);
    return { certificate: toIssued(row!), archived };
  }

  async #issuingCa(tx: Sql, template: CertificateTemplate): Promise<CaRow> {
    if (template.caId !== null) {
      const ca = await tx.get<CaRow>(`${CA_SELECT} WHERE c.id = ?`, [template.caId]);
      if (ca?.status !== 'active') {
        throw new ServiceError(
          'INVALID_STATE',
          `Template ${template.name} names CA ${template.caId}, which is not active.`,
        );
      }
      return ca;
    }
    const active = await tx.all<CaRow>(`${CA_SELECT} WHERE c.status = 'active'`);
    if (active.length !== 1) {
      throw new ServiceError(
        'INVALID_STATE',
        `Template ${template.name} names no CA and there are ${active.length} active CAs: set the template's caId.`,
      );
    }
    return active[0]!;
  }

  async #result(
    sql: Sql,
    issued: { certificate: IssuedCertificate; archived: boolean },
    privateKey?: KeyObject,
  ): Promise<IssueResult> {
    const ca = await readCa(sql, issued.certificate.caId);
    const chain = [ca.certificate!, ...ca.chain];
    if (privateKey === undefined) return { certificate: issued.certificate, chain, archived: issued.archived };
    const password = generatePkcs12Password();
    const pkcs12 = buildPkcs12({
      privateKey,
      certificate: issued.certificate.certificate,
      chain,
      password,
      profile: 'modern',
    });
    return { certificate: issued.certificate, chain, pkcs12, pkcs12Password: password, archived: issued.archived };
  }

  // ---------------------------------------------------------------- revocation

  /** Revokes a certificate by serial (hex) and re-signs its CA's CRL, in one transaction. */
  async revoke(actor: string, serial: string, reason: RevocationReason): Promise<IssuedCertificate> {
    const key = normalizeSerial(serial);
    const code = REVOCATION_REASONS.get(reason);
    if (code === undefined) {
      throw new ServiceError(
        'INVALID_ARGUMENT',
        `Revocation reason ${JSON.stringify(reason)} is not one of ${[...REVOCATION_REASONS.keys()].join(', ')}.`,
      );
    }
    const revoked = await this.#db.transaction(async (tx) => {
      const row = await tx.get<CertificateRow>(`SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE serial = ?`, [
        key,
      ]);
      if (row === undefined) throw new ServiceError('NOT_FOUND', `No certificate has serial ${key}.`);
      if (row.status === 'revoked') throw new ServiceError('CONFLICT', `Certificate ${key} is already revoked.`);
      const now = wholeSeconds(this.#clock.now());
      await tx.run(
        "UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ? WHERE id = ? AND status = 'valid'",
        [now.toISOString(), code, row.id],
      );
      await this.#audit.append(tx, {
        actor,
        action: 'certificate.revoke',
        subject: `certificate:${row.id}`,
        details: { serial: key, reason, caId: row.ca_id },
      });
      await this.#writeCrl(tx, row.ca_id, now);
      return this.#certificateById(tx, row.id);
    });
    await this.#changes.announce([{ type: 'CertificateRevoked', certificateId: revoked.id, userId: revoked.userId }]);
    return revoked;
  }

  async #announceIssued(certificate: IssuedCertificate): Promise<void> {
    await this.#changes.announce([
      { type: 'CertificateIssued', certificateId: certificate.id, userId: certificate.userId },
    ]);
  }

  /** The CA's current CRL (DER), re-signed first if there is none yet or its nextUpdate is near. */
  async currentCrl(caId: string): Promise<Uint8Array> {
    const now = this.#clock.now();
    const cached = await this.#db.get<{ der: Uint8Array; next_update: string } & Row>(
      'SELECT der, next_update FROM crls WHERE ca_id = ?',
      [caId],
    );
    if (cached !== undefined && !crlDue(cached.next_update, now)) return cached.der;
    return this.#refreshCrl(caId, now);
  }

  /**
   * The job: re-signs every CA's CRL whose nextUpdate is near (or that has none). Safe on several
   * nodes at once: each CA is re-checked inside its transaction. Returns the ids of the CAs refreshed.
   */
  async refreshCrls(): Promise<string[]> {
    const now = this.#clock.now();
    const rows = await this.#db.all<{ id: string; next_update: string | null } & Row>(
      'SELECT c.id, l.next_update FROM cas c LEFT JOIN crls l ON l.ca_id = c.id ORDER BY c.id',
    );
    const refreshed: string[] = [];
    for (const row of rows) {
      if (row.next_update !== null && !crlDue(row.next_update, now)) continue;
      await this.#refreshCrl(row.id, now);
      refreshed.push(row.id);
    }
    return refreshed;
  }

  async #refreshCrl(caId: string, now: Date): Promise<Uint8Array> {
    // Two nodes creating a CA's first CRL at once collide on the crls primary key: the loser re-reads.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#db.transaction(async (tx) => {
          const row = await tx.get<{ der: Uint8Array; next_update: string } & Row>(
            'SELECT der, next_update FROM crls WHERE ca_id = ?',
            [caId],
          );
          if (row !== undefined && !crlDue(row.next_update, now)) return row.der;
          return this.#writeCrl(tx, caId, wholeSeconds(now));
        });
      } catch (e) {
        if (!isUniqueViolation(e) || attempt >= 2) throw e;
      }
    }
  }

  /** Signs a complete CRL of the CA's revoked, unexpired certificates with the next cRLNumber and stores it. */
  async #writeCrl(tx: Sql, caId: string, now: Date): Promise<Uint8Array> {
    const { certificate, signer } = await this.signerFor(tx, caId);
    const revoked = await tx.all<{ serial: string; revoked_at: string; revocation_reason: number | null } & Row>(
      `SELECT serial, revoked_at, revocation_reason FROM certificates
        WHERE ca_id = ? AND status = 'revoked' AND not_after > ? ORDER BY serial`,
      [caId, now.toISOString()],
    );
    const previous = await tx.get<{ crl_number: number | bigint | string } & Row>(
      'SELECT crl_number FROM crls WHERE ca_id = ?',
      [caId],
    );
    const crlNumber = previous === undefined ? 1 : Number(previous.crl_number) + 1;
    const nextUpdate = new Date(now.getTime() + CRL_VALIDITY_MS);
    const der = await core(() =>
      issueCrl({
        issuer: certificate,
        signer,
        thisUpdate: now,
        nextUpdate,
        crlNumber,
        entries: revoked.map((r) => ({
          serial: Buffer.from(r.serial, 'hex'), // stored by serialKey: even-length hex
          revokedAt: new Date(r.revoked_at),
          reason: reasonOfCode(r.revocation_reason) ?? 'unspecified',
        })),
      }),
    );
    if (previous === undefined) {
      await tx.run('INSERT INTO crls (ca_id, crl_number, der, this_update, next_update) VALUES (?, ?, ?, ?, ?)', [
        caId,
        crlNumber,
        der,
        now.toISOString(),
        nextUpdate.toISOString(),
      ]);
    } else {
      await tx.run('UPDATE crls SET crl_number = ?, der = ?, this_update = ?, next_update = ? WHERE ca_id = ?', [
        crlNumber,
        der,
        now.toISOString(),
        nextUpdate.toISOString(),
        caId,
      ]);
    }
    return der;
  }

  /**
   * Answers an OCSP request (DER) for certificates of one of our CAs, signed by that CA's key, the
   * request's nonce echoed (RFC 8954). A malformed request gets `malformedRequest`, one about
   * certificates of other issuers (or of several CAs at once) `unauthorized` (RFC 6960 §2.3).
   */
  async ocspRespond(requestDer: Uint8Array): Promise<Uint8Array> {
    let request: ParsedOcspRequest;
    try {
      request = parseOcspRequest(requestDer);
    } catch (e) {
      if (e instanceof SealpostError) return ocspErrorResponse('malformedRequest');
      throw e;
    }
    if (request.requests.length === 0) return ocspErrorResponse('malformedRequest');
    const cas = await this.#db.all<CaRow>(CA_SELECT);
    const issuers = cas.map((row) => ({ id: row.id, certificate: Certificate.fromDer(row.certificate) }));
    const first = issuers.find((ca) => certIdIssuedBy(request.requests[0]!, ca.certificate));
    if (first === undefined || !request.requests.every((r) => certIdIssuedBy(r, first.certificate))) {
      return ocspErrorResponse('unauthorized');
    }
    // Read-only, so no transaction: on SQLite one would take the write lock for every OCSP request.
    const db = this.#db;
    const now = wholeSeconds(this.#clock.now());
    const nextUpdate = new Date(now.getTime() + OCSP_VALIDITY_MS);
    const answers: OcspAnswer[] = [];
    for (const certId of request.requests) {
      const row = await db.get<CertificateRow>(
        `SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE ca_id = ? AND serial = ?`,
        [first.id, serialKey(certId.serialNumber)],
      );
      const common = { certId, thisUpdate: now, nextUpdate };
      if (row === undefined) answers.push({ ...common, status: 'unknown' });
      else if (row.status === 'revoked') {
        answers.push({
          ...common,
          status: 'revoked',
          revokedAt: new Date(row.revoked_at!),
          reason: reasonOfCode(row.revocation_reason) ?? 'unspecified',
        });
      } else answers.push({ ...common, status: 'good' });
    }
    const { certificate, signer } = await this.signerFor(db, first.id);
    return buildOcspResponse({
      responder: certificate,
      signer,
      producedAt: now,
      answers,
      ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
    });
  }
}

function crlDue(nextUpdate: string, now: Date): boolean {
  return new Date(nextUpdate).getTime() - now.getTime() < CRL_VALIDITY_MS / 2;
}

/**
 * Looks a user up by canonical mailbox inside the issuing transaction. A private query rather than
 * identity/users.ts's UserDirectory, whose lookup by address reads outside the caller's transaction.
 */
async function findUserByEmail(tx: Sql, email: string): Promise<UserRecord> {
  const row = await tx.get<{ id: string; email: string; status: string } & Row>(
    'SELECT id, email, status FROM users WHERE email = ?',
    [email],
  );
  if (row === undefined) throw new ServiceError('NOT_FOUND', `No user has the address ${email}.`);
  return row;
}

async function readCa(sql: Sql, caId: string): Promise<CaInfo> {
  const row = await sql.get<CaRow>(`${CA_SELECT} WHERE c.id = ?`, [caId]);
  if (row !== undefined) return caInfo(row);
  const request = await sql.get<CaRequestRow>('SELECT * FROM ca_requests WHERE id = ?', [caId]);
  if (request !== undefined) return requestInfo(request);
  throw new ServiceError('NOT_FOUND', `No CA has id ${caId}.`);
}

function caInfo(row: CaRow): CaInfo {
  return {
    id: row.id,
    name: row.name,
    status: row.status === 'retired' ? 'retired' : 'active',
    certificate: Certificate.fromDer(row.certificate),
    // Stored as DER certificates back to back (#insertCa), issuer first.
    chain: row.chain === null ? [] : splitConcatenatedDer(row.chain).map((der) => Certificate.fromDer(der)),
    csrPem: null,
    crlUrl: row.crl_url,
    ocspUrl: row.ocsp_url,
    caIssuersUrl: row.ca_issuers_url,
    createdAt: row.created_at,
  };
}

function requestInfo(row: CaRequestRow): CaInfo {
  return {
    id: row.id,
    name: row.name,
    status: 'pending',
    certificate: null,
    chain: [],
    csrPem: pemEncode('CERTIFICATE REQUEST', row.csr),
    crlUrl: row.crl_url,
    ocspUrl: row.ocsp_url,
    caIssuersUrl: row.ca_issuers_url,
    createdAt: row.created_at,
  };
}
