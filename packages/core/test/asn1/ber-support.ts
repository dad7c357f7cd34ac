/**
 * Random BER structures for the codec and stream reader tests: a model tree, its encoding with the
 * freedoms BER allows (indefinite lengths, non-minimal long-form lengths, high tag numbers,
 * segmented OCTET STRINGs), and the shape `decode` must give back.
 */
import fc from 'fast-check';
import type { Asn1 } from '../../src/asn1/der.ts';

export type BerNode =
  | { kind: 'prim'; cls: number; tagNumber: number; content: Uint8Array; lengthPad: number }
  | { kind: 'cons'; cls: number; tagNumber: number; children: BerNode[]; indefinite: boolean; lengthPad: number };

/** The comparable shape of an element: primitive content in hex, constructed children. */
export interface Shape {
  cls: number;
  constructed: boolean;
  tagNumber: number;
  value?: string;
  children?: Shape[];
}

export function identifier(cls: number, constructed: boolean, tagNumber: number): number[] {
  const first = (cls << 6) | (constructed ? 0x20 : 0);
  if (tagNumber < 31) return [first | tagNumber];
  const out = [tagNumber & 0x7f];
  for (let t = Math.floor(tagNumber / 128); t > 0; t = Math.floor(t / 128)) out.unshift(0x80 | (t & 0x7f));
  return [first | 0x1f, ...out];
}

/** A definite length, long form with `pad` leading zero octets when pad > 0 (valid BER, not DER). */
export function lengthOctets(n: number, pad = 0): number[] {
  if (pad === 0 && n < 0x80) return [n];
  const digits: number[] = [];
  for (let l = n; l > 0; l = Math.floor(l / 256)) digits.unshift(l & 0xff);
  const all = [...new Array<number>(pad).fill(0), ...digits];
  if (all.length === 0) all.push(0);
  return [0x80 | all.length, ...all];
}

export function encodeBer(node: BerNode): Buffer {
  if (node.kind === 'prim') {
    return Buffer.concat([
      Buffer.from(identifier(node.cls, false, node.tagNumber)),
      Buffer.from(lengthOctets(node.content.length, node.lengthPad)),
      node.content,
    ]);
  }
  const content = Buffer.concat(node.children.map(encodeBer));
  const id = Buffer.from(identifier(node.cls, true, node.tagNumber));
  if (node.indefinite) return Buffer.concat([id, Buffer.from([0x80]), content, Buffer.from([0, 0])]);
  return Buffer.concat([id, Buffer.from(lengthOctets(content.length, node.lengthPad)), content]);
}

export function expectedShape(node: BerNode): Shape {
  const base = { cls: node.cls, tagNumber: node.tagNumber };
  if (node.kind === 'prim') return { ...base, constructed: false, value: Buffer.from(node.content).toString('hex') };
  return { ...base, constructed: true, children: node.children.map(expectedShape) };
}

export function shapeOf(el: Asn1): Shape {
  const base = { cls: el.cls, constructed: el.constructed, tagNumber: el.tagNumber };
  if (!el.constructed) return { ...base, value: Buffer.from(el.value).toString('hex') };
  return { ...base, children: el.children.map(shapeOf) };
}

/** The content octets of a (possibly segmented) OCTET STRING model. */
export function stringContent(node: BerNode): Buffer {
  if (node.kind === 'prim') return Buffer.from(node.content);
  return Buffer.concat(node.children.map(stringContent));
}

const lengthPad = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) },
);
const content = fc.uint8Array({ maxLength: 48 });
const highOrLowTag = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 31, max: 70_000 }));

/** An OCTET STRING, primitive or segmented (possibly nested, as BER allows). */
export const octetStringArb: fc.Arbitrary<BerNode> = fc.letrec<{ s: BerNode }>((tie) => ({
  s: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      kind: fc.constant('prim' as const),
      cls: fc.constant(0),
      tagNumber: fc.constant(4),
      content,
      lengthPad,
    }),
    fc.record({
      kind: fc.constant('cons' as const),
      cls: fc.constant(0),
      tagNumber: fc.constant(4),
      children: fc.array(tie('s'), { maxLength: 4 }),
      indefinite: fc.boolean(),
      lengthPad,
    }),
  ),
})).s;

/** Any element: tagged primitives, SEQUENCE/SET/tagged constructed ones, segmented OCTET STRINGs. */
export const berNodeArb: fc.Arbitrary<BerNode> = fc.letrec<{ node: BerNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      kind: fc.constant('prim' as const),
      cls: fc.integer({ min: 1, max: 3 }),
      tagNumber: highOrLowTag,
      content,
      lengthPad,
    }),
    fc.record({
      kind: fc.constant('prim' as const),
      cls: fc.constant(0),
      tagNumber: fc.constantFrom(4, 12, 19, 22),
      content,
      lengthPad,
    }),
    octetStringArb,
    fc
      .record({
        kind: fc.constant('cons' as const),
        cls: fc.integer({ min: 0, max: 3 }),
        tagNumber: highOrLowTag,
        children: fc.array(tie('node'), { maxLength: 5 }),
        indefinite: fc.boolean(),
        lengthPad,
      })
      .map((n) => (n.cls === 0 ? { ...n, tagNumber: n.tagNumber % 2 === 0 ? 16 : 17 } : n)),
  ),
})).node;

/** Splits bytes into chunks whose sizes cycle through `sizes` (views, no copies). */
export function split(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const n = sizes.length === 0 ? bytes.length : sizes[i % sizes.length]!;
    out.push(bytes.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

export async function* source(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

export async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}
