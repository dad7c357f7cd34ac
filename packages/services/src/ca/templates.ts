import { ServiceError } from '../errors.ts';
import type { Row, Sql } from '../ports/database.ts';
import { TemplateError } from './errors.ts';
import {
  algorithmShape,
  describeShape,
  type EcCurve,
  isKeyAlgorithm,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  type KeyShape,
} from './keys.ts';

/**
 * Certificate templates: the CA's policy for one kind of S/MIME certificate, all issued under the
 * BR strict mailbox-validated profile (policy 2.23.140.1.5.1.3, EKU emailProtection only). What a
 * template decides: the purpose (which keyUsage bits), the validity and the renewal window, which
 * keys are acceptable, whether the server may generate keys (and hand them out as PKCS#12), and
 * whether it escrows them. Stored in the templates table, the body as JSON; validated on every
 * write and every read, so a row edited behind the service's back cannot issue anything.
 */

export type TemplatePurpose = 'signing' | 'encryption' | 'dual-use';

export interface KeyPolicy {
  /** Minimum RSA modulus (at least 2048, a multiple of 8); null refuses RSA keys. */
  readonly rsaMinBits: number | null;
  /** Accepted elliptic curves. */
  readonly ecCurves: readonly EcCurve[];
  /** Accept Ed25519 keys (signing templates only: Ed25519 cannot decrypt). */
  readonly ed25519: boolean;
}

export interface CertificateTemplate {
  readonly name: string;
  readonly purpose: TemplatePurpose;
  /** The issuing CA; null means the only active CA. */
  readonly caId: string | null;
  /** 1 to 825 days (BR §6.3.2). */
  readonly validityDays: number;
  /** A certificate is due for renewal this many days before it expires (less than the validity). */
  readonly renewalWindowDays: number;
  /** Escrow server-generated keys in the key archive (never for signing-only templates). */
  readonly archiveKeys: boolean;
  /** The server may generate keys and hand them out as PKCS#12; when false only CSRs are accepted. */
  readonly exportable: boolean;
  /**
   * The subject always names the mailbox as its commonName, and subjectAltName carries it; this also
   * adds it as emailAddress, for old clients that look only there (allowed by BR §7.1.4.2.2).
   */
  readonly mailboxInSubject: boolean;
  readonly keys: KeyPolicy;
  /** What server-side key generation uses unless the request names another allowed algorithm. */
  readonly defaultKeyAlgorithm: KeyAlgorithm;
}

/** The editable part of a template: everything but its name. */
export type TemplateBody = Omit<CertificateTemplate, 'name'>;

export const MAX_VALIDITY_DAYS = 825;
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PURPOSES: readonly TemplatePurpose[] = ['signing', 'encryption', 'dual-use'];
const CURVES: readonly EcCurve[] = ['P-256', 'P-384'];
const BODY_FIELDS = [
  'purpose',
  'caId',
  'validityDays',
  'renewalWindowDays',
  'archiveKeys',
  'exportable',
  'mailboxInSubject',
  'keys',
  'defaultKeyAlgorithm',
] as const;
/** Fields a body may leave out: absent means the default (false). */
const OPTIONAL_FIELDS: ReadonlySet<string> = new Set(['mailboxInSubject']);
const KEY_FIELDS = ['rsaMinBits', 'ecCurves', 'ed25519'] as const;

const common = {
  caId: null,
  validityDays: 365,
  renewalWindowDays: 42,
  exportable: true,
  mailboxInSubject: false,
} as const;

/** The ready-made templates (installed by CaService.installDefaultTemplates). */
export const DEFAULT_TEMPLATES: readonly CertificateTemplate[] = [
  {
    name: 'signing-only',
    purpose: 'signing',
    ...common,
    archiveKeys: false,
    keys: { rsaMinBits: 2048, ecCurves: ['P-256', 'P-384'], ed25519: true },
    defaultKeyAlgorithm: 'rsa-2048',
  },
  {
    name: 'encryption-only',
    purpose: 'encryption',
    ...common,
    archiveKeys: true,
    keys: { rsaMinBits: 2048, ecCurves: ['P-256', 'P-384'], ed25519: false },
    defaultKeyAlgorithm: 'rsa-2048',
  },
  {
    name: 'dual-use',
    purpose: 'dual-use',
    ...common,
    archiveKeys: false,
    keys: { rsaMinBits: 2048, ecCurves: ['P-256', 'P-384'], ed25519: false },
    defaultKeyAlgorithm: 'rsa-2048',
  },
];

export function checkTemplateName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TemplateError('name', 'a template name is 1 to 63 lower-case letters, digits and "-".');
  }
  return name;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new TemplateError(field, `must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)}).`);
  }
  return value;
}

function boolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean')
    throw new TemplateError(field, `must be true or false (got ${JSON.stringify(value)}).`);
  return value;
}

function onlyFields(value: Record<string, unknown>, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new TemplateError(`${prefix}${key}`, 'is not a template field.');
  }
}

function keyPolicy(value: unknown, purpose: TemplatePurpose): KeyPolicy {
  if (!isObject(value)) throw new TemplateError('keys', 'must be an object { rsaMinBits, ecCurves, ed25519 }.');
  onlyFields(value, KEY_FIELDS, 'keys.');
  let rsaMinBits: number | null = null;
  if (value['rsaMinBits'] !== null) {
    rsaMinBits = integerIn(value['rsaMinBits'], 'keys.rsaMinBits', 2048, 16384);
    if (rsaMinBits % 8 !== 0) throw new TemplateError('keys.rsaMinBits', 'must be a multiple of 8 (BR §6.1.5).');
  }
  const curves = value['ecCurves'];
  if (
    !Array.isArray(curves) ||
    !curves.every((c) => CURVES.includes(c as EcCurve)) ||
    new Set(curves).size !== curves.length
  ) {
    throw new TemplateError('keys.ecCurves', `must list distinct curves among ${CURVES.join(', ')}.`);
  }
  const ed25519 = boolean(value['ed25519'], 'keys.ed25519');
  if (ed25519 && purpose !== 'signing') {
    throw new TemplateError('keys.ed25519', 'Ed25519 keys can only sign: allow them in signing templates only.');
  }
  if (rsaMinBits === null && curves.length === 0 && !ed25519) {
    throw new TemplateError('keys', 'must allow at least one key algorithm.');
  }
  return { rsaMinBits, ecCurves: curves as EcCurve[], ed25519 };
}

