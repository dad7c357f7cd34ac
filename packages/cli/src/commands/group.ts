/** `sealpost group ...`: groups, their members, and the templates members are enrolled in automatically. */
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit, seg, userIdOf } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand } from '../command.ts';
import { UsageError } from '../io.ts';

function args(rest: string[], count: number, usage: string): string[] {
  if (rest.length !== count) throw new UsageError(`usage: sealpost group ${usage}`);
  return rest;
}

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'add',
    summary: 'create a group',
    options: [],
    async run(v, rest, io) {
      const [name] = args(rest, 1, 'add NAME');
      const group = await (await clientFor(v, io)).json<{ name: string }>('POST', '/api/v1/groups', {
        json: { name },
      });
      emit(io, v, group, `created group ${group.name}`);
      return 0;
    },
  },
  {
    name: 'list',
    summary: 'list the groups',
    options: [],
    async run(v, rest, io) {
      args(rest, 0, 'list');
      const list = await (await clientFor(v, io)).json<{ name: string }[] | { items: { name: string }[] }>(
        'GET',
        '/api/v1/groups',
      );
      emit(io, v, list, (Array.isArray(list) ? list : list.items).map((g) => g.name).join('\n'));
      return 0;
    },
  },
  {
    name: 'add-member',
    summary: 'add a user (e-mail address or id) to a group',
    options: [],
    async run(v, rest, io) {
      const [group, who] = args(rest, 2, 'add-member GROUP USER');
      const client = await clientFor(v, io);
      const id = await userIdOf(client, who!);
      await client.send('PUT', `/api/v1/groups/${seg(group!)}/members/${seg(id)}`);
      emit(io, v, { group, userId: id }, `${who} is a member of ${group}`);
      return 0;
    },
  },
  {
    name: 'remove-member',
    summary: 'remove a user (e-mail address or id) from a group',
    options: [],
    async run(v, rest, io) {
      const [group, who] = args(rest, 2, 'remove-member GROUP USER');
      const client = await clientFor(v, io);
      const id = await userIdOf(client, who!);
      await client.send('DELETE', `/api/v1/groups/${seg(group!)}/members/${seg(id)}`);
      emit(io, v, { group, userId: id }, `${who} is no longer a member of ${group}`);
      return 0;
    },
  },
  {
    name: 'assign-template',
    summary: "enrol the group's members (now and when they join) in a template",
    options: [],
    async run(v, rest, io) {
      const [group, name] = args(rest, 2, 'assign-template GROUP TEMPLATE');
      await (await clientFor(v, io)).send('PUT', `/api/v1/groups/${seg(group!)}/templates/${seg(name!)}`);
      emit(io, v, { group, template: name }, `members of ${group} are enrolled in ${name}`);
      return 0;
    },
  },
];

export const group: Command = {
  name: 'group',
  summary: 'groups, members and auto-enrollment templates',
  usage:
    'sealpost group add NAME | list | add-member GROUP USER | remove-member GROUP USER | assign-template GROUP TEMPLATE',
  help: `Subcommands:
  add              NAME
  list
  add-member       GROUP USER   (USER: an e-mail address or a user id)
  remove-member    GROUP USER
  assign-template  GROUP TEMPLATE: every member gets a certificate from TEMPLATE, now and on joining

Options:
${CLIENT_HELP}

Example:
  sealpost group assign-template staff dual-use`,
  options: { ...CLIENT_OPTIONS },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('group', SUBCOMMANDS, v, positionals, io),
};
