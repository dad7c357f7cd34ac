/** JSON output: reports as plain data (certificate objects and raw bytes left out). */
import type { VerifyReport } from '@sealpost/core';
import type { Io } from './io.ts';

export function printJson(io: Io, value: unknown): void {
  // Bytes (identifiers, serial numbers) print as hex, not as arrays of numbers.
  const replacer = (_k: string, v: unknown) =>
    v instanceof Uint8Array
      ? Buffer.from(v).toString('hex')
      : v &&
          typeof v === 'object' &&
          (v as { type?: unknown }).type === 'Buffer' &&
          Array.isArray((v as { data?: unknown }).data)
        ? Buffer.from((v as { data: number[] }).data).toString('hex')
        : v;
  io.stdout.write(`${JSON.stringify(value, replacer, 2)}\n`);
}

export function reportForJson(r: VerifyReport): unknown {
  return {
    status: r.status,
    reason: r.reason,
    coverage: r.coverage,
    sender: r.sender,
    layers: r.layers.map((l) =>
      'signers' in l ? { ...l, signers: l.signers.map(({ certificates: _c, ...rest }) => rest) } : l,
    ),
    contentBytes: r.content.length,
  };
}
