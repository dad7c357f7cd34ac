/** `sealpost template list|show|edit`: the certificate templates the server issues from. */
import type { TemplateBody } from '@sealpost/services';
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit, exactlyOne, seg } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand, str, strings } from '../command.ts';
import { readFileOrFail, UsageError } from '../io.ts';

type Template = TemplateBody & { name: string };

/** `key=value`: the value as JSON when it parses (numbers, booleans, null, arrays), else as a string; `keys.rsaMinBits` reaches inside. */
export function applySetting(body: Record<string, unknown>, setting: string): void {
  const eq = setting.indexOf('=');
  if (eq <= 0) throw new UsageError(`--set takes key=value (got "${setting}")`);
  const path = setting.slice(0, eq).split('.');
  const raw = setting.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  let target = body;
  for (const key of path.slice(0, -1)) {
    const next = target[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      throw new UsageError(`--set ${path.join('.')}: "${key}" is not an object in the template`);
    }
    target = next as Record<string, unknown>;
  }
  target[path.at(-1)!] = value;
}

function describe(t: Template): string {
  return `${t.name}  ${t.purpose}  ${t.validityDays} days  archive keys: ${t.archiveKeys ? 'yes' : 'no'}  server keys: ${t.exportable ? 'yes' : 'no'}`;
}

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'list',
    summary: 'list the templates',
    options: [],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const list = await (await clientFor(v, io)).json<Template[] | { items: Template[] }>('GET', '/api/v1/templates');
      emit(io, v, list, (Array.isArray(list) ? list : list.items).map(describe).join('\n'));
      return 0;
    },
  },
  {
    name: 'show',
    summary: 'show one template in full (JSON)',
    options: [],
    async run(v, rest, io) {
      const name = exactlyOne(rest, 'template name', 'sealpost template show NAME');
      const t = await (await clientFor(v, io)).json<Template>('GET', `/api/v1/templates/${seg(name)}`);
      emit(io, v, t, JSON.stringify(t, null, 2));
      return 0;
    },
  },
  {
    name: 'edit',
    summary: 'change a template: --set key=value ... on the current one, or a whole body from --file',
    options: ['set', 'file'],
    async run(v, rest, io) {
      const name = exactlyOne(rest, 'template name', 'sealpost template edit NAME --set key=value');
      const sets = strings(v['set']);
      const file = str(v['file']);
      if (sets.length > 0 === (file !== undefined)) throw new UsageError('give --set key=value ... or --file FILE');
      const client = await clientFor(v, io);
      let body: Record<string, unknown>;
      if (file !== undefined) {
        try {
          body = JSON.parse((await readFileOrFail(file, 'template body')).toString('utf8'));
        } catch (e) {
          if (e instanceof SyntaxError) throw new UsageError(`${file} is not valid JSON: ${e.message}`);
          throw e;
        }
      } else {
        // A GET shows the template's name beside its body; a PUT takes the body alone.
        const { name: _name, ...current } = await client.json<Record<string, unknown>>(
          'GET',
          `/api/v1/templates/${seg(name)}`,
        );
        body = current;
        for (const s of sets) applySetting(body, s);
      }
      const saved = await client.json<Template>('PUT', `/api/v1/templates/${seg(name)}`, { json: body });
      emit(io, v, saved, saved ? `saved ${describe({ ...saved, name })}` : `saved template ${name}`);
      return 0;
    },
  },
];

export const template: Command = {
  name: 'template',
  summary: 'list, show and edit certificate templates',
  usage: 'sealpost template list | template show NAME | template edit NAME (--set key=value ... | --file FILE)',
  help: `Subcommands:
  list   the templates: purpose, validity, key archiving, whether the server may generate keys
  show   one template's full body
  edit   --set key=value (repeatable; values are JSON when they parse, keys.rsaMinBits reaches inside)
         or --file FILE with the whole body; the server checks it and names a bad field

Options:
${CLIENT_HELP}

Example:
  sealpost template edit dual-use --set validityDays=730 --set keys.rsaMinBits=3072`,
  options: { ...CLIENT_OPTIONS, set: { type: 'string', multiple: true }, file: { type: 'string' } },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('template', SUBCOMMANDS, v, positionals, io),
};
