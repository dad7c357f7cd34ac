import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { isSealpostError } from '../../src/errors.ts';
import { buildPkcs12, inspectPkcs12, readPkcs12 } from '../../src/pkcs12/pfx.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { testPki } from '../support/pki.ts';

const pki = testPki();
const carol = pki.user('carol');
const identity = {
  privateKey: createPrivateKey(carol.key),
  certificate: Certificate.from(carol.cert),
  chain: [Certificate.from(pki.intermediate.cert)],
  password: 'pw',
  // One iteration: a mutated count stays small, so every run is fast.
  iterations: 1,
};
const samples = [
  buildPkcs12({ ...identity, profile: 'compat' }),
  buildPkcs12({ ...identity, profile: 'modern' }),
  // RC2-40 certificates, a 3DES key and unencrypted bags, from other writers.
  readFileSync('/usr/lib/python3/dist-packages/cryptography_vectors/pkcs12/cert-rc2-key-3des.p12'),
  readFileSync('/usr/lib/python3/dist-packages/cryptography_vectors/pkcs12/cert-none-key-none.p12'),
];
const passwords = ['pw', 'pw', 'cryptography', 'cryptography'];

/** Every entry point on `data`: success or a SealpostError, nothing else. */
function everything(data: Uint8Array, password: string): void {
  for (const f of [() => readPkcs12(data, password), () => inspectPkcs12(data), () => inspectPkcs12(data, password)]) {
    try {
      f();
    } catch (e) {
      if (!isSealpostError(e)) throw e;
    }
  }
}

test('the samples are valid to begin with', () => {
  samples.forEach((s, i) => {
    assert.equal(readPkcs12(s, passwords[i]!).identities.length, 1);
  });
});

test('mutated PKCS#12 files fail only with SealpostError', () => {
  const mutation = fc.record({
    sample: fc.nat(samples.length - 1),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
  });
  fc.assert(
    fc.property(mutation, ({ sample, edits }) => {
      const data = Buffer.from(samples[sample]!);
      for (const [at, value] of edits) data[at % data.length] = value;
      everything(data, passwords[sample]!);
    }),
    { numRuns: 400 },
  );
});

test('truncated and extended files fail only with SealpostError', () => {
  fc.assert(
    fc.property(fc.nat(samples.length - 1), fc.nat(), fc.uint8Array({ maxLength: 8 }), (sample, cut, tail) => {
      const s = samples[sample]!;
      everything(s.subarray(0, cut % s.length), passwords[sample]!);
      everything(Buffer.concat([s, tail]), passwords[sample]!);
    }),
    { numRuns: 200 },
  );
});
