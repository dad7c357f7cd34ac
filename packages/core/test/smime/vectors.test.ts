/**
 * Published vectors at the message level: the RFC 4134 S/MIME messages (DSA, SHA-1, 3DES, RC2 —
 * all legacy) and OpenSSL's own test/smime-certs PKI, both directions.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { decryptContent } from '../../src/cms/enveloped-data.ts';
import { isSealpostError } from '../../src/errors.ts';
import { decryptMessage } from '../../src/smime/decrypt.ts';
import { encryptMessage } from '../../src/smime/encrypt.ts';
import { inspectMessage } from '../../src/smime/inspect.ts';
import { signMessage } from '../../src/smime/sign.ts';
import { verifyMessage } from '../../src/smime/verify.ts';
import { pemDecodeAll } from '../../src/util/pem.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { TEST_TIME } from '../support/pki.ts';
import { VECTORS_DIR } from '../support/vectors.ts';
import { ATTIME, entityOf, message, opensslOk, SIGNING_TIME } from './support.ts';

const vectors = pathToFileURL(`${VECTORS_DIR}/`);
const rfc4134 = (name: string) => readFileSync(new URL(`rfc4134/files/${name}`, vectors));
const smimeCertPath = (name: string) => new URL(`openssl-smime-certs/${name}.pem`, vectors).pathname;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isSealpostError(e), `not a SealpostError: ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

/** An RFC 4134 CMS object as an application/pkcs7-mime message without smime-type (Outlook style). */
const asMessage = (der: Buffer) =>
  Buffer.from(
    `From: BobRSA@example.com\r\nContent-Type: application/pkcs7-mime; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n${der.toString('base64')}\r\n`,
  );

describe('RFC 4134 messages', () => {
  const carlDss = Certificate.from(rfc4134('CarlDSSSelf.cer'));
  const bob = {
    certificate: Certificate.from(rfc4134('BobRSASignByCarl.cer')),
    privateKey: createPrivateKey({ key: rfc4134('BobPrivRSAEncrypt.pri'), format: 'der', type: 'pkcs8' }),
  };
  for (const [file, kind] of [
    ['4.8.eml', 'clear-signed'],
    ['4.9.eml', 'opaque-signed'],
  ] as const) {
    test(`${file} (DSA with SHA-1, ${kind}): refused as legacy, valid with allowLegacy`, () => {
      const msg = rfc4134(file);
      const base = { trustAnchors: [carlDss], time: TEST_TIME };
      const strict = verifyMessage(msg, base);
      assert.equal(strict.status, 'bad-signature');
      assert.match(strict.reason, /legacy algorithm/);
      const legacy = verifyMessage(msg, { ...base, allowLegacy: true });
      const layer = legacy.layers[0]!;
      assert.equal(layer.kind, kind);
      assert.ok('signers' in layer);
      assert.equal(layer.signers[0]!.status, 'valid');
      assert.equal(layer.signers[0]!.legacyAlgorithm, true);
      // The RFC's From (aliceDss@examples.com) is not the certificate's mailbox (AliceDSS@example.com).
      assert.equal(legacy.status, 'sender-mismatch');
      const bound = verifyMessage(msg, { ...base, allowLegacy: true, sender: 'AliceDSS@example.com' });
      assert.equal(bound.status, 'signed', bound.reason);
      assert.match(Buffer.from(bound.content).toString('latin1'), /This is some sample content\./);
    });
  }

  test('5.3.eml (3DES to Bob): opened; its content is not a MIME entity, a typed MIME_MALFORMED', () => {
    const msg = rfc4134('5.3.eml');
    const layer = inspectMessage(msg).layers[0]!;
    assert.ok('contentCipher' in layer);
    assert.equal(layer.contentCipher, 'des-ede3-cbc');
    assert.equal(
      codeOf(() => decryptMessage(msg, [bob])),
      'MIME_MALFORMED',
    );
    const der = Buffer.from(msg.toString('latin1').split(/\r?\n\r?\n/)[1]!, 'base64');
    assert.deepEqual(Buffer.from(decryptContent(der, [bob]).content), rfc4134('ExContent.bin'));
  });

  test('5.2 (RC2) without smime-type: recognised as enveloped, then UNSUPPORTED_ALGORITHM', () => {
    const msg = asMessage(rfc4134('5.2.bin'));
    assert.equal(inspectMessage(msg).layers[0]!.kind, 'enveloped');
    assert.equal(
      codeOf(() => decryptMessage(msg, [bob])),
      'UNSUPPORTED_ALGORITHM',
    );
  });

  test('every RFC 4134 CMS object as a message: a report or a SealpostError, never a crash', () => {
    for (const file of [
      '4.1',
      '4.2',
      '4.3',
      '4.4',
      '4.5',
      '4.6',
      '4.7',
      '4.10',
      '4.11',
      '5.1',
      '5.2',
      '6.0',
      '7.1',
      '7.2',
    ]) {
      const msg = asMessage(rfc4134(`${file}.bin`));
      for (const run of [
        () => inspectMessage(msg),
        () => verifyMessage(msg, { trustAnchors: [carlDss], time: TEST_TIME, keys: [bob] }),
        () => decryptMessage(msg, [bob]),
      ]) {
        try {
          run();
        } catch (e) {
          assert.ok(isSealpostError(e), `${file}: ${String(e)}`);
        }
      }
    }
  });
});

