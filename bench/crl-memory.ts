/**
 * Child process of `npm run bench` (run with `--expose-gc`): parses one CRL in a fresh Node process
 * and prints, as JSON, how long the first parse took and how much memory the parsed CRL holds, so
 * the figures are not mixed with the benchmark's own heap.
 *
 *   node --expose-gc bench/crl-memory.ts CRL.der
 */
import { readFileSync } from 'node:fs';
import { parseCrl } from '@sealpost/core';

const MiB = 1024 * 1024;
const collect = globalThis.gc;
if (collect === undefined) throw new Error('run with --expose-gc');
const path = process.argv[2];
if (path === undefined) throw new Error('usage: crl-memory.ts CRL.der');

const der = readFileSync(path);
collect();
const before = process.memoryUsage();
const start = performance.now();
const crl = parseCrl(der);
const parseMs = performance.now() - start;
// Before collecting: what the parse needed at its height; after: what the parsed CRL keeps.
const grown = process.memoryUsage();
collect();
const kept = process.memoryUsage();
process.stdout.write(
  `${JSON.stringify({
    entries: crl.entryCount,
    parseMs,
    rssGrowthMiB: (grown.rss - before.rss) / MiB,
    rssKeptMiB: (kept.rss - before.rss) / MiB,
    // external includes Buffers; the DER itself was read before the first measurement.
    heapKeptMiB: (kept.heapUsed + kept.external - before.heapUsed - before.external) / MiB,
  })}\n`,
);
