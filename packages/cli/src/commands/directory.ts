/** `sealpost directory list|import|publish`: the server's external LDAP/AD directories. */
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit, exactlyOne, seg } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { UsageError } from '../io.ts';

interface Directory {
  name: string;
  url: string;
  baseDn: string;
  uses: string[];
  pending?: number;
}

interface ImportReport {
  source: string;
  people: number;
  groups: number;
  created: number;
  updated: number;
  disabled: number;
  enabled: number;
  joined: number;
  left: number;
  skipped: { entry: string; reason: string }[];
}

interface PublishReport {
  published: number;
  removed: number;
  noEntry: number;
  failed: { target: string; address: string; operation: string; code: string; message: string }[];
  unreachable: string[];
}

function noArguments(rest: string[]): void {
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
}

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'list',
    summary: 'the configured directories: name, URL, base DN, uses, pending publications',
    options: [],
    async run(v, rest, io) {
      noArguments(rest);
      const { items } = await (await clientFor(v, io)).json<{ items: Directory[] }>('GET', '/api/v1/directories');
      const width = Math.max(0, ...items.map((d) => d.name.length));
      const lines = items.map(
        (d) =>
          `${d.name.padEnd(width)}  ${d.url}  ${d.baseDn}  ${d.uses.join(', ')}` +
          (d.pending === undefined ? '' : `  (${d.pending} pending)`),
      );
      emit(io, v, { items }, items.length === 0 ? 'no external directories are configured' : lines.join('\n'));
      return EXIT.OK;
    },
  },
  {
    name: 'import',
    summary: 'import people and groups from the directory NAME now',
    options: [],
    async run(v, rest, io) {
      const name = exactlyOne(rest, 'directory name', 'sealpost directory import NAME');
      const r = await (await clientFor(v, io)).json<ImportReport>('POST', `/api/v1/directories/${seg(name)}/import`);
      emit(
        io,
        v,
        r,
        [
          `imported from ${r.source}: ${r.people} people, ${r.groups} groups; created ${r.created}, updated ${r.updated}, ` +
            `disabled ${r.disabled}, enabled ${r.enabled}; joined ${r.joined}, left ${r.left}; skipped ${r.skipped.length}`,
          ...r.skipped.map((s) => `  skipped ${s.entry}: ${s.reason}`),
        ].join('\n'),
      );
      return EXIT.OK;
    },
  },
  {
    name: 'publish',
    summary: 'publish certificates to the publish directories now (what the job does every minute)',
    options: [],
    async run(v, rest, io) {
      noArguments(rest);
      const r = await (await clientFor(v, io)).json<PublishReport>('POST', '/api/v1/directories/publish');
      emit(
        io,
        v,
        r,
        [
          `published ${r.published}, removed ${r.removed}, no entry ${r.noEntry}, failed ${r.failed.length}`,
          ...r.failed.map((f) => `  failed: ${f.target} ${f.operation} ${f.address}: ${f.message} (${f.code})`),
          ...r.unreachable.map((name) => `  unreachable: ${name} (the rest waits for the next run)`),
        ].join('\n'),
      );
      return r.failed.length > 0 || r.unreachable.length > 0 ? EXIT.SERVER_ERROR : EXIT.OK;
    },
  },
];

export const directory: Command = {
  name: 'directory',
  summary: "list the server's external LDAP directories, run an import or publishing now",
  usage: 'sealpost directory list|import NAME|publish [--json]',
  help: `Subcommands:
  list     the directories of the server's configuration ("directories"): name, URL, base DN,
           what each is used for (lookup, publish, import) and, for publish directories, how many
           publications are pending (to be retried, or addresses without an entry there)
  import   NAME: import people and groups from the directory now (the server does it hourly);
           prints what was created, updated, disabled and why entries were skipped
  publish  put new certificates into and revoked or expired ones out of the users' entries in the
           publish directories now (the server does it every minute); exit 16 when some
           publication failed or a directory could not be reached (the server retries them)

Options:
${CLIENT_HELP}

Examples:
  sealpost directory list
  sealpost directory import corp --json
  sealpost directory publish`,
  options: { ...CLIENT_OPTIONS },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('directory', SUBCOMMANDS, v, positionals, io),
};
