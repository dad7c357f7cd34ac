import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { assembleMessage, canonicalizeEntity, splitMessage, toCrlf } from '../../src/mime/canonical.ts';
import { decodeBody, parseEntity } from '../../src/mime/entity.ts';
import { getHeader } from '../../src/mime/headers.ts';
import { crlf } from './support.ts';

const text = (u: Uint8Array) => Buffer.from(u).toString('latin1');

test('toCrlf converts bare LF only', () => {
  assert.equal(text(toCrlf(Buffer.from('a\nb\r\nc\n\n\rd\r'))), 'a\r\nb\r\nc\r\n\r\n\rd\r');
  const clean = Buffer.from('a\r\nb');
  assert.equal(toCrlf(clean), clean);
});

test('7-bit-clean entities come back byte-identical but for line ends', () => {
  const entity = Buffer.from(
    'Content-Type: multipart/mixed; boundary=x\n\npre\n--x\nContent-Type: text/plain\n\nhi\n--x--\nepi\n',
  );
  assert.deepEqual(Buffer.from(canonicalizeEntity(entity)), toCrlf(entity));
  const already = crlf('Content-Type: text/plain\n\nhello\n');
  assert.deepEqual(Buffer.from(canonicalizeEntity(already)), already);
});

test('8-bit text becomes quoted-printable, binary becomes base64, inside a multipart', () => {
  const binary = Buffer.from([0, 1, 2, 0x0a, 0xff, 0x0d, 0x0a, 0x80]);
  const entity = Buffer.concat([
    Buffer.from(
      'Content-Type: multipart/mixed; boundary=x\nContent-Transfer-Encoding: 8bit\n\n--x\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\u00e9 = ok  \nline two\n--x\nContent-Type: application/octet-stream\n\n',
      'utf8',
    ),
    binary,
    Buffer.from('\n--x--\n'),
  ]);
  const out = canonicalizeEntity(entity);
  assert.ok(Buffer.from(out).every((b) => b < 0x80));
  assert.ok(!/[^\r]\n/.test(text(out)));
  const e = parseEntity(out);
  assert.equal(getHeader(e.headers, 'Content-Transfer-Encoding'), '7bit');
  const [t, b] = e.parts!;
  assert.equal(getHeader(t!.headers, 'Content-Transfer-Encoding'), 'quoted-printable');
  assert.equal(t!.headers.filter((h) => h.name === 'Content-Transfer-Encoding').length, 1);
  assert.equal(text(decodeBody(t!)), Buffer.from('caf\u00e9 = ok  \r\nline two', 'utf8').toString('latin1'));
  assert.match(text(out), /caf=C3=A9 =3D ok =20\r\nline two\r\n--x/);
  assert.equal(getHeader(b!.headers, 'Content-Transfer-Encoding'), 'base64');
  assert.deepEqual(Buffer.from(decodeBody(b!)), binary); // bytes untouched by line-end conversion
  // Canonicalization is idempotent.
  assert.deepEqual(Buffer.from(canonicalizeEntity(out)), Buffer.from(out));
});

test('over-long lines and NULs force an encoding even in 7-bit text; binary is always encoded', () => {
  const long = crlf(`Content-Type: text/plain\n\n${'a'.repeat(2000)}\n`);
  const out = text(canonicalizeEntity(long));
  assert.match(out, /Content-Transfer-Encoding: quoted-printable/);
  assert.ok(out.split('\r\n').every((l) => l.length <= 76));
  assert.equal(text(decodeBody(parseEntity(Buffer.from(out, 'latin1')))), `${'a'.repeat(2000)}\r\n`);
  const nul = canonicalizeEntity(crlf('Content-Type: image/png\n\na\u0000b'));
  assert.equal(text(decodeBody(parseEntity(nul))), 'a\u0000b');
  const bin = crlf('Content-Type: application/x-thing\nContent-Transfer-Encoding: binary\n\nab\ncd');
  const encoded = parseEntity(canonicalizeEntity(Buffer.from(text(bin).replace('\r\ncd', '\ncd'), 'latin1')));
  assert.equal(encoded.transferEncoding, 'base64');
  assert.equal(text(decodeBody(encoded)), 'ab\ncd');
});

test('already-encoded bodies are left alone', () => {
  const data = randomBytes(100).toString('base64');
  const entity = crlf(`Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n${data}\n`);
  assert.deepEqual(Buffer.from(canonicalizeEntity(entity)), entity);
});

test('splitMessage separates transport headers from the entity', () => {
  const msg = Buffer.from(
    'Received: by x\nFrom: a@example.org\nMIME-Version: 1.0\nContent-Type: text/plain;\n charset=utf-8\nSubject: s\ncontent-transfer-encoding: 8bit\n\nbody\n',
  );
  const { transportHeaders, entity } = splitMessage(msg);
  assert.deepEqual(
    transportHeaders.map((f) => f.name),
    ['Received', 'From', 'MIME-Version', 'Subject'],
  );
  assert.equal(
    text(entity),
    'Content-Type: text/plain;\r\n charset=utf-8\r\ncontent-transfer-encoding: 8bit\r\n\r\nbody\n',
  );
  const bare = splitMessage(Buffer.from('Subject: s\r\n\r\nhi'));
  assert.equal(text(bare.entity), 'Content-Type: text/plain; charset=us-ascii\r\n\r\nhi');
  // The header block alone (as the streaming code passes it) gives the entity's header block.
  assert.equal(
    text(splitMessage(Buffer.from('Subject: s\r\nContent-Type: text/html\r\n\r\n')).entity),
    'Content-Type: text/html\r\n\r\n',
  );
});

test('assembleMessage puts transport headers (CRLF), MIME-Version when missing, then the entity', () => {
  const { transportHeaders } = splitMessage(Buffer.from('From: a@example.org\nSubject: s\n\n'));
  const out = assembleMessage(transportHeaders, crlf('Content-Type: text/plain\n\nx\n'));
  assert.equal(
    text(out),
    'From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nx\r\n',
  );
  const withVersion = splitMessage(Buffer.from('MIME-Version: 1.0\r\nFrom: a@b\r\n\r\n')).transportHeaders;
  assert.equal(text(assembleMessage(withVersion, new Uint8Array(0))), 'MIME-Version: 1.0\r\nFrom: a@b\r\n');
  // The last field of a headers-only message has no line end of its own.
  const noEol = splitMessage(Buffer.from('From: a@b')).transportHeaders;
  assert.equal(text(assembleMessage(noEol, new Uint8Array(0))), 'From: a@b\r\nMIME-Version: 1.0\r\n');
});
