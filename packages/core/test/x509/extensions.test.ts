import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode } from '../../src/asn1/der.ts';
import { bool, octets, oid, seq } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { fail, isSealpostError } from '../../src/errors.ts';
import { parseExtensionList } from '../../src/x509/extensions.ts';

const bad = (what: string): never => fail('CRL_MALFORMED', what);
const read = (der: Uint8Array) => parseExtensionList(decode(der), bad);
const refused = (der: Uint8Array, message: RegExp) =>
  assert.throws(
    () => read(der),
    (e) => isSealpostError(e, 'CRL_MALFORMED') && message.test(e.message),
  );

test('extensions: OID, criticality and the extnValue content', () => {
  const list = read(
    seq(
      seq(oid(OID.cRLNumber), octets(Buffer.from([0x02, 0x01, 0x05]))),
      seq(oid('1.2.3'), bool(true), octets(Buffer.alloc(0))),
    ),
  );
  assert.deepEqual(
    list.map((e) => [e.oid, e.critical, Buffer.from(e.value).toString('hex')]),
    [
      [OID.cRLNumber, false, '020105'],
      ['1.2.3', true, ''],
    ],
  );
});

test('extensions: empty lists, repeats and an encoded critical FALSE are refused', () => {
  refused(seq(), /malformed Extensions/);
  refused(seq(seq(oid('1.2.3'))), /malformed Extension/);
  refused(seq(seq(oid('1.2.3'), octets(Buffer.alloc(0))), seq(oid('1.2.3'), octets(Buffer.alloc(0)))), /appears twice/);
  refused(seq(seq(oid('1.2.3'), bool(false), octets(Buffer.alloc(0)))), /critical FALSE/);
});
