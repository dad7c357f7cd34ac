import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isSealpostError } from '../../src/errors.ts';
import { type Dn, formatDn, normalizeDn, parseDn } from '../../src/ldap/index.ts';
import { dnArb } from './arbitraries.ts';

const throwsMalformed = (text: string, message: RegExp) =>
  assert.throws(
    () => parseDn(text),
    (e) => isSealpostError(e, 'LDAP_MALFORMED') && message.test(e.message),
    text,
  );

test('RFC 4514 §4 examples', () => {
  const examples: [string, Dn, string][] = [
    [
      'UID=jsmith,DC=example,DC=net',
      [[{ type: 'UID', value: 'jsmith' }], [{ type: 'DC', value: 'example' }], [{ type: 'DC', value: 'net' }]],
      'UID=jsmith,DC=example,DC=net',
    ],
    [
      'OU=Sales+CN=J.  Smith,DC=example,DC=net',
      [
        [
          { type: 'OU', value: 'Sales' },
          { type: 'CN', value: 'J.  Smith' },
        ],
        [{ type: 'DC', value: 'example' }],
        [{ type: 'DC', value: 'net' }],
      ],
      'OU=Sales+CN=J.  Smith,DC=example,DC=net',
    ],
    [
      'CN=James \\"Jim\\" Smith\\, III,DC=example,DC=net',
      [
        [{ type: 'CN', value: 'James "Jim" Smith, III' }],
        [{ type: 'DC', value: 'example' }],
        [{ type: 'DC', value: 'net' }],
      ],
      'CN=James \\"Jim\\" Smith\\, III,DC=example,DC=net',
    ],
    [
      'CN=Before\\0dAfter,DC=example,DC=net',
      [[{ type: 'CN', value: 'Before\rAfter' }], [{ type: 'DC', value: 'example' }], [{ type: 'DC', value: 'net' }]],
      'CN=Before\rAfter,DC=example,DC=net',
    ],
    // #04024869 is the BER OCTET STRING "Hi" (§2.4).
    [
      '1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com',
      [
        [{ type: '1.3.6.1.4.1.1466.0', value: 'Hi' }],
        [{ type: 'DC', value: 'example' }],
        [{ type: 'DC', value: 'com' }],
      ],
      '1.3.6.1.4.1.1466.0=Hi,DC=example,DC=com',
    ],
    ['CN=Lu\\C4\\8Di\\C4\\87', [[{ type: 'CN', value: 'Lučić' }]], 'CN=Lučić'],
  ];
  for (const [text, dn, formatted] of examples) {
    assert.deepEqual(parseDn(text), dn, text);
    assert.equal(formatDn(dn), formatted);
  }
});

test('lenient forms: spaces around separators, escaped specials, empty DN and values, hex values', () => {
  assert.deepEqual(parseDn('cn = Alice Smith , ou=People,  dc=example'), [
    [{ type: 'cn', value: 'Alice Smith' }],
    [{ type: 'ou', value: 'People' }],
    [{ type: 'dc', value: 'example' }],
  ]);
  assert.deepEqual(parseDn(''), []);
  assert.deepEqual(parseDn('   '), []);
  assert.deepEqual(parseDn('cn='), [[{ type: 'cn', value: '' }]]);
  // Escaped spaces are significant, unescaped trailing ones are not.
  assert.deepEqual(parseDn('cn=\\ a \\ ,o=x  '), [[{ type: 'cn', value: ' a  ' }], [{ type: 'o', value: 'x' }]]);
  assert.deepEqual(parseDn('cn=a\\2Cb\\+c\\=d\\#'), [[{ type: 'cn', value: 'a,b+c=d#' }]]);
  // A UTF8String and a non-string (INTEGER 1): the latter keeps its hex form, as x509/name.ts does.
  assert.deepEqual(parseDn('cn=#0C024869+x=#020101'), [
    [
      { type: 'cn', value: 'Hi' },
      { type: 'x', value: '#020101' },
    ],
  ]);
  assert.equal(formatDn([[{ type: 'cn', value: ' #lead, and trail ' }]]), 'cn=\\ #lead\\, and trail\\ ');
  assert.equal(formatDn([[{ type: 'cn', value: '#x' }]]), 'cn=\\#x');
  assert.equal(formatDn([[{ type: 'cn', value: 'a\0b<c>;' }]]), 'cn=a\\00b\\<c\\>\\;');
});

test('parseDn(formatDn(dn)) gives every DN back', () => {
  fc.assert(
    fc.property(dnArb, (dn) => {
      assert.deepEqual(parseDn(formatDn(dn)), dn);
    }),
    { numRuns: 1000 },
  );
});

test('normalizeDn: one string for every spelling of the same name', () => {
  const same = [
    'CN=Alice  Smith,OU=People,DC=Example,DC=org',
    'cn=alice smith, ou=people, dc=example, dc=org',
    '2.5.4.3=ALICE SMITH,2.5.4.11=People,0.9.2342.19200300.100.1.25=example,domainComponent=ORG',
    'commonName=#0c0b416c69636520536d697468,ou=\\50eople,dc=example,dc=org',
  ];
  for (const text of same) assert.equal(normalizeDn(text), 'cn=alice smith,ou=people,dc=example,dc=org', text);
  // Multi-valued RDNs compare in any order; escaping is canonical.
  assert.equal(normalizeDn('uid=a+CN=B,o=x'), normalizeDn('cn=b+uid=a,o=x'));
  assert.equal(normalizeDn('cn=a\\2Cb'), 'cn=a\\,b');
  assert.equal(normalizeDn('emailAddress=A@Example.org'), 'email=a@example.org');
  assert.equal(normalizeDn(''), '');
  assert.notEqual(normalizeDn('cn=alice,o=x'), normalizeDn('cn=alice,o=y'));
  assert.notEqual(normalizeDn('cn=a+cn=b'), normalizeDn('cn=a,cn=b'));
  // NFKC: the ligature "ﬁ" and "fi" are the same name.
  assert.equal(normalizeDn('cn=\uFB01le'), normalizeDn('cn=FILE'));
  // The normal form is a fixed point and parses back.
  fc.assert(
    fc.property(dnArb, (dn) => {
      const n = normalizeDn(formatDn(dn));
      assert.equal(normalizeDn(n), n);
    }),
    { numRuns: 300 },
  );
});

test('bad DNs fail with LDAP_MALFORMED and say where', () => {
  throwsMalformed('cn', /expected '=' at offset 2/);
  throwsMalformed('cn=a,', /expected an attribute type at offset 5/);
  throwsMalformed('=a', /expected an attribute type at offset 0/);
  throwsMalformed('cn=a;b', /unescaped ';'/);
  throwsMalformed('cn=a"b', /unescaped '"'/);
  throwsMalformed('cn=a<b', /unescaped '<'/);
  throwsMalformed('cn=a\0', /unescaped/);
  throwsMalformed('cn=a\\zz', /bad escape.* at offset 4/);
  throwsMalformed('cn=a\\', /bad escape/);
  throwsMalformed('cn=\\C3', /not valid UTF-8/);
  throwsMalformed('cn=#0', /starting with '#'/);
  throwsMalformed('cn=#0402 x', /expected ',' or '\+'/);
  throwsMalformed('c_n=a', /expected '='/);
  throwsMalformed('cn=a+', /expected an attribute type/);
});
