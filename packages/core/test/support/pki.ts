/**
 * Test PKI made by OpenSSL (an independent implementation is the point): a root, an intermediate
 * and users of every key type and purpose the tests need. Generated once per machine into the
 * temp directory (keyed by this file's content) and reused by every test process.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OID } from '../../src/asn1/oids.ts';
import { pemEncode } from '../../src/util/pem.ts';
import { buildCertificate } from '../../src/x509/builder.ts';
import { Certificate } from '../../src/x509/certificate.ts';

export interface Identity {
  name: string;
  email: string;
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
}

/** Users: name → [key spec, profile, e-mail]. */
const USERS = {
  alice: ['rsa:2048', 'dual', 'alice@example.org'],
  bob: ['rsa:3072', 'dual', 'bob@example.org'],
  carol: ['ec:P-256', 'dual-ec', 'carol@example.org'],
  dave: ['ec:P-384', 'dual-ec', 'dave@example.org'],
  erin: ['ed25519', 'sign', 'erin@example.org'],
  frank: ['x25519', 'encrypt-ka', 'frank@example.org'],
  signer: ['rsa:2048', 'sign', 'signer@example.org'],
  encrypter: ['rsa:2048', 'encrypt', 'encrypter@example.org'],
  expired: ['rsa:2048', 'expired', 'expired@example.org'],
  server: ['rsa:2048', 'server', 'server@example.org'],
  legacy: ['rsa:2048', 'legacy-email', 'legacy@example.org'],
} as const;

export type UserName = keyof typeof USERS;

export interface Pki {
  dir: string;
  root: Identity;
  intermediate: Identity;
  /** A CA nobody trusts, and a user under it. */
  rogueRoot: Identity;
  rogue: Identity;
  user(name: UserName): Identity;
  /** root + intermediate PEM. */
  chainPath: string;
}

