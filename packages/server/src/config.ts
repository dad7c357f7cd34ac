/**
 * Server configuration: defaults, then the JSON configuration file, then environment variables,
 * then command-line options (see docs/server.md). `checkConfig` validates a parsed file with
 * messages that name each setting.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { MasterKeySource } from '@sealpost/store';
import { DEFAULT_BODY_LIMIT } from './http/router.ts';
import { type Infer, s, validate } from './http/schema.ts';
import { LOG_LEVELS, type LogLevel } from './logging.ts';

export interface ServerConfig {
  /** `HOST:PORT`, checked by parseListen. */
  readonly http: string;
  readonly dataDir: string;
  /** PostgreSQL when set; otherwise SQLite at `<dataDir>/sealpost.db`. */
  readonly databaseUrl?: string;
  readonly masterKey: MasterKeySource;
  /**
   * Master keys that still open data keys while `sealpost admin rotate-master-key` re-wraps them
   * under `masterKey` (docs/server.md, "Rotating the master key"). Absent when there are none.
   */
  readonly previousMasterKeys?: readonly MasterKeySource[];
  readonly trustProxy: boolean;
  readonly logLevel: LogLevel;
  readonly bodyLimitBytes: number;
  readonly shutdownTimeoutMs: number;
  /**
   * Where clients reach the server (`http(s)://host[:port][/prefix]`, no trailing slash): the CRL,
   * OCSP and CA-certificate URLs of a CA created without its own are made from it. Unset, they are
   * made from the address each request arrived on (the `http` address, with its actual port).
   */
  readonly publicUrl?: string;
  /** The LDAP key server (docs/ldap.md); absent when turned off (`--ldap off`). */
  readonly ldap?: LdapSettings;
  /** External LDAP/AD directories: partners' key servers to look up, directories to publish to or import from. */
  readonly directories: readonly DirectorySettings[];
}

export interface LdapSettings {
  /** `HOST:PORT` of the plain LDAP listener (StartTLS offered when `tls` is set). */
  readonly listen: string;
  /** `HOST:PORT` of the LDAPS listener; needs `tls`. */
  readonly ldapsListen?: string;
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Where the people entries live, e.g. `ou=people,dc=example,dc=org`. */
  readonly baseDn: string;
  /** Anonymous searches allowed (mail clients' address books usually search anonymously). */
  readonly anonymous: boolean;
  readonly maxConnections: number;
}

export const DIRECTORY_USES = ['lookup', 'publish', 'import'] as const;
export type DirectoryUse = (typeof DIRECTORY_USES)[number];

export interface DirectorySettings {
  readonly name: string;
  /** `ldap://host[:port]` or `ldaps://host[:port]`. */
  readonly url: string;
  readonly baseDn: string;
  readonly uses: readonly DirectoryUse[];
  readonly bindDn?: string;
  /** File holding the bind password (never the password itself in the configuration). */
  readonly bindPasswordFile?: string;
  readonly startTls: boolean;
  /** PEM file of the CA that signed the directory's TLS certificate. */
  readonly caFile?: string;
  /** Search filter for a mailbox; `{address}` is replaced, escaped per RFC 4515. */
  readonly filter: string;
  readonly timeoutMs: number;
  /** Where groups are read from for `import` (default: baseDn). */
  readonly groupsBaseDn?: string;
}

export const DEFAULT_HTTP = '127.0.0.1:8080';
export const DEFAULT_DATA_DIR = './sealpost-data';
export const CONFIG_FILE = 'sealpost.json';
export const DEFAULT_LDAP = '127.0.0.1:1389';
export const DEFAULT_BASE_DN = 'ou=people,o=sealpost';
export const DEFAULT_DIRECTORY_FILTER = '(mail={address})';
const DEFAULT_DIRECTORY_TIMEOUT_MS = 3000;
const DEFAULT_LDAP_MAX_CONNECTIONS = 10_000;
const PREVIOUS_KEYS_ENV = 'SEALPOST_PREVIOUS_MASTER_KEYS';

/** The configuration file's schema: every setting is optional. */
const KEY_SOURCE = s.object({
  file: s.optional(s.string({ minLength: 1 })),
  command: s.optional(s.array(s.string({ minLength: 1 }), { minItems: 1 })),
  timeoutMs: s.optional(s.integer({ minimum: 1, maximum: 600_000 })),
});

