/** The sealpost command line: parse, call the core, format, map errors to exit statuses. */
import { parseArgs } from 'node:util';
import { isSealpostError } from '@sealpost/core';
import { ApiError } from './api-client.ts';
import type { Command } from './command.ts';
import { account } from './commands/account.ts';
import { admin } from './commands/admin.ts';
import { archive } from './commands/archive.ts';
import { audit } from './commands/audit.ts';
import { book } from './commands/book.ts';
import { ca } from './commands/ca.ts';
import { cert } from './commands/cert.ts';
import { config } from './commands/config.ts';
import { decrypt } from './commands/decrypt.ts';
import { demo } from './commands/demo.ts';
import { directory } from './commands/directory.ts';
import { encrypt } from './commands/encrypt.ts';
import { group } from './commands/group.ts';
import { inspect } from './commands/inspect.ts';
import { issue } from './commands/issue.ts';
import { login } from './commands/login.ts';
import { p12 } from './commands/p12.ts';
import { recipients } from './commands/recipients.ts';
import { revoke } from './commands/revoke.ts';
import { serve } from './commands/serve.ts';
import { sign } from './commands/sign.ts';
import { template } from './commands/template.ts';
import { trust } from './commands/trust.ts';
import { user } from './commands/user.ts';
import { verify } from './commands/verify.ts';
import { EXIT, EXIT_HELP, exitForError } from './exit-codes.ts';
import { type Io, IoError, UsageError } from './io.ts';

export const COMMANDS: Command[] = [
  sign,
  verify,
  encrypt,
  decrypt,
  inspect,
  cert,
  p12,
  demo,
  serve,
  config,
  admin,
  account,
  login,
  ca,
  template,
  user,
  group,
  issue,
  revoke,
  trust,
  book,
  recipients,
  directory,
  archive,
  audit,
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `sealpost — S/MIME done right: sign, verify, encrypt, decrypt; run and operate the Sealpost server

Usage: sealpost <command> [options]     sealpost <command> --help

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

${EXIT_HELP}
`;
}

function commandHelp(c: Command): string {
  return `Usage: ${c.usage}

${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.

${c.help}
`;
}

const defaultIo = (): Io => ({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});

export async function run(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainHelp());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version') {
    io.stdout.write('sealpost 0.1.0\n');
    return EXIT.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`sealpost: unknown command "${name}"; run "sealpost --help" for the list\n`);
    return EXIT.USAGE;
  }
  const json = rest.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
    if (values.help) {
      io.stdout.write(commandHelp(command));
      return EXIT.OK;
    }
    return await command.run(values, positionals, io);
  } catch (e) {
    return reportError(e, command, io, json);
  }
}

function reportError(e: unknown, command: Command, io: Io, json: boolean): number {
  let code: string;
  let message: string;
  let status: number;
  if (isSealpostError(e)) {
    ({ code, message } = e);
    status = exitForError(e.code);
  } else if (e instanceof ApiError) {
    ({ code, message } = e);
    status = e.exitStatus;
  } else if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    code = 'USAGE';
    message = `${(e as Error).message}\n  usage: ${command.usage}\n  see: sealpost ${command.name} --help`;
    status = EXIT.USAGE;
  } else if (e instanceof IoError) {
    code = 'IO';
    message = e.message;
    status = EXIT.IO;
  } else {
    code = 'INTERNAL';
    message = `internal error: ${(e as Error)?.stack ?? String(e)}`;
    status = EXIT.INTERNAL;
  }
  if (json)
    io.stdout.write(`${JSON.stringify({ error: { code, message: message.split('\n')[0] }, exitCode: status })}\n`);
  io.stderr.write(`sealpost ${command.name}: ${message}\n`);
  return status;
}
