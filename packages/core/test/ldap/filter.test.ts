import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { integer, seq, tlv, tlvHeader } from '../../src/asn1/encode.ts';
import { isSealpostError } from '../../src/errors.ts';
import { decodeBer } from '../../src/ldap/ber.ts';
import { decodeFilter, encodeFilter } from '../../src/ldap/filter.ts';
import { decodeLdapMessage, type Filter, formatFilter, LDAP_LIMITS, parseFilter } from '../../src/ldap/index.ts';
import { filterArb } from './arbitraries.ts';

const b = (s: string) => new TextEncoder().encode(s);
const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const throwsCode = (f: () => unknown, code: 'LDAP_MALFORMED' | 'LDAP_LIMIT', message?: RegExp) =>
  assert.throws(f, (e) => isSealpostError(e, code) && (message === undefined || message.test(e.message)));

/** The BER filter read back the way decodeLdapMessage reads it. */
const berRoundTrip = (f: Filter) => decodeFilter(decodeBer(encodeFilter(f), 200, 1_000_000, 'filter'), LDAP_LIMITS);

/** A SearchRequest around an encoded filter: how a hostile filter reaches the server. */
const searchWith = (filter: Uint8Array) =>
  seq(integer(1), tlv(0x63, hex('0400 0a0102 0a0100 020100 020100 010100'), filter, hex('3000')));

/** `n` NOTs around (cn=*), built from headers outward so that 10,000 levels cost one copy. */
function nestedNotBer(n: number): Buffer {
  const leaf = tlv(0x87, b('cn'));
  const headers: Buffer[] = [];
  let length = leaf.length;
  for (let i = 0; i < n; i++) {
    const h = tlvHeader(0xa2, length);
    headers.push(h);
    length += h.length;
  }
  return Buffer.concat([...headers.reverse(), leaf]);
}

test('RFC 4515 §4 examples parse to the expected filters and format back', () => {
  const examples: [string, Filter][] = [
    ['(cn=Babs Jensen)', { type: 'equality', attribute: 'cn', value: b('Babs Jensen') }],
    ['(!(cn=Tim Howes))', { type: 'not', filter: { type: 'equality', attribute: 'cn', value: b('Tim Howes') } }],
    [
      '(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))',
      {
        type: 'and',
        filters: [
          { type: 'equality', attribute: 'objectClass', value: b('Person') },
          {
            type: 'or',
            filters: [
              { type: 'equality', attribute: 'sn', value: b('Jensen') },
              { type: 'substrings', attribute: 'cn', initial: b('Babs J'), any: [] },
            ],
          },
        ],
      },
    ],
    ['(o=univ*of*mich*)', { type: 'substrings', attribute: 'o', initial: b('univ'), any: [b('of'), b('mich')] }],
    ['(seeAlso=)', { type: 'equality', attribute: 'seeAlso', value: b('') }],
    [
      '(cn:caseExactMatch:=Fred Flintstone)',
      {
        type: 'extensible',
        matchingRule: 'caseExactMatch',
        attribute: 'cn',
        value: b('Fred Flintstone'),
        dnAttributes: false,
      },
    ],
    ['(cn:=Betty Rubble)', { type: 'extensible', attribute: 'cn', value: b('Betty Rubble'), dnAttributes: false }],
    [
      '(sn:dn:2.4.6.8.10:=Barney Rubble)',
      {
        type: 'extensible',
        matchingRule: '2.4.6.8.10',
        attribute: 'sn',
        value: b('Barney Rubble'),
        dnAttributes: true,
      },
    ],
    ['(o:dn:=Ace Industry)', { type: 'extensible', attribute: 'o', value: b('Ace Industry'), dnAttributes: true }],
    [
      '(:1.2.3:=Wilma Flintstone)',
      { type: 'extensible', matchingRule: '1.2.3', value: b('Wilma Flintstone'), dnAttributes: false },
    ],
    [
      '(:DN:2.4.6.8.10:=Dino)',
      { type: 'extensible', matchingRule: '2.4.6.8.10', value: b('Dino'), dnAttributes: true },
    ],
    [
      '(o=Parens R Us \\28for all your parenthetical needs\\29)',
      { type: 'equality', attribute: 'o', value: b('Parens R Us (for all your parenthetical needs)') },
    ],
    ['(cn=*\\2A*)', { type: 'substrings', attribute: 'cn', any: [b('*')] }],
    ['(filename=C:\\5cMyFile)', { type: 'equality', attribute: 'filename', value: b('C:\\MyFile') }],
    ['(bin=\\00\\00\\00\\04)', { type: 'equality', attribute: 'bin', value: hex('00000004') }],
    ['(sn=Lu\\c4\\8di\\c4\\87)', { type: 'equality', attribute: 'sn', value: b('Lučić') }],
    [
      '(1.3.6.1.4.1.1466.0=\\04\\02\\48\\69)',
      { type: 'equality', attribute: '1.3.6.1.4.1.1466.0', value: hex('04024869') },
    ],
  ];
  for (const [text, filter] of examples) {
    assert.deepEqual(parseFilter(text), filter, text);
    assert.deepEqual(parseFilter(formatFilter(filter)), filter, text);
  }
  // Formatting escapes only what RFC 4515 requires (and control characters); UTF-8 stays readable.
  assert.equal(formatFilter(parseFilter('(sn=Lu\\c4\\8di\\c4\\87)')), '(sn=Lučić)');
  assert.equal(formatFilter(parseFilter('(cn=*\\2A*)')), '(cn=*\\2a*)');
  assert.equal(formatFilter(parseFilter('(bin=\\00\\ff)')), '(bin=\\00\\ff)');
  assert.equal(formatFilter(parseFilter('(:DN:2.4.6.8.10:=Dino)')), '(:dn:2.4.6.8.10:=Dino)');
});

