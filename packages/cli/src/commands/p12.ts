/** `sealpost p12 <subcommand>`: PKCS#12 files — look inside, import to PEM, export from PEM. */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildPkcs12,
  type Certificate,
  generatedPasswordBits,
  generatePkcs12Password,
  importDecision,
  inspectPkcs12,
  isSealpostError,
  nameToString,
  PKCS12_PROFILES,
  type Pkcs12BagSummary,
  type Pkcs12Identity,
  type Pkcs12Inspection,
  type Pkcs12Profile,
  pemEncode,
  readPkcs12,
  SealpostError,
} from '@sealpost/core';
import { type Command, runSubcommand, type Subcommand, str, strings, subcommandHelp, type Values } from '../command.ts';
import {
  type Io,
  IoError,
  loadCertificates,
  loadKey,
  readFileOrFail,
  readPassword,
  UsageError,
  writeOutput,
} from '../io.ts';
import { printJson } from '../report.ts';

type PasswordOptions = { 'password-file'?: string; 'password-env'?: string };

function passwordOptions(v: Values): PasswordOptions {
  const out: PasswordOptions = {};
  const file = str(v['password-file']);
  const env = str(v['password-env']);
  if (file !== undefined && env !== undefined) throw new UsageError('give --password-file or --password-env, not both');
  if (file !== undefined) out['password-file'] = file;
  if (env !== undefined) out['password-env'] = env;
  return out;
}

function oneFile(files: string[], sub: string): string {
  if (files.length !== 1) throw new UsageError(`"p12 ${sub}" takes exactly one FILE (the PKCS#12 file)`);
  return files[0]!;
}

