/** Runs the real `sealpost` executable, as a user would, under the Node that runs the tests. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = new URL('../../bin/sealpost.mjs', import.meta.url).pathname;

export interface RunResult {
  status: number;
  stdout: Buffer;
  stderr: string;
}

export function sealpost(
  args: string[],
  options: { input?: Uint8Array; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: options.input ?? Buffer.alloc(0),
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    maxBuffer: 512 * 1024 * 1024,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

export function openssl(args: string[], input?: Uint8Array): RunResult {
  const r = spawnSync('openssl', args, { input: input ?? Buffer.alloc(0), maxBuffer: 512 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealpost-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function message(
  from: string,
  to: string,
  body = 'Hello — a test message.\r\n',
  extraHeaders: string[] = [],
): Buffer {
  return Buffer.from(
    [
      `From: ${from}`,
      `To: ${to}`,
      'Subject: test',
      'Date: Mon, 1 Jun 2026 10:00:00 +0000',
      'Message-ID: <test@example.org>',
      ...extraHeaders,
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      body,
    ].join('\r\n'),
  );
}
