/**
 * A CA made with our own builder (root → intermediate → leaves), for tests that check the issuing
 * side against the OpenSSL CLI, plus a temp directory and an `openssl` runner for those checks.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OID } from '../../src/asn1/oids.ts';
import { pemEncode } from '../../src/util/pem.ts';
import {
  type CertificateRequestSpec,
  issueCertificate,
  type KeySigner,
  keySigner,
  type NameSpec,
} from '../../src/x509/builder.ts';
import type { Certificate } from '../../src/x509/certificate.ts';

/** Inside every certificate made here; OpenSSL checks at this time (`-attime`). */
export const ISSUE_TIME = new Date('2026-06-01T00:00:00Z');
export const ATTIME = String(ISSUE_TIME.getTime() / 1000);

export type KeySpec = 'rsa' | 'rsa-pss' | 'p256' | 'p384' | 'p521' | 'ed25519';

export function keyPair(spec: KeySpec): { publicKey: KeyObject; privateKey: KeyObject } {
  switch (spec) {
    case 'rsa':
    case 'rsa-pss':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'p384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'p521':
      return generateKeyPairSync('ec', { namedCurve: 'P-521' });
    case 'ed25519':
      return generateKeyPairSync('ed25519');
  }
}

export interface Issuer {
  certificate: Certificate;
  privateKey: KeyObject;
  signer: KeySigner;
}

/** The strict mailbox-validated S/MIME policy (BR §7.1.6.1). */
export const STRICT_MAILBOX = '2.23.140.1.5.1.3';

export async function makeRoot(spec: KeySpec = 'rsa', name = 'Sealpost Builder Root'): Promise<Issuer> {
  const k = keyPair(spec);
  const signer = keySigner(k.privateKey, { pss: spec === 'rsa-pss' });
  const certificate = await issueCertificate(
    {
      subject: [
        { type: 'C', value: 'DE' },
        { type: 'O', value: 'Sealpost Test' },
        { type: 'CN', value: name },
      ],
      publicKey: k.publicKey,
      notBefore: new Date('2025-01-01T00:00:00Z'),
      notAfter: new Date('2040-01-01T00:00:00Z'),
      ca: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
    },
    { signer },
  );
  return { certificate, privateKey: k.privateKey, signer };
}

export async function makeIntermediate(
  root: Issuer,
  spec: KeySpec = 'p256',
  name = 'Sealpost Builder Intermediate',
): Promise<Issuer> {
  const k = keyPair(spec);
  const certificate = await issueCertificate(
    {
      subject: [
        { type: 'C', value: 'DE' },
        { type: 'O', value: 'Sealpost Test' },
        { type: 'CN', value: name },
      ],
      publicKey: k.publicKey,
      notBefore: new Date('2025-01-01T00:00:00Z'),
      notAfter: new Date('2035-01-01T00:00:00Z'),
      ca: true,
      pathLen: 0,
      keyUsage: ['keyCertSign', 'cRLSign'],
      extKeyUsage: [OID.emailProtection],
      crlUrls: ['http://crl.example.org/root.crl'],
      caIssuersUrls: ['http://ca.example.org/root.crt'],
    },
    root,
  );
  return { certificate, privateKey: k.privateKey, signer: keySigner(k.privateKey, { pss: spec === 'rsa-pss' }) };
}

/** The key usage a strict S/MIME certificate of each key type gets (BR §7.1.2.3(e)). */
export function smimeKeyUsage(spec: KeySpec): CertificateRequestSpec['keyUsage'] {
  if (spec === 'ed25519') return ['digitalSignature'];
  if (spec === 'rsa' || spec === 'rsa-pss') return ['digitalSignature', 'keyEncipherment'];
  return ['digitalSignature', 'keyAgreement'];
}

/** A strict mailbox-validated subscriber certificate, as the CA service would issue it. */
export async function makeLeaf(
  issuer: Issuer,
  email: string,
  options: { key?: KeySpec; publicKey?: KeyObject | Uint8Array; subject?: NameSpec } = {},
): Promise<{ certificate: Certificate; privateKey?: KeyObject }> {
  const k = options.publicKey === undefined ? keyPair(options.key ?? 'p256') : undefined;
  const certificate = await issueCertificate(
    {
      subject: options.subject ?? [
        { type: 'CN', value: email },
        { type: 'emailAddress', value: email },
      ],
      emails: [email],
      publicKey: options.publicKey ?? k!.publicKey,
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2027-01-01T00:00:00Z'),
      keyUsage: smimeKeyUsage(options.key ?? 'p256'),
      extKeyUsage: [OID.emailProtection],
      policies: [STRICT_MAILBOX],
      crlUrls: ['http://crl.example.org/intermediate.crl'],
      ocspUrls: ['http://ocsp.example.org/'],
      caIssuersUrls: ['http://ca.example.org/intermediate.crt'],
    },
    issuer,
  );
  return k ? { certificate, privateKey: k.privateKey } : { certificate };
}

export interface Workdir {
  dir: string;
  /** Writes a file (certificates as PEM) and returns its path. */
  write(name: string, data: Uint8Array | string | Certificate | Certificate[]): string;
  /** Runs openssl; never throws: status, stdout and stderr for the assertions. */
  openssl(args: string[]): { status: number | null; stdout: string; stderr: string; out: string };
  cleanup(): void;
}

export function workdir(prefix: string): Workdir {
  const dir = mkdtempSync(join(tmpdir(), `sealpost-${prefix}-`));
  return {
    dir,
    write(name, data) {
      const path = join(dir, name);
      const certs = Array.isArray(data)
        ? data
        : typeof data !== 'string' && !(data instanceof Uint8Array)
          ? [data]
          : undefined;
      writeFileSync(
        path,
        certs ? certs.map((c) => pemEncode('CERTIFICATE', c.der)).join('') : (data as Uint8Array | string),
      );
      return path;
    },
    openssl(args) {
      const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr, out: `${r.stdout}${r.stderr}` };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
