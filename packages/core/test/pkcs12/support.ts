/** PKCS#12 files made by OpenSSL from the test PKI, in a temporary directory per test file. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Identity } from '../support/pki.ts';

export const PASSWORD = 'pässword 1';

export class P12Workshop {
  readonly dir = mkdtempSync(join(tmpdir(), 'sealpost-p12-'));
  readonly passwordFile = join(this.dir, 'password');
  #seq = 0;

  constructor() {
    writeFileSync(this.passwordFile, PASSWORD);
  }

  file(data: Uint8Array): string {
    const path = join(this.dir, `f${this.#seq++}`);
    writeFileSync(path, data);
    return path;
  }

  /** `openssl pkcs12 -export` of an identity (with `chain` as -certfile) and extra options. */
  opensslExport(who: Identity, chainPath: string | undefined, extra: string[]): Buffer {
    const out = join(this.dir, `o${this.#seq++}.p12`);
    const args = [
      'pkcs12',
      '-export',
      '-in',
      who.certPath,
      '-inkey',
      who.keyPath,
      '-passout',
      `file:${this.passwordFile}`,
    ];
    if (chainPath) args.push('-certfile', chainPath);
    const r = openssl([...args, '-out', out, ...extra]);
    if (r.status !== 0) throw new Error(`openssl pkcs12 -export ${extra.join(' ')} failed: ${r.stderr}`);
    return readFileSync(out);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function openssl(args: string[], input?: Uint8Array): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('openssl', args, { input: input ?? Buffer.alloc(0) });
  return { status: r.status ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}
