/**
 * `sealpost admin create`: the first administrator (or another local account), made directly in
 * the data directory or database — before any administrator exists, nobody can call the API.
 * `sealpost admin rotate-master-key`: re-wraps the data keys under a new master key, in place.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { ServerConfig } from '@sealpost/server';
import { ApiError } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand, str, subcommandHelp, type Values } from '../command.ts';
import { EXIT, exitForServiceCode } from '../exit-codes.ts';
import { type Io, readNewPassword, UsageError } from '../io.ts';
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
      const config = await serverConfig(v, io);
      const [services, { openDatabase, isStoreError }] = await Promise.all([
        import('@sealpost/services'),
        import('@sealpost/store'),
      ]);
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

  {
    name: 'rotate-master-key',
    summary: 're-wrap every data key under a new master key (see docs/server.md for the whole procedure)',
    options: ['new-key-file'],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const newKeyFile = str(v['new-key-file']);
      if (newKeyFile === undefined) throw new UsageError('--new-key-file is required');
      const config = await serverConfig(v, io);
      const [services, { loadMasterKey, openDatabase, isStoreError }] = await Promise.all([
        import('@sealpost/services'),
        import('@sealpost/store'),
      ]);
      try {
        // The configured keys are loaded as "sealpost serve" loads them, except that a missing key file
        // is an error here: a key made now would wrap nothing.
        const configured = await Promise.all(
          [config.masterKey, ...(config.previousMasterKeys ?? [])].map((source) =>
            loadMasterKey('path' in source ? { path: source.path, create: false } : source),
          ),
        );
        const newKeyPath = resolve(process.cwd(), newKeyFile);
        // Created (0600) when missing; an existing file is only read: key files are never overwritten.
        const newKey = await loadMasterKey({ path: newKeyPath, create: true });
        const oldKeys = [...new Map(configured.filter((k) => k.id !== newKey.id).map((k) => [k.id, k])).values()];
        if (oldKeys.length === 0) {
          throw new UsageError(
            `${newKeyPath} holds the only master key configured: give the old key as a previous master key ` +
              '(previousMasterKeys in the configuration file, or SEALPOST_PREVIOUS_MASTER_KEYS) so that its data keys can be re-wrapped',
          );
        }
        const db = await openDatabase(
          config.databaseUrl === undefined ? { dataDir: config.dataDir } : { url: config.databaseUrl },
        );
        try {
          let rewrapped = 0;
          for (const oldKey of oldKeys) rewrapped += await services.rotateMasterKey(db, oldKey, newKey);
          // Data keys under a master key nobody gave would be lost with the old key: the operator must know.
          const rows = await db.all<{ master_key_id: string; n: number | string | bigint }>(
            'SELECT master_key_id, COUNT(*) AS n FROM data_keys WHERE master_key_id <> ? GROUP BY master_key_id ORDER BY master_key_id',
            [newKey.id],
          );
          const remaining = rows.map((r) => ({ masterKeyId: r.master_key_id, dataKeys: Number(r.n) }));
          if (v.json) {
            printJson(io, {
              rewrapped,
              masterKeyId: newKey.id,
              fromMasterKeyIds: oldKeys.map((k) => k.id),
              remaining,
            });
          } else {
            io.stdout.write(
              `re-wrapped ${rewrapped} data key${rewrapped === 1 ? '' : 's'} under master key ${newKey.id} ` +
                `(from ${oldKeys.map((k) => k.id).join(', ')})\n`,
            );
          }
          if (remaining.length > 0) {
            io.stderr.write(
              `sealpost admin: data keys are still wrapped by master keys not given here: ${remaining
                .map((r) => `${r.masterKeyId} (${r.dataKeys})`)
                .join(', ')}; keep those keys, list them in previousMasterKeys and run this again\n`,
            );
            return EXIT.KEY;
          }
          if (!v.json) {
            io.stdout.write(`Every data key is now wrapped by the new key. Last step: make ${newKeyPath} the master key of
every node with no previous master keys (remove the old key from previousMasterKeys or
SEALPOST_PREVIOUS_MASTER_KEYS), restart the nodes one by one, then retire the old key.
`);
          }
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

/** The server's configuration, resolved as "sealpost serve" resolves it, so both find the same data and keys. */
async function serverConfig(v: Values, io: Io): Promise<ServerConfig> {
  // Loaded here, not at start-up: the message commands need none of the server.
  const { ConfigError, resolveConfig } = await import('@sealpost/server');
  const configFile = str(v['config']);
  const dataDir = str(v['data']);
  try {
    return await resolveConfig({
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
}

export const admin: Command = {
  name: 'admin',
  summary: 'create accounts and rotate the master key directly in the data directory or database',
  usage: `sealpost admin create --email ADDRESS [--role ROLE] [--password-file FILE] [--data DIR] [--database URL]
       sealpost admin rotate-master-key --new-key-file FILE [--data DIR] [--database URL] [--config FILE]`,
  help: `Subcommands:
${subcommandHelp(SUBCOMMANDS)}

Options:
      --email ADDRESS       the account's e-mail address (its user is created when new)
      --role ROLE           admin (default), operator, auditor or user; a second admin is refused here:
                            administrators create further accounts through the API
      --password-file FILE  the password, from FILE (first line); without it a terminal asks twice.
                            Passwords never go on the command line.
      --new-key-file FILE   rotate-master-key: the new master key (base64, one line); created with
                            32 random bytes (mode 0600) when missing, never overwritten
${SERVER_LOCATION_HELP}
      --json                print the account, or the rotation's counts, as JSON

Both work on the same data directory or database as "sealpost serve" (give it the same options and
environment), whether or not the server runs; account creation is recorded in the audit log.
rotate-master-key re-wraps the data keys held by the configured master key and previous master keys
(previousMasterKeys, SEALPOST_PREVIOUS_MASTER_KEYS) under the new key, in small transactions; it may
be run again after an interruption. Without downtime: run the nodes with the new key as master key
and the old one as previous first, rotate, then drop the old key (docs/server.md).

Examples:
  sealpost admin create --email admin@example.org --data /var/lib/sealpost
  sealpost admin rotate-master-key --new-key-file /etc/sealpost/master-2027.key --data /var/lib/sealpost`,
  options: {
    email: { type: 'string' },
    role: { type: 'string' },
    'password-file': { type: 'string' },
    'new-key-file': { type: 'string' },
    json: { type: 'boolean' },
    ...SERVER_LOCATION_OPTIONS,
  },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('admin', SUBCOMMANDS, v, positionals, io),
};