const SUBCOMMANDS: Subcommand[] = [
  {
    name: 'inspect',
    summary: 'bags, algorithms, MAC, iterations, friendly names, certificates (password optional)',
    options: [],
    async run(v, files, io) {
      const path = oneFile(files, 'inspect');
      const data = await readFileOrFail(path, 'PKCS#12 file');
      const options = passwordOptions(v);
      // Without a password option, only what is readable without it: no prompt.
      const password = Object.keys(options).length > 0 ? await readPassword(options, io, '') : undefined;
      const result = inspectPkcs12(data, password);
      if (v.json) printJson(io, result);
      else io.stdout.write(`${describeInspection(result)}\n`);
      return 0;
    },
  },
  {
    name: 'import',
    summary: 'write the keys and certificates as PEM files into --out-dir, with each identity’s purposes',
    options: ['out-dir', 'encrypt-key'],
    async run(v, files, io) {
      const path = oneFile(files, 'import');
      const outDir = str(v['out-dir']);
      if (!outDir) throw new UsageError('--out-dir is required');
      const data = await readFileOrFail(path, 'PKCS#12 file');
      const { contents, password } = await openFile(data, passwordOptions(v), path, io);
      const encryptKey = v['encrypt-key'] === true;
      if (encryptKey && password === '') throw new UsageError('--encrypt-key needs a PKCS#12 file with a password');
      const plan = planFiles(contents.identities, contents.certificates.length > 0);
      await mkdir(outDir, { recursive: true, mode: 0o700 });
      for (const name of plan.all) {
        if (await exists(join(outDir, name))) {
          throw new IoError(`"${join(outDir, name)}" exists already: remove it or choose another --out-dir`);
        }
      }
      const identities = [];
      for (const [i, id] of contents.identities.entries()) {
        const names = plan.identities[i]!;
        const key = encryptKey
          ? id.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password })
          : id.privateKey.export({ type: 'pkcs8', format: 'pem' });
        await writeOutput(join(outDir, names.key), Buffer.from(key), io);
        const written: Record<string, string> = { key: join(outDir, names.key) };
        if (id.certificate) {
          await writeOutput(join(outDir, names.certificate), pem([id.certificate]), io);
          written.certificate = join(outDir, names.certificate);
        }
        if (id.chain.length > 0) {
          await writeOutput(join(outDir, names.chain), pem(id.chain), io);
          written.chain = join(outDir, names.chain);
        }
        identities.push({ ...identitySummary(id), files: written });
      }
      let certificatesFile: string | undefined;
      if (contents.certificates.length > 0) {
        certificatesFile = join(outDir, plan.certificates);
        await writeOutput(certificatesFile, pem(contents.certificates), io);
      }
      const certificates = contents.certificates.map((c) => ({
        subject: nameToString(c.subject),
        fingerprintSha256: c.fingerprintSha256,
        friendlyName: contents.friendlyNames[c.fingerprintSha256],
      }));
      if (contents.mac === undefined) {
        io.stderr.write(
          'warning: the file has no MAC, so nothing proves its contents are unchanged: import it only if you trust its source.\n',
        );
      }
      if (v.json) {
        printJson(io, {
          identities,
          certificates,
          certificatesFile,
          keyEncrypted: encryptKey,
          mac: contents.mac ?? null,
        });
        return 0;
      }
      for (const id of identities) io.stdout.write(`${describeIdentity(id)}\n`);
      if (certificatesFile) io.stdout.write(`${certificates.length} other certificate(s): ${certificatesFile}\n`);
      if (identities.length > 0) {
        io.stderr.write(
          encryptKey
            ? 'note: the private keys are encrypted PKCS#8 PEM (AES-256-CBC) with the PKCS#12 password.\n'
            : 'note: the private keys are written UNENCRYPTED (PKCS#8 PEM, mode 0600); use --encrypt-key to keep them encrypted.\n',
        );
      }
      return 0;
    },
  },
  {
    name: 'export',
    summary: 'build a PKCS#12 file from a certificate, its key and chain (modern or compat profile)',
    options: ['cert', 'key', 'chain', 'no-chain', 'profile', 'name', 'out', 'key-password-file', 'key-password-env'],
    async run(v, files, io) {
      if (files.length > 0) throw new UsageError('"p12 export" takes no FILE: use --cert, --key and --out');
      const certPath = str(v.cert);
      const keyPath = str(v.key);
      const out = str(v.out);
      if (!certPath || !keyPath || !out) throw new UsageError('--cert, --key and --out are required');
      const profile = str(v.profile) ?? 'modern';
      if (!(profile in PKCS12_PROFILES)) {
        throw new UsageError(`--profile "${profile}" is not one of ${Object.keys(PKCS12_PROFILES).join(', ')}`);
      }
      // The certificate file may carry the chain after the leaf; --chain files add to it.
      const [certificate, ...bundled] = await loadCertificates([certPath], 'certificate');
      const chain = v['no-chain'] ? [] : [...bundled, ...(await loadCertificates(strings(v.chain), 'chain'))];
      const keyOptions: PasswordOptions = {};
      const keyFile = str(v['key-password-file']);
      const keyEnv = str(v['key-password-env']);
      if (keyFile !== undefined) keyOptions['password-file'] = keyFile;
      if (keyEnv !== undefined) keyOptions['password-env'] = keyEnv;
      const privateKey = await loadKey(keyPath, keyOptions, io);
      const options = passwordOptions(v);
      const given = Object.keys(options).length > 0 ? await readPassword(options, io, '') : undefined;
      const password = given ?? generatePkcs12Password();
      const name = str(v.name);
      const data = buildPkcs12({
        privateKey,
        certificate: certificate!,
        chain,
        password,
        profile: profile as Pkcs12Profile,
        ...(name !== undefined ? { friendlyName: name } : {}),
      });
      await writeOutput(out, data, io);
      const summary = {
        out,
        profile,
        algorithms: PKCS12_PROFILES[profile as Pkcs12Profile].description,
        certificates: 1 + chain.length,
        passwordGenerated: given === undefined,
      };
      if (v.json) {
        printJson(io, given === undefined ? { ...summary, password } : summary);
      } else {
        io.stdout.write(`wrote ${out} (${profile}: ${summary.algorithms}; ${summary.certificates} certificate(s))\n`);
      }
      if (given === undefined && !v.json) {
        io.stderr.write(
          `The PKCS#12 password (generated, ${generatedPasswordBits()} bits) is shown only this once — store it now:\n${password}\n`,
        );
      }
      return 0;
    },
  },
];

/**
 * Opens a file with the password from the options, a terminal prompt, or none: a file without a
 * password opens with "", and one that has a password then asks for it (PASSWORD_REQUIRED).
 */
