/**
 * GnuPG's gpgsm as the second independent implementation, both directions, for everything
 * gpgsm 2.2 can do: RSA PKCS#1 v1.5 and ECDSA P-256 signatures, AES-CBC to RSA recipients.
 * (It cannot read AES-GCM, RSA-PSS, Ed25519, RSA-OAEP or ECDH — see docs/interop.md.)
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ContentCipherName } from '../../src/cms/capabilities.ts';
import { decryptContent, encryptContent } from '../../src/cms/enveloped-data.ts';
import { parseSignedData, signContent, verifySigners } from '../../src/cms/signed-data.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { basicValidator } from '../../src/x509/path.ts';
import { Gpgsm } from '../support/gpgsm.ts';
import { TEST_TIME, testPki } from '../support/pki.ts';

const pki = testPki();
const alice = pki.user('alice');
const carol = pki.user('carol');
const root = Certificate.from(pki.root.cert);
const intermediate = Certificate.from(pki.intermediate.cert);
const content = Buffer.concat([Buffer.from('Content-Type: text/plain\r\n\r\nfor gpgsm\r\n'), randomBytes(2048)]);
let gpgsm: Gpgsm;

before(async () => {
  gpgsm = await Gpgsm.create({
    trust: [pki.root.certPath],
    certs: [pki.intermediate.certPath],
    identities: [alice, carol],
  });
});
after(() => gpgsm?.close());

function signer(who: typeof alice) {
  return { certificate: Certificate.from(who.cert), privateKey: createPrivateKey(who.key), chain: [intermediate] };
}

function verifyOurs(der: Buffer, detachedContent?: Buffer) {
  const info = parseSignedData(der);
  const results = verifySigners(info, detachedContent ?? info.content ?? Buffer.alloc(0));
  assert.equal(results.length, 1);
  assert.equal(results[0]!.status, 'valid', JSON.stringify(results[0]!.checks));
  const chain = basicValidator.validate({
    leaf: results[0]!.certificate!,
    candidates: [...info.certificates, intermediate],
    trustAnchors: [root],
    time: TEST_TIME,
    purpose: 'sign',
  });
  assert.equal(chain.valid, true, JSON.stringify(chain.problems));
  return info;
}

describe('Sealpost signs, gpgsm verifies', () => {
  for (const [label, who, detached] of [
    ['RSA, detached', alice, true],
    ['RSA, encapsulated', alice, false],
    ['ECDSA P-256, detached', carol, true],
  ] as const) {
    test(label, () => {
      const der = signContent(content, { signers: [signer(who)], signingTime: TEST_TIME, detached });
      const r = gpgsm.verify(der, detached ? content : undefined);
      assert.equal(r.ok, true, r.stderr);
      if (!detached) assert.deepEqual(r.content, content);
    });
  }
  test('a changed byte is caught by gpgsm', () => {
    const der = signContent(content, { signers: [signer(alice)], signingTime: TEST_TIME, detached: true });
    const changed = Buffer.from(content);
    changed[changed.length - 1]! ^= 1;
    assert.equal(gpgsm.verify(der, changed).ok, false);
  });
});

describe('gpgsm signs, Sealpost verifies', () => {
  for (const [label, email, detached] of [
    ['RSA, detached', alice.email, true],
    ['RSA, encapsulated', alice.email, false],
    ['ECDSA P-256, detached', carol.email, true],
  ] as const) {
    test(label, () => {
      const der = gpgsm.sign(content, email, detached);
      const info = verifyOurs(der, detached ? content : undefined);
      if (!detached) assert.deepEqual(Buffer.from(info.content!), content);
    });
  }
  test('a changed byte is caught by Sealpost', () => {
    const der = gpgsm.sign(content, alice.email, true);
    const changed = Buffer.from(content);
    changed[0]! ^= 1;
    const [r] = verifySigners(parseSignedData(der), changed);
    assert.equal(r!.status, 'invalid');
    assert.equal(r!.checks.find((c) => c.name === 'message-digest')?.ok, false);
  });
});

describe('encryption both ways (AES-CBC, RSA PKCS#1 v1.5: what gpgsm 2.2 reads)', () => {
  for (const cipher of ['aes-128-cbc', 'aes-256-cbc'] as ContentCipherName[]) {
    test(`Sealpost encrypts (${cipher}), gpgsm decrypts`, () => {
      const der = encryptContent(content, { recipients: [{ certificate: Certificate.from(alice.cert) }], cipher });
      const r = gpgsm.decrypt(der);
      assert.equal(r.ok, true, r.stderr);
      assert.deepEqual(r.plaintext, content);
    });
  }
  for (const cipher of [undefined, 'AES256']) {
    test(`gpgsm encrypts (${cipher ?? 'default'}), Sealpost decrypts`, () => {
      const der = gpgsm.encrypt(content, [alice.email], cipher);
      const { content: plain, info } = decryptContent(der, [
        { certificate: Certificate.from(alice.cert), privateKey: createPrivateKey(alice.key) },
      ]);
      assert.deepEqual(plain, content);
      assert.match(info.contentCipher, /^aes-(128|256)-cbc$/);
    });
  }
});
