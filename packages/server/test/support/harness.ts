// Shared test support: servers started in-process on a loopback port, a raw HTTP client, and
// PostgreSQL schemas of their own.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgres, type StoreDatabase } from '@sealpost/store';

export { Relay } from '../../../store/test/support/relay.ts';

import { type RunningServer, type StartOptions, startServer, type Wiring } from '../../src/index.ts';

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sealpost-server-'));
}

/** Log lines kept in memory, parsed. */
export class LogCapture {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  text(): string {
    return this.lines.join('');
  }
}

export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly dataDir: string;
  readonly logs: LogCapture;
  stop(): Promise<void>;
}

/** A server on an ephemeral loopback port with SQLite in a fresh data directory (unless options say otherwise). */
export async function startTestServer(options: StartOptions = {}, wiring: Wiring = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await tempDir());
  const logs = new LogCapture();
  const server = await startServer({ http: '127.0.0.1:0', dataDir, logSink: logs, ...options }, wiring);
  return {
    server,
    url: server.url,
    dataDir,
    logs,
    stop: async () => {
      await server.close();
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  json(): Record<string, unknown>;
}

/** One request over a fresh connection; `body` objects are sent as JSON. */
export function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Response> {
  const body =
    init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const headers: Record<string, string> = { ...init.headers };
  if (body !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json: () => JSON.parse(text) as Record<string, unknown>,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const BASE_URL = process.env['SEALPOST_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh PostgreSQL schema; `url(host?)` reaches it (optionally through another host:port). */
export async function postgresSchema(): Promise<{ url(host?: string): string; dispose(): Promise<void> }> {
  const admin: StoreDatabase = openPostgres(BASE_URL);
  try {
    await admin.ping();
  } catch (e) {
    await admin.close();
    // Not a skip: CI provides PostgreSQL, and a server nobody tested on it must not pass as green.
    throw new Error(`PostgreSQL is not reachable at ${BASE_URL} (set SEALPOST_TEST_DATABASE_URL): ${String(e)}`);
  }
  const schema = `sp_server_${randomBytes(6).toString('hex')}`;
  await admin.run(`CREATE SCHEMA ${schema}`);
  return {
    url: (host) => {
      const url = new URL(BASE_URL);
      if (host !== undefined) url.host = host;
      return `${url.toString()}${url.search === '' ? '?' : '&'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    },
    dispose: async () => {
      try {
        await admin.run(`DROP SCHEMA ${schema} CASCADE`);
      } finally {
        await admin.close();
      }
    },
  };
}
