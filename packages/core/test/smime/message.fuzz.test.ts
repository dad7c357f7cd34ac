/**
 * Mutated and truncated S/MIME messages: the message APIs fail only with SealpostError, and a
 * mutation never makes verifyMessage call different content "signed".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isSealpostError } from '../../src/errors.ts';
import { decryptMessage } from '../../src/smime/decrypt.ts';
import { encryptMessage } from '../../src/smime/encrypt.ts';
import { inspectMessage } from '../../src/smime/inspect.ts';
import { signMessage } from '../../src/smime/sign.ts';
import { verifyMessage } from '../../src/smime/verify.ts';
import { entityOf, key, message, opensslSign, recipient, SIGNING_TIME, signer, verifyOptions } from './support.ts';

const msg = message(
  'alice@example.org',
  'Pay 100 EUR to account 1234.\r\nThank you.\r\n',
  [],
  ['Content-Type: text/plain; charset=us-ascii'],
);
const keys = [key('alice'), key('bob')];
const options = verifyOptions({ keys });

const SIGNED = [
  signMessage(msg, { signers: [signer('alice')], signingTime: SIGNING_TIME }),
  signMessage(msg, { signers: [signer('alice', { rsaPadding: 'pss' })], signingTime: SIGNING_TIME, mode: 'opaque' }),
  Buffer.concat([Buffer.from('From: alice@example.org\r\n'), opensslSign(entityOf(msg), ['alice'])]),
  encryptMessage(signMessage(msg, { signers: [signer('alice')], signingTime: SIGNING_TIME }), {
    recipients: [recipient('bob')],
    cipher: 'aes-256-cbc',
  }).message,
];
const ENCRYPTED = [
  encryptMessage(msg, { recipients: [recipient('alice')], cipher: 'aes-128-gcm' }).message,
  encryptMessage(msg, {
    recipients: [recipient('bob', { rsaPadding: 'oaep' }), recipient('carol')],
    cipher: 'aes-256-cbc',
  }).message,
];
/** What every signed seed reports as its verified content. */
const CONTENT = verifyMessage(SIGNED[0]!, options).content;

const mutate = (seeds: Buffer[]) =>
  fc
    .tuple(
      fc.nat({ max: seeds.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
      fc.option(fc.nat(), { nil: undefined, freq: 4 }),
    )
    .map(([i, flips, cut]) => {
      const out = Buffer.from(seeds[i]!);
      for (const [at, mask] of flips) out[at % out.length]! ^= mask;
      return cut === undefined ? out : out.subarray(0, cut % out.length);
    });

/** Runs `fn`; only a SealpostError may escape it. */
function guarded<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!isSealpostError(e)) throw e;
    return undefined;
  }
}

test('every seed is whole: signed ones verify, encrypted ones open', () => {
  for (const s of SIGNED) {
    const r = verifyMessage(s, options);
    assert.equal(r.status, 'signed', r.reason);
    assert.deepEqual(r.content, CONTENT);
  }
  for (const e of ENCRYPTED) assert.match(Buffer.from(decryptMessage(e, keys).message).toString(), /Pay 100 EUR/);
});

test('mutated signed messages: SealpostError or a report; "signed" only for the original content', () => {
  fc.assert(
    fc.property(mutate(SIGNED), (bytes) => {
      const r = guarded(() => verifyMessage(bytes, options));
      if (r?.status === 'signed') assert.deepEqual(r.content, CONTENT);
      guarded(() => inspectMessage(bytes));
      guarded(() => decryptMessage(bytes, keys));
    }),
    { numRuns: 300 },
  );
});

test('mutated encrypted messages: decryptMessage, verifyMessage and inspectMessage throw only SealpostError', () => {
  fc.assert(
    fc.property(mutate(ENCRYPTED), (bytes) => {
      guarded(() => decryptMessage(bytes, keys));
      const r = guarded(() => verifyMessage(bytes, options));
      if (r) assert.notEqual(r.status, 'signed');
      guarded(() => inspectMessage(bytes));
    }),
    { numRuns: 200 },
  );
});

test('any change inside the clear-signed entity is never "signed"', () => {
  const seeds = [SIGNED[0]!, SIGNED[2]!].map((s) => {
    const text = s.toString('latin1');
    const start = text.indexOf('Content-Type: text/plain');
    return { bytes: s, start, length: text.indexOf('Thank you.', start) + 10 - start };
  });
  fc.assert(
    fc.property(
      fc.nat({ max: seeds.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
      (i, flips) => {
        const { bytes, start, length } = seeds[i]!;
        const out = Buffer.from(bytes);
        for (const [at, mask] of flips) out[start + (at % length)]! ^= mask;
        fc.pre(!out.equals(bytes)); // two flips may cancel out
        const r = guarded(() => verifyMessage(out, options));
        assert.notEqual(r?.status, 'signed');
      },
    ),
    { numRuns: 200 },
  );
});
