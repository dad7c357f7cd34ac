/** The shape every command has: its options, its help text (with an example), and what it does. */
import type { ParseArgsConfig } from 'node:util';
import { type Io, UsageError } from './io.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Paragraphs after the option list: examples, notes. */
  help: string;
  options: Options;
  positionals?: boolean;
  run(values: Values, positionals: string[], io: Io): Promise<number>;
}

/** Options every message command has. */
export const IO_OPTIONS = {
  in: { type: 'string', short: 'i' },
  out: { type: 'string', short: 'o' },
} as const satisfies Options;

export const PASSWORD_OPTIONS = {
  'password-file': { type: 'string' },
  'password-env': { type: 'string' },
} as const satisfies Options;

export const COMMON_OPTION_HELP = `  -i, --in FILE           read the message from FILE (default: standard input)
  -o, --out FILE          write the result to FILE (default: standard output); written whole or not at all`;

export const PASSWORD_HELP = `      --password-file FILE  the password for encrypted keys, from FILE (first line)
      --password-env NAME   the password from the environment variable NAME
                            (without either, a terminal prompts; passwords never go on the command line)`;

export function strings(v: Values[string]): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function str(v: Values[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** One row of a command with subcommands (`cert inspect`, `p12 export`, ...). */
export interface Subcommand {
  name: string;
  summary: string;
  /** The subcommand-specific options it accepts; options no subcommand lists are shared by all. */
  options: string[];
  run(values: Values, positionals: string[], io: Io): Promise<number>;
}

/** The subcommand list for help text, names padded to one column. */
export function subcommandHelp(subcommands: Subcommand[]): string {
  const width = Math.max(...subcommands.map((s) => s.name.length)) + 1;
  return subcommands.map((s) => `  ${s.name.padEnd(width)}${s.summary}`).join('\n');
}

/** Picks the subcommand named by the first positional and refuses options that belong to others. */
export function runSubcommand(
  command: string,
  subcommands: Subcommand[],
  values: Values,
  positionals: string[],
  io: Io,
): Promise<number> {
  const [name, ...rest] = positionals;
  const sub = subcommands.find((s) => s.name === name);
  if (!sub) {
    const known = subcommands.map((s) => s.name).join(', ');
    throw new UsageError(name ? `unknown subcommand "${name}" (known: ${known})` : `give a subcommand: ${known}`);
  }
  const specific = new Set(subcommands.flatMap((s) => s.options));
  for (const option of specific) {
    if (values[option] !== undefined && !sub.options.includes(option)) {
      throw new UsageError(`--${option} is not an option of "${command} ${sub.name}"`);
    }
  }
  return sub.run(values, rest, io);
}