const FILE_SCHEMA = s.object({
  http: s.optional(s.string({ description: 'HOST:PORT to listen on.' })),
  dataDir: s.optional(s.string({ minLength: 1 })),
  databaseUrl: s.optional(s.string({ pattern: '^postgres(ql)?://' })),
  masterKey: s.optional(KEY_SOURCE),
  previousMasterKeys: s.optional(s.array(KEY_SOURCE)),
  trustProxy: s.optional(s.boolean()),
  logLevel: s.optional(s.enum(LOG_LEVELS)),
  bodyLimitBytes: s.optional(s.integer({ minimum: 1024, maximum: 1024 * 1024 * 1024 })),
  shutdownTimeoutMs: s.optional(s.integer({ minimum: 0, maximum: 600_000 })),
  publicUrl: s.optional(s.string({ description: 'http(s)://host[:port][/prefix] where clients reach the server.' })),
  ldap: s.optional(
    s.object({
      listen: s.optional(s.string({ description: 'HOST:PORT, or "off".' })),
      ldapsListen: s.optional(s.string({ description: 'HOST:PORT of the LDAPS listener.' })),
      tls: s.optional(s.object({ certFile: s.string({ minLength: 1 }), keyFile: s.string({ minLength: 1 }) })),
      baseDn: s.optional(s.string({ minLength: 1 })),
      anonymous: s.optional(s.boolean()),
      maxConnections: s.optional(s.integer({ minimum: 1, maximum: 1_000_000 })),
    }),
  ),
  directories: s.optional(
    s.array(
      s.object({
        name: s.string({ minLength: 1, pattern: '^[A-Za-z0-9._-]+$' }),
        url: s.string({ pattern: '^ldaps?://' }),
        baseDn: s.string({ minLength: 1 }),
        uses: s.array(s.enum(DIRECTORY_USES), { minItems: 1 }),
        bindDn: s.optional(s.string({ minLength: 1 })),
        bindPasswordFile: s.optional(s.string({ minLength: 1 })),
        startTls: s.optional(s.boolean()),
        caFile: s.optional(s.string({ minLength: 1 })),
        filter: s.optional(s.string({ pattern: '\\{address\\}' })),
        timeoutMs: s.optional(s.integer({ minimum: 100, maximum: 60_000 })),
        groupsBaseDn: s.optional(s.string({ minLength: 1 })),
      }),
    ),
  ),
});
export type ConfigFile = Infer<typeof FILE_SCHEMA>;

export type ConfigCheck = { ok: true; config: ConfigFile } | { ok: false; problems: string[] };

/** Validates a parsed configuration file; each problem names its setting. */
export function checkConfig(value: unknown): ConfigCheck {
  const problems = validate(FILE_SCHEMA, value, '').map((e) => `${e.pointer.slice(1) || 'the file'}: ${e.message}`);
  // Checks the schema cannot express, on whatever parts have the right type.
  const config = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof config['http'] === 'string') {
    const problem = listenProblem(config['http']);
    if (problem !== undefined) problems.push(`http: ${problem}`);
  }
  if (typeof config['publicUrl'] === 'string' && parsePublicUrl(config['publicUrl']) === undefined) {
    problems.push(`publicUrl: ${PUBLIC_URL_EXPECTED} (got ${JSON.stringify(config['publicUrl'])})`);
  }
  ldapProblems(config['ldap'], problems);
  directoryProblems(config['directories'], problems);
  keySourceProblems(config['masterKey'], 'masterKey', problems);
  const previous = config['previousMasterKeys'];
  if (Array.isArray(previous)) {
    for (const [i, key] of previous.entries()) keySourceProblems(key, `previousMasterKeys/${i}`, problems);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: value as ConfigFile };
}

function ldapProblems(ldap: unknown, problems: string[]): void {
  if (typeof ldap !== 'object' || ldap === null) return;
  const { listen, ldapsListen, tls } = ldap as Record<string, unknown>;
  if (typeof listen === 'string' && listen !== 'off') {
    const problem = listenProblem(listen);
    if (problem !== undefined) problems.push(`ldap/listen: ${problem} or "off"`);
  }
  if (typeof ldapsListen === 'string') {
    const problem = listenProblem(ldapsListen);
    if (problem !== undefined) problems.push(`ldap/ldapsListen: ${problem}`);
    if (tls === undefined) problems.push('ldap/ldapsListen: needs ldap/tls (the certificate and key LDAPS presents)');
  }
}

