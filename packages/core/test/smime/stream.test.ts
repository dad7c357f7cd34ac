/**
 * The constant-memory APIs against the buffer ones and OpenSSL: what they write the buffer APIs
 * and `openssl cms` accept (byte for byte where the output is deterministic), and what they read
 * includes OpenSSL's `-stream` output and multi-MiB bodies.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decryptMessage } from '../../src/smime/decrypt.ts';
import { encryptMessage } from '../../src/smime/encrypt.ts';
import { signMessage } from '../../src/smime/sign.ts';
import {
  decryptMessageStream,
  encryptMessageStream,
  signMessageStream,
  verifyMessageStream,
} from '../../src/smime/stream.ts';
import { verifyMessage } from '../../src/smime/verify.ts';
import {
  chunked,
  collect,
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

const ASCII = ['Content-Type: text/plain; charset=us-ascii'];
const small = message('Alice <alice@example.org>', 'Streamed, line by line.\r\n'.repeat(20), [], ASCII);
/** A little over 3 MiB of text, so every stream crosses many chunk and segment boundaries. */
const big = message(
  'Alice <alice@example.org>',
  Array.from({ length: 48_000 }, (_, i) => `line ${i} ${'x'.repeat(56)}\r\n`).join(''),
  [],
  ASCII,
);
const transport = Buffer.from('From: alice@example.org\r\nTo: bob@example.org\r\n');
const boundaries = (m: Buffer) => m.toString('latin1').replace(/----=_sealpost_[0-9a-f-]{36}/g, 'BOUNDARY');

describe('signMessageStream', () => {
  test('clear-signed: the same bytes as signMessage (up to the random boundary)', async () => {
    const opts = { signers: [signer('alice')], signingTime: SIGNING_TIME };
    const streamed = await collect(signMessageStream(chunked(small, 7), opts));
    assert.equal(boundaries(streamed), boundaries(signMessage(small, opts)));
  });

  for (const mode of ['clear', 'opaque'] as const) {
    test(`${mode}, 3 MiB: verifyMessage, verifyMessageStream and openssl cms -verify accept it`, async () => {
      const opts = { signers: [signer('carol')], signingTime: SIGNING_TIME, mode };
      const streamed = await collect(signMessageStream(chunked(big, 65_536), opts));
      const r = verifyMessage(streamed, verifyOptions({ sender: 'carol@example.org' }));
      assert.equal(r.status, 'signed', r.reason);
      assert.deepEqual(Buffer.from(r.content), entityOf(big));
      const s = await verifyMessageStream(chunked(streamed, 10_000), verifyOptions({ sender: 'carol@example.org' }));
      assert.equal(s.status, 'signed', s.reason);
      assert.deepEqual(opensslVerify(streamed), entityOf(big));
    });
  }

  test('an 8-bit body is re-encoded on the way (base64), and still verifies with OpenSSL', async () => {
    const eight = message('alice@example.org', 'Grüße — 8-bit.\r\n');
    const streamed = await collect(
      signMessageStream(chunked(eight, 5), { signers: [signer('alice')], signingTime: SIGNING_TIME }),
    );
    assert.match(opensslVerify(streamed).toString('latin1'), /Content-Transfer-Encoding: base64\r\n/);
    assert.equal(verifyMessage(streamed, verifyOptions()).status, 'signed');
  });
});

describe('verifyMessageStream', () => {
  const entity = entityOf(big);
  for (const [label, extra, kind] of [
    ['openssl -stream (clear)', ['-stream'], 'clear-signed'],
    ['openssl -stream -nodetach (BER)', ['-stream', '-nodetach'], 'opaque-signed'],
    ['openssl -nodetach, two signers', ['-nodetach'], 'opaque-signed'],
  ] as const) {
    test(`${label}, 3 MiB: same verdict as verifyMessage`, async () => {
      const names = label.includes('two') ? (['alice', 'dave'] as const) : (['alice'] as const);
      const signed = Buffer.concat([transport, opensslSign(entity, [...names], [...extra])]);
      const opts = verifyOptions({ sender: 'alice@example.org' });
      const s = await verifyMessageStream(chunked(signed, 4096), opts);
      const b = verifyMessage(signed, opts);
      assert.equal(s.status, 'signed', s.reason);
      assert.equal(b.status, 'signed', b.reason);
      assert.equal(s.layers[0]!.kind, kind);
      assert.equal(s.layers[0] && 'signers' in s.layers[0] ? s.layers[0].signers.length : 0, names.length);
    });
  }

  test('a tampered body is a bad signature in the stream too', async () => {
    const signed = signMessage(small, { signers: [signer('alice')], signingTime: SIGNING_TIME });
    const bad = Buffer.from(signed.toString('latin1').replace('line by line', 'line by lime'), 'latin1');
    assert.equal((await verifyMessageStream(chunked(bad, 3), verifyOptions())).status, 'bad-signature');
  });
});

