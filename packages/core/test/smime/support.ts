/**
 * Helpers for the message-level S/MIME tests: the test PKI as signers, recipients and keys,
 * messages to protect, and `openssl cms` / `openssl smime` driven through child processes.
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecryptionKey, EncryptRecipient } from '../../src/cms/enveloped-data.ts';
import type { Signer } from '../../src/cms/signed-data.ts';
import type { VerifyOptions } from '../../src/smime/verify.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { TEST_TIME, testPki, type UserName } from '../support/pki.ts';

export const pki = testPki();
export const root = Certificate.from(pki.root.cert);
export const intermediate = Certificate.from(pki.intermediate.cert);
export const SIGNING_TIME = new Date('2026-05-20T10:00:00Z');
/** `-attime` for OpenSSL: validate where every non-expired test certificate is valid. */
export const ATTIME = ['-attime', String(TEST_TIME.getTime() / 1000)];

/** One temp directory per test process, removed when it exits. */
const work = mkdtempSync(join(tmpdir(), 'sealpost-smime-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

let seq = 0;
export function tempFile(data: Uint8Array | string, ext = 'bin'): string {
  const file = join(work, `f${seq++}.${ext}`);
  writeFileSync(file, data);
  return file;
}

const certs = new Map<string, Certificate>();
export function cert(name: UserName): Certificate {
  let c = certs.get(name);
  if (!c) {
    c = Certificate.from(pki.user(name).cert);
    certs.set(name, c);
  }
  return c;
}

export function signer(name: UserName, extra: Partial<Signer> = {}): Signer {
  return { certificate: cert(name), privateKey: createPrivateKey(pki.user(name).key), chain: [intermediate], ...extra };
}

export function recipient(name: UserName, extra: Partial<EncryptRecipient> = {}): EncryptRecipient {
  return { certificate: cert(name), ...extra };
}

export function key(name: UserName): DecryptionKey {
  return { certificate: cert(name), privateKey: createPrivateKey(pki.user(name).key) };
}

export function verifyOptions(extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return { trustAnchors: [root], intermediates: [intermediate], time: TEST_TIME, ...extra };
}

/** A small RFC 5322 message with CRLF line ends and an 8-bit body (canonicalized when protected). */
export function message(
  from: string,
  body = 'Hello — a test message.\r\n',
  extraHeaders: string[] = [],
  contentHeaders = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'],
): Buffer {
  return Buffer.from(
    [
      `From: ${from}`,
      'To: Bob <bob@example.org>',
      'Subject: test',
      'Date: Mon, 1 Jun 2026 10:00:00 +0000',
      'Message-ID: <test@example.org>',
      ...extraHeaders,
      ...contentHeaders,
      '',
      body,
    ].join('\r\n'),
  );
}

export interface RunResult {
  status: number;
  stdout: Buffer;
  stderr: string;
}

export function openssl(args: string[], input?: Uint8Array): RunResult {
  const r = spawnSync('openssl', args, { input: input ?? Buffer.alloc(0), maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

/** Runs OpenSSL and returns its output; throws with its message on failure. */
export function opensslOk(args: string[], input?: Uint8Array): Buffer {
  const r = openssl(args, input);
  if (r.status !== 0) throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** `openssl cms -verify` of an S/MIME message against the test root: the content it verified. */
export function opensslVerify(smime: Uint8Array, extra: string[] = []): Buffer {
  return opensslOk(
    ['cms', '-verify', '-CAfile', pki.root.certPath, '-certfile', pki.intermediate.certPath, ...ATTIME, ...extra],
    smime,
  );
}

/** `openssl cms -sign` of an entity (or whole message) by the named users, as S/MIME. */
export function opensslSign(input: Uint8Array, names: UserName[], extra: string[] = []): Buffer {
  const signers = names.flatMap((n) => ['-signer', pki.user(n).certPath, '-inkey', pki.user(n).keyPath]);
  return opensslOk(['cms', '-sign', '-certfile', pki.intermediate.certPath, ...signers, ...extra], input);
}

/** `openssl cms -encrypt` to the named users, as S/MIME; `keyopt` applies to every RSA recipient. */
export function opensslEncrypt(input: Uint8Array, names: UserName[], extra: string[] = [], keyopt?: string): Buffer {
  const recips = names.flatMap((n) => {
    const rsa = cert(n).publicKeyInfo.kind === 'rsa';
    return ['-recip', pki.user(n).certPath, ...(keyopt && rsa ? ['-keyopt', keyopt] : [])];
  });
  return opensslOk(['cms', '-encrypt', ...extra, ...recips], input);
}

/** `openssl cms -decrypt` with one user's key: the recovered entity. */
export function opensslDecrypt(smime: Uint8Array, name: UserName): Buffer {
  const u = pki.user(name);
  return opensslOk(['cms', '-decrypt', '-recip', u.certPath, '-inkey', u.keyPath], smime);
}

/** The entity part of a message (Content-* fields onwards), as our sign/encrypt protect it. */
export function entityOf(msg: Uint8Array): Buffer {
  const text = Buffer.from(msg).toString('latin1');
  const at = text.search(/^Content-/im);
  return Buffer.from(text.slice(at), 'latin1');
}

export async function* chunked(data: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, Math.min(data.length, i + size));
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

/**
 * Rewrites the base64 body of the S/MIME part whose header block contains `marker` (the p7s or
 * p7m part): `edit` changes the DER in place; the body is re-encoded in lines of 76.
 */
export function editPkcs7(msg: Uint8Array, marker: string, edit: (der: Buffer) => void): Buffer {
  const text = Buffer.from(msg).toString('latin1');
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`no ${marker} in the message`);
  const bodyStart = text.indexOf('\r\n\r\n', at) + 4;
  const m = /^[A-Za-z0-9+/=\r\n]*/.exec(text.slice(bodyStart))!;
  const bodyEnd = bodyStart + m[0].length;
  const der = Buffer.from(text.slice(bodyStart, bodyEnd), 'base64');
  edit(der);
  const b64 = der.toString('base64').replace(/.{1,76}/g, '$&\r\n');
  return Buffer.from(text.slice(0, bodyStart) + b64 + text.slice(bodyEnd), 'latin1');
}

/** The DER inside the base64 part named by `marker` (see editPkcs7). */
export function pkcs7Of(msg: Uint8Array, marker: string): Buffer {
  let out = Buffer.alloc(0);
  editPkcs7(msg, marker, (der) => {
    out = Buffer.from(der);
  });
  return out;
}

/** Replaces the first occurrence of `from` (latin1) in `msg`. */
export function replaceText(msg: Uint8Array, from: string, to: string): Buffer {
  const text = Buffer.from(msg).toString('latin1');
  if (!text.includes(from)) throw new Error(`"${from}" is not in the message`);
  return Buffer.from(text.replace(from, to), 'latin1');
}
