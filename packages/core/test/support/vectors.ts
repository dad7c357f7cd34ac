/**
 * Where the shared test vectors (`../shared/vectors` beside the repository: RFC 4134, RFC 9216,
 * OpenSSL's S/MIME certificates) are. SEALPOST_VECTORS overrides; a checkout elsewhere falls back to
 * the workplace's copy. Missing vectors fail the tests that need them, loudly, rather than skip.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../../../..');
const candidates = [process.env.SEALPOST_VECTORS, join(repoRoot, '../shared/vectors'), '/work/shared/vectors'];

function locate(): string {
  for (const c of candidates) if (c && existsSync(join(c, 'rfc4134'))) return c;
  throw new Error(
    `the shared test vectors were not found (looked in ${candidates.filter(Boolean).join(', ')}); set SEALPOST_VECTORS`,
  );
}

export const VECTORS_DIR = locate();

/** A path inside the vectors directory. */
export const vectorPath = (...parts: string[]): string => join(VECTORS_DIR, ...parts);
