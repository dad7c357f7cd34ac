/** Shared helpers for the SignedData tests: PKI identities as signers, and `openssl cms` round trips. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Signer } from '../../src/cms/signed-data.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { testPki, type UserName } from '../support/pki.ts';

export const pki = testPki();
export const work = mkdtempSync(join(tmpdir(), 'sealpost-signed-'));
export const root = Certificate.from(pki.root.cert);
export const intermediate = Certificate.from(pki.intermediate.cert);

const certCache = new Map<string, Certificate>();

export function cert(name: UserName): Certificate {
  let c = certCache.get(name);
  if (!c) {
    c = Certificate.from(pki.user(name).cert);
    certCache.set(name, c);
  }
  return c;
}

export function signer(name: UserName, extra: Partial<Signer> = {}): Signer {
  return { certificate: cert(name), privateKey: createPrivateKey(pki.user(name).key), chain: [intermediate], ...extra };
}

let seq = 0;

export function tempFile(data: Uint8Array | string, ext = 'bin'): string {
  const file = join(work, `f-${process.pid}-${seq++}.${ext}`);
  writeFileSync(file, data);
  return file;
}

/**
 * `openssl cms -verify` of a DER SignedData against the test root. Returns the verified content on
 * success; throws with OpenSSL's message on failure.
 */
export function opensslVerify(
  der: Uint8Array,
  opts: { content?: Uint8Array; caFile?: string; extra?: string[] } = {},
): Buffer {
  const args = [
    'cms',
    '-verify',
    '-inform',
    'DER',
    '-binary',
    '-in',
    tempFile(der, 'der'),
    '-CAfile',
    opts.caFile ?? pki.root.certPath,
  ];
  if (opts.content) args.push('-content', tempFile(opts.content));
  args.push(...(opts.extra ?? []));
  const r = spawnSync('openssl', args, { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`openssl cms -verify failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/** `openssl cms -sign` of `content` by the named users; extra arguments pick -md, -stream, -nodetach... */
export function opensslSign(content: Uint8Array, names: UserName[], extra: string[] = []): Buffer {
  const file = tempFile(content);
  const out = `${file}.der`;
  const signers = names.flatMap((n) => ['-signer', pki.user(n).certPath, '-inkey', pki.user(n).keyPath]);
  execFileSync(
    'openssl',
    [
      'cms',
      '-sign',
      '-binary',
      '-outform',
      'DER',
      '-in',
      file,
      '-out',
      out,
      '-certfile',
      pki.intermediate.certPath,
      ...signers,
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return readFileSync(out);
}

export async function* chunked(data: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

export const SIGNING_TIME = new Date('2026-05-20T10:00:00Z');

/**
 * OpenSSL 3.0's `cms` cannot sign or verify Ed25519 (its EdDSA provider refuses the CMS digest), so an
 * Ed25519 SignerInfo is checked piecewise with OpenSSL: the pure signature over the DER signed
 * attributes with `pkeyutl -rawin`, the messageDigest with `dgst -sha512`, the chain with `verify`.
 */
export function opensslCheckEd25519(
  signedAttrsDer: Uint8Array,
  signature: Uint8Array,
  messageDigest: Uint8Array,
  content: Uint8Array,
  certPath: string,
  chain: { caFile: string; untrusted?: string },
): void {
  const pub = tempFile('', 'pem');
  execFileSync('openssl', ['x509', '-in', certPath, '-pubkey', '-noout', '-out', pub]);
  const r = spawnSync('openssl', [
    'pkeyutl',
    '-verify',
    '-pubin',
    '-inkey',
    pub,
    '-rawin',
    '-in',
    tempFile(signedAttrsDer),
    '-sigfile',
    tempFile(signature),
  ]);
  if (r.status !== 0) throw new Error(`openssl pkeyutl -verify failed: ${r.stdout}${r.stderr}`);
  const digest = execFileSync('openssl', ['dgst', '-sha512', '-binary', tempFile(content)]);
  if (Buffer.compare(digest, messageDigest) !== 0) throw new Error('messageDigest differs from openssl dgst -sha512');
  const untrusted = chain.untrusted ? ['-untrusted', chain.untrusted] : [];
  execFileSync('openssl', ['verify', '-purpose', 'smimesign', '-CAfile', chain.caFile, ...untrusted, certPath], {
    stdio: 'pipe',
  });
}
