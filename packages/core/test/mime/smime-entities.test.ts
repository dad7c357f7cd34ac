import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { assembleMessage, canonicalizeEntity, splitMessage } from '../../src/mime/canonical.ts';
import { decodeBody, entityBytes, parseEntity } from '../../src/mime/entity.ts';
import { parseContentType } from '../../src/mime/headers.ts';
import {
  boundaryOccursIn,
  buildMultipartSigned,
  buildPkcs7Mime,
  classifySmime,
  micalgName,
  multipartSignedHead,
  newBoundary,
} from '../../src/mime/smime-entities.ts';
import { testPki } from '../support/pki.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealpost-mime-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A message with 8-bit text, a binary attachment and bare-LF line ends, as a local mail store has it. */
const MESSAGE = Buffer.concat([
  Buffer.from(
    'From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: report\nMIME-Version: 1.0\n' +
      'Content-Type: multipart/mixed; boundary="mixed"\nContent-Transfer-Encoding: 8bit\n\n' +
      'preamble\n--mixed\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n' +
      'Gr\u00fc\u00dfe aus K\u00f6ln  \n--mixed-not-a-boundary\n\n--mixed\nContent-Type: application/octet-stream\n' +
      'Content-Disposition: attachment; filename="data.bin"\n\n',
    'utf8',
  ),
  Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x0a, 0x80, 0x41]),
  Buffer.from('\n--mixed--\n'),
]);

function openssl(args: string[]): { status: number | null; stderr: string; stdout: Buffer } {
  const r = spawnSync('openssl', args, { cwd: dir });
  return { status: r.status, stderr: r.stderr.toString(), stdout: r.stdout };
}

