// Helpers for the CA service tests: an OpenSSL runner in a scratch directory, a settable clock, the
// wiring of a CA service over a test database, and (PostgreSQL) a second node on the same schema.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/log.ts';
import { CaService, type CaServiceOptions } from '../../src/ca/ca-service.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { Database } from '../../src/ports/database.ts';
import { createLocalMasterKey } from '../../src/secrets/local-master-key.ts';
import { Vault } from '../../src/secrets/vault.ts';

export interface OpensslResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** A scratch directory for OpenSSL input and output files; `dispose` deletes it. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'sealpost-ca-'));

  path(name: string): string {
    return join(this.dir, name);
  }

  write(name: string, data: string | Uint8Array): string {
    const p = this.path(name);
    writeFileSync(p, data);
    return p;
  }

  read(name: string): Buffer {
    return readFileSync(this.path(name));
  }

  openssl(...args: string[]): OpensslResult {
    const r = spawnSync('openssl', args, { cwd: this.dir, maxBuffer: 1 << 24 });
    return { status: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  /** Runs openssl and fails with its output unless it succeeds. */
  must(...args: string[]): string {
    const r = this.openssl(...args);
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
    return r.stdout + r.stderr;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A clock the test moves by hand; starts at the current second, so OpenSSL accepts what is issued. */
export class TestClock implements Clock {
  current = new Date(Math.floor(Date.now() / 1000) * 1000);
  now(): Date {
    return new Date(this.current);
  }
}

export interface Node {
  readonly ca: CaService;
  readonly audit: AuditLog;
  readonly vault: Vault;
}

/** A CA service over `db`; nodes made with the same `masterKey` share the vault's secrets. */
export function node(
  db: Database,
  clock: Clock,
  masterKey: Uint8Array,
  extra: Partial<Pick<CaServiceOptions, 'serialNumbers'>> = {},
): Node {
  const vault = new Vault({ masterKey: createLocalMasterKey(masterKey), clock });
  const audit = new AuditLog(clock);
  return { ca: new CaService({ db, vault, audit, clock, ...extra }), audit, vault };
}

export function newMasterKey(): Buffer {
  return randomBytes(32);
}

export async function addUser(db: Database, email: string, status: 'active' | 'disabled' = 'active'): Promise<string> {
  const id = randomUUID();
  await db.run('INSERT INTO users (id, email, display_name, status, created_at) VALUES (?, ?, ?, ?, ?)', [
    id,
    email,
    email.split('@')[0]!,
    status,
    new Date().toISOString(),
  ]);
  return id;
}

interface StoreModule {
  openDatabase(options: { url?: string }): Promise<Database>;
}

// As in ../secrets/databases.ts: a computed specifier keeps the store (a higher layer) out of this typecheck.
const storeEntry: string = new URL('../../../store/src/index.ts', import.meta.url).href;
const postgresUrl = process.env['SEALPOST_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A second PostgreSQL Database (another "node") on the schema `db` uses. */
export async function secondPostgresNode(db: Database): Promise<Database> {
  const row = await db.get<{ s: string }>('SELECT current_schema() AS s');
  const store = (await import(storeEntry)) as StoreModule;
  const options = encodeURIComponent(`-c search_path=${row!.s}`);
  return store.openDatabase({ url: `${postgresUrl}${postgresUrl.includes('?') ? '&' : '?'}options=${options}` });
}
