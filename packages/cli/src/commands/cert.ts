/** `sealpost cert <subcommand>`: look at certificates. Subcommands are rows of a small table. */
import { createHash } from 'node:crypto';
import {
  authorityInfoAccess,
  Certificate,
  type CertificatePurpose,
  classifyCertificate,
  crlDistributionPoints,
  type Finding,
  type LintOptions,
  lintCertificate,
  nameToString,
  OID,
  oidName,
  parseCertificatePolicies,
  pathValidator,
  type ValidationInput,
  type ValidationProblem,
} from '@sealpost/core';
import { type Command, runSubcommand, type Subcommand, str, strings, subcommandHelp, type Values } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { type Io, loadCertificates, readFileOrFail, readInput, UsageError } from '../io.ts';
import { printJson } from '../report.ts';
import { gatherFor, REVOCATION_HELP, REVOCATION_OPTIONS, revocationSettings, validatorWith } from '../revocation.ts';

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'inspect',
    summary: 'subject, mailboxes, purposes, key, validity, issuer, serial, fingerprints, extensions',
    options: [],
    async run(v, files, io) {
      const summaries = (await readCertificates(files, io)).map(summarize);
      if (v.json) printJson(io, { certificates: summaries });
      else io.stdout.write(`${summaries.map(describe).join('\n\n')}\n`);
      return 0;
    },
  },
  {
    name: 'lint',
    summary: 'check against the CA/Browser Forum S/MIME Baseline Requirements',
    options: ['profile', 'validation'],
    async run(v, files, io) {
      const options = lintOptions(v);
      const results = (await readCertificates(files, io)).map((cert) => {
        const findings = lintCertificate(cert, options);
        return {
          subject: nameToString(cert.subject),
          serial: cert.serialHex,
          sha256: cert.fingerprintSha256,
          errors: findings.filter((f) => f.severity === 'error').length,
          findings,
        };
      });
      const errors = results.reduce((n, r) => n + r.errors, 0);
      if (v.json) printJson(io, { ...options, errors, certificates: results });
      else io.stdout.write(`${results.map((r) => lintReport(r, options)).join('\n')}\n`);
      return errors > 0 ? EXIT.LINT_ERRORS : 0;
    },
  },
  {
    name: 'validate',
    summary: 'validate a certificate for S/MIME: RFC 5280 path, revocation, purpose, mailbox',
    options: ['trust', 'intermediates', 'at', 'purpose', 'email', 'allow-legacy', ...Object.keys(REVOCATION_OPTIONS)],
    async run(v, files, io) {
      const trust = strings(v.trust);
      if (trust.length === 0) throw new UsageError('--trust is required (the CA certificates you trust)');
      if (files.length !== 1) throw new UsageError('give one certificate FILE to validate');
      const [leaf, ...rest] = await readCertificates(files, io);
      const at = str(v.at);
      const time = at ? new Date(at) : new Date();
      if (Number.isNaN(time.getTime())) throw new UsageError(`--at "${at}" is not an ISO 8601 time`);
      const purpose = str(v.purpose) ?? 'any';
      if (!PURPOSES.some((p) => p === purpose)) {
        throw new UsageError(`--purpose "${purpose}" is not one of ${PURPOSES.join(', ')}`);
      }
      const email = str(v.email);
      const input: ValidationInput = {
        leaf: leaf!,
        // Certificates after the first in FILE count as intermediates, as in a PEM bundle.
        candidates: [...rest, ...(await loadCertificates(strings(v.intermediates), 'intermediates'))],
        trustAnchors: await loadCertificates(trust, 'trust anchor'),
        time,
        purpose: purpose as CertificatePurpose,
        allowLegacy: v['allow-legacy'] === true,
        ...(email ? { email } : {}),
      };
      const settings = revocationSettings(v, time);
      // Revocation data is gathered for the chain a first validation finds, then validated again.
      const first = pathValidator.validate(input);
      const revocation = await gatherFor([first.chain], settings, input.allowLegacy === true);
      const result = revocation ? validatorWith(revocation.policy).validate(input) : first;
      const report = {
        valid: result.valid,
        time: time.toISOString(),
        purpose,
        ...(email ? { email } : {}),
        revocation: settings.mode,
        chain: result.chain.map((c) => ({ subject: nameToString(c.subject), sha256: c.fingerprintSha256 })),
        problems: result.problems,
        warnings: result.warnings,
        ...(result.policies ? { policies: result.policies } : {}),
        revocationNotes: revocation?.notes ?? [],
      };
      if (v.json) printJson(io, report);
      else io.stdout.write(`${validationReport(report)}\n`);
      if (result.valid) return 0;
      return result.problems.every((p) => p.code === 'EMAIL_MISMATCH') ? EXIT.SENDER_MISMATCH : EXIT.UNTRUSTED;
    },
  },
];

const PURPOSES = ['sign', 'encrypt', 'any'] as const;