test('the forms deployed tools send: bare items, (&) and (|), RFC 2254 escapes', () => {
  assert.deepEqual(parseFilter('mail=alice@example.org'), {
    type: 'equality',
    attribute: 'mail',
    value: b('alice@example.org'),
  });
  assert.deepEqual(parseFilter('objectClass=*'), { type: 'present', attribute: 'objectClass' });
  assert.deepEqual(parseFilter('userCertificate;binary>=\\30'), {
    type: 'greaterOrEqual',
    attribute: 'userCertificate;binary',
    value: b('0'),
  });
  // RFC 4526 absolute true and false.
  assert.deepEqual(parseFilter('(&)'), { type: 'and', filters: [] });
  assert.deepEqual(parseFilter('(|)'), { type: 'or', filters: [] });
  assert.deepEqual(parseFilter('(cn=a\\*b)'), { type: 'equality', attribute: 'cn', value: b('a*b') });
  assert.deepEqual(parseFilter('(cn~=x)'), { type: 'approx', attribute: 'cn', value: b('x') });
  assert.deepEqual(parseFilter('(cn<=x)'), { type: 'lessOrEqual', attribute: 'cn', value: b('x') });
});

test('parseFilter(formatFilter(f)) and the BER form give every filter back', () => {
  fc.assert(
    fc.property(filterArb, (f) => {
      assert.deepEqual(parseFilter(formatFilter(f)), f);
      assert.deepEqual(berRoundTrip(f), f);
    }),
    { numRuns: 1000 },
  );
});

test('bad filter syntax fails with LDAP_MALFORMED and says where', () => {
  const bad: [string, RegExp][] = [
    ['', /expected an attribute description at offset 0/],
    ['(cn=x', /expected '\)' at offset 5/],
    ['(cn=x))', /unexpected text after the filter at offset 6/],
    ['(cn=a(b)', /unescaped '\(' .* at offset 5/],
    ['(cn~=a*)', /unescaped '\*' .* at offset 6/],
    ['(cn=\\zz)', /bad escape.* at offset 4/],
    ['(cn=\\2)', /bad escape/],
    ['(&(cn=x)', /expected '\)' at offset 8/],
    ['(:=x)', /needs an attribute or a matching rule/],
    ['(:dn:=x)', /needs an attribute or a matching rule/],
    ['(cn:dn:1.2:3.4:=x)', /unexpected component/],
    ['(cn:dn)', /expected ':='/],
    ['(cn)', /expected =, ~=, >=, <= or :=/],
    ['(c_n=x)', /expected =/],
    ['(=x)', /expected an attribute description at offset 1/],
    ['(cn=x\0)', /NUL/],
    ['cn=a)', /unescaped '\)'/],
    ['(!)', /expected '\(' at offset 2/],
  ];
  for (const [text, message] of bad) throwsCode(() => parseFilter(text), 'LDAP_MALFORMED', message);
});