function directoryProblems(directories: unknown, problems: string[]): void {
  if (!Array.isArray(directories)) return;
  const names = new Set<string>();
  for (const [i, d] of directories.entries()) {
    if (typeof d !== 'object' || d === null) continue;
    const { name, bindDn, bindPasswordFile, url, startTls } = d as Record<string, unknown>;
    if (typeof name === 'string') {
      if (names.has(name)) problems.push(`directories/${i}/name: "${name}" is used twice`);
      names.add(name);
    }
    if ((bindDn === undefined) !== (bindPasswordFile === undefined))
      problems.push(`directories/${i}: set both "bindDn" and "bindPasswordFile", or neither (anonymous)`);
    if (startTls === true && typeof url === 'string' && url.startsWith('ldaps:'))
      problems.push(`directories/${i}/startTls: ldaps:// is TLS already`);
  }
}

function keySourceProblems(key: unknown, name: string, problems: string[]): void {
  if (typeof key !== 'object' || key === null) return;
  const { file, command, timeoutMs } = key as Record<string, unknown>;
  if ((file === undefined) === (command === undefined)) problems.push(`${name}: set either "file" or "command"`);
  if (timeoutMs !== undefined && command === undefined) problems.push(`${name}/timeoutMs: applies only to "command"`);
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all interfaces). */
export function parseListen(text: string): { host: string; port: number } {
  const problem = listenProblem(text);
  if (problem !== undefined) throw new ConfigError([`http: ${problem}`]);
  const colon = text.lastIndexOf(':');
  const host = text.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(text.slice(colon + 1)) };
}

function listenProblem(text: string): string | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(text);
  if (m === null || Number(m[2]) > 65535)
    return `must be HOST:PORT with a port from 0 to 65535, e.g. ${DEFAULT_HTTP} (got ${JSON.stringify(text)})`;
  return undefined;
}

const PUBLIC_URL_EXPECTED =
  'must be an http:// or https:// URL without query or fragment, e.g. https://pki.example.org';

/**
 * A public URL as certificates will carry it: http(s), ASCII (RFC 5280 §4.2.1.13 URIs are IA5String),
 * no query or fragment (paths are appended to it), no trailing slash. Undefined when unusable.
 */
export function parsePublicUrl(text: string): string | undefined {
  if (!/^https?:\/\/[!-~]+$/i.test(text)) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.search !== '' || url.hash !== '' || text.includes('#') || text.includes('?')) return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return url.href.replace(/\/+$/, '');
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface ConfigSources {
  /** Parsed `--config`/`--http`/`--data` options. */
  readonly options: {
    readonly config?: string;
    readonly http?: string;
    readonly dataDir?: string;
    readonly ldap?: string;
  };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where relative paths start. */
  readonly cwd: string;
}

/**
 * The effective configuration. The file is `--config`, else `$SEALPOST_CONFIG`, else `./sealpost.json`
 * when it exists. Relative paths in the file are relative to the file.
 */
