/** `sealpost ca init|show|crl`: the server's certificate authorities. */
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit, seg } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand, str } from '../command.ts';
import { UsageError, writeOutput } from '../io.ts';

interface CaInfo {
  id: string;
  name: string;
  subject?: string;
  status?: string;
  notAfter?: string;
}

/** `CN=Example Root,O=Example,C=DE` → the API's subject, attributes in the order written; `\,` escapes a comma. */
export function parseSubject(text: string): { type: string; value: string }[] {
  const parts = text.split(/(?<!\\),/).map((p) => p.trim());
  return parts.map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) {
      throw new UsageError(
        `--subject must be TYPE=value pairs separated by commas, e.g. "CN=Example CA,O=Example" (got "${part}")`,
      );
    }
    return {
      type: part.slice(0, eq).trim(),
      value: part
        .slice(eq + 1)
        .trim()
        .replace(/\\,/g, ','),
    };
  });
}

function describe(ca: CaInfo): string {
  return [ca.id, ca.name, ca.subject, ca.status, ca.notAfter && `until ${ca.notAfter}`].filter(Boolean).join('  ');
}

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'init',
    summary: 'create a self-signed root CA on the server (its key never leaves the server)',
    options: ['name', 'subject', 'key-algorithm', 'validity-days', 'crl-url', 'ocsp-url', 'ca-issuers-url'],
    async run(v, rest, io) {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const name = str(v['name']);
      const subject = str(v['subject']);
      if (name === undefined || subject === undefined) throw new UsageError('--name and --subject are required');
      const days = Number(str(v['validity-days']) ?? '3650');
      if (!Number.isInteger(days) || days < 1) throw new UsageError('--validity-days must be a positive whole number');
      const urls: Record<string, string> = {};
      for (const [option, field] of [
        ['crl-url', 'crlUrl'],
        ['ocsp-url', 'ocspUrl'],
        ['ca-issuers-url', 'caIssuersUrl'],
      ] as const) {
        const url = str(v[option]);
        if (url !== undefined) urls[field] = url;
      }
      const client = await clientFor(v, io);
      const ca = await client.json<CaInfo>('POST', '/api/v1/cas', {
        json: {
          name,
          subject: parseSubject(subject),
          keyAlgorithm: str(v['key-algorithm']) ?? 'p-384',
          validityDays: days,
          ...urls,
        },
      });
      emit(io, v, ca, `created CA ${describe(ca)}`);
      return 0;
    },
  },
  {
    name: 'show',
    summary: 'list the CAs, or show one by id',
    options: [],
    async run(v, rest, io) {
      if (rest.length > 1) throw new UsageError('give at most one CA id');
      const client = await clientFor(v, io);
      if (rest.length === 1) {
        const ca = await client.json<CaInfo>('GET', `/api/v1/cas/${seg(rest[0]!)}`);
        emit(io, v, ca, JSON.stringify(ca, null, 2));
      } else {
        const list = await client.json<CaInfo[] | { items: CaInfo[] }>('GET', '/api/v1/cas');
        const items = Array.isArray(list) ? list : list.items;
        emit(
          io,
          v,
          list,
          items.length === 0 ? 'no CA yet: create one with "sealpost ca init"' : items.map(describe).join('\n'),
        );
      }
      return 0;
    },
  },
  {
    name: 'crl',
    summary: "download a CA's current CRL (DER) from the public /pki/crl endpoint",
    options: ['out'],
    async run(v, rest, io) {
      if (rest.length > 1) throw new UsageError('give at most one CA id');
      let id = rest[0];
      if (id === undefined) {
        // Without an id, the only CA: finding it needs the API (and a token); the CRL itself is public.
        const list = await (await clientFor(v, io)).json<CaInfo[] | { items: CaInfo[] }>('GET', '/api/v1/cas');
        const items = Array.isArray(list) ? list : list.items;
        if (items.length !== 1) {
          throw new UsageError(`the server has ${items.length} CAs: name one (sealpost ca show lists them)`);
        }
        id = items[0]!.id;
      }
      const crl = await (await clientFor(v, io, { anonymous: true })).bytes('GET', `/pki/crl/${seg(id)}.crl`, {
        anonymous: true,
        headers: { accept: 'application/pkix-crl' },
      });
      await writeOutput(str(v['out']), crl, io);
      if (str(v['out']) !== undefined)
        io.stderr.write(`CRL of CA ${id}: ${crl.length} bytes written to ${str(v['out'])}\n`);
      return 0;
    },
  },
];

export const ca: Command = {
  name: 'ca',
  summary: "manage the server's certificate authorities: init, show, crl",
  usage: 'sealpost ca init --name NAME --subject DN [options] | ca show [ID] | ca crl [ID] [--out FILE]',
  help: `Subcommands:
  init   create a root CA:  --name NAME --subject "CN=…,O=…,C=…" [--key-algorithm p-384]
         (rsa-3072, rsa-4096, p-256, p-384) [--validity-days 3650]
         [--crl-url URL] [--ocsp-url URL] [--ca-issuers-url URL] (put into issued certificates;
         by default this server's /pki/crl/ID.crl, /pki/ocsp and /pki/ca/ID.crt under its
         publicUrl setting, else under the address the command reached it at)
  show   list the CAs, or show the one with ID
  crl    write the CA's CRL (DER) to --out FILE (default: standard output); without ID, the only CA

Options:
${CLIENT_HELP}

Example:
  sealpost ca init --name main --subject "CN=Example S/MIME CA,O=Example,C=DE"
  sealpost ca crl --out example.crl && openssl crl -inform DER -in example.crl -noout -text`,
  options: {
    ...CLIENT_OPTIONS,
    name: { type: 'string' },
    subject: { type: 'string' },
    'key-algorithm': { type: 'string' },
    'validity-days': { type: 'string' },
    'crl-url': { type: 'string' },
    'ocsp-url': { type: 'string' },
    'ca-issuers-url': { type: 'string' },
    out: { type: 'string', short: 'o' },
  },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('ca', SUBCOMMANDS, v, positionals, io),
};
