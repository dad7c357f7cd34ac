/**
 * Structured logs: one JSON object per line (`time`, `level`, `msg`, then the event's fields), written
 * to a stream. Every record passes through `redact` first, so secrets handed to the logger by
 * mistake — a password field, a cookie header, a PEM private key or an API token inside an error
 * message — never reach the log.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. the request id) to every record. */
  child(fields: LogFields): Logger;
}

export interface LogSink {
  write(line: string): unknown;
}

export const REDACTED = '[REDACTED]';

/** Keys whose values are secrets whatever they hold. */
const SECRET_KEY = /password|passphrase|secret|token|authorization|cookie|private_?key|pkcs12/i;
/** Secrets recognisable by their shape, wherever they appear in a text. */
const SECRET_TEXT: readonly [RegExp, string][] = [
  // RFC 7468 PEM of any private key kind (PRIVATE KEY, RSA PRIVATE KEY, ENCRYPTED PRIVATE KEY…),
  // including a truncated one with no END line.
  [
    /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
    '[REDACTED PRIVATE KEY]',
  ],
  // Credentials in URLs (postgres://user:password@host).
  [/\b([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1[REDACTED]@'],
  // Sealpost API tokens.
  [/\bspk_[A-Za-z0-9_-]+/g, 'spk_[REDACTED]'],
];
/** Deep or cyclic structures are cut rather than walked forever. */
const MAX_DEPTH = 8;

/** A copy of `value` that is plain JSON data with every secret replaced. */
export function redact(value: unknown): unknown {
  return redactValue(value, 0, new WeakSet());
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' || typeof value === 'symbol' ? String(value) : value;
  }
  if (seen.has(value) || depth >= MAX_DEPTH) return '[…]';
  seen.add(value);
  try {
    if (value instanceof Error) return redactValue(errorFields(value), depth, seen);
    if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) ? REDACTED : redactValue(item, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_TEXT) out = out.replace(pattern, replacement);
  return out;
}

function errorFields(e: Error): Record<string, unknown> {
  const code = (e as { code?: unknown }).code;
  return {
    name: e.name,
    message: e.message,
    ...(code === undefined ? {} : { code }),
    ...(e.stack === undefined ? {} : { stack: e.stack }),
    ...(e.cause === undefined ? {} : { cause: e.cause }),
  };
}

export interface LoggerOptions {
  readonly sink: LogSink;
  readonly level?: LogLevel;
  /** The clock for `time`; the real one by default. */
  readonly now?: () => Date;
}

export function createLogger({ sink, level = 'info', now = () => new Date() }: LoggerOptions): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const make = (bound: LogFields): Logger => {
    const emit = (at: LogLevel, msg: string, fields: LogFields = {}) => {
      if (LOG_LEVELS.indexOf(at) < threshold) return;
      const { time: _t, level: _l, msg: _m, ...rest } = redact({ ...bound, ...fields }) as Record<string, unknown>;
      // time, level and msg come first, and fields cannot override them.
      const record = { time: now().toISOString(), level: at, msg: redactText(msg), ...rest };
      sink.write(`${JSON.stringify(record)}\n`);
    };
    return {
      debug: (msg, fields) => emit('debug', msg, fields),
      info: (msg, fields) => emit('info', msg, fields),
      warn: (msg, fields) => emit('warn', msg, fields),
      error: (msg, fields) => emit('error', msg, fields),
      child: (fields) => make({ ...bound, ...fields }),
    };
  };
  return make({});
}
