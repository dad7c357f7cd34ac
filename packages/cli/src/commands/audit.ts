/** `sealpost audit verify`: checks the server's hash-chained audit log end to end. */
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { UsageError } from '../io.ts';

type Verification =
  | { ok: true; entries: number; head?: { seq: number; hash: string } }
  | { ok: false; brokenAt: number; reason: string; message?: string };

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'verify',
    summary: 'verify the audit chain: exit 0 when intact, 1 when broken',
    options: [],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const result = await (await clientFor(v, io)).json<Verification>('GET', '/api/v1/audit/verify');
      if (result.ok) {
        const head = result.head === undefined ? 'none (empty log)' : `#${result.head.seq} ${result.head.hash}`;
        emit(io, v, result, `audit chain intact: ${result.entries} entries, head ${head}`);
        return EXIT.OK;
      }
      emit(io, v, result, '');
      io.stderr.write(
        `sealpost audit: the audit chain is broken at entry ${result.brokenAt}: ${result.message ?? result.reason} (${result.reason})\n`,
      );
      return EXIT.AUDIT_BROKEN;
    },
  },
];

export const audit: Command = {
  name: 'audit',
  summary: "verify the server's tamper-evident audit log",
  usage: 'sealpost audit verify',
  help: `Subcommands:
  verify  recompute the hash chain over every entry; exit 0 when it verifies, 1 when an entry was
          altered, removed or reordered (the message names the first bad entry)

Options:
${CLIENT_HELP}

Example:
  sealpost audit verify`,
  options: { ...CLIENT_OPTIONS },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('audit', SUBCOMMANDS, v, positionals, io),
};
