import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { isServiceError } from '../../src/errors.ts';

describe('canonicalJson', () => {
  it('sorts keys by UTF-16 code units, as in RFC 8785 §3.2.3', () => {
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    assert.equal(
      canonicalJson(value),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('writes numbers, strings and literals as RFC 8785 §3.2.2 does', () => {
    // The example of RFC 8785 §3.2.2, parsed from its JSON text.
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    assert.equal(
      canonicalJson(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    assert.equal(canonicalJson(-0), '0');
    assert.equal(canonicalJson({ b: { d: [], c: {} }, a: '' }), '{"a":"","b":{"c":{},"d":[]}}');
  });

  it('gives the same text for equal values whatever their key order', () => {
    assert.equal(canonicalJson({ a: 1, b: [1, { y: 2, x: 1 }] }), canonicalJson({ b: [1, { x: 1, y: 2 }], a: 1 }));
  });

  it('refuses what is not plain JSON data', () => {
    const deep: unknown[] = [];
    let cursor = deep;
    for (let i = 0; i < 40; i++) {
      const next: unknown[] = [];
      cursor.push(next);
      cursor = next;
    }
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '\ud800',
      { '\udc00': 1 },
      undefined,
      { a: undefined },
      10n,
      () => 1,
      Symbol('s'),
      new Date(0),
      new Uint8Array(2),
      deep,
      cyclic,
    ]) {
      assert.throws(
        () => canonicalJson(bad),
        (e) => isServiceError(e, 'AUDIT_DETAILS_INVALID'),
        String(typeof bad),
      );
    }
  });
});
