/**
 * A throwaway CA and a server certificate for 127.0.0.1 and localhost, made by OpenSSL, so LDAPS and
 * StartTLS are verified by real clients (LDAPTLS_CACERT, ldapts' `ca`) rather than skipped. Our server
 * takes the PEM texts, slapd the file paths.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsFixture {
  readonly dir: string;
  /** PEM file of the CA that issued the server certificate. */
  readonly caPath: string;
  readonly keyPath: string;
  readonly certPath: string;
  readonly ca: string;
  readonly key: string;
  readonly cert: string;
  /** Deletes `dir`. */
  cleanup(): void;
}

/** Writes the files into `dir` when given (a directory the caller already cleans up), else into a new one. */
export function makeTlsFixture(dir = mkdtempSync(join(tmpdir(), 'sealpost-ldap-tls-'))): TlsFixture {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  // The extensions are spelled out rather than left to the system's openssl.cnf, whose defaults vary.
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
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(
    join(dir, 'server.ext'),
    [
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
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
    'server.ext',
    '-out',
    'server.pem',
  );
  const caPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'server.key');
  const certPath = join(dir, 'server.pem');
  return {
    dir,
    caPath,
    keyPath,
    certPath,
    ca: readFileSync(caPath, 'utf8'),
    key: readFileSync(keyPath, 'utf8'),
    cert: readFileSync(certPath, 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
