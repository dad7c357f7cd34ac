/** Files, standard streams, passwords and atomic output for the commands. */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Certificate, isSealpostError, loadPrivateKey } from '@sealpost/core';

/** A mistake in how the command was called: exit status 2 and the command's usage hint. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A file that cannot be read or written: exit status 12. */
export class IoError extends Error {
  override name = 'IoError';
}

export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export async function readFileOrFail(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : 'cannot be read';
    throw new IoError(`cannot read ${what} "${path}": ${why}`);
  }
}

/** Inputs up to this size are read whole and handled in memory; larger ones are streamed. */
export const STREAM_THRESHOLD = 32 * 1024 * 1024;

export type Input = { kind: 'buffer'; data: Buffer } | { kind: 'stream'; data: AsyncIterable<Uint8Array> };

/** Reads `--in` (default standard input) whole when small, else hands back a stream (constant memory). */
export async function readInput(path: string | undefined, io: Io): Promise<Input> {
  if (path !== undefined && path !== '-') {
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      throw new IoError(`cannot read input "${path}": no such file`);
    }
    if (size <= STREAM_THRESHOLD) return { kind: 'buffer', data: await readFileOrFail(path, 'input') };
    return { kind: 'stream', data: createReadStream(path, { highWaterMark: 256 * 1024 }) };
  }
  // Standard input: buffer up to the threshold; past it, continue as a stream.
  const iterator = (io.stdin as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await iterator.next();
    if (done) return { kind: 'buffer', data: Buffer.concat(head) };
    head.push(Buffer.from(value));
    size += value.length;
    if (size > STREAM_THRESHOLD) break;
  }
  async function* rest(): AsyncIterable<Uint8Array> {
    yield* head;
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) return;
      yield value;
    }
  }
  return { kind: 'stream', data: rest() };
}

export async function* inputChunks(input: Input): AsyncIterable<Uint8Array> {
  if (input.kind === 'buffer') yield input.data;
  else yield* input.data;
}

/**
 * Writes the output all-or-nothing: to a temporary file beside `--out` that is renamed into place
 * only when everything succeeded; for standard output, streamed data is spooled first, so a
 * failure at the end (a bad GCM tag, a bad signature) never leaves partial output behind.
 */
export async function writeOutput(
  path: string | undefined,
  data: Uint8Array | AsyncIterable<Uint8Array>,
  io: Io,
): Promise<void> {
  const toStdout = path === undefined || path === '-';
  if (toStdout && data instanceof Uint8Array) {
    await new Promise<void>((resolve, reject) => io.stdout.write(data, (e) => (e ? reject(e) : resolve())));
    return;
  }
  const target = toStdout ? join(tmpdir(), 'sealpost-out') : path;
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // One chunk in flight at a time: the stream's own buffering is what bounds memory.
    const source = Readable.from(data instanceof Uint8Array ? [data] : data, { highWaterMark: 1 });
    await pipeline(source, createWriteStream(temp, { mode: 0o600 }));
    if (toStdout) {
      await pipeline(createReadStream(temp), io.stdout as Writable, { end: false });
    } else {
      await rename(temp, target);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code && !(e as { code: string }).code.startsWith('ERR_')) {
      throw new IoError(`cannot write output "${path ?? 'stdout'}": ${(e as NodeJS.ErrnoException).code}`);
    }
    throw e;
  } finally {
    await rm(temp, { force: true });
  }
}

/** A password from --password-file, the variable named by --password-env, or a terminal prompt. Never argv. */
export async function readPassword(
  options: { 'password-file'?: string; 'password-env'?: string },
  io: Io,
  prompt: string,
): Promise<string | undefined> {
  if (options['password-file']) {
    const text = (await readFileOrFail(options['password-file'], 'password file')).toString('utf8');
    return text.replace(/\r?\n$/, '');
  }
  if (options['password-env']) {
    const v = io.env[options['password-env']];
    if (v === undefined) throw new UsageError(`the environment variable ${options['password-env']} is not set`);
    return v;
  }
  if (io.stdin.isTTY) return promptHidden(prompt, io);
  return undefined;
}

async function promptHidden(prompt: string, io: Io): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  io.stderr.write(prompt);
  stdin.setRawMode?.(true);
  let out = '';
  try {
    for await (const chunk of stdin) {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return out;
        if (ch === '\u0003') throw new UsageError('cancelled');
        if (ch === '\u007f') out = out.slice(0, -1);
        else out += ch;
      }
    }
    return out;
  } finally {
    stdin.setRawMode?.(false);
    io.stderr.write('\n');
  }
}

export async function loadCertificates(paths: string[], what: string): Promise<Certificate[]> {
  const out: Certificate[] = [];
  for (const p of paths) {
    const certs = Certificate.all(await readFileOrFail(p, what));
    if (certs.length === 0) throw new UsageError(`${what} "${p}" holds no certificate`);
    out.push(...certs);
  }
  return out;
}

export async function loadCertificate(path: string, what: string): Promise<Certificate> {
  const [first] = await loadCertificates([path], what);
  return first!;
}

/** Loads a private key; asks for a password only when the key is encrypted. */
export async function loadKey(
  path: string,
  options: { 'password-file'?: string; 'password-env'?: string },
  io: Io,
): Promise<import('node:crypto').KeyObject> {
  const data = await readFileOrFail(path, 'key');
  try {
    return loadPrivateKey(data);
  } catch (e) {
    if (!isSealpostError(e, 'PASSWORD_REQUIRED')) throw e;
  }
  return loadPrivateKey(data, await readPassword(options, io, `Password for ${path}: `));
}

/** A new account's password from --password-file, else typed twice at a terminal; never from argv. */
export async function readNewPassword(file: string | undefined, io: Io, email: string): Promise<string> {
  if (file !== undefined) return (await readPassword({ 'password-file': file }, io, ''))!;
  if (!io.stdin.isTTY) throw new UsageError('give --password-file FILE (no terminal to ask for the password)');
  const first = await readPassword({}, io, `New password for ${email}: `);
  const second = await readPassword({}, io, 'Again: ');
  if (first !== second) throw new UsageError('the two passwords differ');
  return first!;
}
