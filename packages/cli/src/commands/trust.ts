/** `sealpost trust import`: adds trust anchors (PEM, DER certificate, or a PKCS#7 bundle) to the server's trust store. */
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit, exactlyOne } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand, str } from '../command.ts';
import { readFileOrFail } from '../io.ts';

interface ImportReport {
  imported: { subject?: string; sha256?: string }[];
  duplicates?: { subject: string }[];
  refused: { subject: string; reason: string }[];
}

/** PEM text travels as `pem`; anything else (a DER certificate or PKCS#7 bundle) as `base64`. */
function bundle(data: Buffer): { pem: string } | { base64: string } {
  const text = data.toString('latin1');
  return text.includes('-----BEGIN') ? { pem: text } : { base64: data.toString('base64') };
}

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'import',
    summary: 'import the certificates of FILE as trust anchors (optionally only for one mail domain)',
    options: ['scope'],
    async run(v, rest, io) {
      const file = exactlyOne(rest, 'file', 'sealpost trust import FILE [--scope DOMAIN]');
      const data = await readFileOrFail(file, 'certificate file');
      const report = await (await clientFor(v, io)).json<ImportReport>('POST', '/api/v1/trust', {
        query: { scope: str(v['scope']) },
        json: bundle(data),
      });
      emit(
        io,
        v,
        report,
        [
          `imported ${report.imported.length}, already there ${report.duplicates?.length ?? 0}, refused ${report.refused.length}`,
          ...report.imported.map((a) => `  + ${a.subject ?? a.sha256}`),
          ...report.refused.map((r) => `  - ${r.subject}: ${r.reason}`),
        ].join('\n'),
      );
      return 0;
    },
  },
];

export const trust: Command = {
  name: 'trust',
  summary: "import trust anchors into the server's trust store",
  usage: 'sealpost trust import FILE [--scope DOMAIN]',
  help: `Subcommands:
  import  FILE: PEM (one or more certificates), a DER certificate, or a PKCS#7 certificate bundle;
          --scope DOMAIN trusts the anchors only for addresses in that domain. The server refuses
          what is not a CA certificate, and the report says why for each

Options:
${CLIENT_HELP}

Example:
  sealpost trust import partner-root.pem --scope partner.example`,
  options: { ...CLIENT_OPTIONS, scope: { type: 'string' } },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('trust', SUBCOMMANDS, v, positionals, io),
};
