/** Shared helpers for the EnvelopedData tests: PKI identities as keys, and `openssl cms` round trips. */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecryptionKey } from '../../src/cms/enveloped-data.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { testPki, type UserName } from '../support/pki.ts';

export const pki = testPki();
export const work = mkdtempSync(join(tmpdir(), 'sealpost-enveloped-'));

const keyCache = new Map<string, DecryptionKey>();

export function cert(name: UserName): Certificate {
  return Certificate.from(pki.user(name).cert);
}

export function key(name: UserName): DecryptionKey {
  let k = keyCache.get(name);
  if (!k) {
    const u = pki.user(name);
    k = { certificate: Certificate.from(u.cert), privateKey: createPrivateKey(u.key) };
    keyCache.set(name, k);
  }
  return k;
}

let seq = 0;

/** `openssl cms -decrypt` of a DER envelope with one user's certificate and key. */
export function opensslDecrypt(der: Uint8Array, name: UserName): Buffer {
  const file = join(work, `in-${process.pid}-${seq++}.der`);
  writeFileSync(file, der);
  const u = pki.user(name);
  return execFileSync(
    'openssl',
    ['cms', '-decrypt', '-inform', 'DER', '-binary', '-in', file, '-recip', u.certPath, '-inkey', u.keyPath],
    { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 },
  );
}

/** `openssl cms -encrypt` of `content` to the named users; extra arguments select cipher, padding, -stream... */
export function opensslEncrypt(content: Uint8Array, names: UserName[], extra: string[] = []): Buffer {
  const file = join(work, `plain-${process.pid}-${seq++}.bin`);
  writeFileSync(file, content);
  const out = `${file}.der`;
  const recips = names.flatMap((n) => ['-recip', pki.user(n).certPath]);
  execFileSync(
    'openssl',
    ['cms', '-encrypt', '-binary', '-outform', 'DER', '-in', file, '-out', out, ...recips, ...extra],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return readFileSync(out);
}

/** Feeds `data` in pieces of pseudo-random sizes (deterministic per seed). */
export async function* chunked(data: Uint8Array, seed: number, max = 4096): AsyncGenerator<Uint8Array> {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < data.length; ) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const n = 1 + (s % max);
    yield data.subarray(i, i + n);
    i += n;
  }
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}
