/** Attribute selection (RFC 4511 §4.5.1.8) and filter evaluation (§4.5.1.7) over single entries. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFilter, type SearchResultEntry } from '@sealpost/core/ldap';
import fc from 'fast-check';
import { selectAttributes } from '../src/attributes.ts';
import { matchesFilter } from '../src/filter-match.ts';

const text = (...values: string[]) => values.map((v) => new TextEncoder().encode(v));
const entry: SearchResultEntry = {
  type: 'searchResultEntry',
  objectName: 'uid=alice,ou=people,dc=example,dc=org',
  attributes: [
    { type: 'objectClass', values: text('top', 'inetOrgPerson') },
    { type: 'cn', values: text('Alice  Example') },
    { type: 'cn;lang-de', values: text('Alice Beispiel') },
    { type: 'mail', values: text('Alice@Example.org') },
    { type: 'userCertificate;binary', values: [new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05])] },
    { type: 'modifyTimestamp', values: text('20260101000000Z') },
  ],
};
const types = (e: SearchResultEntry) => e.attributes.map((a) => a.type);

describe('selectAttributes', () => {
  it('names select their subtypes; a tagging option narrows; ";binary" is a transfer option', () => {
    assert.deepEqual(types(selectAttributes(entry, ['CN'], false)), ['cn', 'cn;lang-de']);
    assert.deepEqual(types(selectAttributes(entry, ['cn;lang-de'], false)), ['cn;lang-de']);
    assert.deepEqual(types(selectAttributes(entry, ['userCertificate'], false)), ['userCertificate;binary']);
    assert.deepEqual(types(selectAttributes(entry, ['usercertificate;binary'], false)), ['userCertificate;binary']);
  });

  it('asks for ";binary" on a value stored without it: the value comes back labelled (RFC 4522 §2)', () => {
    const plain: SearchResultEntry = {
      ...entry,
      attributes: [{ type: 'userCertificate', values: [new Uint8Array(1)] }],
    };
    assert.deepEqual(types(selectAttributes(plain, ['userCertificate;binary'], false)), ['userCertificate;binary']);
  });

  it('"*" is every user attribute, "+" every operational one, a name an operational one too', () => {
    const user = ['objectClass', 'cn', 'cn;lang-de', 'mail', 'userCertificate;binary'];
    assert.deepEqual(types(selectAttributes(entry, ['*'], false)), user);
    assert.deepEqual(types(selectAttributes(entry, ['+'], false)), ['modifyTimestamp']);
    assert.deepEqual(types(selectAttributes(entry, ['*', '+'], false)), types(entry));
    assert.deepEqual(types(selectAttributes(entry, ['mail', 'modifytimestamp'], false)), ['mail', 'modifyTimestamp']);
  });

  it('for any selection: [] equals ["*"], "1.1" alone selects nothing and beside names nothing changes, typesOnly keeps no value', () => {
    const names = fc.constantFrom('cn', 'MAIL', 'objectclass', 'userCertificate;binary', '2.5.4.3', 'x-unknown', '+');
    fc.assert(
      fc.property(fc.array(names, { maxLength: 5 }), fc.boolean(), (wanted, typesOnly) => {
        assert.deepEqual(selectAttributes(entry, [], typesOnly), selectAttributes(entry, ['*'], typesOnly));
        assert.deepEqual(selectAttributes(entry, ['1.1'], typesOnly).attributes, []);
        const selected = selectAttributes(entry, wanted, typesOnly);
        // "1.1" beside other names changes nothing.
        if (wanted.length > 0) assert.deepEqual(selected, selectAttributes(entry, [...wanted, '1.1'], typesOnly));
        if (typesOnly) assert.ok(selected.attributes.every((a) => a.values.length === 0));
      }),
    );
  });
});

describe('matchesFilter', () => {
  const matches = (filter: string) => matchesFilter(entry, parseFilter(filter));

  it('compares text case-insensitively with insignificant spaces folded', () => {
    assert.ok(matches('(mail=alice@example.ORG)'));
    assert.ok(matches('(cn=alice example)'));
    assert.ok(matches('(commonName=Alice Beispiel)'));
    assert.ok(matches('(cn=*LICE*)'));
    assert.ok(matches('(cn=al*ex*le)'));
    assert.ok(!matches('(cn=al*ex*x)'));
    assert.ok(matches('(mail>=alice@a)'));
    assert.ok(matches('(objectClass=*)'));
    assert.ok(!matches('(sn=*)'));
  });

  it('compares certificates octet for octet', () => {
    assert.ok(matches('(userCertificate=\\30\\03\\02\\01\\05)'));
    assert.ok(!matches('(userCertificate=\\30\\03\\02\\01\\06)'));
  });

  it('keeps Undefined undefined: NOT of an unanswerable comparison is no match (RFC 4511 §4.5.1.7)', () => {
    assert.ok(!matches('(userCertificate=*\\02*)'));
    assert.ok(!matches('(!(userCertificate=*\\02*))'));
    assert.ok(!matches('(!(cn:caseExactMatch:=Alice))'));
    assert.ok(matches('(|(cn:caseExactMatch:=Alice)(uid=*)(mail=alice@example.org))'));
    assert.ok(!matches('(&(mail=alice@example.org)(cn:caseExactMatch:=Alice))'));
  });
});
