/** `sealpost serve`: runs the Sealpost server (REST API, web PKI endpoints, LDAP key server) until SIGINT or SIGTERM. */
import { type Command, str, type Values } from '../command.ts';
import type { Io } from '../io.ts';

export const SERVER_LOCATION_OPTIONS = {
  data: { type: 'string' },
  database: { type: 'string' },
  config: { type: 'string' },
} as const;

export const SERVER_LOCATION_HELP = `      --data DIR            the data directory: master key, SQLite database
                            (default: $SEALPOST_DATA, else the configuration file's, else ./sealpost-data)
      --database URL        a postgres:// URL (default: $DATABASE_URL; without one, SQLite in the data directory)
      --config FILE         the server's JSON configuration file (default: $SEALPOST_CONFIG, else ./sealpost.json
                            when present); see docs/server.md`;

/**
 * The server's own argument list and environment for these options. `--database` travels as
 * DATABASE_URL, the server's one way in for it, so a URL with a password is checked (and kept out
 * of its messages) by the same code either way.
 */
export function serverArguments(v: Values, env: NodeJS.ProcessEnv): { argv: string[]; env: NodeJS.ProcessEnv } {
  const argv: string[] = [];
  const http = str(v['http']);
  const ldap = str(v['ldap']);
  const data = str(v['data']);
  const config = str(v['config']);
  const database = str(v['database']);
  if (http !== undefined) argv.push('--http', http);
  if (ldap !== undefined) argv.push('--ldap', ldap);
  if (data !== undefined) argv.push('--data', data);
  if (config !== undefined) argv.push('--config', config);
  return { argv, env: database === undefined ? env : { ...env, DATABASE_URL: database } };
}

export const serve: Command = {
  name: 'serve',
  summary: 'run the Sealpost server (REST API, CRL, OCSP, LDAP key server) until SIGINT or SIGTERM',
  usage: 'sealpost serve [--http HOST:PORT] [--ldap HOST:PORT|off] [--data DIR] [--database URL] [--config FILE]',
  help: `Options:
      --http HOST:PORT      where to listen (default: $SEALPOST_HTTP, else 127.0.0.1:8080);
                            :PORT listens on all interfaces
      --ldap HOST:PORT|off  where the LDAP key server listens, which mail clients (Outlook, Thunderbird,
                            gpgsm) search for certificates (default: $SEALPOST_LDAP, else the configuration
                            file's, else 127.0.0.1:1389); off turns it off. See docs/ldap.md
${SERVER_LOCATION_HELP}

On first start the data directory (0700), the master key (0600) and the SQLite database are
created; migrations run before the server listens. It logs JSON lines on standard output, the
first ones telling where it listens (HTTP and LDAP). SIGINT or SIGTERM drains requests in flight and exits 0; a second
signal drops them. Exit status 1: the server could not start; 2: usage or configuration error.
Create the first administrator with "sealpost admin create" (works while the server runs).

Example:
  sealpost serve --http 127.0.0.1:8080 --ldap 127.0.0.1:1389 --data /var/lib/sealpost`,
  options: { http: { type: 'string' }, ldap: { type: 'string' }, ...SERVER_LOCATION_OPTIONS },
  async run(v, _positionals, io: Io) {
    // Loaded here, not at start-up: the message commands need none of the server.
    const { main, wiring } = await import('@sealpost/server');
    const { argv, env } = serverArguments(v, io.env);
    return main(argv, env, wiring, { stdout: io.stdout, stderr: io.stderr, cwd: process.cwd() });
  },
};
