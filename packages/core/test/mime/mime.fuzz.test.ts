import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseAddressList } from '../../src/mime/address.ts';
import { canonicalizeEntity, toCrlf } from '../../src/mime/canonical.ts';
import { decodeBody, entityBytes, type MimeEntity, parseEntity } from '../../src/mime/entity.ts';
import { parseContentType, parseHeaderBlock } from '../../src/mime/headers.ts';
import { crlfStream, MultipartSignedReader, readHeaderBlockStream } from '../../src/mime/stream.ts';
import { chunked, collect, onlySealpostErrors } from './support.ts';

const FRAGMENTS = [
  '\r\n',
  '\n',
  '\r',
  ' ',
  '\t',
  ':',
  ';',
  '"',
  '\\',
  '(',
  ')',
  '<',
  '>',
  '@',
  ',',
  '=',
  'x',
  'abc',
  '\u00e9',
  '\u0000',
  '--q',
  '--q--',
  'Content-Type: ',
  'multipart/mixed; boundary=q',
  'multipart/signed; boundary="q"',
  'text/plain',
  'message/rfc822',
  'Content-Transfer-Encoding: ',
  'base64',
  'quoted-printable',
  '8bit',
  'binary',
  'QUJD',
  '=?utf-8?B?w6k=?=',
  "name*0*=utf-8''%C3%A9",
  'undisclosed:;',
  'a@b.example',
];

/** Text made of MIME-significant fragments: far more likely than random bytes to reach deep code paths. */
const mimeish = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 60 }).map((a) => Buffer.from(a.join(''), 'utf8'));
const bytes = fc.oneof(
  mimeish,
  fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
);
const chunkSizes = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 });
const LIMITS = { maxDepth: 6, maxParts: 50 };

function walk(e: MimeEntity, visit: (e: MimeEntity) => void): void {
  visit(e);
  for (const p of e.parts ?? []) walk(p, visit);
}

test('the parsers fail only with SealpostError on arbitrary input', () => {
  fc.assert(
    fc.property(bytes, (input) => {
      const text = input.toString('latin1');
      for (const run of [
        () => parseHeaderBlock(input),
        () => parseContentType(text),
        () => parseAddressList(text),
        () => parseAddressList(input.toString('utf8')),
        () => canonicalizeEntity(input, LIMITS),
        () => walk(parseEntity(input, LIMITS), (e) => decodeBody(e)),
      ]) {
        try {
          run();
        } catch (e) {
          onlySealpostErrors(e);
        }
      }
    }),
    { numRuns: 3000 },
  );
});

test('entity ranges always lie inside the input and nest', () => {
  fc.assert(
    fc.property(mimeish, (input) => {
      let root: MimeEntity;
      try {
        root = parseEntity(input, LIMITS);
      } catch (e) {
        return onlySealpostErrors(e);
      }
      walk(root, (e) => {
        assert.ok(e.start <= e.bodyStart && e.bodyStart <= e.end && e.end <= input.length);
        for (const p of e.parts ?? []) assert.ok(e.bodyStart <= p.start && p.end <= e.end);
      });
    }),
    { numRuns: 800 },
  );
});

test('canonical form is 7-bit-safe for 7bit/8bit/binary leaves and stable', () => {
  fc.assert(
    fc.property(mimeish, (input) => {
      let out: Uint8Array;
      try {
        out = canonicalizeEntity(input, LIMITS);
      } catch (e) {
        return onlySealpostErrors(e);
      }
      assert.deepEqual(Buffer.from(canonicalizeEntity(out, LIMITS)), Buffer.from(out));
      assert.ok(!/(^|[^\r])\n/.test(Buffer.from(out).toString('latin1')));
    }),
    { numRuns: 500 },
  );
});

test('crlfStream equals toCrlf whatever the chunking', async () => {
  await fc.assert(
    fc.asyncProperty(bytes, chunkSizes, async (input, sizes) => {
      assert.deepEqual(await collect(crlfStream(chunked(input, sizes))), toCrlf(input));
    }),
    { numRuns: 300 },
  );
});

test('readHeaderBlockStream agrees with parseHeaderBlock', async () => {
  await fc.assert(
    fc.asyncProperty(mimeish, chunkSizes, async (input, sizes) => {
      let expected: ReturnType<typeof parseHeaderBlock>;
      try {
        expected = parseHeaderBlock(input);
      } catch (e) {
        onlySealpostErrors(e);
        await assert.rejects(readHeaderBlockStream(chunked(input, sizes)), (err: unknown) => {
          onlySealpostErrors(err);
          return true;
        });
        return;
      }
      const r = await readHeaderBlockStream(chunked(input, sizes));
      assert.deepEqual(
        r.fields.map((f) => [f.name, f.value]),
        expected.fields.map((f) => [f.name, f.value]),
      );
      assert.deepEqual(Buffer.from(r.headerBytes), input.subarray(0, expected.bodyStart));
      assert.deepEqual(await collect(r.body), input.subarray(expected.bodyStart));
    }),
    { numRuns: 300 },
  );
});

test('MultipartSignedReader agrees with parseEntity whatever the chunking', async () => {
  const lineEnd = fc.constantFrom('\r\n', '\n');
  const arb = fc.record({ preamble: mimeish, content: mimeish, signature: mimeish, eol: lineEnd, close: fc.boolean() });
  await fc.assert(
    fc.asyncProperty(arb, chunkSizes, async (m, sizes) => {
      const e = m.eol;
      const body = Buffer.concat([
        m.preamble,
        Buffer.from(`${e}--q${e}Content-Type: text/plain${e}${e}`),
        m.content,
        Buffer.from(`${e}--q${e}Content-Type: application/pkcs7-signature${e}${e}`),
        m.signature,
        Buffer.from(m.close ? `${e}--q--${e}` : ''),
      ]);
      const whole = Buffer.concat([Buffer.from(`Content-Type: multipart/signed; boundary=q${e}${e}`), body]);
      let parts: MimeEntity[] | undefined;
      try {
        parts = parseEntity(whole, LIMITS).parts;
      } catch (err) {
        onlySealpostErrors(err);
      }
      const reader = new MultipartSignedReader(chunked(body, sizes), 'q', LIMITS);
      let content: Buffer | undefined;
      let signature: MimeEntity | undefined;
      try {
        content = await collect(reader.content());
        signature = await reader.signaturePart();
      } catch (err) {
        onlySealpostErrors(err);
      }
      if (parts === undefined) return; // the buffer parser refused a part the reader does not parse
      if (parts.length === 0) return assert.equal(content, undefined);
      assert.ok(content, 'the reader found the first part');
      assert.deepEqual(content, toCrlf(entityBytes(parts[0]!)));
      if (parts.length === 2) {
        assert.ok(signature, 'the reader parsed the signature part');
        assert.deepEqual(Buffer.from(entityBytes(signature)), toCrlf(entityBytes(parts[1]!)));
      } else {
        assert.equal(signature, undefined);
      }
    }),
    { numRuns: 1000 },
  );
});
