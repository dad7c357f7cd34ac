/**
 * Security checklist, "PKCS#12": the MAC is verified, and a file without one is reported as such,
 * never passed off as integrity-checked (by readPkcs12, inspectPkcs12 or the password check).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { decode } from '../../src/asn1/der.ts';
import { octets } from '../../src/asn1/encode.ts';
import { inspectPkcs12, readPkcs12 } from '../../src/pkcs12/pfx.ts';
import { P12Workshop, PASSWORD } from '../pkcs12/support.ts';
import { testPki } from '../support/pki.ts';
import { rewrite, samePath, thrown } from './support.ts';

const pki = testPki();
const alice = pki.user('alice');
const shop = new P12Workshop();
after(() => shop.close());

describe('the MAC is verified', () => {
  const withMac = shop.opensslExport(alice, pki.chainPath, []);

  test('OpenSSL’s default file: HMAC-SHA256, reported by reading and inspecting', () => {
    assert.equal(readPkcs12(withMac, PASSWORD).mac?.algorithm, 'sha256');
    const inspection = inspectPkcs12(withMac, PASSWORD);
    assert.equal(inspection.mac?.algorithm, 'sha256');
    assert.equal(inspection.passwordChecked, true);
  });

  test('a changed MAC value or a wrong password is PASSWORD_WRONG before anything is decrypted', () => {
    // PFX ::= SEQUENCE { version, authSafe, macData MacData }; MacData ::= SEQUENCE { mac DigestInfo, ... }
    const digestPath = [2, 0, 1];
    const root = decode(withMac);
    const digest = Buffer.from(root.child(2).child(0).child(1).value);
    digest[0]! ^= 1;
    const changed = rewrite(root, (_, p) => (samePath(p, digestPath) ? octets(digest) : undefined));
    assert.equal(thrown(() => readPkcs12(changed, PASSWORD)).code, 'PASSWORD_WRONG');
    assert.equal(thrown(() => readPkcs12(withMac, 'wrong')).code, 'PASSWORD_WRONG');
    assert.equal(thrown(() => inspectPkcs12(withMac, 'wrong')).code, 'PASSWORD_WRONG');
  });
});

describe('a file without a MAC (openssl pkcs12 -nomac) is reported, never silently trusted', () => {
  const encrypted = shop.opensslExport(alice, pki.chainPath, ['-nomac']);
  const plain = shop.opensslExport(alice, pki.chainPath, ['-nomac', '-keypbe', 'NONE', '-certpbe', 'NONE']);

  test('readPkcs12 and inspectPkcs12 report no MAC', () => {
    for (const file of [encrypted, plain]) {
      const contents = readPkcs12(file, PASSWORD);
      assert.equal(contents.identities.length, 1);
      assert.equal(contents.mac, undefined);
      assert.equal(inspectPkcs12(file).mac, undefined);
      assert.equal(inspectPkcs12(file, PASSWORD).mac, undefined);
    }
  });

  test('with encrypted bags, decryption still checks the password', () => {
    assert.equal(thrown(() => readPkcs12(encrypted, 'wrong')).code, 'PASSWORD_WRONG');
    assert.equal(inspectPkcs12(encrypted, PASSWORD).passwordChecked, true);
  });

  test('with nothing encrypted and no MAC, no password is checked, and inspection says so', () => {
    // Any password "opens" such a file: the only honest report is that nothing was checked.
    assert.equal(readPkcs12(plain, 'anything').identities.length, 1);
    const inspection = inspectPkcs12(plain, 'anything');
    assert.equal(inspection.mac, undefined);
    assert.equal(inspection.passwordChecked, false);
  });
});
