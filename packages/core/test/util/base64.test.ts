import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  base64DecodeStream,
  base64DecodeStrict,
  base64EncodeLines,
  base64EncodeStream,
  rechunk,
} from '../../src/util/base64.ts';
import { chunked, collect, rejectsWith } from '../mime/support.ts';

test('base64EncodeLines wraps at 76 with CRLF after every line, the last included', () => {
  const data = randomBytes(57 * 3 + 10);
  const out = base64EncodeLines(data).toString('latin1');
  const lines = out.split('\r\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(
    lines.map((l) => l.length),
    [76, 76, 76, 16],
  );
  assert.equal(lines.join(''), data.toString('base64'));
  assert.equal(base64EncodeLines(new Uint8Array(0)).length, 0);
  assert.equal(base64EncodeLines(Buffer.from('abc'), 64).toString(), 'YWJj\r\n');
});

test('base64EncodeLines rejects a line length that is not a multiple of 4', () => {
  assert.throws(() => base64EncodeLines(Buffer.from('x'), 75), { code: 'INVALID_ARGUMENT' });
});

test('base64EncodeStream equals base64EncodeLines of the whole, for odd chunkings', async () => {
  const data = randomBytes(300_000);
  for (const sizes of [[1, 56, 58], [57], [1000, 3], [300_000]]) {
    assert.deepEqual(await collect(base64EncodeStream(chunked(data, sizes))), base64EncodeLines(data));
  }
  assert.deepEqual(await collect(base64EncodeStream(chunked(data, [777]), 64)), base64EncodeLines(data, 64));
});

test('base64DecodeStrict skips whitespace, stops at the padding, accepts unpadded ends', () => {
  assert.equal(base64DecodeStrict(Buffer.from(' QU\r\nJD\tRA =\r\n=\r\n')).toString(), 'ABCD');
  assert.equal(base64DecodeStrict(Buffer.from('QUJDRA')).toString(), 'ABCD');
  assert.equal(base64DecodeStrict(Buffer.from('QQ==QQ==')).toString(), 'A');
  assert.equal(base64DecodeStrict(Buffer.from('')).length, 0);
});

test('base64DecodeStrict rejects bytes outside the alphabet, URL-safe ones, and truncation', () => {
  for (const bad of ['QUJ!', 'QU-D', 'QU_D', 'QUJD\x00', 'QUJD\u00e9', 'QUJDR', '=QUJ', 'Q===']) {
    assert.throws(() => base64DecodeStrict(Buffer.from(bad, 'latin1')), { code: 'MIME_MALFORMED' }, bad);
  }
});

test('base64DecodeStream equals the buffer decoder whatever the chunking', async () => {
  const data = randomBytes(100_003);
  const text = base64EncodeLines(data);
  for (const sizes of [[1, 2, 3], [78], [4096, 5], [text.length]]) {
    assert.deepEqual(await collect(base64DecodeStream(chunked(text, sizes))), data);
  }
  await rejectsWith(() => collect(base64DecodeStream(chunked(Buffer.from('QUJD\r\nQU*D'), [3]))), 'MIME_MALFORMED');
});

test('rechunk coalesces small chunks and passes large ones through', async () => {
  const data = randomBytes(10_000);
  const sizes: number[] = [];
  for await (const c of rechunk(chunked(data, [7, 300, 5000]), 1024)) sizes.push(c.length);
  assert.ok(sizes.slice(0, -1).every((n) => n >= 1024));
  assert.equal(
    sizes.reduce((a, b) => a + b, 0),
    data.length,
  );
  assert.deepEqual(await collect(rechunk(chunked(data, [3]), 1024)), data);
});

test('base64 streams a large body quickly (native codec, no per-byte loops)', async () => {
  const data = randomBytes(16 * 1024 * 1024);
  const t0 = performance.now();
  const encoded = await collect(base64EncodeStream(chunked(data, [256 * 1024])));
  const decoded = await collect(base64DecodeStream(chunked(encoded, [256 * 1024])));
  const ms = performance.now() - t0;
  assert.deepEqual(decoded, data);
  assert.ok(ms < 3000, `16 MiB round trip took ${ms.toFixed(0)} ms`);
});
