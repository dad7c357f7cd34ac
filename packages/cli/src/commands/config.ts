/** `sealpost config check`: validates the server's configuration file and environment, naming each problem. */
import { type Command, runSubcommand, type Subcommand, str } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { UsageError } from '../io.ts';
import { printJson } from '../report.ts';

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'check',
    summary: 'check the configuration file and environment; print the effective settings',
    options: [],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const { ConfigError, resolveConfig } = await import('@sealpost/server');
      const file = str(v['config']);
      try {
        const config = await resolveConfig({
          options: file === undefined ? {} : { config: file },
          env: io.env,
          cwd: process.cwd(),
        });
        const masterKey =
          'path' in config.masterKey
            ? `file ${config.masterKey.path}`
            : 'command' in config.masterKey
              ? `command ${config.masterKey.command.join(' ')}`
              : 'from SEALPOST_MASTER_KEY';
        const summary = {
          ok: true,
          http: config.http,
          dataDir: config.dataDir,
          // The URL may hold a password: only which database it is.
          database: config.databaseUrl === undefined ? 'sqlite' : 'postgres',
          masterKey,
          trustProxy: config.trustProxy,
          logLevel: config.logLevel,
        };
        if (v.json) printJson(io, summary);
        else
          io.stdout.write(
            `configuration ok\n  listen     ${summary.http}\n  data       ${summary.dataDir}\n  database   ${summary.database}\n  master key ${masterKey}\n  log level  ${summary.logLevel}${summary.trustProxy ? '\n  behind a TLS-terminating proxy' : ''}\n`,
          );
        return EXIT.OK;
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        if (v.json) printJson(io, { ok: false, problems: e.problems });
        io.stderr.write(`sealpost config check: the configuration has problems:\n  ${e.problems.join('\n  ')}\n`);
        return EXIT.USAGE;
      }
    },
  },
];

export const config: Command = {
  name: 'config',
  summary: "check the server's configuration",
  usage: 'sealpost config check [--config FILE] [--json]',
  help: `Subcommands:
  check  validate the JSON configuration file (and the SEALPOST_* / DATABASE_URL environment)
         as "sealpost serve" would read them; exit 0 when valid, 2 with one line per problem

Options:
      --config FILE   the file (default: $SEALPOST_CONFIG, else ./sealpost.json when present)
      --json          print {ok, ...settings} or {ok: false, problems}

Example:
  sealpost config check --config /etc/sealpost/sealpost.json`,
  options: { config: { type: 'string' }, json: { type: 'boolean' } },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('config', SUBCOMMANDS, v, positionals, io),
};
