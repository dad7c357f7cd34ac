import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coerceParameters, s, toJsonSchema, validate } from '../../src/http/schema.ts';

const user = s.object({
  email: s.string({ format: 'email' }),
  name: s.string({ minLength: 1, maxLength: 5 }),
  age: s.optional(s.integer({ minimum: 18, maximum: 130 })),
  role: s.optional(s.enum(['admin', 'user'])),
  active: s.optional(s.boolean()),
  tags: s.optional(s.array(s.string({ pattern: '^[a-z]+$' }), { maxItems: 2 })),
  since: s.optional(s.string({ format: 'date-time' })),
});

const messages = (value: unknown) => validate(user, value, '/body').map((e) => `${e.pointer}: ${e.message}`);

describe('schema validation', () => {
  it('accepts a valid value', () => {
    assert.deepEqual(
      messages({
        email: 'a.b+c@example.org',
        name: 'Ann',
        age: 30,
        role: 'admin',
        tags: ['x'],
        since: '2026-12-03T06:55:00.5+01:00',
      }),
      [],
    );
  });

  it('names each invalid field with a JSON Pointer', () => {
    assert.deepEqual(messages({ email: 'nope', name: '', age: 12.5, role: 'root', active: 'yes', extra: 1 }), [
      '/body/email: must be an e-mail address',
      '/body/name: must not be empty',
      '/body/age: must be an integer',
      '/body/role: must be one of "admin", "user"',
      '/body/active: must be true or false',
      '/body/extra: is not allowed',
    ]);
    assert.deepEqual(messages({ name: 'toolong', age: 17, tags: ['ok', 'No', 'z'] }), [
      '/body/email: is required',
      '/body/name: must be at most 5 characters long',
      '/body/age: must be at least 18',
      '/body/tags: must have at most 2 items',
    ]);
    assert.deepEqual(messages({ email: 'a@b.co', name: 'x', tags: ['a/b'] }), [
      '/body/tags/0: must match the pattern ^[a-z]+$',
    ]);
    assert.deepEqual(messages([]), ['/body: must be an object']);
  });

  it('escapes pointer tokens (RFC 6901) and counts characters as code points', () => {
    const schema = s.object({ 'a/b~c': s.string({ maxLength: 2 }) });
    assert.deepEqual(validate(schema, { 'a/b~c': '😀😀' }, ''), []);
    assert.deepEqual(validate(schema, { 'a/b~c': '😀😀😀' }, ''), [
      { pointer: '/a~1b~0c', message: 'must be at most 2 characters long' },
    ]);
  });

  it('checks RFC 3339 date-times against the calendar', () => {
    const at = (since: string) => messages({ email: 'a@b.co', name: 'x', since });
    assert.deepEqual(at('2028-02-29T23:59:60Z'), []);
    for (const bad of [
      '2027-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-12-03 06:55:00Z',
      '2026-12-03T24:00:00Z',
      '2026-12-03T06:55:00',
    ]) {
      assert.deepEqual(at(bad), ['/body/since: must be an RFC 3339 date-time such as 2026-12-03T06:55:00Z'], bad);
    }
  });

  it('rejects e-mail addresses without a domain dot or with a long local part', () => {
    for (const bad of ['a@b', '@b.co', 'a@@b.co', 'a b@c.de', `${'x'.repeat(65)}@b.co`, 'a@-b.co']) {
      assert.deepEqual(messages({ email: bad, name: 'x' }), ['/body/email: must be an e-mail address'], bad);
    }
  });

  it('caps the number of errors reported', () => {
    const list = s.array(s.integer());
    assert.equal(
      validate(
        list,
        Array.from({ length: 100 }, () => 'x'),
        '',
      ).length,
      20,
    );
  });
});

describe('parameter coercion', () => {
  const query = s.object({
    limit: s.optional(s.integer({ maximum: 100 })),
    full: s.optional(s.boolean()),
    tag: s.optional(s.array(s.string())),
  });
  it('converts text to the declared types', () => {
    const values = new Map([
      ['limit', ['10']],
      ['full', ['true']],
      ['tag', ['a', 'b']],
    ]);
    assert.deepEqual(coerceParameters(query, values, '/query'), {
      value: { limit: 10, full: true, tag: ['a', 'b'] },
      errors: [],
    });
  });
  it('leaves unconvertible text for validation to report, and refuses repeated scalars', () => {
    const values = new Map([
      ['limit', ['ten']],
      ['full', ['1', '0']],
    ]);
    const { value, errors } = coerceParameters(query, values, '/query');
    assert.deepEqual(errors, [{ pointer: '/query/full', message: 'must be given only once' }]);
    assert.deepEqual(validate(query, value, '/query'), [{ pointer: '/query/limit', message: 'must be an integer' }]);
  });
});

describe('JSON Schema generation', () => {
  it('describes the same constraints', () => {
    assert.deepEqual(toJsonSchema(user), {
      type: 'object',
      properties: {
        email: { type: 'string', format: 'email' },
        name: { type: 'string', minLength: 1, maxLength: 5 },
        age: { type: 'integer', minimum: 18, maximum: 130 },
        role: { type: 'string', enum: ['admin', 'user'] },
        active: { type: 'boolean' },
        tags: { type: 'array', items: { type: 'string', pattern: '^[a-z]+$' }, maxItems: 2 },
        since: { type: 'string', format: 'date-time' },
      },
      required: ['email', 'name'],
      additionalProperties: false,
    });
  });
});
