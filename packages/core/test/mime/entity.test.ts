import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decodeBody, entityBody, entityBytes, parseEntity } from '../../src/mime/entity.ts';
import { base64EncodeLines } from '../../src/util/base64.ts';
import { crlf } from './support.ts';

const text = (u: Uint8Array) => Buffer.from(u).toString('latin1');

test('a single-part message: headers, defaults, body range', () => {
  const msg = crlf('From: a@example.org\nSubject: x\n\nHello\n');
  const e = parseEntity(msg);
  assert.equal(e.contentType.mediaType, 'text/plain');
  assert.equal(e.contentType.params.get('charset'), 'us-ascii');
  assert.equal(e.transferEncoding, '7bit');
  assert.equal(e.parts, undefined);
  assert.equal(text(entityBody(e)), 'Hello\r\n');
  assert.equal(text(entityBytes(e)), text(msg));
});

test('multipart parts are exactly the bytes between boundary lines (RFC 2046 §5.1.1)', () => {
  const msg = crlf(
    'Content-Type: multipart/mixed; boundary="b1"\n\npreamble\n--b1\nContent-Type: text/plain\n\none\n\n--b1  \n\ntwo\n--b1--\nepilogue\n',
  );
  const e = parseEntity(msg);
  assert.equal(e.parts!.length, 2);
  // The CRLF before a boundary belongs to the boundary: "one\r\n" keeps only its own line end.
  assert.equal(text(entityBytes(e.parts![0]!)), 'Content-Type: text/plain\r\n\r\none\r\n');
  assert.equal(text(entityBody(e.parts![0]!)), 'one\r\n');
  // Transport padding after a boundary is allowed; a part may have no headers.
  assert.equal(text(entityBytes(e.parts![1]!)), '\r\ntwo');
  assert.equal(e.parts![1]!.headers.length, 0);
  assert.equal(text(msg.subarray(...e.preamble!)), 'preamble');
  assert.equal(text(msg.subarray(...e.epilogue!)), 'epilogue\r\n');
});

test('bare-LF multiparts, and a boundary at the very start of the body', () => {
  const msg = Buffer.from('Content-Type: multipart/alternative; boundary=zz\n\n--zz\n\na\n--zz\n\nb\n--zz--\n');
  const e = parseEntity(msg);
  assert.equal(e.preamble, undefined);
  assert.deepEqual(
    e.parts!.map((p) => text(entityBody(p))),
    ['a', 'b'],
  );
});

test('lines that only look like boundaries are content', () => {
  const msg = crlf(
    'Content-Type: multipart/mixed; boundary="bb"\n\n--bb\n\nx --bb\n--bbb\n--bb-x\n --bb\n--bb\n\nlast\n--bb--\n',
  );
  const e = parseEntity(msg);
  assert.deepEqual(
    e.parts!.map((p) => text(entityBody(p))),
    ['x --bb\r\n--bbb\r\n--bb-x\r\n --bb', 'last'],
  );
});

test('nested multiparts and message/rfc822 leaves', () => {
  const msg = crlf(
    [
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary="inner"',
      '',
      '--inner',
      '',
      'plain',
      '--inner',
      'Content-Type: text/html',
      '',
      '<p>html</p>',
      '--inner--',
      '--outer',
      'Content-Type: message/rfc822',
      '',
      'Content-Type: multipart/mixed; boundary="x"',
      '',
      '--x',
      '--outer--',
      '',
    ].join('\n'),
  );
  const e = parseEntity(msg);
  assert.equal(e.parts!.length, 2);
  const alt = e.parts![0]!;
  assert.equal(alt.contentType.mediaType, 'multipart/alternative');
  assert.deepEqual(
    alt.parts!.map((p) => text(entityBody(p))),
    ['plain', '<p>html</p>'],
  );
  const rfc822 = e.parts![1]!;
  assert.equal(rfc822.parts, undefined);
  assert.equal(text(entityBody(rfc822)), 'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x');
});

test('a missing close delimiter is tolerated; an empty part is allowed', () => {
  const e = parseEntity(crlf('Content-Type: multipart/mixed; boundary=q\n\n--q\n--q\n\nrest\n'));
  assert.deepEqual(
    e.parts!.map((p) => text(entityBytes(p))),
    ['', '\r\nrest\r\n'],
  );
  assert.equal(e.epilogue, undefined);
});

test('a multipart without a boundary parameter or boundary line is malformed', () => {
  assert.throws(() => parseEntity(crlf('Content-Type: multipart/mixed\n\nx\n')), { code: 'MIME_MALFORMED' });
  assert.throws(() => parseEntity(crlf('Content-Type: multipart/mixed; boundary=q\n\nno parts\n')), {
    code: 'MIME_MALFORMED',
  });
});

test('depth and part limits', () => {
  let body = 'Content-Type: text/plain\n\nleaf';
  for (let i = 0; i < 5; i++) body = `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n${body}\n--b${i}--\n`;
  const nested = crlf(`${body}`);
  assert.equal(parseEntity(Buffer.concat([nested])).parts!.length, 1);
  assert.throws(() => parseEntity(nested, { maxDepth: 4 }), { code: 'MIME_LIMIT' });
  const many = crlf(`Content-Type: multipart/mixed; boundary=m\n\n${'--m\n\nx\n'.repeat(20)}--m--\n`);
  assert.equal(parseEntity(many).parts!.length, 20);
  assert.throws(() => parseEntity(many, { maxParts: 19 }), { code: 'MIME_LIMIT' });
});

test('decodeBody: base64 (lenient whitespace, strict alphabet), quoted-printable, identity', () => {
  const data = randomBytes(500);
  const b64 = Buffer.concat([crlf('Content-Transfer-Encoding: BASE64\n\n'), base64EncodeLines(data, 64)]);
  assert.deepEqual(Buffer.from(decodeBody(parseEntity(b64))), data);
  assert.throws(() => decodeBody(parseEntity(crlf('Content-Transfer-Encoding: base64\n\nQUJD!!\n'))), {
    code: 'MIME_MALFORMED',
  });
  const qp = crlf('Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =3D soft=\nbreak  \ntrailing=20\n=ZZ ok=');
  assert.equal(
    Buffer.from(decodeBody(parseEntity(qp))).toString('utf8'),
    'caf\u00e9 = softbreak\r\ntrailing \r\n=ZZ ok',
  );
  const raw = crlf('Content-Transfer-Encoding: 8bit\n\n\u00e9\n');
  assert.equal(Buffer.from(decodeBody(parseEntity(raw))).toString('utf8'), '\u00e9\r\n');
  assert.throws(() => decodeBody(parseEntity(crlf('Content-Transfer-Encoding: x-uuencode\n\nbegin\n'))), {
    code: 'UNSUPPORTED_CONTENT',
  });
});
