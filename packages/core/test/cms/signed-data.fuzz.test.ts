import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { openSignedStream, parseSignedData, signContent, verifySigners } from '../../src/cms/signed-data.ts';
import { SealpostError } from '../../src/errors.ts';
import { basicValidator } from '../../src/x509/path.ts';
import { chunked, collect, opensslSign, root as ROOT, SIGNING_TIME, signer } from './signed-data-support.ts';

const CONTENT = Buffer.from('fuzzing the signature\r\n'.repeat(8));

/** Seeds: ours (attached and detached; RSA, PSS, ECDSA, Ed25519, SKI) and OpenSSL's (indefinite, -noattr). */
const SEEDS = [
  signContent(CONTENT, { signers: [signer('alice'), signer('erin')], signingTime: SIGNING_TIME, detached: false }),
  signContent(CONTENT, {
    signers: [
      signer('carol', { identifier: 'subjectKeyIdentifier', encryptionCertificate: signer('carol').certificate }),
    ],
    signingTime: SIGNING_TIME,
    detached: true,
  }),
  signContent(CONTENT, {
    signers: [signer('bob', { rsaPadding: 'pss', digest: 'sha384' })],
    signingTime: SIGNING_TIME,
    detached: false,
  }),
  opensslSign(CONTENT, ['dave'], ['-stream', '-nodetach']),
  opensslSign(CONTENT, ['alice'], ['-noattr', '-nodetach']),
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

function rethrowUnlessSealpost(e: unknown): void {
  if (!(e instanceof SealpostError)) throw e;
}

test('every seed verifies unmutated', () => {
  for (const seed of SEEDS) {
    const info = parseSignedData(seed);
    for (const r of verifySigners(info, info.content ?? CONTENT))
      assert.equal(r.status, 'valid', JSON.stringify(r.checks));
  }
});

test('mutated SignedData: parseSignedData throws only SealpostError, verifySigners never throws', () => {
  fc.assert(
    fc.property(mutated, (bytes) => {
      let info: ReturnType<typeof parseSignedData>;
      try {
        info = parseSignedData(bytes);
      } catch (e) {
        rethrowUnlessSealpost(e);
        return;
      }
      const results = verifySigners(info, info.content ?? CONTENT, { allowLegacy: true });
      for (const r of results) assert.ok(r.status === 'valid' || r.status === 'invalid');
      // Chain building over whatever certificates survived never throws either.
      for (const leaf of info.certificates) {
        basicValidator.validate({
          leaf,
          candidates: info.certificates,
          trustAnchors: [ROOT],
          time: SIGNING_TIME,
          purpose: 'sign',
        });
      }
    }),
    { numRuns: 3000 },
  );
});

test('mutated SignedData through openSignedStream: only SealpostError', async () => {
  await fc.assert(
    fc.asyncProperty(mutated, fc.integer({ min: 1, max: 700 }), async (bytes, chunk) => {
      try {
        const opened = await openSignedStream(chunked(bytes, chunk));
        await collect(opened.content);
        const info = await opened.finish();
        verifySigners(info, { digests: info.digests });
      } catch (e) {
        rethrowUnlessSealpost(e);
      }
    }),
    { numRuns: 1000 },
  );
});
