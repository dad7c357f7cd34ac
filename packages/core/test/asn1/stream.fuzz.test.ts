import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decode } from '../../src/asn1/der.ts';
import { BerStreamReader } from '../../src/asn1/stream.ts';
import { isSealpostError } from '../../src/errors.ts';
import {
  type BerNode,
  berNodeArb,
  collect,
  encodeBer,
  expectedShape,
  octetStringArb,
  shapeOf,
  source,
  split,
  stringContent,
} from './ber-support.ts';

const chunkSizes = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 });

/** A top-level SEQUENCE whose children a walker handles one by one. */
const sequenceArb = fc.record({
  children: fc.array(fc.oneof(berNodeArb, octetStringArb), { maxLength: 6 }),
  indefinite: fc.boolean(),
});

function sequence(s: { children: BerNode[]; indefinite: boolean }): BerNode {
  return { kind: 'cons', cls: 0, tagNumber: 16, children: s.children, indefinite: s.indefinite, lengthPad: 0 };
}

/**
 * Walks a SEQUENCE the way the CMS readers do: streams OCTET STRINGs, reads or skips the rest,
 * and checks each result against the model.
 */
async function walk(reader: BerStreamReader, model: BerNode & { kind: 'cons' }): Promise<void> {
  const outer = await reader.readHeader();
  const end = outer.length === null ? null : reader.bytesRead + outer.length;
  for (const [i, child] of model.children.entries()) {
    const before = reader.bytesRead;
    const isString = child.cls === 0 && child.tagNumber === 4;
    if (isString && i % 3 !== 2) {
      const h = await reader.readHeader();
      assert.deepEqual(await collect(reader.streamOctetString(h)), stringContent(child));
    } else if (i % 2 === 0) {
      assert.deepEqual(shapeOf(await reader.readElement()), expectedShape(child));
    } else {
      await reader.skipElement();
    }
    assert.equal(reader.bytesRead - before, encodeBer(child).length);
  }
  if (end === null) {
    await reader.readEndOfContents();
  } else {
    assert.equal(reader.bytesRead, end);
  }
}

test('readElement gives what decode gives for the whole buffer, whatever the chunking', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(berNodeArb, { minLength: 1, maxLength: 4 }), chunkSizes, async (nodes, sizes) => {
      const encodings = nodes.map(encodeBer);
      const reader = new BerStreamReader(source(split(Buffer.concat(encodings), sizes)));
      for (const [i, node] of nodes.entries()) {
        const whole = decode(encodings[i]!, { mode: 'ber' });
        assert.deepEqual(shapeOf(whole), expectedShape(node));
        const streamed = await reader.readElement();
        assert.deepEqual(shapeOf(streamed), shapeOf(whole));
        assert.deepEqual(Buffer.from(streamed.raw), encodings[i]);
      }
      assert.equal(await reader.atEnd(), true);
      assert.equal(await reader.peekHeader(), undefined);
    }),
    { numRuns: 300 },
  );
});

test('walking a SEQUENCE (stream, read, skip) matches the model, definite and indefinite mixed', async () => {
  await fc.assert(
    fc.asyncProperty(sequenceArb, chunkSizes, async (s, sizes) => {
      const model = sequence(s) as BerNode & { kind: 'cons' };
      const bytes = encodeBer(model);
      const reader = new BerStreamReader(source(split(bytes, sizes)));
      await walk(reader, model);
      assert.equal(await reader.atEnd(), true);
      assert.equal(reader.bytesRead, bytes.length);
    }),
    { numRuns: 300 },
  );
});

test('streamed OCTET STRING content equals decode().bytes()', async () => {
  await fc.assert(
    fc.asyncProperty(octetStringArb, chunkSizes, async (node, sizes) => {
      const bytes = encodeBer(node);
      const reader = new BerStreamReader(source(split(bytes, sizes)));
      const streamed = await collect(reader.streamOctetString(await reader.readHeader()));
      assert.deepEqual(streamed, Buffer.from(decode(bytes, { mode: 'ber' }).bytes()));
      assert.equal(await reader.atEnd(), true);
    }),
    { numRuns: 300 },
  );
});

test('every truncation is ASN1_MALFORMED, for reading, skipping and walking', async () => {
  await fc.assert(
    fc.asyncProperty(sequenceArb, fc.integer({ min: 1, max: 7 }), async (s, size) => {
      const model = sequence(s) as BerNode & { kind: 'cons' };
      const bytes = encodeBer(model);
      for (let cut = 0; cut < bytes.length; cut++) {
        const prefix = bytes.subarray(0, cut);
        const attempts: ((r: BerStreamReader) => Promise<unknown>)[] = [
          (r) => r.readElement(),
          (r) => r.skipElement(),
          (r) => walk(r, model),
        ];
        for (const attempt of attempts) {
          const reader = new BerStreamReader(source(split(prefix, [size])));
          await assert.rejects(attempt(reader), (e) => isSealpostError(e, 'ASN1_MALFORMED'));
        }
      }
    }),
    { numRuns: 60 },
  );
});

test('random bytes give a result or a SealpostError, never anything else', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), chunkSizes, async (bytes, sizes) => {
      const ops: ((r: BerStreamReader) => Promise<unknown>)[] = [
        (r) => r.readElement(),
        (r) => r.skipElement(),
        async (r) => collect(r.streamOctetString(await r.readHeader())),
        async (r) => r.readValue(await r.readHeader()),
      ];
      for (const op of ops) {
        const reader = new BerStreamReader(source(split(bytes, sizes)));
        try {
          await op(reader);
        } catch (e) {
          assert.ok(isSealpostError(e), String(e));
        }
      }
    }),
    { numRuns: 300 },
  );
});
