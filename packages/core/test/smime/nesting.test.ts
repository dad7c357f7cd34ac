/**
 * Nested layers (RFC 8551 §3.7): signed then encrypted, encrypted then signed, and triple
 * wrapping, made by us and opened by OpenSSL, and made by piped `openssl cms` and opened by us.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalizeEntity } from '../../src/mime/canonical.ts';
import { decryptMessage } from '../../src/smime/decrypt.ts';
import { encryptMessage } from '../../src/smime/encrypt.ts';
import { inspectMessage } from '../../src/smime/inspect.ts';
import { signMessage } from '../../src/smime/sign.ts';
import { verifyMessage } from '../../src/smime/verify.ts';
import {
  entityOf,
  key,
  message,
  opensslDecrypt,
  opensslEncrypt,
  opensslSign,
  opensslVerify,
  recipient,
  SIGNING_TIME,
  signer,
  verifyOptions,
} from './support.ts';

const msg = message('Alice <alice@example.org>', 'Nested layers — each one checked.\r\n');
const canonical = canonicalizeEntity(entityOf(msg));
const sign = (m: Uint8Array, mode: 'clear' | 'opaque' = 'clear') =>
  signMessage(m, { signers: [signer('alice')], signingTime: SIGNING_TIME, mode });
const encrypt = (m: Uint8Array) =>
  encryptMessage(m, { recipients: [recipient('bob'), recipient('carol')], cipher: 'aes-256-gcm' }).message;
const kinds = (m: Uint8Array) => verifyMessage(m, verifyOptions({ keys: [key('bob')] })).layers.map((l) => l.kind);

describe('Sealpost nests, OpenSSL unwraps layer by layer', () => {
  test('sign → encrypt', () => {
    const out = encrypt(sign(msg));
    const r = verifyMessage(out, verifyOptions({ keys: [key('carol')] }));
    assert.equal(r.status, 'signed', r.reason);
    assert.deepEqual(kinds(out), ['auth-enveloped', 'clear-signed']);
    assert.deepEqual(Buffer.from(r.content), canonical);
    assert.deepEqual(opensslVerify(opensslDecrypt(out, 'bob')), canonical);
  });

  test('encrypt → sign', () => {
    const out = sign(encrypt(msg));
    const r = verifyMessage(out, verifyOptions({ keys: [key('bob')] }));
    assert.equal(r.status, 'signed', r.reason);
    assert.deepEqual(kinds(out), ['clear-signed', 'auth-enveloped']);
    assert.deepEqual(opensslDecrypt(opensslVerify(out), 'carol'), canonical);
    // Without a key: the signature is checked, the inside stays closed.
    const closed = verifyMessage(out, verifyOptions());
    assert.equal(closed.status, 'signed');
    assert.match(closed.reason, /not opened/);
  });

  test('triple wrapping (sign, encrypt, sign opaque)', () => {
    const out = sign(encrypt(sign(msg)), 'opaque');
    const r = verifyMessage(out, verifyOptions({ keys: [key('bob')] }));
    assert.equal(r.status, 'signed', r.reason);
    assert.deepEqual(kinds(out), ['opaque-signed', 'auth-enveloped', 'clear-signed']);
    assert.deepEqual(Buffer.from(r.content), canonical);
    assert.deepEqual(opensslVerify(opensslDecrypt(opensslVerify(out), 'bob')), canonical);
    // decryptMessage peels the outer signature and the envelope, and keeps the inner signature.
    const d = decryptMessage(out, [key('carol')]);
    assert.deepEqual(
      d.removed.map((l) => l.kind),
      ['opaque-signed', 'auth-enveloped'],
    );
    assert.equal(verifyMessage(d.message, verifyOptions()).status, 'signed');
    assert.deepEqual(
      inspectMessage(out).layers.map((l) => l.kind),
      ['opaque-signed', 'auth-enveloped'],
    );
  });

  test('an inner signer that is not trusted spoils a triple-wrapped message', () => {
    const inner = signMessage(msg, { signers: [signer('expired')], signingTime: SIGNING_TIME });
    const out = sign(encrypt(inner));
    const r = verifyMessage(out, verifyOptions({ keys: [key('bob')] }));
    assert.equal(r.status, 'untrusted', r.reason);
  });
});

describe('OpenSSL nests (piped openssl cms), verifyMessage reports every layer', () => {
  const entity = entityOf(msg);
  const from = Buffer.from('From: alice@example.org\r\nTo: bob@example.org\r\n');
  const cases: [string, () => Buffer, string[]][] = [
    [
      'sign → encrypt',
      () => opensslEncrypt(opensslSign(entity, ['alice']), ['bob', 'dave'], ['-aes256']),
      ['enveloped', 'clear-signed'],
    ],
    [
      'encrypt → sign',
      () => opensslSign(opensslEncrypt(entity, ['bob'], ['-aes-128-gcm']), ['alice']),
      ['clear-signed', 'auth-enveloped'],
    ],
    [
      'triple wrapping',
      () => opensslSign(opensslEncrypt(opensslSign(entity, ['alice']), ['bob'], ['-aes256']), ['alice'], ['-nodetach']),
      ['opaque-signed', 'enveloped', 'clear-signed'],
    ],
  ];
  for (const [label, make, layers] of cases) {
    test(label, () => {
      const out = Buffer.concat([from, make()]);
      const r = verifyMessage(out, verifyOptions({ keys: [key('bob')] }));
      assert.equal(r.status, 'signed', r.reason);
      assert.deepEqual(
        r.layers.map((l) => l.kind),
        layers,
      );
      for (const l of r.layers) {
        if ('signers' in l)
          assert.deepEqual(
            l.signers.map((s) => s.status),
            ['valid'],
          );
        else assert.equal(l.decrypted, true);
      }
      assert.deepEqual(Buffer.from(r.content), entity);
    });
  }
});
