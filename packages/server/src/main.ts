/**
 * `sealpost serve`: resolve the configuration, start the server, and shut it down gracefully on
 * SIGINT or SIGTERM (a second signal drops the remaining connections at once).
 */
import { parseArgs } from 'node:util';
import { ConfigError, resolveConfig } from './config.ts';
import { type RunningServer, startServer, type Wiring } from './server.ts';

export const USAGE = `Usage: sealpost serve [--config FILE] [--http HOST:PORT] [--ldap HOST:PORT|off] [--data DIR]

Runs the Sealpost server until SIGINT or SIGTERM: the HTTP API (default 127.0.0.1:8080) and the LDAP
key server mail clients query for certificates (default 127.0.0.1:1389; docs/ldap.md). Settings come
from FILE (default ./sealpost.json when present, or $SEALPOST_CONFIG), then the environment
(SEALPOST_HTTP, SEALPOST_LDAP, SEALPOST_DATA, DATABASE_URL, SEALPOST_MASTER_KEY, SEALPOST_LOG_LEVEL,
SEALPOST_TRUST_PROXY), then these options. See docs/server.md.
`;

export interface MainIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly cwd: string;
}

const defaultIo = (): MainIo => ({ stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });

/** Exit statuses: 0 after a clean shutdown, 1 when the server cannot start, 2 for usage or configuration errors. */
export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  wiring: Wiring = {},
  io: MainIo = defaultIo(),
): Promise<number> {
  let options: { config?: string; http?: string; dataDir?: string; ldap?: string };
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        http: { type: 'string' },
        ldap: { type: 'string' },
        data: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help === true) {
      io.stdout.write(USAGE);
      return 0;
    }
    options = {
      ...(values.config === undefined ? {} : { config: values.config }),
      ...(values.http === undefined ? {} : { http: values.http }),
      ...(values.ldap === undefined ? {} : { ldap: values.ldap }),
      ...(values.data === undefined ? {} : { dataDir: values.data }),
    };
  } catch (e) {
    io.stderr.write(`sealpost serve: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  let server: RunningServer;
  try {
    const config = await resolveConfig({ options, env, cwd: io.cwd });
    server = await startServer({ ...config, logSink: io.stdout }, wiring);
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr.write(`sealpost serve: ${e.message}\n`);
      return 2;
    }
    io.stderr.write(`sealpost serve: cannot start: ${(e as Error).message}\n`);
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (s: NodeJS.Signals) => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      resolve(s);
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  });
  server.log.info('signal received', { signal });
  const force = () => {
    server.log.warn('second signal: dropping the remaining connections');
    server.abort();
  };
  process.once('SIGINT', force).once('SIGTERM', force);
  try {
    await server.close();
  } finally {
    process.off('SIGINT', force).off('SIGTERM', force);
  }
  return 0;
}
