import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decode } from '../../src/asn1/der.ts';
import {
  DetachedSigner,
  openSignedStream,
  parseSignedData,
  signContent,
  signStream,
  verifySigners,
} from '../../src/cms/signed-data.ts';
import { isSealpostError } from '../../src/errors.ts';
import { chunked, collect, opensslSign, opensslVerify, SIGNING_TIME, signer } from './signed-data-support.ts';

const big = randomBytes(300 * 1024 + 17);

describe('signStream (opaque, indefinite length)', () => {
  it('is read by openssl cms -verify and by parseSignedData', async () => {
    const der = await collect(
      signStream(chunked(big, 10_000), {
        signers: [signer('alice'), signer('dave', { digest: 'sha384' })],
        signingTime: SIGNING_TIME,
      }),
    );
    assert.deepEqual(opensslVerify(der), big);
    const info = parseSignedData(der);
    assert.deepEqual(Buffer.from(info.content!), big);
    for (const r of verifySigners(info, info.content!)) assert.equal(r.status, 'valid');
  });

  it('has the shape of openssl -stream output: indefinite outer lengths, eContent segments of >= 64 KiB', async () => {
    const der = await collect(
      signStream(chunked(big, 1000), { signers: [signer('carol')], signingTime: SIGNING_TIME }),
    );
    assert.deepEqual([...der.subarray(0, 2)], [0x30, 0x80]);
    const root = decode(der, { mode: 'ber' });
    const encap = root.child(1).child(0).child(2);
    const octets = encap.child(1).child(0);
    assert.equal(octets.tag, 0x24);
    const sizes = octets.children.map((c) => c.value.length);
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      big.length,
    );
    for (const s of sizes.slice(0, -1)) assert.ok(s >= 64 * 1024);
  });

  it('signs empty content', async () => {
    const der = await collect(
      signStream(chunked(Buffer.alloc(0), 1), { signers: [signer('bob')], signingTime: SIGNING_TIME }),
    );
    assert.equal(opensslVerify(der).length, 0);
  });
});

describe('DetachedSigner', () => {
  it('hashes chunks and produces a detached signature openssl verifies', () => {
    const s = new DetachedSigner({
      signers: [signer('alice', { rsaPadding: 'pss' }), signer('erin')],
      signingTime: SIGNING_TIME,
    });
    for (let i = 0; i < big.length; i += 7777) s.update(big.subarray(i, i + 7777));
    const der = s.finish();
    const info = parseSignedData(der);
    assert.equal(info.content, undefined);
    const results = verifySigners(info, big);
    assert.deepEqual(
      results.map((r) => r.status),
      ['valid', 'valid'],
    );
    // Same bytes as the one-shot API for the RSA signer alone (PSS is randomized, so compare via openssl).
    const one = new DetachedSigner({ signers: [signer('bob')], signingTime: SIGNING_TIME });
    one.update(big);
    assert.deepEqual(opensslVerify(one.finish(), { content: big }), big);
    assert.throws(
      () => one.update(big),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
  });
});

describe('openSignedStream', () => {
  const variants: [string, () => Promise<Buffer> | Buffer][] = [
    ['openssl -stream (indefinite)', () => opensslSign(big, ['alice'], ['-stream', '-nodetach'])],
    ['openssl DER (definite)', () => opensslSign(big, ['carol'], ['-nodetach', '-md', 'sha512'])],
    ['signContent', () => signContent(big, { signers: [signer('bob')], signingTime: SIGNING_TIME, detached: false })],
    [
      'signStream',
      () => collect(signStream(chunked(big, 65_536), { signers: [signer('erin')], signingTime: SIGNING_TIME })),
    ],
  ];
  for (const [label, make] of variants) {
    for (const chunk of [1 << 20, 4096, 333]) {
      it(`${label}, ${chunk}-byte input chunks`, async () => {
        const der = await make();
        const opened = await openSignedStream(chunked(der, chunk));
        assert.deepEqual(await collect(opened.content), big);
        const info = await opened.finish();
        assert.equal(info.content, undefined);
        const results = verifySigners(info, { digests: info.digests });
        assert.equal(results.length, 1);
        assert.equal(results[0]!.status, 'valid', JSON.stringify(results[0]!.checks));
        const hash = results[0]!.digestAlgorithm;
        assert.deepEqual(Buffer.from(info.digests.get(hash)!), createHash(hash).update(big).digest());
      });
    }
  }

  it('finish() reads the content itself when the caller did not', async () => {
    const der = signContent(big, { signers: [signer('alice')], signingTime: SIGNING_TIME, detached: false });
    const opened = await openSignedStream(chunked(der, 5000));
    assert.deepEqual(opened.digestAlgorithms, ['sha256']);
    const info = await opened.finish();
    assert.equal(verifySigners(info, { digests: info.digests })[0]!.status, 'valid');
  });

  it('detects changed content while streaming', async () => {
    const der = Buffer.from(
      signContent(big, { signers: [signer('alice')], signingTime: SIGNING_TIME, detached: false }),
    );
    der[der.indexOf(big.subarray(1000, 1032)) + 5]! ^= 1;
    const opened = await openSignedStream(chunked(der, 4096));
    const info = await opened.finish();
    assert.deepEqual(
      verifySigners(info, { digests: info.digests })[0]!
        .checks.filter((c) => !c.ok)
        .map((c) => c.name),
      ['message-digest'],
    );
  });

  it('refuses a detached signature, truncation and trailing bytes with CMS errors', async () => {
    const detached = signContent(big, { signers: [signer('alice')], signingTime: SIGNING_TIME, detached: true });
    await assert.rejects(openSignedStream(chunked(detached, 4096)), (e) => isSealpostError(e, 'CMS_MALFORMED'));
    const der = await collect(
      signStream(chunked(big, 65_536), { signers: [signer('alice')], signingTime: SIGNING_TIME }),
    );
    for (const cut of [10, 200, der.length - 300, der.length - 1]) {
      await assert.rejects(
        (async () => {
          const opened = await openSignedStream(chunked(der.subarray(0, cut), 4096));
          await opened.finish();
        })(),
        (e) => isSealpostError(e, 'CMS_MALFORMED'),
        `cut at ${cut}`,
      );
    }
    const trailing = Buffer.concat([der, Buffer.from([0x05, 0x00])]);
    const opened = await openSignedStream(chunked(trailing, 4096));
    await assert.rejects(opened.finish(), (e) => isSealpostError(e, 'CMS_MALFORMED'));
  });

  it('streams 128 MiB through signStream and openSignedStream in bounded memory', async () => {
    const block = randomBytes(256 * 1024);
    async function* source(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < 512; i++) yield block;
    }
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const opened = await openSignedStream(
      signStream(source(), { signers: [signer('carol')], signingTime: SIGNING_TIME }),
    );
    let total = 0;
    for await (const piece of opened.content) {
      total += piece.length;
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    assert.equal(total, 128 * 1024 * 1024);
    const info = await opened.finish();
    assert.equal(verifySigners(info, { digests: info.digests })[0]!.status, 'valid');
    // Holding the content would need more than 128 MiB; what is left over is garbage not yet collected.
    assert.ok(peak < 96 * 1024 * 1024, `peak external memory ${peak}`);
  });
});
