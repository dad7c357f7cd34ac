/**
 * A tiny schema language for request bodies, queries and path parameters. One declaration serves
 * three purposes: validating input (with messages that name the field by JSON Pointer, RFC 6901),
 * typing the handler's input (`Infer<S>`), and describing the API in OpenAPI 3.1 (`toJsonSchema`).
 * Objects are closed: a property that is not declared is an error, so typos never pass silently.
 */

interface Described {
  readonly description?: string;
}
export interface StringSchema extends Described {
  readonly kind: 'string';
  readonly minLength?: number;
  readonly maxLength?: number;
  /** A JSON Schema (ECMAScript, `u` flag) pattern; like JSON Schema, not implicitly anchored. */
  readonly pattern?: string;
  readonly format?: 'email' | 'date-time';
}
export interface IntegerSchema extends Described {
  readonly kind: 'integer';
  readonly minimum?: number;
  readonly maximum?: number;
}
export interface BooleanSchema extends Described {
  readonly kind: 'boolean';
}
export interface EnumSchema<V extends string = string> extends Described {
  readonly kind: 'enum';
  readonly values: readonly V[];
}
export interface ArraySchema<I extends Schema = Schema> extends Described {
  readonly kind: 'array';
  readonly items: I;
  readonly minItems?: number;
  readonly maxItems?: number;
}
export interface ObjectSchema<P extends Properties = Properties> extends Described {
  readonly kind: 'object';
  readonly properties: P;
}
/** Marks an object property as not required; meaningful only inside `object()`. */
export interface OptionalSchema<S extends Schema = Schema> {
  readonly kind: 'optional';
  readonly schema: S;
}
export type Schema = StringSchema | IntegerSchema | BooleanSchema | EnumSchema | ArraySchema | ObjectSchema;
export type Properties = Readonly<Record<string, Schema | OptionalSchema>>;

type RequiredKeys<P extends Properties> = { [K in keyof P]: P[K] extends OptionalSchema ? never : K }[keyof P];
type OptionalKeys<P extends Properties> = Exclude<keyof P, RequiredKeys<P>>;
type Flatten<T> = { [K in keyof T]: T[K] };

/** The TypeScript type of the values a schema accepts. */
export type Infer<S> = S extends StringSchema
  ? string
  : S extends IntegerSchema
    ? number
    : S extends BooleanSchema
      ? boolean
      : S extends EnumSchema<infer V>
        ? V
        : S extends ArraySchema<infer I>
          ? Infer<I>[]
          : S extends ObjectSchema<infer P>
            ? Flatten<
                { [K in RequiredKeys<P>]: Infer<P[K]> } & {
                  [K in OptionalKeys<P>]?: P[K] extends OptionalSchema<infer T> ? Infer<T> : never;
                }
              >
            : never;

type Options<S> = Omit<S, 'kind'>;

export const s = {
  string: (o: Options<StringSchema> = {}): StringSchema => ({ kind: 'string', ...o }),
  integer: (o: Options<IntegerSchema> = {}): IntegerSchema => ({ kind: 'integer', ...o }),
  boolean: (o: Options<BooleanSchema> = {}): BooleanSchema => ({ kind: 'boolean', ...o }),
  enum: <const V extends string>(values: readonly V[], o: Described = {}): EnumSchema<V> => ({
    kind: 'enum',
    values,
    ...o,
  }),
  array: <I extends Schema>(items: I, o: Omit<Options<ArraySchema<I>>, 'items'> = {}): ArraySchema<I> => ({
    kind: 'array',
    items,
    ...o,
  }),
  object: <P extends Properties>(properties: P, o: Described = {}): ObjectSchema<P> => ({
    kind: 'object',
    properties,
    ...o,
  }),
  optional: <S extends Schema>(schema: S): OptionalSchema<S> => ({ kind: 'optional', schema }),
};

/** One problem with an input, located by a JSON Pointer such as `/body/email`. */
export interface FieldError {
  readonly pointer: string;
  readonly message: string;
}

/** Enough to fix a request; a hostile one could otherwise make the error response huge. */
const MAX_ERRORS = 20;

