import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { toCrlf } from '../../src/mime/canonical.ts';
import { decodeBody, entityBytes, parseEntity } from '../../src/mime/entity.ts';
import { buildMultipartSigned } from '../../src/mime/smime-entities.ts';
import { crlfStream, MultipartSignedReader, readHeaderBlockStream } from '../../src/mime/stream.ts';
import { chunked, collect, rejectsWith } from './support.ts';

test('readHeaderBlockStream reads only the header block and hands back the rest', async () => {
  const msg = Buffer.from('From: a@b\r\nSubject: x\r\n\r\nbody line\r\nmore');
  for (const sizes of [[1], [3, 7], [msg.length]]) {
    const { fields, headerBytes, body } = await readHeaderBlockStream(chunked(msg, sizes));
    assert.deepEqual(
      fields.map((f) => f.name),
      ['From', 'Subject'],
    );
    assert.equal(Buffer.from(headerBytes).toString(), 'From: a@b\r\nSubject: x\r\n\r\n');
    assert.equal((await collect(body)).toString(), 'body line\r\nmore');
  }
  const lf = await readHeaderBlockStream(chunked(Buffer.from('\nbody'), [1]));
  assert.equal(lf.fields.length, 0);
  assert.equal((await collect(lf.body)).toString(), 'body');
  const only = await readHeaderBlockStream(chunked(Buffer.from('A: b\r\n'), [2]));
  assert.equal(only.fields.length, 1);
  assert.equal((await collect(only.body)).length, 0);
});

test('readHeaderBlockStream bounds the header block', async () => {
  const big = Buffer.from(`X: ${'y'.repeat(5000)}\r\n\r\n`);
  await rejectsWith(() => readHeaderBlockStream(chunked(big, [100]), { maxHeaderBytes: 1000 }), 'MIME_LIMIT');
});

test('crlfStream converts bare LF across chunk edges', async () => {
  const data = Buffer.from('a\nb\r\nc\r\n\n\n\r\r\nd\n');
  for (const sizes of [[1], [2], [3, 1], [data.length]]) {
    assert.deepEqual(await collect(crlfStream(chunked(data, sizes))), toCrlf(data));
  }
});

const SIGNATURE = randomBytes(300);

function signedBody(entity: Buffer, boundary: string): Buffer {
  const whole = Buffer.from(buildMultipartSigned(entity, SIGNATURE, 'sha-256', boundary));
  return whole.subarray(whole.indexOf('\r\n\r\n') + 4);
}

test('MultipartSignedReader yields the exact first part and parses the signature part', async () => {
  const entity = Buffer.concat([
    Buffer.from('Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n'),
    Buffer.from(randomBytes(200_000).toString('base64').replace(/.{76}/g, '$&\r\n')),
    Buffer.from('\r\n--bnd-not\r\n\r\n--bnd x\r\n'),
  ]);
  const body = signedBody(entity, 'bnd');
  for (const sizes of [[1, 2, 3, 5, 8], [4096], [65536, 17], [body.length]]) {
    const reader = new MultipartSignedReader(chunked(body, sizes), 'bnd');
    assert.deepEqual(await collect(reader.content()), entity);
    assert.deepEqual(Buffer.from(decodeBody(await reader.signaturePart())), SIGNATURE);
  }
});

test('MultipartSignedReader matches the buffer parser on bare-LF input', async () => {
  const crlfBody = signedBody(Buffer.from('Content-Type: text/plain\r\n\r\nline\r\n\r\n'), 'q');
  const lfBody = Buffer.from(crlfBody.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  const whole = Buffer.concat([Buffer.from('Content-Type: multipart/signed; boundary=q\n\n'), lfBody]);
  const expected = toCrlf(entityBytes(parseEntity(whole).parts![0]!));
  for (const sizes of [[1], [2, 5], [lfBody.length]]) {
    const reader = new MultipartSignedReader(chunked(lfBody, sizes), 'q');
    assert.deepEqual(await collect(reader.content()), expected);
    assert.deepEqual(Buffer.from(decodeBody(await reader.signaturePart())), SIGNATURE);
  }
});

test('MultipartSignedReader: missing boundary, missing or extra parts, oversize signature', async () => {
  const run = async (body: string, boundary = 'b', limitSig = false) => {
    const reader = new MultipartSignedReader(chunked(Buffer.from(body), [3]), boundary);
    await collect(reader.content());
    if (!limitSig) return reader.signaturePart();
    return reader.signaturePart();
  };
  await rejectsWith(() => run('no boundary here\r\n'), 'MIME_MALFORMED');
  await rejectsWith(() => run('--b\r\n\r\ncontent only\r\n'), 'MIME_MALFORMED');
  await rejectsWith(() => run('--b\r\n\r\ncontent\r\n--b--\r\n'), 'MIME_MALFORMED');
  await rejectsWith(() => run('--b\r\n\r\nc\r\n--b\r\n\r\ns\r\n--b\r\n\r\nthird\r\n--b--\r\n'), 'MIME_MALFORMED');
  // A missing close delimiter is tolerated, as in the buffer parser.
  const sig = await run('--b\r\n\r\nc\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\r\nAAAA');
  assert.equal(sig.contentType.mediaType, 'application/pkcs7-signature');
  const huge = `--b\r\n\r\nc\r\n--b\r\n\r\n${'A'.repeat(5 * 1024 * 1024)}`;
  await rejectsWith(async () => {
    const reader = new MultipartSignedReader(chunked(Buffer.from(huge), [256 * 1024]), 'b');
    await collect(reader.content());
    return reader.signaturePart();
  }, 'MIME_LIMIT');
});

test('MultipartSignedReader streams without holding the content', async () => {
  const part = Buffer.concat([
    Buffer.from('Content-Type: application/octet-stream\r\n\r\n'),
    Buffer.alloc(8 * 1024 * 1024, 0x61),
  ]);
  const body = signedBody(part, 'big');
  const reader = new MultipartSignedReader(chunked(body, [64 * 1024]), 'big');
  let max = 0;
  let total = 0;
  for await (const c of reader.content()) {
    max = Math.max(max, c.length);
    total += c.length;
  }
  assert.equal(total, part.length);
  assert.ok(max <= 64 * 1024 + 16, `a chunk of ${max} bytes was held`);
});