function validationReport(r: {
  valid: boolean;
  chain: { subject: string }[];
  problems: ValidationProblem[];
  warnings: ValidationProblem[];
  revocationNotes: string[];
}): string {
  const lines = [r.valid ? 'VALID' : 'INVALID'];
  lines.push(`  chain: ${r.chain.map((c) => c.subject || '(empty subject)').join(' → ') || '(none)'}`);
  for (const p of r.problems) lines.push(`  problem: ${p.message}`);
  for (const w of r.warnings) lines.push(`  warning: ${w.message}`);
  for (const n of r.revocationNotes) lines.push(`  revocation: ${n}`);
  return lines.join('\n');
}

const PROFILES = ['strict', 'multipurpose'] as const;
const VALIDATIONS = ['mailbox', 'organization'] as const;

function lintOptions(v: Values): LintOptions {
  const profile = str(v.profile) ?? 'strict';
  const validation = str(v.validation);
  if (!PROFILES.some((p) => p === profile)) {
    throw new UsageError(`--profile "${profile}" is not one of ${PROFILES.join(', ')}`);
  }
  if (validation !== undefined && !VALIDATIONS.some((x) => x === validation)) {
    throw new UsageError(`--validation "${validation}" is not one of ${VALIDATIONS.join(', ')}`);
  }
  const options: LintOptions = { profile: profile as LintOptions['profile'] };
  if (validation !== undefined) options.validation = validation as NonNullable<LintOptions['validation']>;
  return options;
}

/** Every certificate of every FILE (PEM with one or more certificates, or DER); `-` is standard input. */
async function readCertificates(files: string[], io: Io): Promise<Certificate[]> {
  if (files.length === 0) throw new UsageError('give the certificate FILE (PEM or DER; - for standard input)');
  const out: Certificate[] = [];
  for (const file of files) {
    let data: Buffer;
    if (file === '-') {
      const input = await readInput(undefined, io);
      if (input.kind !== 'buffer') throw new UsageError('a certificate on standard input must be under 32 MiB');
      data = input.data;
    } else {
      data = await readFileOrFail(file, 'certificate');
    }
    const certs = Certificate.all(data);
    if (certs.length === 0) throw new UsageError(`"${file}" holds no CERTIFICATE block`);
    out.push(...certs);
  }
  return out;
}

