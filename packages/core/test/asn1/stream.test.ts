import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, createDecipheriv, createHash, createPrivateKey, privateDecrypt, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readInteger, readOctetString, readOid } from '../../src/asn1/der.ts';
import { BerStreamReader } from '../../src/asn1/stream.ts';
import { isSealpostError } from '../../src/errors.ts';
import { testPki } from '../support/pki.ts';
import { collect, lengthOctets, source, split } from './ber-support.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const reader = (bytes: Uint8Array, sizes: number[] = []) => new BerStreamReader(source(split(bytes, sizes)));
const isCode = (code: 'ASN1_MALFORMED' | 'ASN1_LIMIT') => (e: unknown) => isSealpostError(e, code);

test('headers: low and high tag numbers, short, long and indefinite lengths', async () => {
  const r = reader(hex('30 03 02 01 05  bf 87 68 82 00 01 00  a0 80 00 00'), [1]);
  const seq = await r.peekHeader();
  assert.deepEqual(seq, {
    cls: 0,
    constructed: true,
    tagNumber: 16,
    tag: 0x30,
    length: 3,
    headerBytes: Uint8Array.from([0x30, 0x03]),
  });
  assert.equal(r.bytesRead, 0, 'peekHeader consumes nothing');
  assert.deepEqual(await r.readHeader(), seq);
  assert.equal(readInteger(await r.readElement()), 5n);
  const high = await r.readHeader();
  assert.equal(high.cls, 2);
  assert.equal(high.tagNumber, 1000);
  assert.equal(high.tag, 0xbf);
  assert.equal(high.length, 1, 'non-minimal long form is valid BER');
  assert.deepEqual(await r.readValue(high), Uint8Array.of(0));
  const indefinite = await r.readHeader();
  assert.equal(indefinite.length, null);
  assert.equal((await r.peekHeader())?.tag, 0, 'end-of-contents shows as tag 0');
  await r.readEndOfContents();
  assert.equal(await r.atEnd(), true);
  assert.equal(await r.peekHeader(), undefined);
  assert.equal(r.bytesRead, 16);
});

test('header errors: truncation, reserved and huge lengths, huge tags, primitive indefinite', async () => {
  const cases: [string, 'ASN1_MALFORMED' | 'ASN1_LIMIT'][] = [
    ['30', 'ASN1_MALFORMED'],
    ['30 82 01', 'ASN1_MALFORMED'],
    ['1f', 'ASN1_MALFORMED'],
    ['1f 81', 'ASN1_MALFORMED'],
    ['1f 80 01 00', 'ASN1_MALFORMED'],
    ['04 ff', 'ASN1_MALFORMED'],
    ['04 80', 'ASN1_MALFORMED'],
    ['00 01 00', 'ASN1_MALFORMED'],
    ['20 00', 'ASN1_MALFORMED'],
    ['04 87 01 00 00 00 00 00 00', 'ASN1_LIMIT'],
    ['1f 84 80 80 80 00 00', 'ASN1_LIMIT'],
  ];
  for (const [input, code] of cases) {
    await assert.rejects(reader(hex(input)).readHeader(), isCode(code), input);
    await assert.rejects(reader(hex(input), [1]).peekHeader(), isCode(code), input);
  }
  await assert.rejects(reader(hex('')).readHeader(), isCode('ASN1_MALFORMED'));
  const largest = await reader(hex('04 86 ff ff ff ff ff ff')).readHeader();
  assert.equal(largest.length, 2 ** 48 - 1);
});