describe('encryptMessageStream and decryptMessageStream', () => {
  for (const cipher of ['aes-256-cbc', 'aes-128-gcm'] as const) {
    test(`${cipher}, 3 MiB: decryptMessage and openssl cms -decrypt recover the entity`, async () => {
      const out = await collect(
        encryptMessageStream(chunked(big, 100_000), {
          recipients: [recipient('alice'), recipient('dave')],
          cipher,
        }),
      );
      const buffered = decryptMessage(out, [key('dave')]);
      assert.deepEqual(
        Buffer.from(buffered.message),
        Buffer.from(big.toString('latin1').replace(/^Content-Type/m, 'MIME-Version: 1.0\r\nContent-Type'), 'latin1'),
      );
      assert.deepEqual(opensslDecrypt(out, 'alice'), entityOf(big));
      const { info, message: streamed } = await decryptMessageStream(chunked(out, 8192), [key('alice')]);
      assert.equal(info.contentCipher, cipher);
      assert.deepEqual(await collect(streamed), Buffer.from(buffered.message));
    });
  }

  test('decryptMessageStream gives what decryptMessage gives, for our and OpenSSL -stream envelopes', async () => {
    const ours = encryptMessage(small, {
      recipients: [recipient('bob', { rsaPadding: 'oaep' })],
      cipher: 'aes-256-gcm',
    }).message;
    const theirs = Buffer.concat([transport, opensslEncrypt(entityOf(big), ['bob', 'carol'], ['-aes256', '-stream'])]);
    for (const m of [ours, theirs]) {
      const { message: streamed } = await decryptMessageStream(chunked(m, 1000), [key('bob')]);
      assert.deepEqual(await collect(streamed), Buffer.from(decryptMessage(m, [key('bob')]).message));
    }
  });

  test('a wrong GCM tag fails at the end of the stream with DECRYPTION_FAILED', async () => {
    const out = encryptMessage(small, { recipients: [recipient('alice')], cipher: 'aes-128-gcm' }).message;
    const text = out.toString('latin1');
    const head = text.slice(0, text.indexOf('\r\n\r\n') + 4);
    const der = Buffer.from(text.slice(head.length), 'base64');
    der[der.length - 1]! ^= 1; // the tag is the last field of AuthEnvelopedData
    const bad = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(der.toString('base64'))]);
    const { message: streamed } = await decryptMessageStream(chunked(bad, 64), [key('alice')]);
    await assert.rejects(collect(streamed), (e: Error & { code?: string }) => e.code === 'DECRYPTION_FAILED');
  });
});

describe('streams without smime-type: the ContentInfo decides, as in the buffer APIs', () => {
  const strip = (m: Buffer, to: string) =>
    Buffer.from(
      m.toString('latin1').replace(/Content-Type: application\/pkcs7-mime;[^\r\n]*/, `Content-Type: ${to}`),
      'latin1',
    );

  test('opaque-signed named smime.p7m verifies in the stream', async () => {
    const m = strip(
      signMessage(small, { signers: [signer('alice')], signingTime: SIGNING_TIME, mode: 'opaque' }),
      'application/pkcs7-mime; name=smime.p7m',
    );
    const r = await verifyMessageStream(chunked(m, 5), verifyOptions());
    assert.equal(r.status, 'signed', r.reason);
    assert.equal(r.layers[0]!.kind, 'opaque-signed');
    await assert.rejects(
      decryptMessageStream(chunked(m, 5), [key('alice')]),
      (e: Error & { code?: string }) => e.code === 'NOT_SMIME',
    );
  });

  test('x-pkcs7-mime authEnveloped-data decrypts in the stream; OpenSSL -stream BER too', async () => {
    const ours = strip(
      encryptMessage(small, { recipients: [recipient('alice')], cipher: 'aes-256-gcm' }).message,
      'application/x-pkcs7-mime',
    );
    const theirs = strip(
      Buffer.concat([transport, opensslEncrypt(entityOf(small), ['alice'], ['-aes-128-gcm', '-stream'])]),
      'application/pkcs7-mime',
    );
    for (const m of [ours, theirs]) {
      const { info, message: out } = await decryptMessageStream(chunked(m, 3), [key('alice')]);
      assert.equal(info.type, 'authEnveloped-data');
      assert.deepEqual(await collect(out), Buffer.from(decryptMessage(m, [key('alice')]).message));
    }
  });
});