/** RFC 6901 §3: `~` and `/` in a reference token are escaped as `~0` and `~1`. */
export function pointer(base: string, token: string | number): string {
  return `${base}/${String(token).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/** Checks `value` against `schema`; returns every problem found (up to a limit), or none. */
export function validate(schema: Schema, value: unknown, at: string): FieldError[] {
  const errors: FieldError[] = [];
  check(schema, value, at, errors);
  return errors.slice(0, MAX_ERRORS);
}

function check(schema: Schema, value: unknown, at: string, errors: FieldError[]): void {
  if (errors.length >= MAX_ERRORS) return;
  const problem = ownProblem(schema, value);
  if (problem !== undefined) {
    errors.push({ pointer: at, message: problem });
  } else if (schema.kind === 'array') {
    (value as unknown[]).forEach((item, i) => {
      check(schema.items, item, pointer(at, i), errors);
    });
  } else if (schema.kind === 'object') {
    const record = value as Record<string, unknown>;
    for (const [name, property] of Object.entries(schema.properties)) {
      const present = Object.hasOwn(record, name) && record[name] !== undefined;
      if (present)
        check(property.kind === 'optional' ? property.schema : property, record[name], pointer(at, name), errors);
      else if (property.kind !== 'optional') errors.push({ pointer: pointer(at, name), message: 'is required' });
    }
    for (const name of Object.keys(record)) {
      if (!Object.hasOwn(schema.properties, name))
        errors.push({ pointer: pointer(at, name), message: 'is not allowed' });
    }
  }
}

/** What is wrong with the value itself, not counting its items or properties. */
function ownProblem(schema: Schema, value: unknown): string | undefined {
  switch (schema.kind) {
    case 'string': {
      if (typeof value !== 'string') return 'must be a string';
      // JSON Schema counts characters as code points, not UTF-16 units.
      const length = [...value].length;
      if (schema.minLength !== undefined && length < schema.minLength)
        return schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters long`;
      if (schema.maxLength !== undefined && length > schema.maxLength)
        return `must be at most ${schema.maxLength} characters long`;
      if (schema.format === 'email' && !isEmail(value)) return 'must be an e-mail address';
      if (schema.format === 'date-time' && !isDateTime(value))
        return 'must be an RFC 3339 date-time such as 2026-12-03T06:55:00Z';
      if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
        return `must match the pattern ${schema.pattern}`;
      return undefined;
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return 'must be an integer';
      if (schema.minimum !== undefined && value < schema.minimum) return `must be at least ${schema.minimum}`;
      if (schema.maximum !== undefined && value > schema.maximum) return `must be at most ${schema.maximum}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'enum':
      return typeof value === 'string' && schema.values.includes(value)
        ? undefined
        : `must be one of ${schema.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'array':
      if (!Array.isArray(value)) return 'must be an array';
      if (schema.minItems !== undefined && value.length < schema.minItems)
        return `must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`;
      if (schema.maxItems !== undefined && value.length > schema.maxItems)
        return `must have at most ${schema.maxItems} item${schema.maxItems === 1 ? '' : 's'}`;
      return undefined;
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? undefined : 'must be an object';
  }
}

/**
 * A pragmatic addr-spec (RFC 5322 §3.4.1, dot-atom forms only): what people type as an address.
 * Quoted local parts and address literals are legal but refused, as mail systems mostly do.
 */
const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function isEmail(value: string): boolean {
  // RFC 5321 §4.5.3.1: at most 64 octets before the @ and 254 in all.
  return value.length <= 254 && EMAIL.test(value) && value.indexOf('@') <= 64;
}

/** RFC 3339 §5.6 date-time, with a real calendar date and time. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

function isDateTime(value: string): boolean {
  const m = DATE_TIME.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = m
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part))) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  // Second 60 is a leap second (RFC 3339 §5.7).
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 60 &&
    offsetHour <= 23 &&
    offsetMinute <= 59
  );
}

/**
 * Turns the text values of a query string or path into what `schema` expects, before validation:
 * `?limit=10` becomes the integer 10, `?tag=a&tag=b` an array. A value that does not convert is left
 * as text, so validation reports it with the schema's own message.
 */
export function coerceParameters(
  schema: ObjectSchema,
  values: ReadonlyMap<string, readonly string[]>,
  at: string,
): { value: Record<string, unknown>; errors: FieldError[] } {
  const value: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [name, texts] of values) {
    const declared = schema.properties[name];
    const property = declared?.kind === 'optional' ? declared.schema : declared;
    if (property === undefined || property.kind === 'array') {
      value[name] = property === undefined ? texts[0] : texts.map((t) => coerceScalar(property.items, t));
    } else if (texts.length > 1) {
      errors.push({ pointer: pointer(at, name), message: 'must be given only once' });
    } else {
      value[name] = coerceScalar(property, texts[0]!);
    }
  }
  return { value, errors };
}

function coerceScalar(schema: Schema, text: string): unknown {
  if (schema.kind === 'integer' && /^-?\d{1,16}$/.test(text)) return Number(text);
  if (schema.kind === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) describing the same values. */
export function toJsonSchema(schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  switch (schema.kind) {
    case 'string':
      out['type'] = 'string';
      if (schema.minLength !== undefined) out['minLength'] = schema.minLength;
      if (schema.maxLength !== undefined) out['maxLength'] = schema.maxLength;
      if (schema.pattern !== undefined) out['pattern'] = schema.pattern;
      if (schema.format !== undefined) out['format'] = schema.format;
      break;
    case 'integer':
      out['type'] = 'integer';
      if (schema.minimum !== undefined) out['minimum'] = schema.minimum;
      if (schema.maximum !== undefined) out['maximum'] = schema.maximum;
      break;
    case 'boolean':
      out['type'] = 'boolean';
      break;
    case 'enum':
      out['type'] = 'string';
      out['enum'] = [...schema.values];
      break;
    case 'array':
      out['type'] = 'array';
      out['items'] = toJsonSchema(schema.items);
      if (schema.minItems !== undefined) out['minItems'] = schema.minItems;
      if (schema.maxItems !== undefined) out['maxItems'] = schema.maxItems;
      break;
    case 'object': {
      out['type'] = 'object';
      const entries = Object.entries(schema.properties);
      out['properties'] = Object.fromEntries(
        entries.map(([name, p]) => [name, toJsonSchema(p.kind === 'optional' ? p.schema : p)]),
      );
      const required = entries.filter(([, p]) => p.kind !== 'optional').map(([name]) => name);
      if (required.length > 0) out['required'] = required;
      out['additionalProperties'] = false;
      break;
    }
  }
  if (schema.description !== undefined) out['description'] = schema.description;
  return out;
}
