import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, readBitString, readInteger, readOid, readString, readTime } from '../../src/asn1/der.ts';
import * as enc from '../../src/asn1/encode.ts';
import { isSealpostError } from '../../src/errors.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('lengths are definite and minimal at every size boundary', () => {
  const cases: [number, string][] = [
    [0, '04 00'],
    [127, '04 7f'],
    [128, '04 81 80'],
    [255, '04 81 ff'],
    [256, '04 82 01 00'],
    [65535, '04 82 ff ff'],
    [65536, '04 83 01 00 00'],
    [2 ** 24, '04 84 01 00 00 00'],
    [2 ** 32 + 5, '04 85 01 00 00 00 05'],
  ];
  for (const [n, h] of cases) assert.deepEqual(enc.tlvHeader(0x04, n), hex(h), String(n));
  for (const n of [0, 127, 128, 255, 256, 65536]) {
    const el = decode(enc.octets(Buffer.alloc(n, 1)));
    assert.equal(el.value.length, n);
  }
});

test('composition: SEQUENCE, SET, SET OF in DER order, EXPLICIT and IMPLICIT tags', () => {
  assert.deepEqual(enc.seq(enc.nul(), enc.bool(true)), hex('30 05 05 00 01 01 ff'));
  assert.deepEqual(enc.set(enc.integer(2), enc.integer(1)), hex('31 06 02 01 02 02 01 01'));
  // X.690 §11.6: SET OF components sorted as octet strings, whatever the input order.
  const items = [enc.octets(hex('02')), enc.integer(300), enc.octets(hex('01 ff')), enc.integer(5)];
  const sorted = enc.setOf(items);
  assert.deepEqual(sorted, hex('31 0e 02 01 05 02 02 01 2c 04 01 02 04 02 01 ff'));
  assert.deepEqual(items[0], hex('04 01 02'), 'the input array is left alone');
  assert.deepEqual(enc.explicit(0, enc.integer(2)), hex('a0 03 02 01 02'));
  assert.deepEqual(enc.implicitPrimitive(1, Buffer.from('a@b')), hex('81 03 61 40 62'));
  const original = enc.seq(enc.nul());
  const retagged = enc.retag(original, 0xa0);
  assert.deepEqual(retagged, hex('a0 02 05 00'));
  assert.deepEqual(original, hex('30 02 05 00'), 'retag copies');
  assert.deepEqual(enc.tlv(0x30), hex('30 00'));
});

test('INTEGER: shortest two’s complement for numbers and bigints', () => {
  const cases: [bigint | number, string][] = [
    [0, '02 01 00'],
    [1, '02 01 01'],
    [127, '02 01 7f'],
    [128, '02 02 00 80'],
    [255, '02 02 00 ff'],
    [256, '02 02 01 00'],
    [-1, '02 01 ff'],
    [-128, '02 01 80'],
    [-129, '02 02 ff 7f'],
    [-256, '02 02 ff 00'],
    [-257, '02 02 fe ff'],
    [2n ** 63n, '02 09 00 80 00 00 00 00 00 00 00'],
    [-(2n ** 63n), '02 08 80 00 00 00 00 00 00 00'],
  ];
  for (const [v, h] of cases) {
    assert.deepEqual(enc.integer(v), hex(h), String(v));
    assert.equal(readInteger(decode(enc.integer(v))), BigInt(v));
  }
});

test('unsignedInteger: magnitude bytes to a positive INTEGER', () => {
  assert.deepEqual(enc.unsignedInteger(hex('00 00 10 02')), hex('02 02 10 02'));
  assert.deepEqual(enc.unsignedInteger(hex('80')), hex('02 02 00 80'));
  assert.deepEqual(enc.unsignedInteger(hex('00 80')), hex('02 02 00 80'));
  assert.deepEqual(enc.unsignedInteger(hex('00')), hex('02 01 00'));
  assert.deepEqual(enc.unsignedInteger(new Uint8Array(0)), hex('02 01 00'));
  assert.deepEqual(enc.unsignedInteger(hex('00 00')), hex('02 01 00'));
});

