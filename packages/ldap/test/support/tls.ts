/**
 * A throwaway CA and a server certificate for 127.0.0.1 and localhost, made by OpenSSL, so LDAPS and
 * StartTLS are verified by real clients (LDAPTLS_CACERT, ldapts' `ca`) rather than skipped.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsFixture {
  readonly dir: string;
  /** PEM file of the CA that issued the server certificate. */
  readonly caPath: string;
  readonly ca: string;
  readonly key: string;
  readonly cert: string;
  cleanup(): void;
}

export function makeTlsFixture(): TlsFixture {
  const dir = mkdtempSync(join(tmpdir(), 'sealpost-ldap-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Sealpost LDAP Test CA',
  );
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
    '-out',
    'server.pem',
  );
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return {
    dir,
    caPath: join(dir, 'ca.pem'),
    ca: read('ca.pem'),
    key: read('server.key'),
    cert: read('server.pem'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
