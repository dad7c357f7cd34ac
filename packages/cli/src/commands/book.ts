/** `sealpost book list|add|harvest|accept|pin|reject`: the certificate book and its key-change review. */
import type { MessageStatus } from '@sealpost/core';
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit, exactlyOne, seg } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand, str } from '../command.ts';
import { EXIT, exitForStatus } from '../exit-codes.ts';
import { readFileOrFail, UsageError } from '../io.ts';

interface Entry {
  id: string;
  address: string;
  source: string;
  directory?: string;
  subject: string;
  issuer: string;
  serial: string;
  notAfter: string;
  pending: boolean;
  decision?: string;
  myDecision?: string;
}

interface HarvestReport {
  status: 'harvested' | 'refused';
  reason?: MessageStatus | 'malformed';
  message: string;
  items?: Entry[];
}

const DONE: Record<string, string> = { accept: 'accepted', pin: 'pinned', reject: 'rejected' };

/** id, address, source, certificate, and its review state: a pending key change, the decisions. */
function entryLine(e: Entry): string {
  const state = [
    e.pending ? 'PENDING key change' : undefined,
    e.decision ? `${DONE[e.decision]} for everyone` : undefined,
    e.myDecision ? `${DONE[e.myDecision]} by you` : undefined,
  ].filter(Boolean);
  const from = e.directory === undefined ? e.source : `${e.source} ${e.directory}`;
  const cert = `${e.subject} / ${e.issuer} (serial ${e.serial}, until ${e.notAfter.slice(0, 10)})`;
  return `${e.id}  ${e.address}  ${from}  ${cert}${state.length > 0 ? `  [${state.join(', ')}]` : ''}`;
}

/** PEM text travels as `pem`; anything else (a DER certificate) as `base64`. */
function certificateBody(data: Buffer): { pem: string } | { base64: string } {
  const text = data.toString('latin1');
  return text.includes('-----BEGIN') ? { pem: text } : { base64: data.toString('base64') };
}

function decision(name: 'accept' | 'pin' | 'reject', summary: string): Subcommand {
  return {
    name,
    summary,
    options: ['for-everyone'],
    async run(v, rest, io) {
      const id = exactlyOne(rest, 'entry id', `sealpost book ${name} ID [--for-everyone]`);
      const entry = await (await clientFor(v, io)).json<Entry>('POST', `/api/v1/book/${seg(id)}/${name}`, {
        json: { scope: v['for-everyone'] ? 'everyone' : 'me' },
      });
      emit(io, v, entry, `${name} ${v['for-everyone'] ? 'for everyone' : 'for you'}: ${entryLine(entry)}`);
      return EXIT.OK;
    },
  };
}

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'list',
    summary: 'list the book (all pages), or everything known for --address; --pending: key changes to review',
    options: ['address', 'pending'],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const client = await clientFor(v, io);
      const entries: Entry[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.json<{ items: Entry[]; next?: string }>('GET', '/api/v1/book', {
          query: {
            address: str(v['address']),
            pending: v['pending'] ? 'true' : undefined,
            cursor,
            ...(v['address'] === undefined ? { limit: 500 } : {}),
          },
        });
        entries.push(...page.items);
        cursor = page.next;
      } while (cursor !== undefined);
      emit(io, v, entries, entries.map(entryLine).join('\n'));
      return EXIT.OK;
    },
  },
  {
    name: 'add',
    summary: 'add the certificate of FILE (PEM or DER) for every mailbox it names',
    options: [],
    async run(v, rest, io) {
      const file = exactlyOne(rest, 'certificate file', 'sealpost book add FILE');
      const data = await readFileOrFail(file, 'certificate file');
      const added = await (await clientFor(v, io)).json<{ items: Entry[] }>('POST', '/api/v1/book', {
        json: certificateBody(data),
      });
      emit(io, v, added, added.items.map((e) => `added ${entryLine(e)}`).join('\n'));
      return EXIT.OK;
    },
  },
  {
    name: 'harvest',
    summary: "record the signer's certificates and capabilities of the signed message FILE",
    options: [],
    async run(v, rest, io) {
      const file = exactlyOne(rest, 'message file', 'sealpost book harvest FILE');
      const message = await readFileOrFail(file, 'message');
      const report = await (await clientFor(v, io)).json<HarvestReport>('POST', '/api/v1/book/harvest', {
        body: { data: message, type: 'message/rfc822' },
      });
      const text =
        report.status === 'harvested'
          ? [`harvested: ${report.message}`, ...(report.items ?? []).map(entryLine)].join('\n')
          : `not harvested (${report.reason}): ${report.message}`;
      emit(io, v, report, text);
      if (report.status === 'harvested') return EXIT.OK;
      return report.reason === 'malformed' || report.reason === undefined
        ? EXIT.MALFORMED
        : exitForStatus(report.reason);
    },
  },
  decision('accept', 'use the certificate ID (a key change, or one whose chain reaches no anchor)'),
  decision('pin', 'use only the certificate ID for its address'),
  decision('reject', 'never use the certificate ID'),
];

export const book: Command = {
  name: 'book',
  summary: "the certificate book: correspondents' certificates and key-change review",
  usage:
    'sealpost book list [--address A] [--pending] | book add FILE | book harvest FILE | book accept|pin|reject ID [--for-everyone]',
  help: `Subcommands:
  list     [--address ADDRESS] [--pending]: the book by address; with --address everything known
           for that correspondent (Sealpost's own certificates included); --pending only key
           changes waiting for review
  add      FILE: a certificate (PEM or DER), added by hand for every mailbox it names
  harvest  FILE: a signed message (RFC 5322). Only a message whose signatures verify, whose signer
           chains to a trust anchor and matches the From address is harvested; otherwise the exit
           status says why, as for "sealpost verify" (1 bad signature, 3 untrusted, 4 sender
           mismatch, 5 partly signed, 6 not signed, 7 malformed)
  accept   ID: use this certificate although it is a key change or its chain reaches no anchor
  pin      ID: use only this certificate for its address
  reject   ID: never use this certificate
           Decisions are yours only (they win when you resolve recipients) unless --for-everyone,
           which needs an administrator or operator and ends the key-change review

Options:
      --for-everyone        decide for every user, not only for yourself
${CLIENT_HELP}

Example:
  sealpost book list --pending
  sealpost book accept 0b7e1c52-9a55-4a43-a3a5-2f0c8f3d7c11 --for-everyone`,
  options: {
    ...CLIENT_OPTIONS,
    address: { type: 'string' },
    pending: { type: 'boolean' },
    'for-everyone': { type: 'boolean' },
  },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('book', SUBCOMMANDS, v, positionals, io),
};