test('bad BER filters fail with LDAP_MALFORMED', () => {
  const bad: [string, RegExp][] = [
    ['8300', /0xa3/], // equalityMatch must be constructed
    ['a300', /equality filter attribute is missing/],
    ['aa00', /unknown filter choice \[10\]/],
    ['a200', /not must hold exactly one filter/],
    ['a4 0c 0402636e 3006 820161 800162', /initial first and final last/],
    ['a4 06 0402636e 3000', /without parts/],
    ['a9 03 830178', /needs a matching rule or an attribute/],
    ['0400', /context tag/],
  ];
  for (const [bytes, message] of bad) {
    throwsCode(() => decodeLdapMessage(searchWith(hex(bytes))), 'LDAP_MALFORMED', message);
  }
});

test('depth and size limits hold on both paths, and fail fast at 10,000 levels', () => {
  const nestedText = (n: number) => `${'(!'.repeat(n)}(cn=x)${')'.repeat(n)}`;
  const max = LDAP_LIMITS.maxFilterDepth;
  // `max` levels: max - 1 NOTs around the leaf.
  parseFilter(nestedText(max - 1));
  throwsCode(() => parseFilter(nestedText(max)), 'LDAP_LIMIT', /deeper than 32/);
  throwsCode(() => parseFilter(nestedText(10_000)), 'LDAP_LIMIT');
  throwsCode(() => parseFilter('(&'.repeat(100_000)), 'LDAP_LIMIT');
  decodeLdapMessage(searchWith(nestedNotBer(max - 1)));
  throwsCode(() => decodeLdapMessage(searchWith(nestedNotBer(max))), 'LDAP_LIMIT');
  throwsCode(() => decodeLdapMessage(searchWith(nestedNotBer(10_000))), 'LDAP_LIMIT');
  // A limit that would let the recursion reach the stack's end is refused outright.
  assert.throws(
    () => decodeLdapMessage(searchWith(nestedNotBer(10_000)), { maxFilterDepth: 20_000 }),
    (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
  );
  decodeLdapMessage(searchWith(nestedNotBer(255)), { maxFilterDepth: 256 });
  parseFilter(`${'(!'.repeat(255)}(cn=x)${')'.repeat(255)}`, { maxFilterDepth: 256 });

  // Width: an OR of as many leaves as the element limit allows, then one more.
  const wide = (n: number): Filter => ({
    type: 'or',
    filters: Array.from({ length: n }, (_, i) => ({ type: 'equality', attribute: 'uid', value: b(String(i)) })),
  });
  const limit = LDAP_LIMITS.maxFilterElements;
  parseFilter(formatFilter(wide(limit - 1)));
  decodeLdapMessage(searchWith(encodeFilter(wide(limit - 1))));
  throwsCode(() => parseFilter(formatFilter(wide(limit))), 'LDAP_LIMIT', /more than 512 components/);
  throwsCode(() => decodeLdapMessage(searchWith(encodeFilter(wide(limit)))), 'LDAP_LIMIT', /more than 512/);
  throwsCode(() => parseFilter(formatFilter(wide(100_000))), 'LDAP_LIMIT');
  throwsCode(() => decodeLdapMessage(searchWith(encodeFilter(wide(100_000)))), 'LDAP_LIMIT');
  // Limits are per call.
  throwsCode(() => parseFilter('(&(a=1)(b=2))', { maxFilterElements: 2 }), 'LDAP_LIMIT');
  throwsCode(() => parseFilter('(!(a=1))', { maxFilterDepth: 1 }), 'LDAP_LIMIT');
});

test('encodeFilter refuses filters that have no encoding', () => {
  assert.throws(
    () => encodeFilter({ type: 'substrings', attribute: 'cn', any: [] }),
    (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
  );
  assert.throws(
    () => encodeFilter({ type: 'extensible', value: b('x'), dnAttributes: false }),
    (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
  );
});
