/**
 * The operator commands' HTTP client for the Sealpost REST API (node's fetch). The server URL and
 * API token come from `--server` / `--token-file`, else SEALPOST_SERVER / SEALPOST_TOKEN, else the
 * file `sealpost login` writes (`$XDG_CONFIG_HOME/sealpost/cli.json`, default ~/.config). Problem
 * documents (RFC 9457) become one-line ApiErrors carrying the problem's stable code.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type Options, str, type Values } from './command.ts';
import { EXIT, exitForHttpStatus } from './exit-codes.ts';
import { type Io, IoError, readFileOrFail, UsageError } from './io.ts';

/** A failure the server reported (or, for `admin create`, the services or database): its stable code, one-line message and exit status. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly code: string;
  readonly exitStatus: number;
  constructor(code: string, message: string, exitStatus: number) {
    super(message);
    this.code = code;
    this.exitStatus = exitStatus;
  }
}

export const CLIENT_OPTIONS = {
  server: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies Options;

export const CLIENT_HELP = `      --server URL          the Sealpost server (default: $SEALPOST_SERVER, else the one "sealpost login" saved)
      --token-file FILE     the API token, from FILE (default: $SEALPOST_TOKEN holds the token itself,
                            else the file "sealpost login" saved); tokens never go on the command line
      --json                print the server's answer as JSON`;

/** What `sealpost login` saves: the server and where its token is (the token itself stays in its own 0600 file). */
export interface CliConfig {
  server?: string;
  tokenFile?: string;
}

export function cliConfigPath(env: NodeJS.ProcessEnv): string {
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  return join(base, 'sealpost', 'cli.json');
}

export async function readCliConfig(env: NodeJS.ProcessEnv): Promise<CliConfig> {
  const path = cliConfigPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new IoError(`cannot read the CLI configuration "${path}": ${(e as NodeJS.ErrnoException).code}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not valid JSON; fix it or run "sealpost login" again`);
  }
  const config = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const out: CliConfig = {};
  if (typeof config['server'] === 'string') out.server = config['server'];
  if (typeof config['tokenFile'] === 'string') out.tokenFile = config['tokenFile'];
  return out;
}

export async function writeCliConfig(env: NodeJS.ProcessEnv, config: CliConfig): Promise<string> {
  const path = cliConfigPath(env);
  await writeSecretFile(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

/** Writes a file readable by its owner only (0600), whole or not at all; the directory is made 0700. */
export async function writeSecretFile(path: string, data: string | Uint8Array): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(temp, data, { mode: 0o600 });
    // The mode given to writeFile is masked by the umask; set it exactly.
    await chmod(temp, 0o600);
    await rename(temp, path);
  } catch (e) {
    throw new IoError(`cannot write "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function normalizeServerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`the server must be a URL such as http://127.0.0.1:8080 (got ${JSON.stringify(text)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`the server URL must start with http:// or https:// (got ${JSON.stringify(text)})`);
  }
  return url.href.replace(/\/+$/, '');
}

export interface RequestOptions {
  /** Sent as application/json. */
  json?: unknown;
  /** A raw body with its media type (CSV, PEM, DER). */
  body?: { data: string | Uint8Array; type: string };
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  /** Send no Authorization header (public endpoints, login). */
  anonymous?: boolean;
}

export class ApiClient {
  readonly server: string;
  readonly #token: string | undefined;

  constructor(server: string, token: string | undefined) {
    this.server = normalizeServerUrl(server);
    this.#token = token;
  }

  /** Sends a request; any non-2xx answer throws an ApiError with the problem's code. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (!options.anonymous) {
      if (this.#token === undefined) {
        throw new UsageError(
          'no API token: run "sealpost login", give --token-file FILE, or set SEALPOST_TOKEN to the token',
        );
      }
      headers['authorization'] = `Bearer ${this.#token}`;
    }
    let body: string | Uint8Array | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      headers['content-type'] = options.body.type;
      body = options.body.data;
    }
    let response: Response;
    try {
      response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why =
        cause?.code === 'ECONNREFUSED'
          ? 'connection refused (is "sealpost serve" running there?)'
          : (cause?.code ?? cause?.message ?? (e as Error).message);
      throw new IoError(`cannot reach the server at ${this.server}: ${why}`);
    }
    if (!response.ok) throw await problemError(response);
    return response;
  }

  /** The JSON answer of a request (undefined for 204). */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(
        'BAD_RESPONSE',
        `the server answered ${method} ${path} with something that is not JSON`,
        EXIT.SERVER_ERROR,
      );
    }
  }

  async bytes(method: string, path: string, options: RequestOptions = {}): Promise<Uint8Array> {
    const response = await this.send(method, path, options);
    return new Uint8Array(await response.arrayBuffer());
  }
}

