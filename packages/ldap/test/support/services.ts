// What the directory tests need from the services: their test databases (SQLite in a temporary
// directory, PostgreSQL in a fresh schema — see packages/services/test/secrets/databases.ts), a clock
// the test moves, a CA with the default templates, and certificates of some other CA made by openssl.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AuditLog,
  CaService,
  type Clock,
  createLocalMasterKey,
  type Database,
  UserDirectory,
  Vault,
} from '@sealpost/services';

const run = promisify(execFile);

export interface TestDatabase {
  readonly db: Database;
  dispose(): Promise<void>;
}

export interface TestTarget {
  readonly dialect: 'sqlite' | 'postgres';
  fresh(): Promise<TestDatabase>;
}

// Loaded by a computed specifier: the module belongs to the services' tests (and reaches into the
// store, a package of this layer), outside this project's typecheck.
const databasesEntry: string = new URL('../../../services/test/secrets/databases.ts', import.meta.url).href;
export const targets = ((await import(databasesEntry)) as { targets: readonly TestTarget[] }).targets;

/** A clock the test moves by hand; starts at the current second. */
export class TestClock implements Clock {
  current = new Date(Math.floor(Date.now() / 1000) * 1000);
  now(): Date {
    return new Date(this.current);
  }
}

export const ADMIN = 'user:admin';

export interface Domain {
  readonly ca: CaService;
  readonly users: UserDirectory;
  readonly audit: AuditLog;
}

/** A CA service with a P-256 root and the default templates (P-256 keys), and the user directory. */
export async function domain(db: Database, clock: Clock): Promise<Domain> {
  const audit = new AuditLog(clock);
  const vault = new Vault({ masterKey: createLocalMasterKey(randomBytes(32)), clock });
  const ca = new CaService({ db, vault, audit, clock });
  const root = await ca.createRoot(ADMIN, {
    name: 'Root',
    subject: [{ type: 'CN', value: 'Directory Test Root' }],
    keyAlgorithm: 'p-256',
    validityDays: 3650,
    crlUrl: 'http://crl.example.test/root.crl',
  });
  await ca.installDefaultTemplates(ADMIN);
  for (const name of ['dual-use', 'encryption-only', 'signing-only']) {
    await ca.updateTemplate(ADMIN, name, { caId: root.id, defaultKeyAlgorithm: 'p-256' });
  }
  return { ca, users: new UserDirectory({ db, audit, clock }), audit };
}

/** A self-signed certificate for `email` from openssl: "another CA's" certificate, DER. */
export async function foreignCertificate(email: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'sealpost-foreign-'));
  try {
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'key.pem',
        '-outform',
        'DER',
        '-out',
        'cert.der',
        '-days',
        '30',
        '-subj',
        `/CN=${email}`,
        '-addext',
        `subjectAltName=email:${email}`,
      ],
      { cwd: dir },
    );
    return await readFile(join(dir, 'cert.der'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A TCP server on a loopback port that accepts connections and never says a word. */
export async function silentServer(): Promise<{ url: (scheme: 'ldap' | 'ldaps') => string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    url: (scheme) => `${scheme}://127.0.0.1:${address.port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A loopback port with nothing listening (bound, read, released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}
