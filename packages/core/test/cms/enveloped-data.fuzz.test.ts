import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decryptContent, decryptStream, describeEnvelope, encryptContent } from '../../src/cms/enveloped-data.ts';
import { SealpostError } from '../../src/errors.ts';
import { cert, chunked, key, opensslEncrypt } from './enveloped-data-support.ts';

const CONTENT = Buffer.from('fuzzing the envelope\r\n'.repeat(8));
const KEYS = [key('alice'), key('carol'), key('frank')];

/** Seeds: ours (DER, CBC and GCM, RSA and EC and X25519) and OpenSSL's BER -stream form. */
const SEEDS = [
  encryptContent(CONTENT, {
    recipients: [{ certificate: cert('alice') }, { certificate: cert('carol') }],
    cipher: 'aes-256-cbc',
  }),
  encryptContent(CONTENT, {
    recipients: [{ certificate: cert('frank') }, { certificate: cert('alice'), rsaPadding: 'oaep' }],
    cipher: 'aes-128-gcm',
  }),
  opensslEncrypt(CONTENT, ['alice', 'carol'], ['-aes-256-gcm', '-stream']),
];

const mutated = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([seed, flips, cut]) => {
    const out = Buffer.from(seed);
    for (const [at, mask] of flips) out[at % out.length]! ^= mask;
    return cut === undefined ? out : out.subarray(0, cut % out.length);
  });

function onlySealpostErrors(run: () => void): void {
  try {
    run();
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
  }
}

test('mutated or truncated envelopes give SealpostError from describeEnvelope and decryptContent', () => {
  fc.assert(
    fc.property(mutated, (der) => {
      onlySealpostErrors(() => describeEnvelope(der));
      onlySealpostErrors(() => decryptContent(der, KEYS));
    }),
    { numRuns: 2000 },
  );
});

test('mutated or truncated envelopes give SealpostError from decryptStream, chunked at random', async () => {
  await fc.assert(
    fc.asyncProperty(mutated, fc.nat(), async (der, seed) => {
      try {
        const { content } = await decryptStream(chunked(der, seed, 64), KEYS);
        for await (const _ of content);
      } catch (e) {
        if (!(e instanceof SealpostError)) throw e;
      }
    }),
    { numRuns: 1000 },
  );
});

test('the seeds themselves decrypt (the fuzz starts from valid input)', () => {
  for (const der of SEEDS) assert.deepEqual(decryptContent(der, KEYS).content, CONTENT);
});