test('readElement and readValue refuse elements over the limit before buffering them', async () => {
  // A source that never ends: the limit must trip on the header (definite) or while walking (indefinite).
  async function* endless(prefix: Uint8Array, unit: Uint8Array) {
    yield prefix;
    for (;;) yield unit;
  }
  const huge = new BerStreamReader(endless(hex('04 84 40 00 00 00'), new Uint8Array(65536)));
  await assert.rejects(huge.readElement(), isCode('ASN1_LIMIT'));
  const hugeValue = new BerStreamReader(endless(hex('04 84 40 00 00 00'), new Uint8Array(65536)));
  await assert.rejects(hugeValue.readValue(await hugeValue.readHeader()), isCode('ASN1_LIMIT'));
  const unit = Buffer.concat([hex('04 83 00 ff fc'), new Uint8Array(0xfffc)]);
  const stream = new BerStreamReader(endless(hex('30 80'), unit), { maxElementBytes: 1 << 20 });
  await assert.rejects(stream.readElement(), isCode('ASN1_LIMIT'));
  const small = reader(hex('30 80 02 01 01 02 01 02 00 00'));
  await assert.rejects(small.readElement(9), isCode('ASN1_LIMIT'));
  assert.equal(small.bytesRead, 0);
  assert.equal((await small.readElement(10)).children.length, 2);
  await assert.rejects(reader(hex('02 01 01')).readElement(2), isCode('ASN1_LIMIT'));
});

test('readValue: definite content, and the children of an indefinite element without its end-of-contents', async () => {
  const r = reader(hex('a0 80 02 01 07 30 80 05 00 00 00 00 00 04 02 aa bb'), [3]);
  const h = await r.readHeader();
  assert.deepEqual(Buffer.from(await r.readValue(h)), hex('02 01 07 30 80 05 00 00 00'));
  const o = await r.readHeader();
  assert.deepEqual(Buffer.from(await r.readValue(o)), hex('aa bb'));
  assert.equal(await r.atEnd(), true);
  await assert.rejects(reader(hex('a0 80 02 01 07')).readValue({ ...h }), isCode('ASN1_MALFORMED'));
});

test('depth bombs give ASN1_LIMIT for reading, skipping and streaming, without overflowing the stack', async () => {
  const bomb = (id: number) => Buffer.from(new Array(10_000).fill([id, 0x80]).flat());
  await assert.rejects(reader(bomb(0x30)).readElement(), isCode('ASN1_LIMIT'));
  await assert.rejects(reader(bomb(0x30)).skipElement(), isCode('ASN1_LIMIT'));
  const r = reader(bomb(0x24));
  await assert.rejects(collect(r.streamOctetString(await r.readHeader())), isCode('ASN1_LIMIT'));
  // Definite nesting is bounded by the decoder's depth limit.
  let definite: Buffer = hex('05 00');
  for (let i = 0; i < 100; i++)
    definite = Buffer.concat([Buffer.from([0x30, ...lengthOctets(definite.length)]), definite]);
  await assert.rejects(reader(definite).readElement(), isCode('ASN1_LIMIT'));
  const shallow = new BerStreamReader(source([bomb(0x30).subarray(0, 20)]), { maxDepth: 4 });
  await assert.rejects(shallow.skipElement(), isCode('ASN1_LIMIT'));
});

test('streamOctetString: primitive, nested segments, IMPLICIT tag, and the errors', async () => {
  const nested = hex('24 80 04 02 01 02 24 06 04 01 03 04 01 04 24 80 00 00 04 00 00 00');
  for (const sizes of [[], [1], [2, 5]]) {
    const r = reader(nested, sizes);
    assert.deepEqual(await collect(r.streamOctetString(await r.readHeader())), hex('01 02 03 04'));
    assert.equal(await r.atEnd(), true);
  }
  // [0] IMPLICIT EncryptedContent: the segments inside stay universal OCTET STRINGs.
  const implicit = reader(hex('a0 80 04 01 aa 04 01 bb 00 00 80 02 cc dd'));
  assert.deepEqual(await collect(implicit.streamOctetString(await implicit.readHeader())), hex('aa bb'));
  assert.deepEqual(await collect(implicit.streamOctetString(await implicit.readHeader())), hex('cc dd'));
  const errors: [string, 'ASN1_MALFORMED' | 'ASN1_LIMIT'][] = [
    ['24 80 02 01 00 00 00', 'ASN1_MALFORMED'], // a segment of another type
    ['24 04 04 03 aa bb cc', 'ASN1_MALFORMED'], // a segment runs past its container
    ['24 05 24 80 04 00 00 00', 'ASN1_MALFORMED'], // an indefinite segment runs past its container
    ['24 80 04 01 aa', 'ASN1_MALFORMED'], // no end-of-contents
    ['24 80 04 05 aa', 'ASN1_MALFORMED'], // truncated segment
    ['24 02 00 00', 'ASN1_MALFORMED'], // end-of-contents inside a definite string
  ];
  for (const [input, code] of errors) {
    const r = reader(hex(input));
    await assert.rejects(collect(r.streamOctetString(await r.readHeader())), isCode(code), input);
  }
});

