/** Helpers for the MIME tests: streams from chunks and back. */
import assert from 'node:assert/strict';
import { isSealpostError } from '../../src/errors.ts';

/** `data` as a stream cut at the given sizes (cycled), each chunk a fresh copy. */
export async function* chunked(data: Uint8Array, sizes: number[] = [data.length || 1]): AsyncIterable<Uint8Array> {
  let i = 0;
  for (let pos = 0; pos < data.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    yield Uint8Array.from(data.subarray(pos, pos + n));
    pos += n;
  }
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

export const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');

/** Asserts that `fn` throws (or rejects with) a SealpostError with `code`. */
export async function rejectsWith(fn: () => unknown, code: string): Promise<void> {
  await assert.rejects(
    async () => fn(),
    (e: unknown) => isSealpostError(e) && e.code === code,
  );
}

/** Only SealpostErrors are acceptable failures in the property tests. */
export function onlySealpostErrors(e: unknown): void {
  if (!isSealpostError(e)) throw e;
}