/** One line from a problem document: detail (or title), the code, the HTTP status, an incident id for 5xx. */
async function problemError(response: Response): Promise<ApiError> {
  const text = await response.text();
  let problem: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) problem = parsed as Record<string, unknown>;
  } catch {
    // Not a problem document (a proxy's error page, say): the status alone must do.
  }
  const code = typeof problem['code'] === 'string' ? problem['code'] : `HTTP_${response.status}`;
  const detail =
    typeof problem['detail'] === 'string'
      ? problem['detail']
      : typeof problem['title'] === 'string'
        ? problem['title']
        : response.statusText || 'request failed';
  const extras = [code, `HTTP ${response.status}`];
  if (typeof problem['incident'] === 'string') extras.push(`incident ${problem['incident']}`);
  const retry = response.headers.get('retry-after');
  if (retry !== null) extras.push(`retry after ${retry} s`);
  const line = `${detail.replace(/\s*\n\s*/g, '; ')} (${extras.join(', ')})`;
  return new ApiError(code, line, exitForHttpStatus(response.status));
}

/** The client for a command: flags, then the environment, then the saved configuration. */
export async function clientFor(values: Values, io: Io, options: { anonymous?: boolean } = {}): Promise<ApiClient> {
  const saved = await readCliConfig(io.env);
  const server = str(values['server']) ?? (io.env['SEALPOST_SERVER'] || undefined) ?? saved.server;
  if (server === undefined) {
    throw new UsageError('no server: give --server URL, set SEALPOST_SERVER, or run "sealpost login" once');
  }
  if (options.anonymous) return new ApiClient(server, undefined);
  const flagFile = str(values['token-file']);
  let token: string | undefined;
  if (flagFile !== undefined) token = await readToken(flagFile);
  else if (io.env['SEALPOST_TOKEN']) token = io.env['SEALPOST_TOKEN'].trim();
  else if (saved.tokenFile !== undefined) token = await readToken(saved.tokenFile);
  return new ApiClient(server, token);
}

async function readToken(path: string): Promise<string> {
  const token = (await readFileOrFail(resolve(path), 'token file')).toString('utf8').trim();
  if (token === '') throw new UsageError(`the token file "${path}" is empty`);
  return token;
}

/** Path segments are escaped: e-mail addresses, serials and names go into URLs as data. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

/** Prints the server's answer as JSON with --json, else the given human-readable lines. */
export function emit(io: Io, values: Values, value: unknown, text: string): void {
  if (values['json']) io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else if (text !== '') io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** A user's id from an e-mail address (looked up) or an id as given. */
export async function userIdOf(client: ApiClient, emailOrId: string): Promise<string> {
  if (!emailOrId.includes('@')) return emailOrId;
  const page = await client.json<{ items: { id: string; email: string }[] }>('GET', '/api/v1/users', {
    query: { email: emailOrId, limit: 1 },
  });
  const user = page.items.find((u) => u.email.toLowerCase() === emailOrId.toLowerCase());
  if (user === undefined) throw new ApiError('NOT_FOUND', `no user has the address ${emailOrId}`, EXIT.NOT_FOUND);
  return user.id;
}

export function exactlyOne(rest: string[], what: string, usage: string): string {
  if (rest.length !== 1) throw new UsageError(`give exactly one ${what}: ${usage}`);
  return rest[0]!;
}