interface ExtensionSummary {
  name: string;
  oid: string;
  critical: boolean;
  /** The decoded value, or the DER in hex when Sealpost does not decode this extension. */
  value: string;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const colons = (h: string) => h.toUpperCase().replace(/(..)(?!$)/g, '$1:');

/** Decodes the extensions Sealpost knows; a malformed one is shown as such, not thrown. */
function decodeExtension(cert: Certificate, oid: string, der: Uint8Array): string {
  try {
    switch (oid) {
      case OID.basicConstraints: {
        const bc = cert.basicConstraints!;
        return bc.pathLen === undefined ? `cA=${bc.ca}` : `cA=${bc.ca}, pathLen=${bc.pathLen}`;
      }
      case OID.keyUsage:
        return [...cert.keyUsage!].join(', ') || '(none)';
      case OID.extKeyUsage:
        return cert.extKeyUsage!.map(oidName).join(', ');
      case OID.subjectKeyIdentifier:
        return colons(hex(cert.subjectKeyIdentifier!));
      case OID.authorityKeyIdentifier: {
        const id = cert.authorityKeyIdentifier;
        return id ? `keyid ${colons(hex(id))}` : '(no key identifier)';
      }
      case OID.subjectAltName: {
        const san = cert.subjectAltNames;
        return [
          ...san.rfc822Names.map((m) => `email ${m}`),
          ...san.smtpUtf8Mailboxes.map((m) => `SmtpUTF8Mailbox ${m}`),
          ...san.dnsNames.map((d) => `DNS ${d}`),
          ...san.uris.map((u) => `URI ${u}`),
        ].join(', ');
      }
      case OID.certificatePolicies:
        return parseCertificatePolicies(der).join(', ');
      case OID.crlDistributionPoints:
        return crlDistributionPoints(cert)
          .flatMap((dp) =>
            (dp.name?.fullName ?? []).map((gn) => (gn.type === 'uniformResourceIdentifier' ? gn.value : gn.type)),
          )
          .join(', ');
      case OID.authorityInfoAccess: {
        const aia = authorityInfoAccess(cert);
        return [...aia.ocsp.map((u) => `OCSP ${u}`), ...aia.caIssuers.map((u) => `CA issuers ${u}`)].join(', ');
      }
      default:
        return hex(der);
    }
  } catch (e) {
    return `(malformed: ${(e as Error).message})`;
  }
}

function summarize(cert: Certificate) {
  const c = classifyCertificate(cert);
  return {
    subject: nameToString(cert.subject),
    mailboxes: c.mailboxes,
    smime: c.smime,
    purpose: c.purpose,
    reasons: c.reasons,
    key: cert.keyDescription,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    issuer: nameToString(cert.issuer),
    serial: cert.serialHex,
    version: cert.version,
    signatureAlgorithm: oidName(cert.signatureAlgorithm.oid),
    sha256: cert.fingerprintSha256,
    sha1: createHash('sha1').update(cert.der).digest('hex'),
    extensions: [...cert.extensions.values()].map(
      (e): ExtensionSummary => ({
        name: oidName(e.oid),
        oid: e.oid,
        critical: e.critical,
        value: decodeExtension(cert, e.oid, e.value),
      }),
    ),
  };
}

const PURPOSE_WORDS = {
  signing: 'signing',
  encryption: 'encryption',
  'dual-use': 'signing and encryption (dual-use)',
  none: 'neither signing nor encryption',
};

function describe(s: ReturnType<typeof summarize>): string {
  const row = (label: string, value: string) => `${label.padEnd(12)}${value}`;
  return [
    row('Subject:', s.subject || '(empty)'),
    row('Mailboxes:', s.mailboxes.join(', ') || '(none)'),
    row('Purpose:', `${s.smime ? 'S/MIME' : 'not S/MIME'}, ${PURPOSE_WORDS[s.purpose]}`),
    ...s.reasons.map((r) => row('', r)),
    row('Key:', s.key),
    row('Valid:', `${s.notBefore} to ${s.notAfter}`),
    row('Issuer:', s.issuer || '(empty)'),
    row('Serial:', s.serial),
    row('Signature:', s.signatureAlgorithm),
    row('SHA-256:', colons(s.sha256)),
    row('SHA-1:', colons(s.sha1)),
    'Extensions:',
    ...s.extensions.map((e) => `  ${e.name}${e.critical ? ' (critical)' : ''}: ${e.value}`),
  ].join('\n');
}

function lintReport(
  r: { subject: string; serial: string; errors: number; findings: Finding[] },
  options: LintOptions,
): string {
  const profile = `${options.profile}${options.validation ? `, ${options.validation}-validated` : ''}`;
  const head = `${r.subject || '(empty subject)'} (serial ${r.serial})`;
  if (r.findings.length === 0) return `OK: ${head} conforms to the S/MIME BR ${profile} profile`;
  const verdict = r.errors > 0 ? 'FAILED' : 'OK';
  const lines = [
    `${verdict}: ${head}: ${r.errors} error(s), ${r.findings.length - r.errors} other finding(s) (${profile})`,
  ];
  for (const f of r.findings) lines.push(`  ${f.severity.padEnd(8)}${f.rule} [${f.section}] ${f.message}`);
  return lines.join('\n');
}

export const cert: Command = {
  name: 'cert',
  summary: 'inspect, lint (S/MIME Baseline Requirements) and validate certificates',
  usage: `sealpost cert inspect FILE... [--json]
       sealpost cert lint FILE... [--profile strict|multipurpose] [--validation mailbox|organization] [--json]
       sealpost cert validate CERT --trust CA [--intermediates PEM] [--crl FILE]... [--revocation hard-fail|soft-fail|off]
                              [--offline] [--at ISO-TIME] [--purpose sign|encrypt] [--email ADDRESS] [--json]`,
  options: {
    profile: { type: 'string' },
    validation: { type: 'string' },
    trust: { type: 'string', multiple: true },
    intermediates: { type: 'string', multiple: true },
    at: { type: 'string' },
    purpose: { type: 'string' },
    email: { type: 'string' },
    'allow-legacy': { type: 'boolean' },
    ...REVOCATION_OPTIONS,
    json: { type: 'boolean' },
  },
  positionals: true,
  help: `Subcommands:
${subcommandHelp(SUBCOMMANDS)}

Options:
      --json              print the result as JSON
  lint:
      --profile NAME      strict (default) or multipurpose
      --validation TYPE   mailbox or organization (default: what the certificate's
                          CA/Browser Forum policy OID says)
  validate:
      --trust FILE        trust anchors (PEM, several certificates allowed; repeatable; required)
      --intermediates FILE  extra intermediate certificates (repeatable); further certificates
                          in CERT's own file count as intermediates too
      --at ISO-TIME       validate at this time instead of now
      --purpose USE       sign, encrypt or any (default): keyUsage and EKU for that use
      --email ADDRESS     the mailbox the certificate must be issued to
      --allow-legacy      accept SHA-1/MD5 certificate signatures (archived mail)
${REVOCATION_HELP}

FILE is PEM (every certificate in it is handled) or DER; - reads standard input.

Exit statuses: 0 success (lint: no error findings; warnings and notices do not fail;
validate: valid for that purpose and mailbox), 1 lint found errors, 2 usage error,
3 validate: not valid (chain, time, purpose, revocation), 4 validate: only the mailbox
does not match, 7 malformed certificate, 12 file could not be read.

Examples:
  sealpost cert lint alice.crt --profile multipurpose --validation organization
  sealpost cert validate alice.crt --trust root.crt --intermediates ca.crt --purpose sign \\
    --email alice@example.org --revocation hard-fail --json`,
  run: (v, positionals, io) => runSubcommand('cert', SUBCOMMANDS, v, positionals, io),
};
