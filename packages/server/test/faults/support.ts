// Support for the fault tests: real server processes (serve-child.ts) over one data directory or
// PostgreSQL schema, the first administrator created directly in the database before they start,
// and the consistency checks a crash must never break.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Database, type Row, systemClock } from '@sealpost/services';
import { loadMasterKey, openDatabase } from '@sealpost/store';
import { CSRF_KEY_AAD, createLogger, createServices } from '../../src/index.ts';
import { ADMIN_EMAIL, PASSWORD } from '../api/support.ts';

/** One master key for every node of a test run (nodes sharing a database must share it). */
export const MASTER_KEY = randomBytes(32).toString('base64');

/** Where a node's state lives: SQLite in dataDir, or PostgreSQL at databaseUrl. */
export interface Target {
  readonly dataDir: string;
  readonly databaseUrl?: string;
}

export async function openTarget(target: Target): Promise<Database> {
  return openDatabase(target.databaseUrl === undefined ? { dataDir: target.dataDir } : { url: target.databaseUrl });
}

/** Migrates the database and creates the first administrator, as `sealpost admin create` would. */
export async function bootstrap(target: Target): Promise<void> {
  const db = await openTarget(target);
  try {
    const services = await createServices({
      db,
      masterKey: await loadMasterKey({ base64: MASTER_KEY }),
      clock: systemClock,
      log: createLogger({ sink: { write: () => undefined } }),
    });
    await services.accounts.createAdmin(ADMIN_EMAIL, PASSWORD, 'First Admin');
  } finally {
    await db.close();
  }
}

/** A server child process. */
export interface Node {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote so far, stdout then stderr. */
  output(): string;
  /** The stdout log records so far. */
  records(): Record<string, unknown>[];
  /** Resolves once `count` log records pass `test`. */
  waitFor(test: (r: Record<string, unknown>) => boolean, count?: number): Promise<void>;
  /** Sends the signal and resolves with the exit code (null when killed by a signal). */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

export async function spawnNode(target: Target, env: Record<string, string> = {}): Promise<Node> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'serve-child.ts'), '--http', '127.0.0.1:0', '--ldap', '127.0.0.1:0'],
    {
      cwd: target.dataDir,
      env: {
        PATH: process.env['PATH'] ?? '',
        SEALPOST_DATA: target.dataDir,
        SEALPOST_MASTER_KEY: MASTER_KEY,
        ...(target.databaseUrl === undefined ? {} : { DATABASE_URL: target.databaseUrl }),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stdout = '';
  let stderr = '';
  const records: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    records.push(JSON.parse(line) as Record<string, unknown>);
    for (const w of waiters) w();
  });
  const waitFor = (test: (r: Record<string, unknown>) => boolean, count = 1) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (records.filter(test).length >= count) {
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
      check();
      void exited.then(() => {
        waiters.delete(check);
        reject(new Error(`the server exited before logging what was awaited:\n${stdout}${stderr}`));
      });
    });
  await waitFor((r) => String(r['msg']).startsWith('sealpost listening on '));
  const listening = records.find((r) => String(r['msg']).startsWith('sealpost listening on '));
  return {
    url: String(listening?.['url']),
    child,
    output: () => stdout + stderr,
    records: () => [...records],
    waitFor,
    stop: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return (await exited)[0];
    },
  };
}

/**
 * What must hold whatever moment a server died at; returns the violations found (none, normally):
 * every certificate has its issuance audited; every certificate of a key-archiving template has its
 * archived key, audited too; every secret has an owner (a CA key, a pending CA request's key, an
 * archived key, or the server's CSRF key).
 */
export async function consistencyProblems(db: Database, archivingTemplates: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  const ids = async (label: string, sql: string, params: (string | Uint8Array)[] = []) => {
    for (const row of await db.all<{ id: string } & Row>(sql, params)) problems.push(`${label}: ${row.id}`);
  };
  const marks = archivingTemplates.map(() => '?').join(', ');
  await ids(
    'certificate without its issuance audit entry',
    `SELECT c.id FROM certificates c WHERE NOT EXISTS (SELECT 1 FROM audit_log a
       WHERE a.action IN ('certificate.issue', 'certificate.renew') AND a.subject = 'certificate:' || c.id)`,
  );
  await ids(
    'certificate of a key-archiving template without its archived key',
    `SELECT c.id FROM certificates c WHERE c.template IN (${marks})
       AND NOT EXISTS (SELECT 1 FROM archived_keys k WHERE k.certificate_id = c.id)`,
    [...archivingTemplates],
  );
  await ids(
    'archived key without its audit entry',
    `SELECT k.certificate_id AS id FROM archived_keys k WHERE NOT EXISTS (SELECT 1 FROM audit_log a
       WHERE a.action = 'key.archive' AND a.subject = 'certificate:' || k.certificate_id)`,
  );
  await ids(
    'secret without an owner',
    `SELECT s.id FROM secrets s
      WHERE NOT EXISTS (SELECT 1 FROM archived_keys k WHERE k.secret_id = s.id)
        AND NOT EXISTS (SELECT 1 FROM cas c WHERE c.key_secret_id = s.id)
        AND NOT EXISTS (SELECT 1 FROM ca_requests r WHERE r.key_secret_id = s.id)
        AND s.aad <> ?`,
    [Buffer.from(CSRF_KEY_AAD, 'utf8')],
  );
  return problems;
}

/** Runs openssl without blocking the event loop; resolves with its output, whatever its status. */
export function openssl(cwd: string, ...args: string[]): Promise<{ status: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { cwd });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status: status ?? -1, output }));
  });
}