test('OBJECT IDENTIFIER encoding, first-arc packing and validation', () => {
  assert.deepEqual(enc.oid('1.2.840.113549.1.1.11'), hex('06 09 2a 86 48 86 f7 0d 01 01 0b'));
  assert.deepEqual(enc.oid('2.5.4.3'), hex('06 03 55 04 03'));
  assert.deepEqual(enc.oid('0.0'), hex('06 01 00'));
  assert.deepEqual(enc.oid('2.999.3'), hex('06 03 88 37 03'));
  assert.deepEqual(enc.oid('2.25.1'), hex('06 02 69 01'));
  assert.equal(readOid(decode(enc.oid('2.999.3'))), '2.999.3');
  const a = enc.oid('1.2.3');
  assert.deepEqual(enc.oid('1.2.3'), a);
  for (const bad of ['', '1', '3.0', '1.40', '1.02', '1.2.x', '1.-2']) {
    assert.throws(
      () => enc.oid(bad),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
      bad,
    );
  }
});

test('simple types: NULL, BOOLEAN, OCTET STRING, BIT STRING, strings', () => {
  assert.deepEqual(enc.nul(), hex('05 00'));
  assert.deepEqual(enc.bool(false), hex('01 01 00'));
  assert.deepEqual(enc.octets(hex('aa')), hex('04 01 aa'));
  assert.deepEqual(enc.bitString(hex('ff')), hex('03 02 00 ff'));
  assert.deepEqual(readBitString(decode(enc.bitString(hex('80'), 7))), { unusedBits: 7, bytes: hex('80') });
  assert.deepEqual(enc.utf8('é'), hex('0c 02 c3 a9'));
  assert.equal(readString(decode(enc.utf8('ünïcødé ✓'))), 'ünïcødé ✓');
  assert.deepEqual(enc.printable('A b'), hex('13 03 41 20 62'));
  assert.deepEqual(enc.ia5('x@y'), hex('16 03 78 40 79'));
});

test('time: UTCTime for 1950-2049, GeneralizedTime outside (RFC 5280 §4.1.2.5)', () => {
  const cases: [string, string][] = [
    ['1950-01-01T00:00:00Z', '17 0d 353030313031303030303030 5a'],
    ['2049-12-31T23:59:59Z', '17 0d 343931323331323335393539 5a'],
    ['2050-01-01T00:00:00Z', '18 0f 3230353030313031303030303030 5a'],
    ['1949-12-31T23:59:59Z', '18 0f 3139343931323331323335393539 5a'],
  ];
  for (const [iso, h] of cases) {
    const d = new Date(iso);
    assert.deepEqual(enc.time(d), hex(h), iso);
    assert.equal(readTime(decode(enc.time(d))).getTime(), d.getTime());
  }
  // Milliseconds are dropped: DER times here carry whole seconds.
  assert.equal(
    readTime(decode(enc.time(new Date('2030-05-06T07:08:09.999Z')))).toISOString(),
    '2030-05-06T07:08:09.000Z',
  );
  const year50 = new Date(0);
  year50.setUTCFullYear(50, 0, 1);
  assert.equal(readTime(decode(enc.time(year50))).getTime(), year50.getTime());
  for (const bad of [new Date(Number.NaN), new Date('+010000-01-01T00:00:00Z'), new Date('-000001-01-01T00:00:00Z')]) {
    assert.throws(
      () => enc.time(bad),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
  }
});

test('AlgorithmIdentifier: absent, NULL and explicit parameters', () => {
  assert.deepEqual(enc.algorithm('1.3.101.112'), hex('30 05 06 03 2b 65 70'));
  assert.deepEqual(enc.algorithm('1.2.840.113549.1.1.1', null), hex('30 0d 06 09 2a 86 48 86 f7 0d 01 01 01 05 00'));
  const ec = enc.algorithm('1.2.840.10045.2.1', enc.oid('1.2.840.10045.3.1.7'));
  assert.equal(readOid(decode(ec).child(1)), '1.2.840.10045.3.1.7');
});
