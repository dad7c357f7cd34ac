/**
 * Encrypting messages, both directions against OpenSSL: what we encrypt `openssl cms -decrypt`
 * opens to the exact canonical entity; what `openssl cms -encrypt` produces decryptMessage opens.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContentCipherName } from '../../src/cms/capabilities.ts';
import { isSealpostError } from '../../src/errors.ts';
import { canonicalizeEntity } from '../../src/mime/canonical.ts';
import { decryptMessage } from '../../src/smime/decrypt.ts';
import { encryptMessage } from '../../src/smime/encrypt.ts';
import { inspectMessage } from '../../src/smime/inspect.ts';
import { verifyMessage } from '../../src/smime/verify.ts';
import type { UserName } from '../support/pki.ts';
import { entityOf, key, message, opensslDecrypt, opensslEncrypt, recipient, verifyOptions } from './support.ts';

const msg = message('Alice <alice@example.org>', 'Hello — to be encrypted.\r\n'.repeat(40));
const entity = entityOf(msg);
const canonical = canonicalizeEntity(entity);
const transport = Buffer.from('From: alice@example.org\r\nTo: bob@example.org\r\nSubject: secret\r\n');

const CIPHERS: ContentCipherName[] = ['aes-128-cbc', 'aes-256-cbc', 'aes-128-gcm', 'aes-256-gcm'];

describe('Sealpost encrypts, openssl cms -decrypt recovers the entity', () => {
  const kinds: [string, UserName, 'pkcs1' | 'oaep' | undefined][] = [
    ['RSA PKCS#1 v1.5', 'alice', 'pkcs1'],
    ['RSA-OAEP', 'bob', 'oaep'],
    ['ECDH P-256', 'carol', undefined],
    ['ECDH P-384', 'dave', undefined],
  ];
  for (const [label, who, rsaPadding] of kinds) {
    for (const cipher of CIPHERS) {
      test(`${label}, ${cipher}`, () => {
        const { message: out } = encryptMessage(msg, {
          recipients: [recipient(who, rsaPadding ? { rsaPadding } : {})],
          cipher,
        });
        const smimeType = cipher.endsWith('gcm') ? 'authEnveloped-data' : 'enveloped-data';
        assert.match(out.toString('latin1'), new RegExp(`smime-type=${smimeType}`));
        assert.deepEqual(opensslDecrypt(out, who), canonical);
        const back = decryptMessage(out, [key(who)]);
        assert.deepEqual(
          back.removed.map((l) => l.envelope?.contentCipher),
          [cipher],
        );
      });
    }
  }

  test('several recipients of every kind: each opens it with OpenSSL', () => {
    const { message: out } = encryptMessage(msg, {
      recipients: [
        recipient('alice'),
        recipient('bob', { rsaPadding: 'oaep' }),
        recipient('carol'),
        recipient('dave', { identifier: 'subjectKeyIdentifier' }),
      ],
      cipher: 'aes-256-gcm',
    });
    for (const who of ['alice', 'bob', 'carol', 'dave'] as const) assert.deepEqual(opensslDecrypt(out, who), canonical);
    assert.equal(inspectMessage(out).layers[0]?.kind, 'auth-enveloped');
  });

  test('X25519 (RFC 8418): our own round trip (OpenSSL 3.0 cannot use X25519 in CMS)', () => {
    const { message: out } = encryptMessage(msg, { recipients: [recipient('frank')], cipher: 'aes-128-gcm' });
    const back = decryptMessage(out, [key('frank')]);
    assert.deepEqual(Buffer.from(back.message), Buffer.concat([transport0(msg), canonical]));
  });

  test('without an explicit cipher and no known capabilities, AES-256-CBC (readable everywhere)', () => {
    const r = encryptMessage(msg, { recipients: [recipient('alice')] });
    assert.equal(r.cipher, 'aes-256-cbc');
    assert.deepEqual(opensslDecrypt(r.message, 'alice'), canonical);
  });
});

describe('OpenSSL encrypts, decryptMessage recovers the entity', () => {
  const cases: [string, UserName[], string[], string, string?][] = [
    ['default (3DES)', ['alice'], [], 'des-ede3-cbc'],
    ['-aes128', ['alice'], ['-aes128'], 'aes-128-cbc'],
    ['-aes-192-cbc', ['bob'], ['-aes-192-cbc'], 'aes-192-cbc'],
    ['-aes256, RSA-OAEP', ['bob'], ['-aes256'], 'aes-256-cbc', 'rsa_padding_mode:oaep'],
    ['OAEP and P-256 together', ['alice', 'carol'], ['-aes-128-gcm'], 'aes-128-gcm', 'rsa_padding_mode:oaep'],
    ['-aes-128-gcm', ['alice'], ['-aes-128-gcm'], 'aes-128-gcm'],
    ['-aes-256-gcm to P-256', ['carol'], ['-aes-256-gcm'], 'aes-256-gcm'],
    ['-aes256 to P-384', ['dave'], ['-aes256'], 'aes-256-cbc'],
    ['several recipients, -stream', ['alice', 'bob', 'carol', 'dave'], ['-aes256', '-stream'], 'aes-256-cbc'],
    ['-binary -aes-128-gcm -stream', ['carol'], ['-binary', '-aes-128-gcm', '-stream'], 'aes-128-gcm'],
  ];
  for (const [label, names, extra, cipher, keyopt] of cases) {
    test(label, () => {
      const out = Buffer.concat([transport, opensslEncrypt(entity, names, extra, keyopt)]);
      for (const who of names) {
        const back = decryptMessage(out, [key(who)]);
        assert.equal(back.removed.length, 1);
        assert.equal(back.removed[0]!.envelope?.contentCipher, cipher);
        if (keyopt) assert.match(inspectKeyEncryption(out), /rsaesOaep|RSAES-OAEP|oaep/i);
        // OpenSSL's text mode (the default) makes line ends CRLF; -binary keeps them (ours are CRLF).
        assert.deepEqual(
          Buffer.from(back.message),
          Buffer.concat([transport, Buffer.from('MIME-Version: 1.0\r\n'), entity]),
        );
      }
    });
  }

  test('verifyMessage with keys opens it and reports not-signed (encryption is not a signature)', () => {
    const out = Buffer.concat([transport, opensslEncrypt(entity, ['alice'], ['-aes-128-gcm'])]);
    const r = verifyMessage(out, verifyOptions({ keys: [key('alice')] }));
    assert.equal(r.status, 'not-signed');
    assert.deepEqual(Buffer.from(r.content), entity);
    const locked = verifyMessage(out, verifyOptions());
    assert.equal(locked.status, 'encrypted');
  });
});

describe('wrong or damaged keys', () => {
  const out = encryptMessage(msg, { recipients: [recipient('alice')], cipher: 'aes-128-gcm' }).message;
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(isSealpostError(e), String(e));
      return e.code;
    }
    return 'no error';
  };
  test('a key that is not a recipient: NO_RECIPIENT (no trial decryption)', () => {
    assert.equal(
      code(() => decryptMessage(out, [key('bob'), key('carol')])),
      'NO_RECIPIENT',
    );
    const r = verifyMessage(out, verifyOptions({ keys: [key('bob')] }));
    assert.equal(r.status, 'encrypted');
    assert.match(r.layers[0]!.problem ?? '', /./);
  });
  test('a private key that does not match the named certificate: KEY_MISMATCH', () => {
    assert.equal(
      code(() => decryptMessage(out, [{ ...key('alice'), privateKey: key('bob').privateKey }])),
      'KEY_MISMATCH',
    );
  });
  test('a flipped ciphertext byte: DECRYPTION_FAILED, nothing released', () => {
    const base64Body = out.toString('latin1').split('\r\n\r\n')[1]!;
    const der = Buffer.from(base64Body, 'base64');
    der[der.length - 40]! ^= 1;
    const bad = Buffer.concat([
      Buffer.from(out.toString('latin1').split('\r\n\r\n')[0]!, 'latin1'),
      Buffer.from(`\r\n\r\n${der.toString('base64')}\r\n`),
    ]);
    assert.equal(
      code(() => decryptMessage(bad, [key('alice')])),
      'DECRYPTION_FAILED',
    );
  });
  test('decrypting an unencrypted message: NOT_SMIME', () => {
    assert.equal(
      code(() => decryptMessage(msg, [key('alice')])),
      'NOT_SMIME',
    );
  });
});

/** The transport headers of `m` as encryptMessage keeps them (plus MIME-Version). */
function transport0(m: Buffer): Buffer {
  const text = m.toString('latin1');
  return Buffer.from(`${text.slice(0, text.search(/^Content-/im))}MIME-Version: 1.0\r\n`, 'latin1');
}

function inspectKeyEncryption(m: Buffer): string {
  const layer = inspectMessage(m).layers[0]!;
  return 'recipients' in layer ? layer.recipients.map((r) => r.keyEncryptionAlgorithm).join(' ') : '';
}
