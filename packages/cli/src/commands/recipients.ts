/** `sealpost recipients resolve`: can a message be encrypted to these addresses, and if not, why. */
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit } from '../api-client.ts';
import { type Command, runSubcommand, type Subcommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { UsageError } from '../io.ts';

interface Resolution {
  canEncrypt: boolean;
  cipher?: string;
  cipherReason: string;
  recipients: {
    address: string;
    status: 'ok' | 'none';
    cipher?: string;
    reason?: string;
    message: string;
    certificates: { source: string; subject: string; serial: string; notAfter: string }[];
    lookupFailures: { directory: string; message: string }[];
  }[];
}

/** One line per address: the certificate and cipher, or the reason in words; then the verdict. */
function describe(r: Resolution): string {
  const width = Math.max(...r.recipients.map((x) => x.address.length));
  const lines = r.recipients.map((x) => {
    const c = x.certificates[0];
    const head = `${x.address.padEnd(width)}  `;
    const line =
      c === undefined
        ? `${head}cannot encrypt (${x.reason}): ${x.message}`
        : `${head}${x.cipher}  ${c.source}  ${c.subject} (serial ${c.serial}, until ${c.notAfter.slice(0, 10)})`;
    const failures = x.lookupFailures.map((f) => `${' '.repeat(width + 2)}directory ${f.directory}: ${f.message}`);
    return [line, ...failures].join('\n');
  });
  const missing = r.recipients.filter((x) => x.status === 'none').length;
  const verdict = r.canEncrypt
    ? `can encrypt to all ${r.recipients.length} with ${r.cipher} (${r.cipherReason})`
    : `cannot encrypt: ${missing} of ${r.recipients.length} recipient(s) have no usable certificate`;
  return [...lines, verdict].join('\n');
}

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'resolve',
    summary: 'the certificate and cipher for each address, or why there is none',
    options: [],
    async run(v, rest, io) {
      if (rest.length === 0) throw new UsageError('give at least one address: sealpost recipients resolve ADDRESS...');
      const resolution = await (await clientFor(v, io)).json<Resolution>('POST', '/api/v1/recipients/resolve', {
        json: { addresses: rest },
      });
      emit(io, v, resolution, describe(resolution));
      return resolution.canEncrypt ? EXIT.OK : EXIT.NO_RECIPIENT;
    },
  },
];

export const recipients: Command = {
  name: 'recipients',
  summary: 'check whether a message can be encrypted to some addresses, and if not, why',
  usage: 'sealpost recipients resolve ADDRESS... [--json]',
  help: `Subcommands:
  resolve  ADDRESS...: one line per address with the certificate to encrypt to (its source: ca,
           directory, harvested or manual) and the cipher its capabilities allow, or the reason
           there is none (no-certificate, expired, not-yet-valid, revoked, signing-only,
           wrong-purpose, untrusted, pending-key-change, rejected) in words; then the cipher for
           all of them (AES-GCM only when every recipient announced it)

Exit status 0 when the message can be encrypted to every address; 9 (no recipient) when at least
one address has no usable certificate.

Options:
${CLIENT_HELP}

Example:
  sealpost recipients resolve alice@example.org bob@partner.example`,
  options: { ...CLIENT_OPTIONS },
  positionals: true,
  run: (v, positionals, io) => runSubcommand('recipients', SUBCOMMANDS, v, positionals, io),
};