test('streamOctetString yields views of large input chunks, not copies', async () => {
  const chunk = randomBytes(1 << 20);
  const r = new BerStreamReader(source([hex('04 83 20 00 00'), chunk, chunk]));
  const pieces: Uint8Array[] = [];
  for await (const p of r.streamOctetString(await r.readHeader())) pieces.push(p);
  assert.equal(pieces.length, 2);
  assert.equal(pieces[0]!.buffer, chunk.buffer);
  assert.equal(pieces[1]!.byteOffset, chunk.byteOffset);
});

test('skipElement skips a large element without buffering it, and elements span large chunks', async () => {
  const big = Buffer.concat([hex('04 83 10 00 00'), Buffer.alloc(0x100000, 7), hex('02 02 01 00')]);
  const r = reader(big, [5000, 70_000, 1]);
  await r.skipElement();
  assert.equal(r.bytesRead, 0x100005);
  assert.equal(readInteger(await r.readElement()), 256n);
  const r2 = reader(big, [70_001, 3]);
  assert.deepEqual(Buffer.from(readOctetString(await r2.readElement())), Buffer.alloc(0x100000, 7));
});

test('a 64 MiB constructed OCTET STRING streams in bounded memory', async () => {
  // 4 KiB segments, delivered as fresh 64 KiB chunks, as a file read would.
  const segment = Buffer.concat([hex('04 82 0f fc'), Buffer.alloc(0xffc)]);
  for (let i = 4; i < segment.length; i++) segment[i] = i & 0xff;
  const template = Buffer.concat(new Array(16).fill(segment));
  const chunks = 1024;
  async function* input() {
    yield hex('24 80');
    for (let i = 0; i < chunks; i++) yield Buffer.from(template);
    yield hex('00 00');
  }
  const expected = createHash('sha256');
  for (let i = 0; i < chunks * 16; i++) expected.update(segment.subarray(4));
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  let n = 0;
  const r = new BerStreamReader(input());
  const hash = createHash('sha256');
  for await (const piece of r.streamOctetString(await r.readHeader())) {
    hash.update(piece);
    n += piece.length;
    if ((n & 0xfffff) < piece.length) peak = Math.max(peak, process.memoryUsage().rss);
  }
  assert.equal(n, chunks * 16 * 0xffc);
  assert.equal(hash.digest('hex'), expected.digest('hex'));
  assert.equal(await r.atEnd(), true);
  assert.ok(peak - before < 40 * 1024 * 1024, `rss grew by ${((peak - before) / 1048576).toFixed(1)} MiB`);
});

// ---------------------------------------------------------------- OpenSSL's streaming output

const pki = testPki();
const work = mkdtempSync(join(tmpdir(), 'sealpost-stream-'));
after(() => rmSync(work, { recursive: true, force: true }));
const contentFile = join(work, 'content.bin');
const content = randomBytes(3 * 1024 * 1024 + 17);
writeFileSync(contentFile, content);

