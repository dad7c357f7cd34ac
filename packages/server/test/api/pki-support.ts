// Support for the CA, certificate, PKI and enrollment API tests: an OpenSSL runner in a scratch
// directory, and a root CA created through the API with the default templates pointed at it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiClient } from './support.ts';

export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'sealpost-api-pki-'));

  path(name: string): string {
    return join(this.dir, name);
  }

  write(name: string, data: string | Uint8Array): string {
    const p = this.path(name);
    writeFileSync(p, data);
    return p;
  }

  read(name: string): Buffer {
    return readFileSync(this.path(name));
  }

  openssl(...args: string[]): { status: number; output: string } {
    const r = spawnSync('openssl', args, { cwd: this.dir, maxBuffer: 1 << 24 });
    return { status: r.status ?? -1, output: r.stdout.toString() + r.stderr.toString() };
  }

  /** Runs openssl; fails with its output unless it succeeds. */
  must(...args: string[]): string {
    const r = this.openssl(...args);
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${r.output}`);
    return r.output;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const ROOT_SUBJECT = [
  { type: 'C', value: 'DE' },
  { type: 'O', value: 'Example' },
  { type: 'CN', value: 'Example API Root' },
];

/** The templates the CA service installs; every test points them at its root and uses P-256 keys (fast). */
export const DEFAULT_TEMPLATE_NAMES = ['dual-use', 'encryption-only', 'signing-only'];

/** Creates a root CA through the API, points the default templates at it, and writes ca.pem. */
export async function createRoot(admin: ApiClient, scratch: Scratch, name = 'Example Root'): Promise<string> {
  const res = await admin.post('/api/v1/cas', {
    name,
    subject: ROOT_SUBJECT,
    keyAlgorithm: 'p-256',
    validityDays: 3650,
    crlUrl: 'http://crl.example.test/root.crl',
    ocspUrl: 'http://ocsp.example.test/',
  });
  if (res.status !== 201) throw new Error(`creating the root failed: ${res.status} ${res.text}`);
  const ca = res.json() as { id: string; certificatePem: string };
  scratch.write('ca.pem', ca.certificatePem);
  return ca.id;
}

/** Points a template at the CA with P-256 server keys (the templates are installed on first use). */
export async function useTemplate(admin: ApiClient, template: string, caId: string, extra: object = {}): Promise<void> {
  const res = await admin.put(`/api/v1/templates/${template}`, { caId, defaultKeyAlgorithm: 'p-256', ...extra });
  if (res.status !== 200) throw new Error(`editing template ${template} failed: ${res.status} ${res.text}`);
}
