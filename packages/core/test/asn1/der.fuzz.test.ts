import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type Asn1,
  decode,
  readBitString,
  readBoolean,
  readInteger,
  readOctetString,
  readOid,
  readString,
  readTime,
} from '../../src/asn1/der.ts';
import * as enc from '../../src/asn1/encode.ts';
import { isSealpostError } from '../../src/errors.ts';
import { pemDecodeAll } from '../../src/util/pem.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { testPki } from '../support/pki.ts';
import { berNodeArb, encodeBer, expectedShape, shapeOf } from './ber-support.ts';

/** Runs `f` and accepts success or a SealpostError; anything else fails the property. */
function onlySealpostErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!isSealpostError(e)) throw e;
  }
}

/** Every typed reader on every element: none may throw anything but a SealpostError. */
function readEverything(el: Asn1): void {
  for (const read of [readInteger, readOid, readTime, readString, readBitString, readOctetString, readBoolean]) {
    onlySealpostErrors(() => read(el));
  }
  onlySealpostErrors(() => el.bytes());
  for (const c of el.children) readEverything(c);
}

test('INTEGER, OID, time, UTF-8 and OCTET STRING round trip through encode and decode', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 600n), max: 2n ** 600n }), (v) => {
      assert.equal(readInteger(decode(enc.integer(v))), v);
    }),
    { numRuns: 500 },
  );
  const arc = fc.oneof(fc.bigInt({ min: 0n, max: 200n }), fc.bigInt({ min: 0n, max: 2n ** 128n }));
  const oidText = fc
    .tuple(fc.integer({ min: 0, max: 2 }), arc, fc.array(arc, { maxLength: 8 }))
    .map(([a, b, rest]) => [a, a < 2 ? b % 40n : b, ...rest].join('.'));
  fc.assert(
    fc.property(oidText, (text) => {
      assert.equal(readOid(decode(enc.oid(text))), text);
    }),
    { numRuns: 500 },
  );
  // Whole seconds from year 0000 to 9999.
  const seconds = fc.integer({ min: -62_167_219_200, max: 253_402_300_799 });
  fc.assert(
    fc.property(seconds, (s) => {
      const d = new Date(s * 1000);
      assert.equal(readTime(decode(enc.time(d))).getTime(), d.getTime());
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.uint8Array({ maxLength: 300 }), (s, b) => {
      assert.equal(readString(decode(enc.utf8(s))), s);
      assert.deepEqual(Buffer.from(readOctetString(decode(enc.octets(b)))), Buffer.from(b));
    }),
    { numRuns: 300 },
  );
});

test('random BER structures decode to their model in BER mode; DER mode agrees or refuses', () => {
  fc.assert(
    fc.property(berNodeArb, (node) => {
      const bytes = encodeBer(node);
      const el = decode(bytes, { mode: 'ber' });
      assert.deepEqual(shapeOf(el), expectedShape(node));
      assert.equal(el.end, bytes.length);
      readEverything(el);
      // DER mode either agrees or refuses with a SealpostError, never anything else.
      onlySealpostErrors(() => assert.deepEqual(shapeOf(decode(bytes)), expectedShape(node)));
    }),
    { numRuns: 500 },
  );
});

test('random bytes: decode (both modes) and the readers throw only SealpostError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
      for (const mode of ['der', 'ber'] as const) {
        let el: Asn1 | undefined;
        onlySealpostErrors(() => {
          el = decode(bytes, { mode, allowTrailing: true });
        });
        if (el) {
          assert.ok(el.end <= bytes.length);
          readEverything(el);
        }
      }
    }),
    { numRuns: 3000 },
  );
});

const pki = testPki();
const certs = [
  pki.root,
  pki.intermediate,
  pki.user('alice'),
  pki.user('carol'),
  pki.user('erin'),
  pki.user('frank'),
].map((id) => pemDecodeAll(readFileSync(id.certPath))[0]!.der);

/** Random edits of a valid certificate: byte changes, insertions, deletions, truncation. */
const mutation = fc.record({
  which: fc.integer({ min: 0, max: certs.length - 1 }),
  edits: fc.array(
    fc.record({
      kind: fc.constantFrom('set', 'insert', 'delete', 'truncate'),
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

function mutate(m: { which: number; edits: { kind: string; at: number; byte: number }[] }): Buffer {
  let b = Buffer.from(certs[m.which]!);
  for (const e of m.edits) {
    const at = e.at % Math.max(1, b.length);
    if (e.kind === 'set') b[at] = e.byte;
    else if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.of(e.byte), b.subarray(at)]);
    else if (e.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else b = b.subarray(0, at);
  }
  return b;
}

test('mutated certificates: decode and Certificate.fromDer (all views) throw only SealpostError', () => {
  fc.assert(
    fc.property(mutation, (m) => {
      const bytes = mutate(m);
      for (const mode of ['der', 'ber'] as const) {
        onlySealpostErrors(() => readEverything(decode(bytes, { mode })));
      }
      let cert: Certificate | undefined;
      onlySealpostErrors(() => {
        cert = Certificate.fromDer(bytes);
      });
      if (!cert) return;
      const c = cert;
      const views: (() => unknown)[] = [
        () => c.keyUsage,
        () => c.extKeyUsage,
        () => c.basicConstraints,
        () => c.subjectAltNames,
        () => c.emailAddresses,
        () => c.subjectKeyIdentifier,
        () => c.authorityKeyIdentifier,
        () => c.publicKey,
        () => Certificate.spkiKeyBits(c.publicKeyInfo.spki),
      ];
      for (const v of views) onlySealpostErrors(v);
    }),
    { numRuns: 1500 },
  );
});

test('unmutated test certificates parse in both modes, and DER raw bytes round trip', () => {
  for (const der of certs) {
    const el = decode(der);
    assert.deepEqual(Buffer.from(el.raw), Buffer.from(der));
    assert.deepEqual(shapeOf(decode(der, { mode: 'ber' })), shapeOf(el));
    assert.ok(Certificate.fromDer(der).subject);
  }
});