function openssl(args: string[]): string {
  const out = join(work, `out-${args[1]}.der`);
  execFileSync('openssl', [...args, '-in', contentFile, '-out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

/** Reads `[0] EXPLICIT` (or any tag) header and returns whether it was indefinite. */
async function enter(r: BerStreamReader, tag: number): Promise<boolean> {
  const h = await r.readHeader();
  assert.equal(h.tag, tag);
  return h.length === null;
}

test('walks OpenSSL `cms -sign -stream` output and streams the eContent', async () => {
  const alice = pki.user('alice');
  const file = openssl([
    'cms',
    '-sign',
    '-stream',
    '-binary',
    '-nodetach',
    '-outform',
    'DER',
    '-signer',
    alice.certPath,
    '-inkey',
    alice.keyPath,
  ]);
  const r = new BerStreamReader(createReadStream(file));
  const open: boolean[] = [];
  open.push(await enter(r, 0x30)); // ContentInfo
  assert.equal(readOid(await r.readElement()), '1.2.840.113549.1.7.2');
  open.push(await enter(r, 0xa0)); // [0] EXPLICIT
  open.push(await enter(r, 0x30)); // SignedData
  assert.equal(readInteger(await r.readElement()), 1n);
  assert.equal((await r.readElement()).tag, 0x31); // digestAlgorithms
  open.push(await enter(r, 0x30)); // EncapsulatedContentInfo
  assert.equal(readOid(await r.readElement()), '1.2.840.113549.1.7.1');
  open.push(await enter(r, 0xa0)); // [0] EXPLICIT eContent
  const eContent = await r.readHeader();
  assert.equal(eContent.cls, 0);
  assert.equal(eContent.tagNumber, 4);
  assert.ok(open.every(Boolean) && eContent.length === null, 'OpenSSL streams with indefinite lengths');
  const hash = createHash('sha256');
  let n = 0;
  for await (const piece of r.streamOctetString(eContent)) {
    hash.update(piece);
    n += piece.length;
  }
  assert.equal(n, content.length);
  assert.equal(hash.digest('hex'), createHash('sha256').update(content).digest('hex'));
  await r.readEndOfContents(); // [0]
  await r.readEndOfContents(); // EncapsulatedContentInfo
  assert.equal((await r.readElement()).tag, 0xa0); // certificates
  const signerInfos = await r.readElement();
  assert.equal(signerInfos.tag, 0x31);
  assert.equal(signerInfos.children.length, 1);
  await r.readEndOfContents(); // SignedData
  await r.readEndOfContents(); // [0]
  await r.readEndOfContents(); // ContentInfo
  assert.equal(await r.atEnd(), true);
});

test('walks OpenSSL `cms -encrypt -stream` output and decrypts the streamed encryptedContent', async () => {
  const alice = pki.user('alice');
  const file = openssl([
    'cms',
    '-encrypt',
    '-stream',
    '-binary',
    '-outform',
    'DER',
    '-aes-256-cbc',
    '-recip',
    alice.certPath,
    '-keyopt',
    'rsa_padding_mode:oaep',
  ]);
  const r = new BerStreamReader(createReadStream(file));
  await enter(r, 0x30); // ContentInfo
  assert.equal(readOid(await r.readElement()), '1.2.840.113549.1.7.3');
  await enter(r, 0xa0);
  await enter(r, 0x30); // EnvelopedData
  assert.equal(readInteger(await r.readElement()), 0n);
  const recipientInfos = await r.readElement();
  const ktri = recipientInfos.child(0);
  const encryptedKey = readOctetString(ktri.child(3));
  await enter(r, 0x30); // EncryptedContentInfo
  assert.equal(readOid(await r.readElement()), '1.2.840.113549.1.7.1');
  const algorithm = await r.readElement();
  assert.equal(readOid(algorithm.child(0)), '2.16.840.1.101.3.4.1.42');
  const iv = readOctetString(algorithm.child(1));
  const encryptedContent = await r.readHeader();
  assert.equal(encryptedContent.tag, 0xa0, '[0] IMPLICIT, constructed');
  const cek = privateDecrypt(
    { key: createPrivateKey(alice.key), padding: constants.RSA_PKCS1_OAEP_PADDING },
    encryptedKey,
  );
  const decipher = createDecipheriv('aes-256-cbc', cek, iv);
  const parts: Buffer[] = [];
  for await (const piece of r.streamOctetString(encryptedContent)) parts.push(decipher.update(piece));
  parts.push(decipher.final());
  assert.deepEqual(Buffer.concat(parts), content);
  await r.readEndOfContents(); // EncryptedContentInfo
  await r.readEndOfContents(); // EnvelopedData
  await r.readEndOfContents(); // [0]
  await r.readEndOfContents(); // ContentInfo
  assert.equal(await r.atEnd(), true);
});