const CONF = `
[ ca ]
default_ca = local
[ local ]
dir = .
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
emailAddress = optional
organizationName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_intermediate ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ dual ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = email:copy
[ dual-ec ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = email:copy
[ sign ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = email:copy
[ encrypt ]
basicConstraints = critical, CA:false
keyUsage = critical, keyEncipherment
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = email:copy
[ encrypt-ka ]
basicConstraints = critical, CA:false
keyUsage = critical, keyAgreement
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = email:copy
[ expired ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = email:copy
[ server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = email:copy
[ legacy-email ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function genKey(cwd: string, spec: string, out: string): void {
  if (spec.startsWith('rsa:')) {
    openssl(cwd, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${spec.slice(4)}`, '-out', out]);
  } else if (spec.startsWith('ec:')) {
    openssl(cwd, ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${spec.slice(3)}`, '-out', out]);
  } else {
    openssl(cwd, ['genpkey', '-algorithm', spec.toUpperCase(), '-out', out]);
  }
}

function build(dir: string): void {
  writeFileSync(join(dir, 'openssl.cnf'), CONF);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  mkdirSync(join(dir, 'newcerts'));
  const cnf = ['-config', 'openssl.cnf'];
  // Fixed dates everywhere, so tests can validate at TEST_TIME whatever day they run.
  const root = (name: string, cn: string) => {
    genKey(dir, 'rsa:2048', `${name}.key.pem`);
    openssl(dir, ['req', ...cnf, '-new', '-key', `${name}.key.pem`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
    openssl(dir, [
      'ca',
      ...cnf,
      '-batch',
      '-notext',
      '-selfsign',
      '-keyfile',
      `${name}.key.pem`,
      '-in',
      `${name}.csr`,
      '-extensions',
      'v3_root',
      '-startdate',
      '20240101000000Z',
      '-enddate',
      '20451231000000Z',
      '-out',
      `${name}.crt.pem`,
    ]);
  };
  const issue = (
    name: string,
    issuer: string,
    keySpec: string,
    subj: string,
    ext: string,
    dates: [string, string] = ['20250101000000Z', '20351231000000Z'],
  ) => {
    genKey(dir, keySpec, `${name}.key.pem`);
    const common = [
      'ca',
      ...cnf,
      '-batch',
      '-notext',
      '-cert',
      `${issuer}.crt.pem`,
      '-keyfile',
      `${issuer}.key.pem`,
      '-extensions',
      ext,
      '-startdate',
      dates[0],
      '-enddate',
      dates[1],
      '-out',
      `${name}.crt.pem`,
    ];
    if (keySpec === 'x25519') {
      // X25519 keys cannot sign a CSR, and OpenSSL 3.0 can force a public key only with
      // `x509 -req`, which cannot set fixed dates: our builder makes this one, `openssl verify` checks it.
      x25519Users.push({ name, issuer, subj, ext, dates });
      return;
    }
    openssl(dir, ['req', ...cnf, '-new', '-key', `${name}.key.pem`, '-subj', subj, '-out', `${name}.csr`]);
    openssl(dir, [...common, '-in', `${name}.csr`]);
  };
  const x25519Users: { name: string; issuer: string; subj: string; ext: string; dates?: [string, string] }[] = [];
  root('root', 'Sealpost Test Root');
  issue('intermediate', 'root', 'rsa:2048', '/CN=Sealpost Test Intermediate', 'v3_intermediate');
  root('rogue-root', 'Rogue Root');
  issue('rogue', 'rogue-root', 'rsa:2048', '/CN=Alice Impostor/emailAddress=alice@example.org', 'dual');
  for (const [name, [spec, profile, email]] of Object.entries(USERS)) {
    const dates: [string, string] | undefined =
      profile === 'expired' ? ['20200101000000Z', '20210101000000Z'] : undefined;
    const subj = `/CN=${name}/emailAddress=${email}`;
    issue(name, 'intermediate', spec, subj, profile, dates);
  }
  for (const u of x25519Users) {
    const issuerCert = Certificate.from(readFileSync(join(dir, `${u.issuer}.crt.pem`)));
    const email = /emailAddress=([^/]+)/.exec(u.subj)?.[1];
    const cert = buildCertificate(
      {
        commonName: u.name,
        ...(email ? { emails: [email] } : {}),
        publicKey: createPublicKey(readFileSync(join(dir, `${u.name}.key.pem`))),
        notBefore: new Date('2025-01-01T00:00:00Z'),
        notAfter: new Date('2035-12-31T00:00:00Z'),
        keyUsage: ['keyAgreement'],
        extKeyUsage: [OID.emailProtection],
      },
      { certificate: issuerCert, privateKey: createPrivateKey(readFileSync(join(dir, `${u.issuer}.key.pem`))) },
    );
    writeFileSync(join(dir, `${u.name}.crt.pem`), pemEncode('CERTIFICATE', cert.der));
    openssl(dir, [
      'verify',
      '-CAfile',
      'root.crt.pem',
      '-untrusted',
      'intermediate.crt.pem',
      '-attime',
      '1780272000',
      `${u.name}.crt.pem`,
    ]);
  }
  writeFileSync(
    join(dir, 'chain.pem'),
    Buffer.concat([readFileSync(join(dir, 'intermediate.crt.pem')), readFileSync(join(dir, 'root.crt.pem'))]),
  );
}

let cached: Pki | undefined;

export function testPki(): Pki {
  if (cached) return cached;
  const version = createHash('sha256')
    .update(readFileSync(new URL(import.meta.url)))
    .digest('hex')
    .slice(0, 12);
  const dir = join(tmpdir(), `sealpost-test-pki-${version}`);
  if (!existsSync(join(dir, 'chain.pem'))) {
    const work = `${dir}.${process.pid}.tmp`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    build(work);
    try {
      renameSync(work, dir);
    } catch {
      rmSync(work, { recursive: true, force: true }); // another test process won the race
    }
  }
  const load = (name: string, email = ''): Identity => {
    const certPath = join(dir, `${name}.crt.pem`);
    const keyPath = join(dir, `${name}.key.pem`);
    return { name, email, certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
  };
  cached = {
    dir,
    root: load('root'),
    intermediate: load('intermediate'),
    rogueRoot: load('rogue-root'),
    rogue: load('rogue', 'alice@example.org'),
    user: (name) => load(name, USERS[name][2]),
    chainPath: join(dir, 'chain.pem'),
  };
  return cached;
}

/** A fixed validation time inside every non-expired test certificate's validity. */
export const TEST_TIME = new Date('2026-06-01T00:00:00Z');