async function openFile(data: Buffer, options: PasswordOptions, path: string, io: Io) {
  const password = await readPassword(options, io, `Password for ${path}: `);
  try {
    return { contents: readPkcs12(data, password ?? ''), password: password ?? '' };
  } catch (e) {
    if (password === undefined && isSealpostError(e, 'PASSWORD_WRONG')) {
      throw new SealpostError(
        'PASSWORD_REQUIRED',
        'the PKCS#12 file is protected by a password: give it with --password-file or --password-env',
      );
    }
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function pem(certs: Certificate[]): Buffer {
  return Buffer.from(certs.map((c) => pemEncode('CERTIFICATE', c.der)).join(''));
}

/** File names per identity: from the friendly name where it makes a safe name, else by number. */
function planFiles(identities: Pkcs12Identity[], others: boolean) {
  const used = new Set<string>();
  const bases = identities.map((id, i) => {
    const fromName = (id.friendlyName ?? '')
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^A-Za-z0-9@._-]+/g, '_')
      .replace(/^[._]+|_+$/g, '')
      .slice(0, 64);
    let base = fromName || `identity-${i + 1}`;
    if (used.has(base)) base = `${base}-${i + 1}`;
    used.add(base);
    return { key: `${base}.key.pem`, certificate: `${base}.crt.pem`, chain: `${base}.chain.pem` };
  });
  const certificates = 'certificates.pem';
  const all = bases.flatMap((b, i) => [
    b.key,
    ...(identities[i]!.certificate ? [b.certificate] : []),
    ...(identities[i]!.chain.length > 0 ? [b.chain] : []),
  ]);
  if (others) all.push(certificates);
  return { identities: bases, certificates, all };
}

/** What an identity is, and what to do with it: single-purpose ones import as they are, dual-use ones ask. */
function identitySummary(id: Pkcs12Identity) {
  const cert = id.certificate;
  const base = {
    friendlyName: id.friendlyName,
    localKeyId: id.localKeyId,
    keyType: id.privateKey.asymmetricKeyType,
    chainLength: id.chain.length,
  };
  if (!cert)
    return { ...base, purpose: 'none' as const, smime: false, askPurposes: false, reasons: ['No certificate.'] };
  // The mobile clients' import rule (single-purpose imports as it is, dual-use asks) lives in core.
  const choice = importDecision([cert]).identities[0]!;
  const c = choice.classification;
  return {
    ...base,
    subject: nameToString(cert.subject),
    mailboxes: c.mailboxes,
    fingerprintSha256: cert.fingerprintSha256,
    notAfter: cert.notAfter.toISOString(),
    smime: c.smime,
    purpose: c.purpose,
    importAction: choice.action,
    enable: choice.enable,
    askPurposes: choice.action === 'ask',
    reasons: [...c.reasons, choice.why],
  };
}

function describeIdentity(id: ReturnType<typeof identitySummary> & { files: Record<string, string> }): string {
  const who =
    'subject' in id ? `${id.subject}${id.mailboxes.length ? ` <${id.mailboxes.join(', ')}>` : ''}` : '(no certificate)';
  const lines = [`identity: ${who}${id.friendlyName ? ` "${id.friendlyName}"` : ''}`];
  lines.push(
    `  purpose: ${id.purpose}${id.smime ? '' : ' (not an S/MIME certificate)'}${id.askPurposes ? ' — choose which purposes to enable' : ''}`,
  );
  for (const [kind, path] of Object.entries(id.files)) lines.push(`  ${kind}: ${path}`);
  return lines.join('\n');
}

function encryptionText(e: { algorithm: string; iterations?: number }): string {
  return e.iterations === undefined ? e.algorithm : `${e.algorithm}, ${e.iterations} iterations`;
}

