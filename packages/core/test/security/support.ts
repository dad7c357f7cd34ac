/** Helpers for the security-checklist tests: rebuilding CMS structures with one field changed, capturing errors. */
import assert from 'node:assert/strict';
import type { Asn1 } from '../../src/asn1/der.ts';
import { tlv } from '../../src/asn1/encode.ts';
import { SealpostError } from '../../src/errors.ts';

/**
 * Re-encodes a decoded tree with definite lengths; `edit` may replace any element (by its child
 * path from the root) with other bytes. Only low tag numbers occur in CMS, so `el.tag` is exact.
 */
export function rewrite(
  el: Asn1,
  edit: (el: Asn1, path: readonly number[]) => Uint8Array | undefined,
  path: readonly number[] = [],
): Buffer {
  const replaced = edit(el, path);
  if (replaced) return Buffer.from(replaced);
  if (!el.constructed) return Buffer.from(el.raw);
  return tlv(el.tag, ...el.children.map((c, i) => rewrite(c, edit, [...path, i])));
}

/** The element at a child path. */
export function at(el: Asn1, path: readonly number[]): Asn1 {
  let cur = el;
  for (const i of path) cur = cur.child(i);
  return cur;
}

export const samePath = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Runs `fn` and returns the SealpostError it throws; anything else fails the test. */
export function thrown(fn: () => unknown): SealpostError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SealpostError) return e;
    throw e;
  }
  assert.fail('expected a SealpostError');
}

export async function rejected(fn: () => Promise<unknown>): Promise<SealpostError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof SealpostError) return e;
    throw e;
  }
  assert.fail('expected a SealpostError');
}

/** What a caller can observe of an error: its type, code, message and where it was thrown. */
export function observable(e: SealpostError): { name: string; code: string; message: string; stack: string } {
  return { name: e.name, code: e.code, message: e.message, stack: e.stack ?? '' };
}
