/**
 * `sealpost admin create`: the first administrator (or another local account), made directly in
 * the data directory or database — before any administrator exists, nobody can call the API.
 */
import { randomBytes } from 'node:crypto';
import { ApiError } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand, str, subcommandHelp } from '../command.ts';
import { exitForServiceCode } from '../exit-codes.ts';
import { readNewPassword, UsageError } from '../io.ts';
import { printJson } from '../report.ts';
import { SERVER_LOCATION_HELP, SERVER_LOCATION_OPTIONS, serverArguments } from './serve.ts';

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'create',
    summary: 'create an account with a password (the first administrator, before the API can be used)',
    options: ['email', 'role', 'password-file'],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const email = str(v['email']);
      if (email === undefined) throw new UsageError('--email is required');
      const role = str(v['role']) ?? 'admin';
      // Loaded here, not at start-up: the message commands need none of the services.
      const { ROLES, isRole } = await import('@sealpost/services');
      if (!isRole(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
      const password = await readNewPassword(str(v['password-file']), io, email);
      // Loaded here, not at start-up: the message commands need none of the server.
      const [{ ConfigError, resolveConfig }, services, { openDatabase, isStoreError }] = await Promise.all([
        import('@sealpost/server'),
        import('@sealpost/services'),
        import('@sealpost/store'),
      ]);
      const configFile = str(v['config']);
      const dataDir = str(v['data']);
      let config: Awaited<ReturnType<typeof resolveConfig>>;
      try {
        // The same resolution as "sealpost serve", so both find the same data directory and database.
        config = await resolveConfig({
          options: {
            ...(configFile === undefined ? {} : { config: configFile }),
            ...(dataDir === undefined ? {} : { dataDir }),
          },
          env: serverArguments(v, io.env).env,
          cwd: process.cwd(),
        });
      } catch (e) {
        if (e instanceof ConfigError) throw new UsageError(e.message);
        throw e;
      }
      try {
        const db = await openDatabase(
          config.databaseUrl === undefined ? { dataDir: config.dataDir } : { url: config.databaseUrl },
        );
        try {
          const clock = services.systemClock;
          const audit = new services.AuditLog(clock);
          // The CSRF key signs sessions' tokens; this command makes no session, so a throw-away one does.
          const accounts = new services.Accounts({ db, audit, clock, csrfKey: randomBytes(32) });
          let account: import('@sealpost/services').Account;
          if (role === 'admin') {
            account = await accounts.createAdmin(email, password);
          } else {
            const users = new services.UserDirectory({ db, audit, clock });
            const user =
              (await users.findByEmail(email)) ?? (await users.create('system', { email, displayName: email }));
            account = await accounts.createAccount('system', user.id, password, role);
          }
          if (v.json) printJson(io, account);
          else io.stdout.write(`created ${account.role} account ${account.email} (user ${account.userId})\n`);
          return 0;
        } finally {
          await db.close();
        }
      } catch (e) {
        if (services.isServiceError(e) || isStoreError(e))
          throw new ApiError(e.code, e.message, exitForServiceCode(e.code));
        throw e;
      }
    },
  },
];

export const admin: Command = {
  name: 'admin',
  summary: 'create accounts directly in the data directory (bootstrap the first administrator)',
  usage: 'sealpost admin create --email ADDRESS [--role ROLE] [--password-file FILE] [--data DIR] [--database URL]',
  help: `Subcommands:
${subcommandHelp(SUBCOMMANDS)}

Options:
      --email ADDRESS       the account's e-mail address (its user is created when new)
      --role ROLE           admin (default), operator, auditor or user; a second admin is refused here:
                            administrators create further accounts through the API
      --password-file FILE  the password, from FILE (first line); without it a terminal asks twice.
                            Passwords never go on the command line.
${SERVER_LOCATION_HELP}
      --json                print the account as JSON

Works on the same data directory or database as "sealpost serve" (give it the same options), whether
or not the server runs; the creation is recorded in the audit log.

Example:
  sealpost admin create --email admin@example.org --data /var/lib/sealpost`,
  options: {
    email: { type: 'string' },
    role: { type: 'string' },
    'password-file': { type: 'string' },
    json: { type: 'boolean' },
    ...SERVER_LOCATION_OPTIONS,
  },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('admin', SUBCOMMANDS, v, positionals, io),
};
