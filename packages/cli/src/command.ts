/** The shape every command has: its options, its help text (with an example), and what it does. */
import type { ParseArgsConfig } from 'node:util';
import type { Io } from './io.ts';

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
