/**
 * One Sealpost node for the load part of bench/server.ts: the production wiring on a loopback port,
 * the master key from SEALPOST_BENCH_MASTER_KEY (every node of a deployment needs the same one).
 *
 *   node bench/server-node.ts <dataDir> [postgres URL]
 *
 * Prints its URL as the first line of stdout; stops (draining requests in flight) when stdin ends,
 * so a node never outlives the benchmark that started it. Log lines are formatted but dropped:
 * the load test measures the server, not the terminal.
 */
import { startServer, wiring } from '@sealpost/server';

const [dataDir, databaseUrl] = process.argv.slice(2);
const server = await startServer(
  {
    http: '127.0.0.1:0',
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(databaseUrl === undefined || databaseUrl === '' ? {} : { databaseUrl }),
    masterKey: { base64: process.env['SEALPOST_BENCH_MASTER_KEY'] ?? '' },
    logSink: { write: () => {} },
  },
  wiring,
);
process.stdout.write(`${server.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void server.close().then(() => process.exit(0));
});
