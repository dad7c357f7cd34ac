/**
 * Hostile input for the LDAP codec: random bytes, random BER structures, mutated valid messages,
 * random filter and DN text. Every reader either returns or throws a SealpostError, and whatever it
 * accepts survives another round trip unchanged. Bounded to a few seconds for CI.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isSealpostError } from '../../src/errors.ts';
import {
  decodeLdapMessage,
  encodeLdapMessage,
  formatDn,
  formatFilter,
  normalizeDn,
  parseDn,
  parseFilter,
  readLdapFrame,
} from '../../src/ldap/index.ts';
import { berNodeArb, encodeBer } from '../asn1/ber-support.ts';
import { dnArb, filterArb, messageArb } from './arbitraries.ts';

/** Runs `f`; a SealpostError is an accepted outcome, anything else fails the property. */
function onlySealpostErrors<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!isSealpostError(e)) throw e;
    return undefined;
  }
}

/** Frames, decodes and, when accepted, re-encodes and decodes again to the same message. */
function decodeEverything(bytes: Uint8Array): void {
  onlySealpostErrors(() => readLdapFrame(bytes));
  const m = onlySealpostErrors(() => decodeLdapMessage(bytes));
  if (m !== undefined) assert.deepEqual(decodeLdapMessage(encodeLdapMessage(m)), m);
}

/** One edit of a byte string: overwrite, insert, delete, truncate or duplicate a slice. */
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 12 }) }),
);
type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never;

function mutate(input: Uint8Array, edits: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const e of edits) {
    const at = b.length === 0 ? 0 : e.at % b.length;
    switch (e.kind) {
      case 'set':
        if (b.length > 0) b[at] = e.byte;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at + e.n), b.subarray(at)]);
        break;
    }
  }
  return b;
}

const edits = fc.array(mutationArb, { minLength: 1, maxLength: 4 });

test('random bytes: readLdapFrame and decodeLdapMessage only throw SealpostError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => decodeEverything(bytes)),
    { numRuns: 5000 },
  );
  // Bytes that at least start like a message, so the decoder gets past the header.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (body) =>
      decodeEverything(Buffer.concat([Buffer.from([0x30, body.length]), body])),
    ),
    { numRuns: 5000 },
  );
});

test('random BER structures: only SealpostError', () => {
  fc.assert(
    fc.property(berNodeArb, (node) => decodeEverything(encodeBer(node))),
    { numRuns: 1000 },
  );
});

test('mutated valid messages: only SealpostError, and what is accepted round trips', () => {
  fc.assert(
    fc.property(messageArb, edits, (m, e) => decodeEverything(mutate(encodeLdapMessage(m), e))),
    { numRuns: 5000 },
  );
});

const specials = fc.constantFrom(
  '(',
  ')',
  '&',
  '|',
  '!',
  '=',
  '~',
  '<',
  '>',
  ':',
  '*',
  '\\',
  '2',
  'a',
  'dn',
  ';',
  ' ',
  '.',
  '1',
  '\0',
  'é',
);
const textArb = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: specials, maxLength: 40 }));

test('filter text: parseFilter only throws SealpostError; what it accepts formats and parses back', () => {
  const check = (text: string) => {
    const f = onlySealpostErrors(() => parseFilter(text));
    if (f !== undefined) assert.deepEqual(parseFilter(formatFilter(f)), f);
  };
  fc.assert(fc.property(textArb, check), { numRuns: 5000 });
  fc.assert(
    fc.property(filterArb, edits, (f, e) => check(mutate(Buffer.from(formatFilter(f), 'utf8'), e).toString('utf8'))),
    { numRuns: 2000 },
  );
});

const dnSpecials = fc.constantFrom(
  '=',
  ',',
  '+',
  '\\',
  '#',
  '"',
  ';',
  '<',
  '>',
  ' ',
  'cn',
  '2C',
  '0c02',
  'a',
  '1.2',
  '\0',
  'é',
);
const dnTextArb = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: dnSpecials, maxLength: 40 }));

test('DN text: parseDn and normalizeDn only throw SealpostError; what parses formats and parses back', () => {
  const check = (text: string) => {
    const dn = onlySealpostErrors(() => parseDn(text));
    if (dn === undefined) return;
    assert.deepEqual(parseDn(formatDn(dn)), dn);
    const n = normalizeDn(text);
    assert.equal(normalizeDn(n), n);
  };
  fc.assert(fc.property(dnTextArb, check), { numRuns: 5000 });
  fc.assert(
    fc.property(dnArb, edits, (dn, e) => check(mutate(Buffer.from(formatDn(dn), 'utf8'), e).toString('utf8'))),
    { numRuns: 2000 },
  );
});
