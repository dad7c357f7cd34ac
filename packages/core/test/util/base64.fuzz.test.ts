import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  base64DecodeStream,
  base64DecodeStrict,
  base64EncodeLines,
  base64EncodeStream,
} from '../../src/util/base64.ts';
import { chunked, collect, onlySealpostErrors } from '../mime/support.ts';

const chunkSizes = fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 6 });
const lineLength = fc.constantFrom(4, 64, 76, 128);

test('base64EncodeStream equals base64EncodeLines whatever the chunking', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), chunkSizes, lineLength, async (data, sizes, len) => {
      assert.deepEqual(await collect(base64EncodeStream(chunked(data, sizes), len)), base64EncodeLines(data, len));
    }),
    { numRuns: 300 },
  );
});

test('base64DecodeStream round-trips and equals Buffer decoding for valid input', async () => {
  const whitespace = fc.array(fc.constantFrom('', ' ', '\t', '\r\n', '\n'), { maxLength: 3 }).map((a) => a.join(''));
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 2000 }),
      chunkSizes,
      lineLength,
      whitespace,
      async (data, sizes, len, ws) => {
        const text = Buffer.from(
          base64EncodeLines(data, len).toString('latin1').replace(/\r\n/g, `${ws}\r\n`),
          'latin1',
        );
        const decoded = await collect(base64DecodeStream(chunked(text, sizes)));
        assert.deepEqual(decoded, Buffer.from(data));
        assert.deepEqual(decoded, Buffer.from(text.toString('latin1'), 'base64'));
        assert.deepEqual(base64DecodeStrict(text), decoded);
      },
    ),
    { numRuns: 300 },
  );
});

test('base64DecodeStream on arbitrary bytes: same verdict as the buffer decoder, SealpostError only', async () => {
  const alphabetish = fc
    .array(fc.constantFrom('A', 'b', '9', '+', '/', '=', '\r\n', ' ', '-', '!', '\u00ff'), { maxLength: 80 })
    .map((a) => Buffer.from(a.join(''), 'latin1'));
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        alphabetish,
        fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
      ),
      chunkSizes,
      async (input, sizes) => {
        let expected: Buffer | undefined;
        try {
          expected = base64DecodeStrict(input);
        } catch (e) {
          onlySealpostErrors(e);
        }
        let actual: Buffer | undefined;
        try {
          actual = await collect(base64DecodeStream(chunked(input, sizes)));
        } catch (e) {
          onlySealpostErrors(e);
        }
        assert.deepEqual(actual, expected);
      },
    ),
    { numRuns: 800 },
  );
});
