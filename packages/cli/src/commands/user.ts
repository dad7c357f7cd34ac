/** `sealpost user add|import|list`: the server's user directory. */
import type { CsvImportReport } from '@sealpost/services';
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit, exactlyOne } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand, str, strings } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { readFileOrFail, UsageError } from '../io.ts';

interface User {
  id: string;
  email: string;
  displayName: string;
  status: string;
}

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'add',
    summary: 'create a user (certificate subject; not a login)',
    options: ['email', 'name', 'group'],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const email = str(v['email']);
      if (email === undefined) throw new UsageError('--email is required');
      const groups = strings(v['group']);
      const user = await (await clientFor(v, io)).json<User>('POST', '/api/v1/users', {
        json: { email, displayName: str(v['name']) ?? email, ...(groups.length > 0 ? { groups } : {}) },
      });
      emit(io, v, user, `created user ${user.email} (${user.id})`);
      return 0;
    },
  },
  {
    name: 'import',
    summary: 'create users from a CSV file (email,display_name,groups)',
    options: ['best-effort'],
    async run(v, rest, io) {
      const file = exactlyOne(rest, 'CSV file', 'sealpost user import FILE');
      const csv = await readFileOrFail(file, 'CSV file');
      const report = await (await clientFor(v, io)).json<CsvImportReport>('POST', '/api/v1/users/import', {
        query: { mode: v['best-effort'] ? 'best-effort' : 'all-or-nothing' },
        json: { csv: csv.toString('utf8') },
      });
      const head = report.committed
        ? `imported ${file}: ${report.created} created, ${report.updated} updated`
        : `nothing imported from ${file}`;
      const lines = report.errors.map((e) => `  line ${e.line}: ${e.message}`);
      emit(io, v, report, [head + (lines.length > 0 ? `; ${lines.length} row(s) refused:` : ''), ...lines].join('\n'));
      // Nothing written while rows were refused: the input needs fixing, as for any invalid request.
      if (!report.committed && report.errors.length > 0) return EXIT.USAGE;
      return 0;
    },
  },
  {
    name: 'list',
    summary: 'list users (all pages), filtered by --email, --group or --status',
    options: ['email', 'group', 'status'],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const groups = strings(v['group']);
      if (groups.length > 1) throw new UsageError('give at most one --group');
      const client = await clientFor(v, io);
      const users: User[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.json<{ items: User[]; next?: string | null }>('GET', '/api/v1/users', {
          query: { email: str(v['email']), group: groups[0], status: str(v['status']), cursor, limit: 100 },
        });
        users.push(...page.items);
        cursor = page.next ?? undefined;
      } while (cursor !== undefined);
      emit(io, v, users, users.map((u) => `${u.id}  ${u.email}  ${u.displayName}  ${u.status}`).join('\n'));
      return 0;
    },
  },
];

export const user: Command = {
  name: 'user',
  summary: 'add, import and list users',
  usage:
    'sealpost user add --email ADDRESS [--name NAME] [--group G ...] | user import FILE [--best-effort] | user list',
  help: `Subcommands:
  add     --email ADDRESS [--name "Display Name"] [--group GROUP ...] (groups are created as needed)
  import  FILE: CSV with the header email,display_name,groups (groups separated by ";");
          all rows or none, unless --best-effort (then the report lists the refused rows)
  list    [--email ADDRESS] [--group GROUP] [--status active|disabled]

Options:
${CLIENT_HELP}

Example:
  sealpost user add --email alice@example.org --name "Alice Example" --group staff`,
  options: {
    ...CLIENT_OPTIONS,
    email: { type: 'string' },
    name: { type: 'string' },
    group: { type: 'string', multiple: true },
    status: { type: 'string' },
    'best-effort': { type: 'boolean' },
  },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('user', SUBCOMMANDS, v, positionals, io),
};
