import {
  type Certificate,
  isSignatureLayer,
  type VerifyReport,
  verifyMessage,
  verifyMessageStream,
} from '@sealpost/core';
import { type Command, IO_OPTIONS, PASSWORD_HELP, PASSWORD_OPTIONS, str, strings } from '../command.ts';
import { EXIT_HELP, exitForStatus } from '../exit-codes.ts';
import { type Input, inputChunks, loadCertificates, readInput, UsageError, writeOutput } from '../io.ts';
import { printJson, reportForJson } from '../report.ts';
import { gatherFor, REVOCATION_HELP, REVOCATION_OPTIONS, revocationSettings, validatorWith } from '../revocation.ts';
import { decryptionKeys, KEY_PAIR_HELP } from './keys.ts';

export const verify: Command = {
  name: 'verify',
  summary: 'verify a signed message: signatures, chains, sender and coverage',
  usage:
    'sealpost verify --trust CA.pem [--trust ...] [--intermediates PEM] [--crl FILE]... [--revocation hard-fail|soft-fail|off] [--offline] [--at ISO-TIME] [--sender ADDRESS] [--json] [--out CONTENT]',
  options: {
    ...IO_OPTIONS,
    ...PASSWORD_OPTIONS,
    ...REVOCATION_OPTIONS,
    trust: { type: 'string', multiple: true },
    intermediates: { type: 'string', multiple: true },
    sender: { type: 'string' },
    at: { type: 'string' },
    'allow-legacy': { type: 'boolean' },
    cert: { type: 'string', multiple: true },
    key: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  },
  help: `Options:
      --trust FILE        trust anchors (PEM, several certificates allowed; repeatable; required)
      --intermediates FILE  extra intermediate certificates for building chains (repeatable)
      --sender ADDRESS    the address the signer must match (default: Sender, else From)
      --at ISO-TIME       validate certificates at this time instead of now (archived mail,
                          fixtures); never the sender's signingTime
      --allow-legacy      accept SHA-1/MD5 signatures of old mail (reported as legacy)
${REVOCATION_HELP}
${KEY_PAIR_HELP}
      --json              print the full report as JSON on standard output
  -i, --in FILE           read the message from FILE (default: standard input)
  -o, --out FILE          write the verified content (the exact signed entity) to FILE
${PASSWORD_HELP}

A message counts as signed only when every signature is valid, every chain reaches a trust
anchor, the signatures cover the whole body, and the sender's address is in a signer certificate.

${EXIT_HELP}

Example:
  sealpost verify --trust ca.crt --in signed.eml --json`,
  async run(v, _p, io) {
    const trust = strings(v.trust);
    if (trust.length === 0) throw new UsageError('--trust is required (the CA certificates you trust)');
    const at = str(v.at);
    const time = at ? new Date(at) : new Date();
    if (Number.isNaN(time.getTime())) throw new UsageError(`--at "${at}" is not an ISO 8601 time`);
    const sender = str(v.sender);
    const options = {
      trustAnchors: await loadCertificates(trust, 'trust anchor'),
      intermediates: await loadCertificates(strings(v.intermediates), 'intermediates'),
      time,
      ...(sender ? { sender } : {}),
      keys: await decryptionKeys(v, io),
      allowLegacy: v['allow-legacy'] === true,
    };
    const settings = revocationSettings(v, time);
    const inPath = str(v.in);
    const input = await readInput(inPath, io);
    if (input.kind === 'stream' && (inPath === undefined || inPath === '-') && settings.mode !== 'off') {
      // Revocation needs a second pass over the message, and standard input cannot be read twice.
      throw new UsageError('standard input over 32 MiB cannot be read twice: use --in FILE, or --revocation off');
    }
    let report = await verifyInput(input, options);
    // Revocation data is gathered for the chains the first pass found, then the message is verified again.
    const revocation = await gatherFor(signerChains(report), settings, options.allowLegacy);
    if (revocation) {
      const again = input.kind === 'buffer' ? input : await readInput(inPath, io);
      report = await verifyInput(again, { ...options, validator: validatorWith(revocation.policy) });
      if (!v.json) for (const note of revocation.notes) io.stderr.write(`revocation: ${note}\n`);
    }
    if (v.json) printJson(io, { ...(reportForJson(report) as object), revocationNotes: revocation?.notes ?? [] });
    else io.stderr.write(`${humanReport(report)}\n`);
    const outPath = str(v.out);
    if (outPath !== undefined && report.status === 'signed') await writeOutput(outPath, report.content, io);
    return exitForStatus(report.status);
  },
};

type Options = Parameters<typeof verifyMessage>[1];

/** Verifies a buffered or streamed message. */
async function verifyInput(input: Input, options: Options): Promise<VerifyReport> {
  return input.kind === 'buffer'
    ? verifyMessage(input.data, options)
    : await verifyMessageStream(inputChunks(input), options);
}

function signerChains(report: VerifyReport): Certificate[][] {
  return report.layers.filter(isSignatureLayer).flatMap((l) => l.signers.map((s) => s.certificates));
}

function humanReport(r: VerifyReport): string {
  const lines = [`${r.status === 'signed' ? 'OK' : 'FAILED'}: ${r.status} — ${r.reason}`];
  for (const layer of r.layers) {
    if ('signers' in layer) {
      lines.push(`  ${layer.kind} layer${layer.problem ? `: ${layer.problem}` : ''}`);
      for (const s of layer.signers) {
        const who = s.certificate
          ? `${s.certificate.subject} <${s.certificate.emailAddresses.join(', ')}>`
          : 'unknown signer';
        lines.push(`    signer ${s.index + 1}: ${s.status} — ${who}, ${s.signatureAlgorithm}/${s.digestAlgorithm}`);
        for (const c of s.checks.filter((c) => !c.ok)) lines.push(`      ${c.name}: ${c.detail}`);
        for (const p of s.chain.problems) lines.push(`      chain: ${p.message}`);
        for (const w of s.chain.warnings) lines.push(`      warning: ${w.message}`);
      }
    } else {
      lines.push(
        `  ${layer.kind} layer (${layer.contentCipher}, ${layer.recipients} recipient(s))${layer.decrypted ? ', decrypted' : `: ${layer.problem ?? ''}`}`,
      );
    }
  }
  if (r.sender) lines.push(`  sender: ${r.sender.detail}`);
  return lines.join('\n');
}
