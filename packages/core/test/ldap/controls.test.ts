import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isSealpostError } from '../../src/errors.ts';
import { decodePagedResults, encodePagedResults } from '../../src/ldap/index.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

test('paged results control values round trip', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.uint8Array({ maxLength: 64 }), (size, cookie) => {
      assert.deepEqual(decodePagedResults(encodePagedResults({ size, cookie })), { size, cookie });
    }),
    { numRuns: 300 },
  );
});

test('known answers: RFC 2696 §3 request and response values', () => {
  // The first request for pages of 10: SEQUENCE { size 10, cookie "" } (what `ldapsearch -E pr=10` sends).
  assert.deepEqual(encodePagedResults({ size: 10, cookie: new Uint8Array() }), Buffer.from(hex('3005 02010a 0400')));
  // A response: estimate 1000 (02 02 03e8), an opaque four-octet cookie; AD writes 0x84 long forms.
  assert.deepEqual(decodePagedResults(hex('3084 0000000a 020203e8 0404 deadbeef')), {
    size: 1000,
    cookie: hex('deadbeef'),
  });
});

test('malformed paged results values fail with LDAP_MALFORMED', () => {
  const bad = [
    '', // empty
    '3100', // not a SEQUENCE
    '3002 0400', // size missing
    '3003 020101', // cookie missing
    '3005 0201ff 0400', // negative size
    '3005 02010a 2400', // constructed cookie
    '3080 02010a 0400 0000', // indefinite length
    '3005 02010a 0400 00', // trailing byte
  ];
  for (const h of bad) {
    assert.throws(
      () => decodePagedResults(hex(h)),
      (e) => isSealpostError(e, 'LDAP_MALFORMED'),
      h,
    );
  }
  assert.throws(
    () => encodePagedResults({ size: -1, cookie: new Uint8Array() }),
    (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
  );
});
