/** Mutated and random PKCS#10 requests: parseCsr answers or throws a SealpostError, nothing else. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { SealpostError } from '../../src/errors.ts';
import { pemEncode } from '../../src/util/pem.ts';
import { buildCsr, parseCsr } from '../../src/x509/csr.ts';

const seeds = [
  buildCsr({
    subject: [
      { type: 'C', value: 'DE' },
      { type: 'CN', value: 'Fuzz RSA' },
    ],
    key: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
    emails: ['a@example.org', 'b@example.org'],
  }),
  buildCsr({
    subject: [{ type: 'CN', value: 'Fuzz EC' }],
    key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    emails: ['c@example.org'],
  }),
  buildCsr({ subject: [], key: generateKeyPairSync('ed25519').privateKey }),
];

function parsesOrFailsTyped(input: Uint8Array | string): void {
  try {
    const csr = parseCsr(input);
    assert.equal(typeof csr.verified, 'boolean');
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
  }
}

test('mutated requests: a result or a SealpostError', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.option(fc.nat(), { nil: undefined }),
      (seed, flips, cut) => {
        const out = Buffer.from(seed);
        for (const [at, mask] of flips) out[at % out.length]! ^= mask;
        parsesOrFailsTyped(cut === undefined ? out : out.subarray(0, cut % out.length));
      },
    ),
    { numRuns: 1500 },
  );
});

test('random bytes and PEM wrapping: a result or a SealpostError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      parsesOrFailsTyped(bytes);
      parsesOrFailsTyped(pemEncode('CERTIFICATE REQUEST', bytes));
      parsesOrFailsTyped(Buffer.concat([Buffer.of(0x30, 0x82, bytes.length >> 8, bytes.length & 0xff), bytes]));
    }),
    { numRuns: 500 },
  );
});

test('the seeds themselves verify', () => {
  for (const s of seeds) assert.equal(parseCsr(s).verified, true);
});
