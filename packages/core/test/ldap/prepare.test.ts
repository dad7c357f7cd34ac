import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { normalizeDn, prepareCaseIgnore } from '../../src/ldap/index.ts';

test('prepareCaseIgnore: RFC 4518 caseIgnoreMatch preparation', () => {
  // §2.6.1: no spaces at either end, each inner run folded to one; §2.2: tabs and line breaks are spaces.
  assert.equal(prepareCaseIgnore('  Alice   Smith '), 'alice smith');
  assert.equal(prepareCaseIgnore('Alice\t\r\nSmith'), 'alice smith');
  // NFKC: the ligature "ﬁ", full-width letters and the no-break space are their plain forms.
  assert.equal(prepareCaseIgnore('\uFB01le'), 'file');
  assert.equal(prepareCaseIgnore('\uFF21lice\u00A0Smith'), 'alice smith');
  assert.equal(prepareCaseIgnore(' \t '), '');
  // A DN's values are compared the same way.
  assert.equal(normalizeDn('cn=Alice\tSmith,o=X'), normalizeDn('CN=alice smith, O=x'));
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), (s) => {
      const p = prepareCaseIgnore(s);
      assert.equal(prepareCaseIgnore(p), p);
      assert.doesNotMatch(p, /^\s|\s$|\s\s|[^\S ]/);
    }),
    { numRuns: 500 },
  );
});
