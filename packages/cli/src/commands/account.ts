/** `sealpost account add`: a login with a role for a user, made by an administrator over the API (a second administrator, say). */
import type { Account } from '@sealpost/services';
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand, str } from '../command.ts';
import { readNewPassword, UsageError } from '../io.ts';

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'add',
    summary: 'give a user (created when the address is new) a login with a role',
    options: ['email', 'role', 'name', 'password-file'],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const email = str(v['email']);
      const role = str(v['role']);
      if (email === undefined || role === undefined) throw new UsageError('--email and --role are required');
      // Loaded here, not at start-up: the message commands need none of the services.
      const { ROLES, isRole } = await import('@sealpost/services');
      if (!isRole(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
      const client = await clientFor(v, io);
      const password = await readNewPassword(str(v['password-file']), io, email);
      if (password === '') throw new UsageError('the password is empty');
      const name = str(v['name']);
      const account = await client.json<Account>('POST', '/api/v1/accounts', {
        json: { email, role, password, ...(name === undefined ? {} : { displayName: name }) },
      });
      emit(io, v, account, `created ${account.role} account ${account.email} (user ${account.userId})`);
      return 0;
    },
  },
];

export const account: Command = {
  name: 'account',
  summary: 'create login accounts with a role (administrators, operators, auditors, users)',
  usage: 'sealpost account add --email ADDRESS --role admin|operator|auditor|user [--password-file FILE]',
  help: `Subcommands:
  add  --email ADDRESS --role ROLE [--name "Display Name"] [--password-file FILE]
       ROLE: admin, operator, auditor or user. The user is created when the address is new.
       The password comes from FILE (first line); without it a terminal asks twice.
       Passwords never go on the command line.

Needs an administrator's token (the user.manage permission). The first administrator is made with
"sealpost admin create"; a second one, for four-eyes key recovery, with this command.

Options:
${CLIENT_HELP}

Example:
  sealpost account add --email second-admin@example.org --role admin --password-file second-admin.pass`,
  options: {
    ...CLIENT_OPTIONS,
    email: { type: 'string' },
    role: { type: 'string' },
    name: { type: 'string' },
    'password-file': { type: 'string' },
  },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('account', SUBCOMMANDS, v, positionals, io),
};
