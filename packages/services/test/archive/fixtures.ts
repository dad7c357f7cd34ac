// Fixtures for the key archive tests: an OpenSSL-made CA and an encryption certificate with its
// PKCS#8 key, rows for them in cas/certificates, and two Database handles on one database (two
// nodes) to race on.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database, Sql } from '../../src/ports/database.ts';
import type { Vault } from '../../src/secrets/vault.ts';

export interface Issued {
  readonly caDer: Buffer;
  readonly certDer: Buffer;
  readonly keyPkcs8: Buffer;
}

/** A CA and a leaf for `email`, made by the OpenSSL CLI. */
export function opensslIdentity(email: string): Issued {
  const dir = mkdtempSync(join(tmpdir(), 'sealpost-archive-'));
  try {
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    run(
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Archive Test CA', '-days', '3650'],
    );
    run('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'leaf.key');
    run('pkcs8', '-topk8', '-nocrypt', '-in', 'leaf.key', '-outform', 'DER', '-out', 'leaf.p8');
    run('req', '-new', '-key', 'leaf.key', '-subj', `/CN=${email}`, '-out', 'leaf.csr');
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=email:${email}\nkeyUsage=critical,keyAgreement\n`);
    run(
      ...['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-days', '365', '-extfile', 'ext.cnf', '-outform', 'DER', '-out', 'leaf.der'],
    );
    run('x509', '-in', 'ca.pem', '-outform', 'DER', '-out', 'ca.der');
    return {
      caDer: readFileSync(join(dir, 'ca.der')),
      certDer: readFileSync(join(dir, 'leaf.der')),
      keyPkcs8: readFileSync(join(dir, 'leaf.p8')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Stores a CA row and a certificate row for `userId` (what the CA service does at issuance) and
 * returns the certificate's id.
 */
export async function storeCertificate(
  tx: Sql,
  vault: Vault,
  userId: string,
  issued: Issued,
  notBefore: string,
): Promise<string> {
  const caId = randomUUID();
  const keySecret = await vault.seal(tx, randomBytes(32), `ca-key:${caId}`);
  await tx.run(
    "INSERT INTO cas (id, name, certificate, key_secret_id, status, created_at) VALUES (?, ?, ?, ?, 'active', ?)",
    [caId, `ca-${caId}`, issued.caDer, keySecret, notBefore],
  );
  const id = randomUUID();
  await tx.run(
    `INSERT INTO certificates (id, serial, ca_id, user_id, template, der, not_before, not_after, status, created_at)
     VALUES (?, ?, ?, ?, 'smime-encrypt', ?, ?, ?, 'valid', ?)`,
    [
      id,
      randomBytes(16).toString('hex'),
      caId,
      userId,
      issued.certDer,
      notBefore,
      '2030-01-01T00:00:00.000Z',
      notBefore,
    ],
  );
  return id;
}

interface StoreModule {
  openDatabase(options: { url?: string; dataDir?: string }): Promise<Database>;
  openPostgres(url: string): Database;
}
// A computed specifier, as in ../secrets/databases.ts: the store is a higher layer built on its own.
const storeEntry: string = new URL('../../../store/src/index.ts', import.meta.url).href;
const store = (await import(storeEntry)) as StoreModule;
const postgresUrl = process.env['SEALPOST_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Two independent Database instances (as two server nodes would have) on one fresh, migrated database. */
export async function twoNodes(
  dialect: 'sqlite' | 'postgres',
): Promise<{ a: Database; b: Database; dispose(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'sealpost-archive-db-'));
    const a = await store.openDatabase({ dataDir: dir });
    const b = await store.openDatabase({ dataDir: dir });
    return {
      a,
      b,
      dispose: async () => {
        await a.close();
        await b.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `sealpost_test_${randomUUID().replaceAll('-', '')}`;
  const admin = store.openPostgres(postgresUrl);
  await admin.run(`CREATE SCHEMA ${schema}`);
  const url = `${postgresUrl}${postgresUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const a = await store.openDatabase({ url });
  const b = await store.openDatabase({ url });
  return {
    a,
    b,
    dispose: async () => {
      await a.close();
      await b.close();
      try {
        await admin.run(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await admin.close();
      }
    },
  };
}
