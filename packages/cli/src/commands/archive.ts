/** `sealpost archive request|approve|release`: four-eyes recovery of archived private keys. */
import {
  type ApiClient,
  ApiError,
  CLIENT_HELP,
  CLIENT_OPTIONS,
  clientFor,
  emit,
  exactlyOne,
  seg,
  userIdOf,
  writeSecretFile,
} from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand, str } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { UsageError } from '../io.ts';

interface ArchivedKey {
  archivedKeyId: string;
  serial: string;
  notAfter: string;
  status: string;
}

async function history(client: ApiClient, who: string): Promise<ArchivedKey[]> {
  const id = await userIdOf(client, who);
  return (await client.json<{ items: ArchivedKey[] }>('GET', `/api/v1/users/${seg(id)}/keys`)).items;
}

interface RecoveryRequest {
  id: string;
  status?: string;
}

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'keys',
    summary: "a user's archived keys (key history), newest first",
    options: ['user'],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const who = str(v['user']);
      if (who === undefined) throw new UsageError('--user is required');
      const keys = await history(await clientFor(v, io), who);
      emit(
        io,
        v,
        keys,
        keys.map((k) => `${k.archivedKeyId}  serial ${k.serial}  ${k.status}  until ${k.notAfter}`).join('\n'),
      );
      return 0;
    },
  },
  {
    name: 'request',
    summary: 'ask to recover an archived key (another administrator must approve)',
    options: ['key', 'user', 'serial', 'reason'],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const reason = str(v['reason']);
      const who = str(v['user']);
      const serial = str(v['serial']);
      if (reason === undefined) throw new UsageError('--reason is required');
      if ((str(v['key']) === undefined) === (who === undefined || serial === undefined)) {
        throw new UsageError('give --key ID, or --user ADDRESS and --serial SERIAL');
      }
      const client = await clientFor(v, io);
      let archivedKeyId = str(v['key']);
      if (archivedKeyId === undefined) {
        const key = (await history(client, who!)).find((k) => k.serial.toLowerCase() === serial!.toLowerCase());
        if (key === undefined) {
          throw new ApiError('NOT_FOUND', `${who} has no archived key for certificate ${serial}`, EXIT.NOT_FOUND);
        }
        archivedKeyId = key.archivedKeyId;
      }
      const request = await client.json<RecoveryRequest>('POST', '/api/v1/recovery-requests', {
        json: { archivedKeyId, reason },
      });
      emit(
        io,
        v,
        request,
        `recovery request ${request.id} created; another administrator approves it with "sealpost archive approve ${request.id}"`,
      );
      return 0;
    },
  },
  {
    name: 'approve',
    summary: 'approve a recovery request (not your own)',
    options: [],
    async run(v, rest, io) {
      const id = exactlyOne(rest, 'request id', 'sealpost archive approve ID');
      const request = await (await clientFor(v, io)).json<RecoveryRequest>(
        'POST',
        `/api/v1/recovery-requests/${seg(id)}/approve`,
      );
      emit(io, v, request ?? { id }, `recovery request ${id} approved`);
      return 0;
    },
  },
  {
    name: 'release',
    summary: 'release an approved recovery: write the PKCS#12 (0600) to --out, once',
    options: ['out'],
    async run(v, rest, io) {
      const id = exactlyOne(rest, 'request id', 'sealpost archive release ID --out FILE');
      const out = str(v['out']);
      if (out === undefined) throw new UsageError('--out FILE is required (the PKCS#12 is released only once)');
      const released = await (await clientFor(v, io)).json<{ pkcs12Base64: string; password: string }>(
        'POST',
        `/api/v1/recovery-requests/${seg(id)}/release`,
      );
      await writeSecretFile(out, Buffer.from(released.pkcs12Base64, 'base64'));
      io.stderr.write(`PKCS#12 password (shown once, keep it safe): ${released.password}\n`);
      emit(io, v, { id, pkcs12File: out }, `released recovery ${id}: ${out}`);
      return 0;
    },
  },
];

export const archive: Command = {
  name: 'archive',
  summary: 'recover archived private keys under four eyes: keys, request, approve, release',
  usage:
    'sealpost archive keys --user ADDRESS | archive request (--key ID | --user ADDRESS --serial SERIAL) --reason TEXT | archive approve ID | archive release ID --out FILE',
  help: `Subcommands:
  keys     --user ADDRESS: the user's archived keys, with their ids and certificate serials
  request  (--key ARCHIVED-KEY-ID | --user ADDRESS --serial SERIAL) --reason TEXT
  approve  ID: a different administrator than the requester approves
  release  ID --out FILE: the PKCS#12 is written with mode 0600 and its password printed once
           on standard error; a request is released only once

Options:
${CLIENT_HELP}

Example:
  sealpost archive release 6d1c0f3e-2b7a-4e59-9a43-0c1f3b7e8a21 --out alice-recovered.p12`,
  options: {
    ...CLIENT_OPTIONS,
    key: { type: 'string' },
    user: { type: 'string' },
    serial: { type: 'string' },
    reason: { type: 'string' },
    out: { type: 'string', short: 'o' },
  },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('archive', SUBCOMMANDS, v, positionals, io),
};
