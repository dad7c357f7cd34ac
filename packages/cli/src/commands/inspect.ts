import { type Inspection, inspectMessage } from '@sealpost/core';
import type { Command } from '../command.ts';
import { str } from '../command.ts';
import { readFileOrFail, readInput, UsageError } from '../io.ts';
import { printJson } from '../report.ts';

export const inspect: Command = {
  name: 'inspect',
  summary: 'show what a message is: layers, signers, recipients, algorithms (no keys needed)',
  usage: 'sealpost inspect [--in FILE] [--json]',
  options: { in: { type: 'string', short: 'i' }, json: { type: 'boolean' } },
  help: `Options:
  -i, --in FILE           read the message from FILE (default: standard input)
      --json              print the description as JSON

Nothing is verified or decrypted: use "sealpost verify" and "sealpost decrypt" for that.

Example:
  sealpost inspect --in encrypted.eml --json`,
  async run(v, _p, io) {
    const path = str(v.in);
    const input = path
      ? { kind: 'buffer' as const, data: await readFileOrFail(path, 'input') }
      : await readInput(undefined, io);
    if (input.kind !== 'buffer')
      throw new UsageError('inspect reads messages up to 32 MiB from standard input; use --in FILE');
    const result = inspectMessage(input.data);
    if (v.json) printJson(io, result);
    else io.stdout.write(`${describe(result)}\n`);
    return 0;
  },
};

function describe(r: Inspection): string {
  const lines: string[] = [];
  if (r.from) lines.push(`From: ${r.from}`);
  if (r.to) lines.push(`To: ${r.to}`);
  if (r.subject) lines.push(`Subject: ${r.subject}`);
  r.layers.forEach((l, i) => {
    const pad = '  '.repeat(i);
    if ('signers' in l) {
      lines.push(`${pad}${l.kind}: ${l.signers.length} signer(s), ${l.certificates.length} certificate(s)`);
      for (const s of l.signers) {
        lines.push(
          `${pad}  signer: ${s.certificate?.subject ?? s.signer} (${s.signatureAlgorithm}, ${s.digestAlgorithm})`,
        );
      }
    } else if (!('recipients' in l)) {
      lines.push(`${pad}content: ${l.contentType}, ${l.bytes} bytes`);
    } else {
      lines.push(`${pad}${l.kind}: ${l.contentCipher}, ${l.recipients.length} recipient(s)`);
      for (const rcp of l.recipients) {
        const ids = rcp.identifiers.map((id) =>
          id.subjectKeyIdentifierHex ? `ski ${id.subjectKeyIdentifierHex}` : `${id.issuer} #${id.serialHex}`,
        );
        lines.push(`${pad}  recipient (${rcp.kind}, ${rcp.keyEncryptionAlgorithm}): ${ids.join('; ')}`);
      }
    }
  });
  return lines.join('\n');
}