function describeBags(bags: Pkcs12BagSummary[], pad: string, lines: string[]): void {
  for (const b of bags) {
    const extra = [
      b.friendlyName !== undefined ? `"${b.friendlyName}"` : '',
      b.localKeyIdHex ? `localKeyId ${b.localKeyIdHex}` : '',
      b.encryption ? encryptionText(b.encryption) : '',
      b.keyType ? `${b.keyType} key` : '',
    ].filter(Boolean);
    lines.push(`${pad}${b.type}${extra.length ? `: ${extra.join('; ')}` : ''}`);
    if (b.certificateError) lines.push(`${pad}  malformed certificate: ${b.certificateError}`);
    if (b.certificate) {
      lines.push(`${pad}  subject: ${b.certificate.subject}`, `${pad}  issuer: ${b.certificate.issuer}`);
      lines.push(`${pad}  valid: ${b.certificate.notBefore} to ${b.certificate.notAfter}`);
    }
    if (b.bags) describeBags(b.bags, `${pad}  `, lines);
  }
}

function describeInspection(r: Pkcs12Inspection): string {
  const lines = [
    `PKCS#12 v${r.version}`,
    r.mac
      ? `MAC: ${r.mac.algorithm}, ${r.mac.iterations} iterations, ${r.mac.saltLength}-byte salt${r.passwordChecked ? ' (verified)' : ''}`
      : 'MAC: none (no integrity protection)',
  ];
  for (const c of r.contents) {
    lines.push(c.encryption ? `${c.type}: ${encryptionText(c.encryption)}` : c.type);
    if (c.bags) describeBags(c.bags, '  ', lines);
    else if (c.encryption) lines.push('  (encrypted: give the password to list these bags)');
  }
  return lines.join('\n');
}

export const p12: Command = {
  name: 'p12',
  summary: 'PKCS#12 (.p12/.pfx) files: inspect, import to PEM, export from PEM',
  usage: `sealpost p12 inspect FILE [--password-file F | --password-env NAME] [--json]
       sealpost p12 import FILE --out-dir DIR [--password-file F | --password-env NAME] [--encrypt-key] [--json]
       sealpost p12 export --cert CERT --key KEY [--chain PEM]... [--no-chain] [--profile modern|compat]
                           [--name FRIENDLY] [--password-file F | --password-env NAME] --out FILE.p12 [--json]`,
  options: {
    'password-file': { type: 'string' },
    'password-env': { type: 'string' },
    'out-dir': { type: 'string' },
    'encrypt-key': { type: 'boolean' },
    cert: { type: 'string' },
    key: { type: 'string' },
    chain: { type: 'string', multiple: true },
    'no-chain': { type: 'boolean' },
    profile: { type: 'string' },
    name: { type: 'string' },
    out: { type: 'string', short: 'o' },
    'key-password-file': { type: 'string' },
    'key-password-env': { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: true,
  help: `Subcommands:
${subcommandHelp(SUBCOMMANDS)}

Options:
      --password-file FILE  the PKCS#12 password, from FILE (first line)
      --password-env NAME   the PKCS#12 password from the environment variable NAME
                            (import: without either, a terminal prompts; inspect: without either,
                            only what is readable without the password; export: without either,
                            a strong password is generated and printed once)
      --out-dir DIR         import: where to write NAME.key.pem, NAME.crt.pem, NAME.chain.pem and
                            certificates.pem (existing files are never overwritten)
      --encrypt-key         import: encrypt the keys with the PKCS#12 password (default: the keys
                            are written unencrypted, readable only by you, mode 0600)
      --cert FILE           export: the certificate (PEM or DER; further certificates in a PEM
                            file are taken as its chain)
      --key FILE            export: its private key (PEM or DER PKCS#8, may be encrypted)
      --key-password-file FILE, --key-password-env NAME  export: the password of an encrypted key
      --chain FILE          export: intermediate and root certificates to include (repeatable)
      --no-chain            export: the certificate alone
      --profile NAME        export: modern (default: ${PKCS12_PROFILES.modern.description})
                            or compat (${PKCS12_PROFILES.compat.description}: older macOS
                            keychains, Android, gpgsm 2.2)
      --name TEXT           export: the friendly name (default: the certificate's e-mail address)
  -o, --out FILE            export: the PKCS#12 file to write (mode 0600)
      --json                print the result as JSON

Example:
  sealpost p12 export --cert alice.crt --key alice.key --chain ca.crt --profile compat --out alice.p12
  sealpost p12 import alice.p12 --out-dir keys --password-file pw.txt --json`,
  run: (v, positionals, io) => runSubcommand('p12', SUBCOMMANDS, v, positionals, io),
};
