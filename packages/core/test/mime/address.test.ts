import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressesEqual, decodeEncodedWords, parseAddressList } from '../../src/mime/address.ts';

test('plain addresses, name-addr and lists', () => {
  assert.deepEqual(parseAddressList('alice@example.org'), [{ address: 'alice@example.org' }]);
  assert.deepEqual(parseAddressList('Alice Liddell <alice@example.org>, bob@example.org'), [
    { name: 'Alice Liddell', address: 'alice@example.org' },
    { address: 'bob@example.org' },
  ]);
  assert.deepEqual(parseAddressList('<alice@example.org>'), [{ address: 'alice@example.org' }]);
  assert.deepEqual(parseAddressList(' , a@b.example,,c@d.example , '), [
    { address: 'a@b.example' },
    { address: 'c@d.example' },
  ]);
});

test('a display name that looks like an address never becomes the address', () => {
  assert.deepEqual(parseAddressList('"bob@evil.example" <alice@example.org>'), [
    { name: 'bob@evil.example', address: 'alice@example.org' },
  ]);
  assert.deepEqual(parseAddressList('"Alice <alice@example.org>" <mallory@evil.example>'), [
    { name: 'Alice <alice@example.org>', address: 'mallory@evil.example' },
  ]);
  // Ambiguous unquoted forms are refused rather than guessed.
  assert.throws(() => parseAddressList('bob@evil.example <alice@example.org>'), { code: 'MIME_MALFORMED' });
  assert.throws(() => parseAddressList('alice@example.org <mallory@evil.example>'), { code: 'MIME_MALFORMED' });
});

test('quoted strings with escapes, comments, obsolete phrases and routes', () => {
  assert.deepEqual(parseAddressList('"Doe, \\"JD\\" John" <jd@example.org>'), [
    { name: 'Doe, "JD" John', address: 'jd@example.org' },
  ]);
  assert.deepEqual(parseAddressList('(c1) John (c2) Q. Public (c3) <(c4) john (c5) . q (c6) @ (c7) example.org>'), [
    { name: 'John Q. Public', address: 'john.q@example.org' },
  ]);
  assert.deepEqual(parseAddressList('pete@example.org (Pete Smith)'), [
    { name: 'Pete Smith', address: 'pete@example.org' },
  ]);
  assert.deepEqual(parseAddressList('<@relay1.example,@relay2.example:joe@example.org>'), [
    { address: 'joe@example.org' },
  ]);
  assert.deepEqual(parseAddressList('"joe"@example.org, "john doe"@example.org, "a\\"b"@x.example'), [
    { address: 'joe@example.org' },
    { address: '"john doe"@example.org' },
    { address: '"a\\"b"@x.example' },
  ]);
  assert.deepEqual(parseAddressList('user@[192.0.2.1]'), [{ address: 'user@[192.0.2.1]' }]);
});

test('groups contribute their members, empty groups nothing', () => {
  assert.deepEqual(parseAddressList('undisclosed-recipients:;'), []);
  assert.deepEqual(parseAddressList('Team: a@x.example, "B" <b@x.example>;, c@y.example'), [
    { address: 'a@x.example' },
    { name: 'B', address: 'b@x.example' },
    { address: 'c@y.example' },
  ]);
  assert.deepEqual(parseAddressList('Team: a@x.example'), [{ address: 'a@x.example' }]);
  assert.throws(() => parseAddressList('Outer: Inner: a@x.example;;'), { code: 'MIME_MALFORMED' });
  assert.throws(() => parseAddressList('Team: a@x.example; c@y.example'), { code: 'MIME_MALFORMED' });
});

test('RFC 2047 display names and RFC 6532 UTF-8', () => {
  assert.deepEqual(parseAddressList('=?UTF-8?Q?Andr=C3=A9_D?= <andre@example.org>'), [
    { name: 'Andr\u00e9 D', address: 'andre@example.org' },
  ]);
  assert.deepEqual(parseAddressList('"=?iso-8859-1?B?SvZyZw==?=" <j@example.org>'), [
    { name: 'J\u00f6rg', address: 'j@example.org' },
  ]);
  assert.deepEqual(parseAddressList('J\u00fcrgen <j\u00fcrgen@b\u00fccher.example>'), [
    { name: 'J\u00fcrgen', address: 'j\u00fcrgen@b\u00fccher.example' },
  ]);
});

test('malformed lists are MIME_MALFORMED', () => {
  for (const bad of [
    'alice',
    'alice@',
    '<alice@example.org',
    '"unterminated <a@b>',
    'a@b (open',
    'a@b>',
    '<>',
    'a@[x',
  ]) {
    assert.throws(() => parseAddressList(bad), { code: 'MIME_MALFORMED' }, bad);
  }
});

test('decodeEncodedWords: B and Q, charsets, adjacent words, split characters, junk left alone', () => {
  assert.equal(decodeEncodedWords('=?utf-8?b?Y2Fmw6k=?='), 'caf\u00e9');
  assert.equal(decodeEncodedWords('=?windows-1252?Q?=80_5?='), '\u20ac 5');
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?= c'), 'ab c');
  assert.equal(decodeEncodedWords('=?utf-8?Q?a?= x =?utf-8?Q?b?='), 'a x b');
  // "é" split across two words (a frequent encoder bug) still decodes.
  assert.equal(decodeEncodedWords('=?utf-8?B?ww==?= =?utf-8?B?qQ==?='), '\u00e9');
  assert.equal(decodeEncodedWords('=?utf-8?Q?=C3?= =?utf-8?Q?=A9?='), '\u00e9');
  assert.equal(decodeEncodedWords('=?utf-8*en?Q?hi?='), 'hi');
  assert.equal(decodeEncodedWords('=?utf-8?B?!!!?= plain'), '=?utf-8?B?!!!?= plain');
  assert.equal(decodeEncodedWords('no words'), 'no words');
});

test('addressesEqual: local part exact, domain case- and IDNA-insensitive', () => {
  assert.ok(addressesEqual('alice@Example.ORG', 'alice@example.org'));
  assert.ok(!addressesEqual('Alice@example.org', 'alice@example.org'));
  assert.ok(addressesEqual('j@b\u00fccher.example', 'j@xn--bcher-kva.example'));
  assert.ok(addressesEqual('j@XN--BCHER-KVA.example', 'j@B\u00dcCHER.example'));
  assert.ok(!addressesEqual('a@example.org', 'a@example.org.evil'));
  assert.ok(addressesEqual('a@example.org.', 'a@example.org'));
});
