import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatHeaderField,
  getHeader,
  getHeaders,
  parseContentType,
  parseHeaderBlock,
} from '../../src/mime/headers.ts';
import { crlf } from './support.ts';

test('parseHeaderBlock keeps exact raw bytes, unfolds and trims values', () => {
  const bytes = crlf('Subject: a\n  folded\n\tline \nX-Empty:\nTo: b@example.org\n\nbody\n');
  const { fields, bodyStart } = parseHeaderBlock(bytes);
  assert.deepEqual(
    fields.map((f) => [f.name, f.value]),
    [
      ['Subject', 'a  folded\tline'],
      ['X-Empty', ''],
      ['To', 'b@example.org'],
    ],
  );
  assert.equal(Buffer.from(fields[0]!.raw).toString(), 'Subject: a\r\n  folded\r\n\tline \r\n');
  assert.equal(Buffer.concat(fields.map((f) => f.raw)).length + 2, bodyStart);
  assert.equal(bytes.subarray(bodyStart).toString(), 'body\r\n');
});

test('parseHeaderBlock reads bare-LF input and headers-only input', () => {
  const lf = Buffer.from('A: 1\nB: 2\n\nbody');
  assert.equal(parseHeaderBlock(lf).bodyStart, 11);
  const only = Buffer.from('A: 1\r\nB: 2');
  const r = parseHeaderBlock(only);
  assert.equal(r.bodyStart, only.length);
  assert.equal(r.fields[1]!.value, '2');
  assert.equal(parseHeaderBlock(Buffer.from('\r\nbody')).bodyStart, 2);
  assert.equal(parseHeaderBlock(Buffer.from('')).fields.length, 0);
});

test('parseHeaderBlock tolerates space before the colon and decodes UTF-8 (RFC 6532)', () => {
  const { fields } = parseHeaderBlock(Buffer.from('Subject : caf\u00e9\r\n\r\n', 'utf8'));
  assert.equal(fields[0]!.name, 'Subject');
  assert.equal(fields[0]!.value, 'caf\u00e9');
  // Raw Latin-1 bytes are kept one character per byte.
  assert.equal(parseHeaderBlock(Buffer.from([0x58, 0x3a, 0x20, 0xe9])).fields[0]!.value, '\u00e9');
});

test('parseHeaderBlock rejects malformed lines', () => {
  for (const bad of ['no colon here\r\n\r\n', ' leading: continuation\r\n', 'Bad Name: x\r\n', ': empty name\r\n']) {
    assert.throws(() => parseHeaderBlock(Buffer.from(bad)), { code: 'MIME_MALFORMED' }, bad);
  }
});

test('parseHeaderBlock enforces the limits', () => {
  const many = Buffer.from('A: b\r\n'.repeat(11));
  assert.throws(() => parseHeaderBlock(many, { maxHeaders: 10 }), { code: 'MIME_LIMIT' });
  assert.throws(() => parseHeaderBlock(many, { maxHeaderBytes: 40 }), { code: 'MIME_LIMIT' });
  assert.throws(() => parseHeaderBlock(Buffer.from(`A: ${'x'.repeat(100)}\r\n`), { maxLineLength: 50 }), {
    code: 'MIME_LIMIT',
  });
  assert.equal(parseHeaderBlock(many).fields.length, 11);
});

test('getHeader and getHeaders are case-insensitive; getHeader gives the first', () => {
  const { fields } = parseHeaderBlock(crlf('received: 1\nReceived: 2\nFROM: a@b\n\n'));
  assert.equal(getHeader(fields, 'Received'), '1');
  assert.deepEqual(getHeaders(fields, 'RECEIVED'), ['1', '2']);
  assert.equal(getHeader(fields, 'from'), 'a@b');
  assert.equal(getHeader(fields, 'Subject'), undefined);
});

test('parseContentType: type, lowercase names, quoted strings, comments', () => {
  const ct = parseContentType(
    'Multipart/Signed; Protocol="application/pkcs7-signature"; micalg=sha-256 (the hash);\r\n boundary="a \\"b\\" c"',
  );
  assert.equal(ct.mediaType, 'multipart/signed');
  assert.equal(ct.type, 'multipart');
  assert.equal(ct.subtype, 'signed');
  assert.equal(ct.params.get('protocol'), 'application/pkcs7-signature');
  assert.equal(ct.params.get('micalg'), 'sha-256');
  assert.equal(ct.params.get('boundary'), 'a "b" c');
  assert.equal(parseContentType('text/plain; charset=us-ascii (Plain text)').params.get('charset'), 'us-ascii');
  assert.equal(parseContentType('(comment) text / html ; charset = "utf-8"').mediaType, 'text/html');
});

test('parseContentType defaults when absent or unparseable', () => {
  for (const v of [undefined, '', 'garbage', '/plain', 'text/', ';charset=x']) {
    const ct = parseContentType(v);
    assert.equal(ct.mediaType, 'text/plain', String(v));
    assert.equal(ct.params.get('charset'), 'us-ascii');
  }
});

test('parseContentType: RFC 2231 continuations and charset/language encoding', () => {
  // The examples of RFC 2231 §3 and §4.1.
  const ct = parseContentType(
    `application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`,
  );
  assert.equal(ct.params.get('title'), "This is even more ***fun*** isn't it!");
  const utf8 = parseContentType(`application/pdf; name="fallback.pdf"; name*=UTF-8''%E2%82%AC%20rates.pdf`);
  assert.equal(utf8.params.get('name'), '\u20ac rates.pdf');
  const latin = parseContentType(`text/plain; filename*=iso-8859-1'de'%E4pfel.txt`);
  assert.equal(latin.params.get('filename'), '\u00e4pfel.txt');
  // A gap stops the continuation.
  assert.equal(parseContentType('text/plain; x*0=a; x*2=c').params.get('x'), 'a');
});

test('parseContentType copes with unquoted values holding tspecials and with junk', () => {
  const ct = parseContentType('multipart/mixed; boundary=----=_Part_0_1.2; charset=x');
  assert.equal(ct.params.get('boundary'), '----=_Part_0_1.2');
  assert.equal(ct.params.get('charset'), 'x');
  const junk = parseContentType('text/plain junk; format=flowed; =x; y');
  assert.equal(junk.params.get('format'), 'flowed');
  assert.equal(parseContentType('text/plain; a=1; a=2').params.get('a'), '1');
});

test('formatHeaderField folds at whitespace within 78 characters and unfolds back', () => {
  const value = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
  const text = formatHeaderField('Subject', value);
  const lines = text.split('\r\n');
  assert.equal(lines.pop(), '');
  assert.ok(lines.length > 1);
  assert.ok(lines.every((l) => l.length <= 78));
  assert.ok(lines.slice(1).every((l) => l.startsWith(' ')));
  assert.equal(parseHeaderBlock(Buffer.from(text)).fields[0]!.value, value);
  assert.equal(formatHeaderField('X', 'short'), 'X: short\r\n');
  const long = 'y'.repeat(200);
  assert.equal(formatHeaderField('X', long), `X: ${long}\r\n`);
});

test('formatHeaderField refuses header injection', () => {
  assert.throws(() => formatHeaderField('Subject', 'a\r\nBcc: x@y'), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => formatHeaderField('Bad Name', 'a'), { code: 'INVALID_ARGUMENT' });
});
