/**
 * A small CA run by the OpenSSL CLI for revocation tests: `openssl ca` issues, revokes (with a
 * reason) and signs CRLs; `openssl ocsp` answers OCSP requests, from a file or as a server. Each
 * test process makes its own CA in the OS temp directory and removes it with `cleanup()`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Certificate } from '../../src/x509/certificate.ts';

export interface TestCa {
  dir: string;
  ca: Certificate;
  good: Certificate;
  revoked: Certificate;
  /** Issued by the CA but not in its database: OCSP says "unknown". */
  stranger: Certificate;
  /** Delegated OCSP responder (OCSPSigning, id-pkix-ocsp-nocheck). */
  responder: Certificate;
  /** Issued by the CA without the OCSPSigning extended key usage. */
  impostor: Certificate;
  /** The current CRL (DER). */
  crl(): Buffer;
  /** Signs a new CRL; `hours` of validity. */
  newCrl(hours?: number): Buffer;
  /** Answers a DER OCSP request with `openssl ocsp -reqin` (signed by the CA or a named certificate). */
  respond(request: Uint8Array, signer?: 'ca' | 'responder' | 'impostor'): Buffer;
  /** Starts `openssl ocsp` as an HTTP responder on `port`, resolved once it listens; killed by cleanup(). */
  serveOcsp(port: number, signer?: 'ca' | 'responder'): Promise<ChildProcess>;
  cleanup(): void;
}

const config = (cdp: string, ocsp: string) => `
[ ca ]
default_ca = local
[ local ]
dir = .
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_days = 365
default_crl_days = 7
policy = anything
unique_subject = no
copy_extensions = none
crl_extensions = crl_ext
[ anything ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ leaf ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:${cdp}
authorityInfoAccess = OCSP;URI:${ocsp}, caIssuers;URI:${cdp}.crt
[ responder ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
authorityKeyIdentifier = keyid
[ impostor ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection
authorityKeyIdentifier = keyid
[ crl_ext ]
authorityKeyIdentifier = keyid
`;

/** A free loopback port (bound and released; good enough for a test). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Creates the CA; its leaves point at `cdpUrl` for CRLs and `ocspUrl` for OCSP. */
export function createTestCa(cdpUrl = 'http://127.0.0.1:9/ca.crl', ocspUrl = 'http://127.0.0.1:9/ocsp'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'sealpost-revocation-'));
  const run = (args: string[], input?: Uint8Array): Buffer =>
    execFileSync('openssl', args, { cwd: dir, input, stdio: ['pipe', 'pipe', 'pipe'] });
  writeFileSync(join(dir, 'openssl.cnf'), config(cdpUrl, ocspUrl));
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  mkdirSync(join(dir, 'newcerts'));
  const cnf = ['-config', 'openssl.cnf'];
  const key = (name: string) =>
    run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  /** A key and a certificate request for `/CN=name`. */
  const request = (name: string) => {
    key(name);
    run(['req', ...cnf, '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
  };
  const load = (name: string) => Certificate.from(readFileSync(join(dir, `${name}.crt`)));
  key('ca');
  run([
    'req',
    ...cnf,
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-subj',
    '/CN=Sealpost Revocation Test CA',
    '-days',
    '3650',
    '-extensions',
    'v3_ca',
    '-out',
    'ca.crt',
  ]);
  const issue = (name: string, ext: string) => {
    request(name);
    run(['ca', ...cnf, '-batch', '-notext', '-extensions', ext, '-in', `${name}.csr`, '-out', `${name}.crt`]);
    return load(name);
  };
  const good = issue('good', 'leaf');
  const revoked = issue('revoked', 'leaf');
  const responder = issue('responder', 'responder');
  const impostor = issue('impostor', 'impostor');
  // Signed with `openssl x509`, so the CA's database does not know it.
  request('stranger');
  run([
    'x509',
    '-req',
    '-in',
    'stranger.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    '0x7777',
    '-days',
    '365',
    '-extfile',
    'openssl.cnf',
    '-extensions',
    'leaf',
    '-out',
    'stranger.crt',
  ]);
  run(['ca', ...cnf, '-revoke', 'revoked.crt', '-crl_reason', 'keyCompromise']);

  const newCrl = (hours = 24 * 7): Buffer => {
    run(['ca', ...cnf, '-gencrl', '-crlhours', String(hours), '-out', 'ca.crl.pem']);
    run(['crl', '-in', 'ca.crl.pem', '-outform', 'DER', '-out', 'ca.crl']);
    return readFileSync(join(dir, 'ca.crl'));
  };
  newCrl();
  /** `openssl ocsp` answering from the CA's database, signed by `signer`, valid for an hour. */
  const ocsp = (signer: string, ...io: string[]) => [
    'ocsp',
    '-index',
    'index.txt',
    '-CA',
    'ca.crt',
    '-rsigner',
    `${signer}.crt`,
    '-rkey',
    `${signer}.key`,
    '-nmin',
    '60',
    ...io,
  ];
  const children: ChildProcess[] = [];
  return {
    dir,
    ca: load('ca'),
    good,
    revoked,
    stranger: load('stranger'),
    responder,
    impostor,
    crl: () => readFileSync(join(dir, 'ca.crl')),
    newCrl,
    respond(request, signer = 'ca') {
      writeFileSync(join(dir, 'req.der'), request);
      run(ocsp(signer, '-reqin', 'req.der', '-respout', 'resp.der'));
      return readFileSync(join(dir, 'resp.der'));
    },
    serveOcsp(port, signer = 'responder') {
      const child = spawn('openssl', ocsp(signer, '-port', String(port)), {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      // Ready once it prints ACCEPT. Not by probing the port: OpenSSL 3.0's responder hangs for
      // good on a connection that closes without a request.
      return new Promise((resolve, reject) => {
        let seen = '';
        const onData = (chunk: Buffer) => {
          seen += chunk.toString();
          if (seen.includes('ACCEPT')) resolve(child);
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', () => reject(new Error(`openssl ocsp exited: ${seen}`)));
      });
    },
    cleanup() {
      for (const c of children) c.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