export async function resolveConfig({ options, env, cwd }: ConfigSources): Promise<ServerConfig> {
  const explicit = options.config ?? env['SEALPOST_CONFIG'];
  const filePath = resolve(cwd, explicit ?? CONFIG_FILE);
  let file: ConfigFile = {};
  let text: string | undefined;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (e) {
    if (explicit !== undefined || (e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError([`cannot read the configuration file ${filePath}: ${(e as Error).message}`]);
    }
  }
  const fileDir = resolve(filePath, '..');
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ConfigError([`${filePath} is not valid JSON: ${(e as Error).message}`]);
    }
    const checked = checkConfig(parsed);
    if (!checked.ok) throw new ConfigError(checked.problems.map((p) => `${filePath}: ${p}`));
    file = checked.config;
  }
  const fromFile = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : join(fileDir, p));

  const problems: string[] = [];
  const envChoice = <T>(name: string, parse: (v: string) => T | undefined, expected: string): T | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = parse(raw);
    // The database URL may hold a password, the previous keys are keys: neither is echoed.
    const got = name === 'DATABASE_URL' || name === PREVIOUS_KEYS_ENV ? '' : ` (got ${JSON.stringify(raw)})`;
    if (value === undefined) problems.push(`${name}: must be ${expected}${got}`);
    return value;
  };
  const trustProxy = envChoice(
    'SEALPOST_TRUST_PROXY',
    (v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : undefined),
    'true or false',
  );
  const logLevel = envChoice('SEALPOST_LOG_LEVEL', (v) => LOG_LEVELS.find((l) => l === v), LOG_LEVELS.join(', '));
  const databaseUrl = envChoice(
    'DATABASE_URL',
    (v) => (/^postgres(ql)?:\/\//i.test(v) ? v : undefined),
    'a postgres:// URL',
  );
  const publicUrl = envChoice('SEALPOST_PUBLIC_URL', parsePublicUrl, 'an http:// or https:// URL');
  const previousFromEnv = envChoice(
    PREVIOUS_KEYS_ENV,
    (v) => {
      const keys = v.split(',').map((k) => k.trim());
      return keys.every((k) => /^[A-Za-z0-9+/]+={0,2}$/.test(k)) ? keys.map((base64) => ({ base64 })) : undefined;
    },
    'base64 keys separated by commas',
  );
  if (problems.length > 0) throw new ConfigError(problems);

  const http = options.http ?? (env['SEALPOST_HTTP'] || undefined) ?? file.http ?? DEFAULT_HTTP;
  parseListen(http);
  const dataDir = resolve(
    cwd,
    options.dataDir ?? (env['SEALPOST_DATA'] || undefined) ?? fromFile(file.dataDir) ?? DEFAULT_DATA_DIR,
  );
  const keyBase64 = env['SEALPOST_MASTER_KEY'];
  const masterKey: MasterKeySource =
    keyBase64 !== undefined && keyBase64 !== ''
      ? { base64: keyBase64 }
      : file.masterKey?.command !== undefined
        ? {
            command: file.masterKey.command,
            ...(file.masterKey.timeoutMs === undefined ? {} : { timeoutMs: file.masterKey.timeoutMs }),
          }
        : { path: fromFile(file.masterKey?.file) ?? join(dataDir, 'master.key') };
  const previousMasterKeys: readonly MasterKeySource[] =
    previousFromEnv ??
    (file.previousMasterKeys ?? []).map(
      (k): MasterKeySource =>
        k.command !== undefined
          ? { command: k.command, ...(k.timeoutMs === undefined ? {} : { timeoutMs: k.timeoutMs }) }
          : // checkConfig made sure one of the two is set. An old key is never created: a missing file is an error.
            { path: fromFile(k.file)!, create: false },
    );
  const url = databaseUrl ?? file.databaseUrl;
  const ldapListen = options.ldap ?? (env['SEALPOST_LDAP'] || undefined) ?? file.ldap?.listen ?? DEFAULT_LDAP;
  if (ldapListen !== 'off' && listenProblem(ldapListen) !== undefined) {
    throw new ConfigError([`ldap: ${listenProblem(ldapListen)} or "off"`]);
  }
  const ldap: LdapSettings | undefined =
    ldapListen === 'off'
      ? undefined
      : {
          listen: ldapListen,
          ...(file.ldap?.ldapsListen === undefined ? {} : { ldapsListen: file.ldap.ldapsListen }),
          ...(file.ldap?.tls === undefined
            ? {}
            : { tls: { certFile: fromFile(file.ldap.tls.certFile)!, keyFile: fromFile(file.ldap.tls.keyFile)! } }),
          baseDn: file.ldap?.baseDn ?? DEFAULT_BASE_DN,
          anonymous: file.ldap?.anonymous ?? true,
          maxConnections: file.ldap?.maxConnections ?? DEFAULT_LDAP_MAX_CONNECTIONS,
        };
  const directories = (file.directories ?? []).map(
    (d): DirectorySettings => ({
      name: d.name,
      url: d.url,
      baseDn: d.baseDn,
      uses: d.uses,
      ...(d.bindDn === undefined ? {} : { bindDn: d.bindDn, bindPasswordFile: fromFile(d.bindPasswordFile)! }),
      startTls: d.startTls ?? false,
      ...(d.caFile === undefined ? {} : { caFile: fromFile(d.caFile)! }),
      filter: d.filter ?? DEFAULT_DIRECTORY_FILTER,
      timeoutMs: d.timeoutMs ?? DEFAULT_DIRECTORY_TIMEOUT_MS,
      ...(d.groupsBaseDn === undefined ? {} : { groupsBaseDn: d.groupsBaseDn }),
    }),
  );
  return {
    http,
    dataDir,
    ...(url === undefined ? {} : { databaseUrl: url }),
    masterKey,
    ...(previousMasterKeys.length === 0 ? {} : { previousMasterKeys }),
    trustProxy: trustProxy ?? file.trustProxy ?? false,
    logLevel: logLevel ?? file.logLevel ?? 'info',
    bodyLimitBytes: file.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    shutdownTimeoutMs: file.shutdownTimeoutMs ?? 10_000,
    ...(ldap === undefined ? {} : { ldap }),
    directories,
    // The file's value passed checkConfig, so it parses.
    ...(publicUrl !== undefined
      ? { publicUrl }
      : file.publicUrl !== undefined
        ? { publicUrl: parsePublicUrl(file.publicUrl)! }
        : {}),
  };
}
