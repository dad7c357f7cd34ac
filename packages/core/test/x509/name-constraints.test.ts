import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explicit, ia5, implicitPrimitive, retag, seq } from '../../src/asn1/encode.ts';
import { isSealpostError } from '../../src/errors.ts';
import { mailboxWithin, parseNameConstraints } from '../../src/x509/name-constraints.ts';

const rfc822 = (s: string) => retag(ia5(s), 0x81);
const dns = (s: string) => retag(ia5(s), 0x82);

describe('name constraints', () => {
  it('rfc822Name forms: a mailbox, a host, a domain with a leading period (RFC 5280 §4.2.1.10)', () => {
    assert.equal(mailboxWithin('a@example.org', 'a@EXAMPLE.org'), true);
    assert.equal(mailboxWithin('A@example.org', 'a@example.org'), false);
    assert.equal(mailboxWithin('a@Example.org', 'example.org'), true);
    assert.equal(mailboxWithin('a@mail.example.org', 'example.org'), false);
    assert.equal(mailboxWithin('a@mail.example.org', '.example.org'), true);
    assert.equal(mailboxWithin('a@example.org', '.example.org'), false);
    assert.equal(mailboxWithin('用户@例子.广告', 'xn--fsqu00a.xn--4rr70v'), true);
    assert.equal(mailboxWithin('no-mailbox', 'example.org'), false);
  });

  it('parses permitted and excluded subtrees', () => {
    const nc = parseNameConstraints(seq(explicit(0, seq(rfc822('example.org'))), explicit(1, seq(dns('bad.example')))));
    assert.deepEqual(nc.permitted, [{ type: 'rfc822Name', value: 'example.org' }]);
    assert.deepEqual(nc.excluded, [{ type: 'dNSName', value: 'bad.example' }]);
  });

  it('refuses a minimum other than zero, a maximum, and empty subtrees', () => {
    const malformed = (e: unknown) => isSealpostError(e, 'CERT_MALFORMED');
    /** permittedSubtrees holding one dNSName subtree with an extra [tag] field of one octet. */
    const withDistance = (tag: number, value: number) =>
      seq(explicit(0, seq(dns('a'), implicitPrimitive(tag, Buffer.from([value])))));
    assert.throws(() => parseNameConstraints(withDistance(0, 1)), malformed);
    assert.throws(() => parseNameConstraints(withDistance(1, 1)), malformed);
    assert.throws(() => parseNameConstraints(seq(explicit(0, seq()))), malformed);
    assert.throws(() => parseNameConstraints(seq(implicitPrimitive(0, Buffer.from([0])))), malformed);
    // A minimum of zero written out is tolerated.
    assert.equal(parseNameConstraints(withDistance(0, 0)).permitted?.length, 1);
  });
});
