import { type ExecFileException, execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { link, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createLocalMasterKey, MASTER_KEY_LENGTH, type MasterKey, ServiceError } from '@sealpost/services';

/**
 * Where the master key comes from:
 *   - `{ path }`: a file holding the key in base64 (one line). Created on first start (32 random bytes,
 *     mode 0600) unless `create: false`; refused when group or others may read it.
 *   - `{ base64 }`: the key itself, e.g. from the SEALPOST_MASTER_KEY environment variable (read by the caller).
 *   - `{ command }`: a program (argv, no shell) that prints the key in base64 on stdout, KMS-style;
 *     killed after `timeoutMs` (default 10 s).
 */
export type MasterKeySource =
  | { readonly path: string; readonly create?: boolean }
  | { readonly base64: string }
  | { readonly command: readonly string[]; readonly timeoutMs?: number };

/** Key files and command output are a line of base64; anything much longer is not a key. */
const MAX_KEY_TEXT = 1024;
const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

/** Loads the master key (creating the key file on first start) as a MasterKey; its id is the first 16 hex of SHA-256(key). */
export async function loadMasterKey(source: MasterKeySource): Promise<MasterKey> {
  let key: Buffer;
  if ('base64' in source) key = decodeKey(Buffer.from(source.base64, 'utf8'), 'the given base64 master key');
  else if ('command' in source)
    key = await runKeyCommand(source.command, source.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
  else key = await readOrCreateKeyFile(source.path, source.create ?? true);
  try {
    return createLocalMasterKey(key);
  } finally {
    key.fill(0);
  }
}

async function readOrCreateKeyFile(path: string, create: boolean): Promise<Buffer> {
  try {
    return await readKeyFile(path);
  } catch (e) {
    if (!create || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(path, e);
  }
  try {
    await createKeyFile(path);
    return await readKeyFile(path);
  } catch (e) {
    throw fileError(path, e);
  }
}

/**
 * Writes a complete key file under a unique temporary name, then link()s it into place: link fails
 * with EEXIST rather than overwrite, so when two processes start together exactly one file wins,
 * nobody ever reads a half-written key, and both go on to read the winner's key.
 */
async function createKeyFile(path: string): Promise<void> {
  const key = randomBytes(MASTER_KEY_LENGTH);
  const text = Buffer.from(`${key.toString('base64')}\n`, 'utf8');
  key.fill(0);
  const tmp = `${path}.${randomUUID()}.tmp`;
  try {
    const file = await open(tmp, 'wx', 0o600);
    try {
      // The umask can only remove bits from 0600, but say it explicitly.
      await file.chmod(0o600);
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await link(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  } finally {
    text.fill(0);
    await unlink(tmp).catch(() => {});
  }
  // Make the new directory entry durable, so a crash cannot lose the key after data was sealed with it.
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

async function readKeyFile(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    // fstat the opened file, not the path, so the checks apply to what is actually read.
    const stat = await file.stat();
    if (!stat.isFile())
      throw new ServiceError('MASTER_KEY_INSECURE', `The master key file ${path} is not a regular file.`);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new ServiceError(
        'MASTER_KEY_INSECURE',
        `The master key file ${path} has mode ${mode}: group or others may read it. Run \`chmod 600 ${path}\`.`,
      );
    }
    const buffer = Buffer.alloc(MAX_KEY_TEXT + 1);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    try {
      return decodeKey(buffer.subarray(0, bytesRead), `the master key file ${path}`);
    } finally {
      buffer.fill(0);
    }
  } finally {
    await file.close();
  }
}

async function runKeyCommand(command: readonly string[], timeoutMs: number): Promise<Buffer> {
  const [program, ...args] = command;
  if (program === undefined || program.length === 0) {
    throw new ServiceError('INVALID_ARGUMENT', 'The master key command is empty.');
  }
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
    throw new ServiceError(
      'INVALID_ARGUMENT',
      `The master key command timeout must be a positive integer, not ${timeoutMs}.`,
    );
  }
  const what = `the master key command ${JSON.stringify(program)}`;
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { encoding: 'buffer', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_KEY_TEXT, windowsHide: true },
      (error, stdout, stderr) => {
        try {
          if (error !== null) {
            reject(
              new ServiceError('MASTER_KEY_UNAVAILABLE', `${what} failed: ${commandFailure(error, timeoutMs, stderr)}`),
            );
          } else {
            resolve(decodeKey(stdout, `the output of ${what}`));
          }
        } catch (e) {
          reject(e);
        } finally {
          stdout.fill(0);
        }
      },
    );
  });
}

function commandFailure(error: ExecFileException, timeoutMs: number, stderr: Buffer): string {
  if (error.code === 'ENOENT') return 'no such program';
  if (error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return `it printed more than ${MAX_KEY_TEXT} bytes`;
  if (error.killed === true) return `no answer within ${timeoutMs} ms`;
  // Only stderr is quoted (briefly): stdout may hold key material.
  const said = stderr.toString('utf8').trim().split('\n')[0]?.slice(0, 200) ?? '';
  return `exit status ${String(error.code)}${said === '' ? '' : `: ${said}`}`;
}

/** Exactly 32 bytes in standard base64 (44 characters), surrounded by optional whitespace. */
function decodeKey(text: Buffer, origin: string): Buffer {
  const trimmed = text.toString('latin1').trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) {
    throw new ServiceError(
      'MASTER_KEY_INVALID',
      `${origin} must hold ${MASTER_KEY_LENGTH} bytes in base64 (44 characters, as made by \`openssl rand -base64 32\`).`,
    );
  }
  return Buffer.from(trimmed, 'base64');
}

function fileError(path: string, e: unknown): Error {
  if (e instanceof ServiceError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? 'it does not exist (or its directory does not)'
      : code === 'EACCES'
        ? 'permission denied'
        : String(code ?? e);
  return new ServiceError('MASTER_KEY_UNAVAILABLE', `Cannot use the master key file ${path}: ${reason}.`, { cause: e });
}