function signedByOpenssl(entity: Uint8Array, detached: boolean): Buffer {
  const pki = testPki();
  const alice = pki.user('alice');
  writeFileSync(join(dir, 'entity'), entity);
  execFileSync(
    'openssl',
    [
      'cms',
      '-sign',
      '-binary',
      ...(detached ? [] : ['-nodetach']),
      '-md',
      'sha256',
      '-in',
      'entity',
      '-signer',
      alice.certPath,
      '-inkey',
      alice.keyPath,
      '-certfile',
      pki.intermediate.certPath,
      '-outform',
      'DER',
      '-out',
      'sig.der',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return readFileSync(join(dir, 'sig.der'));
}

test('OpenSSL verifies a multipart/signed built around its detached signature (exact-bytes framing)', () => {
  const { transportHeaders, entity } = splitMessage(MESSAGE);
  const canonical = canonicalizeEntity(entity);
  const signature = signedByOpenssl(canonical, true);
  let boundary = newBoundary();
  while (boundaryOccursIn(canonical, boundary)) boundary = newBoundary();
  const message = assembleMessage(
    transportHeaders,
    buildMultipartSigned(canonical, signature, micalgName('sha256'), boundary),
  );
  writeFileSync(join(dir, 'signed.eml'), message);
  const root = testPki().root.certPath;
  for (const tool of ['smime', 'cms']) {
    const r = openssl([tool, '-verify', '-in', 'signed.eml', '-CAfile', root, '-purpose', 'any', '-out', 'content']);
    assert.equal(r.status, 0, `${tool}: ${r.stderr}`);
    assert.match(r.stderr, /Verification successful/);
  }
  // Our parser sees the same framing: the first part is the canonical entity, the second the signature.
  const parsed = parseEntity(message);
  assert.equal(classifySmime(parsed.contentType), 'multipart-signed');
  assert.deepEqual(Buffer.from(entityBytes(parsed.parts![0]!)), Buffer.from(canonical));
  assert.deepEqual(Buffer.from(decodeBody(parsed.parts![1]!)), signature);
  // Negative control: one changed byte inside the signed part breaks it.
  const tampered = Buffer.from(message);
  tampered[tampered.indexOf('Gr=C3=BC')] = 0x67;
  writeFileSync(join(dir, 'tampered.eml'), tampered);
  assert.notEqual(openssl(['cms', '-verify', '-in', 'tampered.eml', '-CAfile', root, '-purpose', 'any']).status, 0);
});

test('OpenSSL reads an application/pkcs7-mime signed-data entity', () => {
  const { transportHeaders, entity } = splitMessage(MESSAGE);
  const canonical = canonicalizeEntity(entity);
  const der = signedByOpenssl(canonical, false);
  writeFileSync(join(dir, 'opaque.eml'), assembleMessage(transportHeaders, buildPkcs7Mime(der, 'signed-data')));
  const r = openssl([
    'cms',
    '-verify',
    '-in',
    'opaque.eml',
    '-CAfile',
    testPki().root.certPath,
    '-purpose',
    'any',
    '-binary',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout, Buffer.from(canonical));
});

test('buildMultipartSigned layout and buildPkcs7Mime headers', () => {
  const out = Buffer.from(
    buildMultipartSigned(
      Buffer.from('Content-Type: text/plain\r\n\r\nhi'),
      Buffer.from([1, 2, 3]),
      'sha-256,sha-512',
      'b-1',
    ),
  ).toString();
  assert.equal(
    out,
    'Content-Type: multipart/signed; protocol="application/pkcs7-signature";\r\n micalg="sha-256,sha-512"; boundary="b-1"\r\n\r\n' +
      'This is an S/MIME signed message\r\n--b-1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b-1\r\n' +
      'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\nContent-Transfer-Encoding: base64\r\n' +
      'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\nAQID\r\n--b-1--\r\n',
  );
  const p7m = parseEntity(buildPkcs7Mime(Buffer.alloc(100, 7), 'authEnveloped-data'));
  assert.equal(classifySmime(p7m.contentType), 'authEnveloped-data');
  assert.equal(p7m.contentType.params.get('name'), 'smime.p7m');
  assert.deepEqual(Buffer.from(decodeBody(p7m)), Buffer.alloc(100, 7));
  assert.ok(
    Buffer.from(entityBytes(p7m))
      .toString()
      .split('\r\n')
      .every((l) => l.length <= 78),
  );
  assert.throws(() => multipartSignedHead('sha-256', 'bad\r\nboundary'), { code: 'INVALID_ARGUMENT' });
});

test('newBoundary is random and cannot occur in base64 or quoted-printable text', () => {
  const a = newBoundary();
  assert.notEqual(a, newBoundary());
  assert.match(a, /^----=_sealpost_[0-9a-f-]{36}$/);
  assert.ok(boundaryOccursIn(Buffer.from(`x${a}y`), a));
  assert.ok(!boundaryOccursIn(Buffer.from('x'), a));
});

test('micalgName uses the RFC 8551 names', () => {
  assert.deepEqual((['sha256', 'sha384', 'sha512', 'sha1', 'md5'] as const).map(micalgName), [
    'sha-256',
    'sha-384',
    'sha-512',
    'sha-1',
    'md5',
  ]);
});

test('classifySmime recognises current, legacy and Outlook-style types', () => {
  const c = (v: string) => classifySmime(parseContentType(v));
  assert.equal(
    c('multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary=x'),
    'multipart-signed',
  );
  assert.equal(c('multipart/signed; protocol="application/x-pkcs7-signature"; boundary=x'), 'multipart-signed');
  assert.equal(c('multipart/signed; protocol="application/pgp-signature"; boundary=x'), undefined);
  assert.equal(c('application/pkcs7-mime; smime-type=Signed-Data'), 'signed-data');
  assert.equal(c('application/x-pkcs7-mime; smime-type=enveloped-data; name=smime.p7m'), 'enveloped-data');
  assert.equal(c('application/pkcs7-mime; smime-type=authEnveloped-data'), 'authEnveloped-data');
  assert.equal(c('application/pkcs7-mime; smime-type=certs-only'), 'certs-only');
  assert.equal(c('application/pkcs7-mime; smime-type=compressed-data'), 'compressed-data');
  assert.equal(c('application/pkcs7-mime; smime-type=something-new'), 'unknown-pkcs7');
  assert.equal(c('application/x-pkcs7-mime; name="SMIME.P7M"'), 'enveloped-data');
  assert.equal(c('application/pkcs7-mime'), 'unknown-pkcs7');
  assert.equal(c('text/plain'), undefined);
  assert.equal(c('application/pkcs7-signature'), undefined);
});
