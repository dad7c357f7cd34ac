/** `sealpost serve` as a child process on a free port, for the server and operator tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from './run.ts';

/** Starts `sealpost serve` on a free port; resolves once it logs where it listens. */
export async function startServe(
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--http', '127.0.0.1:0', '--ldap', '127.0.0.1:0', '--data', dataDir],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /sealpost listening on (http:\/\/[^\s"]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`sealpost serve exited ${code}: ${out}`)));
  });
  return { child, url, output: () => out };
}