/** Validates a template body (TEMPLATE_INVALID naming the first bad field) and returns it typed. */
export function validateTemplateBody(value: unknown): TemplateBody {
  if (!isObject(value)) throw new TemplateError('(body)', 'a template is a JSON object.');
  onlyFields(value, BODY_FIELDS, '');
  for (const field of BODY_FIELDS) {
    if (!(field in value) && !OPTIONAL_FIELDS.has(field)) throw new TemplateError(field, 'is required.');
  }
  const purpose = value['purpose'];
  if (typeof purpose !== 'string' || !PURPOSES.includes(purpose as TemplatePurpose)) {
    throw new TemplateError('purpose', `must be one of ${PURPOSES.join(', ')}.`);
  }
  const p = purpose as TemplatePurpose;
  const caId = value['caId'];
  if (caId !== null && (typeof caId !== 'string' || caId.length === 0)) {
    throw new TemplateError('caId', 'must be a CA id or null (the only active CA).');
  }
  const validityDays = integerIn(value['validityDays'], 'validityDays', 1, MAX_VALIDITY_DAYS);
  const renewalWindowDays = integerIn(value['renewalWindowDays'], 'renewalWindowDays', 1, validityDays - 1);
  const archiveKeys = boolean(value['archiveKeys'], 'archiveKeys');
  const exportable = boolean(value['exportable'], 'exportable');
  const mailboxInSubject =
    value['mailboxInSubject'] === undefined ? false : boolean(value['mailboxInSubject'], 'mailboxInSubject');
  if (archiveKeys && p === 'signing') {
    throw new TemplateError('archiveKeys', 'signing keys are never escrowed (a copy would undermine the signatures).');
  }
  if (archiveKeys && !exportable) {
    // Only server-generated keys can be escrowed, and a non-exportable template accepts CSRs only.
    throw new TemplateError('archiveKeys', 'escrow needs server-generated keys: set exportable too.');
  }
  const keys = keyPolicy(value['keys'], p);
  const algorithm = value['defaultKeyAlgorithm'];
  if (!isKeyAlgorithm(algorithm)) {
    throw new TemplateError('defaultKeyAlgorithm', `must be one of ${KEY_ALGORITHMS.join(', ')}.`);
  }
  const body: TemplateBody = {
    purpose: p,
    caId: caId as string | null,
    validityDays,
    renewalWindowDays,
    archiveKeys,
    exportable,
    mailboxInSubject,
    keys,
    defaultKeyAlgorithm: algorithm,
  };
  const problem = keyProblem(body, algorithmShape(algorithm));
  if (problem !== undefined) throw new TemplateError('defaultKeyAlgorithm', problem);
  return body;
}

/** Why the template refuses a key, or undefined when it accepts it. */
export function keyProblem(template: TemplateBody, shape: KeyShape): string | undefined {
  const { keys } = template;
  const what = describeShape(shape);
  switch (shape.kind) {
    case 'rsa':
      if (keys.rsaMinBits === null) return `${what}: this template does not accept RSA keys.`;
      if (shape.bits < keys.rsaMinBits)
        return `${what}: this template needs RSA keys of ${keys.rsaMinBits} bits or more.`;
      if (shape.bits % 8 !== 0) return `${what}: the modulus length must be a multiple of 8 (BR §6.1.5).`;
      return undefined;
    case 'ec':
      if (shape.curve === undefined || !keys.ecCurves.includes(shape.curve)) {
        return `${what}: this template accepts ${keys.ecCurves.length > 0 ? keys.ecCurves.join(' and ') : 'no EC keys'}.`;
      }
      return undefined;
    case 'ed25519':
      return keys.ed25519 ? undefined : `${what}: this template does not accept Ed25519 keys.`;
    case 'other':
      return `${what}: only RSA, P-256, P-384 and Ed25519 keys are certified.`;
  }
}

interface TemplateRow extends Row {
  name: string;
  body: string;
}

function parseRow(row: TemplateRow): CertificateTemplate {
  let json: unknown;
  try {
    json = JSON.parse(row.body);
  } catch {
    throw new TemplateError('(body)', `the stored template ${row.name} is not valid JSON.`);
  }
  return { name: row.name, ...validateTemplateBody(json) };
}

export async function readTemplate(sql: Sql, name: string): Promise<CertificateTemplate> {
  const row = await sql.get<TemplateRow>('SELECT name, body FROM templates WHERE name = ?', [name]);
  if (row === undefined) throw new ServiceError('NOT_FOUND', `No certificate template is named ${name}.`);
  return parseRow(row);
}

export async function readTemplates(sql: Sql): Promise<CertificateTemplate[]> {
  const rows = await sql.all<TemplateRow>('SELECT name, body FROM templates ORDER BY name');
  return rows.map(parseRow);
}

/** The JSON stored for a body, fields in a fixed order. */
export function templateJson(body: TemplateBody): string {
  return JSON.stringify(Object.fromEntries(BODY_FIELDS.map((f) => [f, body[f]])));
}