describe("OpenSSL's smime-certs", () => {
  const smroot = Certificate.from(readFileSync(smimeCertPath('smroot')));
  const identity = (name: string) => {
    const pem = readFileSync(smimeCertPath(name));
    const keyPem = pemDecodeAll(pem).find((b) => b.label.endsWith('PRIVATE KEY'))!;
    return {
      certificate: Certificate.from(pem),
      privateKey: createPrivateKey({ key: Buffer.from(keyPem.der), format: 'der', type: 'pkcs8' }),
    };
  };
  const msg = message('someone@example.org', 'For the OpenSSL test PKI.\r\n', [], ['Content-Type: text/plain']);
  const opts = { trustAnchors: [smroot], time: TEST_TIME };

  for (const name of ['smrsa1', 'smec1']) {
    test(`${name} signs; openssl verifies against smroot; ours validates the chain`, () => {
      const signed = signMessage(msg, { signers: [identity(name)], signingTime: SIGNING_TIME });
      const out = opensslOk(['cms', '-verify', '-CAfile', smimeCertPath('smroot'), ...ATTIME], signed);
      assert.deepEqual(out, entityOf(msg));
      const r = verifyMessage(signed, opts);
      const layer = r.layers[0]!;
      assert.ok('signers' in layer);
      assert.equal(layer.signers[0]!.status, 'valid');
      // These certificates carry no mailbox, so no From can be bound to them.
      assert.equal(r.status, 'sender-mismatch');
      assert.match(r.reason, /no mailbox/);
    });
  }

  test('openssl signs with smdsa1 (DSA): legacy, valid only with allowLegacy', () => {
    const p = smimeCertPath('smdsa1');
    const signed = Buffer.concat([
      Buffer.from('From: x@example.org\r\n'),
      opensslOk(['cms', '-sign', '-signer', p, '-inkey', p], entityOf(msg)),
    ]);
    assert.equal(verifyMessage(signed, opts).status, 'bad-signature');
    const legacy = verifyMessage(signed, { ...opts, allowLegacy: true });
    const layer = legacy.layers[0]!;
    assert.ok('signers' in layer);
    assert.equal(layer.signers[0]!.status, 'valid');
  });

  test('openssl encrypts to smrsa1 (OAEP) and smec1; we decrypt with each', () => {
    const out = Buffer.concat([
      Buffer.from('From: x@example.org\r\n'),
      opensslOk(
        [
          'cms',
          '-encrypt',
          '-aes-128-gcm',
          '-recip',
          smimeCertPath('smrsa1'),
          '-keyopt',
          'rsa_padding_mode:oaep',
          '-recip',
          smimeCertPath('smec1'),
        ],
        entityOf(msg),
      ),
    ]);
    for (const name of ['smrsa1', 'smec1']) {
      const d = decryptMessage(out, [identity(name)]);
      assert.match(Buffer.from(d.message).toString('latin1'), /For the OpenSSL test PKI\./);
    }
  });

  test('we encrypt to smrsa1; openssl decrypts. A DH (X9.42) recipient is a typed refusal', () => {
    const out = encryptMessage(msg, {
      recipients: [{ certificate: identity('smrsa1').certificate }],
      cipher: 'aes-256-cbc',
    }).message;
    const p = smimeCertPath('smrsa1');
    assert.deepEqual(opensslOk(['cms', '-decrypt', '-recip', p, '-inkey', p], out), entityOf(msg));
    const dh = Certificate.from(readFileSync(smimeCertPath('smdh')));
    assert.equal(
      codeOf(() => encryptMessage(msg, { recipients: [{ certificate: dh }] })),
      'UNSUPPORTED_ALGORITHM',
    );
    // OpenSSL does X9.42 DH key agreement; we do not (RFC 8551 does not ask for it).
    const theirs = opensslOk(['cms', '-encrypt', '-aes256', '-recip', smimeCertPath('smdh')], entityOf(msg));
    assert.equal(
      codeOf(() => decryptMessage(theirs, [identity('smdh')])),
      'KEY_UNSUITABLE',
    );
  });
});
