/**
 * Signing messages, both directions against OpenSSL: what we sign `openssl cms -verify` accepts
 * and hands back byte for byte; what `openssl cms`/`openssl smime` sign we verify, signer by signer.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { DigestAlgorithm } from '../../src/cms/signed-data.ts';
import { canonicalizeEntity } from '../../src/mime/canonical.ts';
import { signMessage } from '../../src/smime/sign.ts';
import { verifyMessage } from '../../src/smime/verify.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { TEST_TIME, type UserName } from '../support/pki.ts';
import { vectorPath } from '../support/vectors.ts';
import {
  entityOf,
  message,
  opensslOk,
  opensslSign,
  opensslVerify,
  pki,
  SIGNING_TIME,
  signer,
  verifyOptions,
} from './support.ts';

const fromAlice = message('Alice <alice@example.org>');
const canonical = canonicalizeEntity(entityOf(fromAlice));
/** Transport headers put in front of what OpenSSL signs (it writes only MIME-Version and the entity). */
const transport = (from: string) => Buffer.from(`From: ${from}\r\nTo: bob@example.org\r\nSubject: t\r\n`);

describe('Sealpost signs, openssl cms -verify accepts and returns the signed entity', () => {
  const kinds: [string, UserName, 'pkcs1' | 'pss' | undefined][] = [
    ['RSA PKCS#1 v1.5', 'alice', 'pkcs1'],
    ['RSA-PSS', 'bob', 'pss'],
    ['ECDSA P-256', 'carol', undefined],
    ['ECDSA P-384', 'dave', undefined],
  ];
  for (const [label, who, rsaPadding] of kinds) {
    for (const digest of ['sha256', 'sha384', 'sha512'] as DigestAlgorithm[]) {
      for (const mode of ['clear', 'opaque'] as const) {
        test(`${label}, ${digest}, ${mode}`, () => {
          const msg = message(`${who}@example.org`);
          const signed = signMessage(msg, {
            signers: [signer(who, { digest, ...(rsaPadding ? { rsaPadding } : {}) })],
            signingTime: SIGNING_TIME,
            mode,
          });
          assert.deepEqual(opensslVerify(signed), canonical);
          const r = verifyMessage(signed, verifyOptions());
          assert.equal(r.status, 'signed', r.reason);
          assert.deepEqual(Buffer.from(r.content), canonical);
        });
      }
    }
  }

  test('micalg names every signer digest; two signers of different kinds both verify', () => {
    const signed = signMessage(fromAlice, {
      signers: [signer('alice', { digest: 'sha384' }), signer('carol')],
      signingTime: SIGNING_TIME,
    });
    assert.match(signed.toString('latin1'), /micalg="?sha-384,sha-256"?/);
    assert.deepEqual(opensslVerify(signed), canonical);
    const r = verifyMessage(signed, verifyOptions());
    assert.equal(r.status, 'signed', r.reason);
    const layer = r.layers[0]!;
    assert.ok('signers' in layer);
    assert.deepEqual(
      layer.signers.map((s) => s.status),
      ['valid', 'valid'],
    );
  });

  test('transport headers stay outside the signature, in their order', () => {
    const signed = signMessage(fromAlice, { signers: [signer('alice')], signingTime: SIGNING_TIME });
    assert.match(
      signed.toString('latin1'),
      /^From: Alice <alice@example\.org>\r\nTo: Bob <bob@example\.org>\r\nSubject: test\r\nDate: [^\r]+\r\nMessage-ID: <test@example\.org>\r\nMIME-Version: 1\.0\r\nContent-Type: multipart\/signed;/,
    );
  });
});

describe('Ed25519 (RFC 8419), which the OpenSSL 3.0 cms command cannot verify', () => {
  test('erin signs clear and opaque; verifyMessage reports signed with SHA-512', () => {
    const msg = message('erin@example.org');
    for (const mode of ['clear', 'opaque'] as const) {
      const signed = signMessage(msg, { signers: [signer('erin')], signingTime: SIGNING_TIME, mode });
      if (mode === 'clear') assert.match(signed.toString('latin1'), /micalg="?sha-512"?/);
      const r = verifyMessage(signed, verifyOptions());
      assert.equal(r.status, 'signed', r.reason);
      const s = r.layers[0]!;
      assert.ok('signers' in s);
      assert.equal(s.signers[0]!.digestAlgorithm, 'sha512');
      assert.equal(s.signers[0]!.signatureAlgorithm, 'Ed25519');
    }
  });

  test('RFC 9216 Carlos signs; verified against the Sample LAMPS Ed25519 CA, sender bound', () => {
    const lamps = (p: string) => readFileSync(vectorPath('rfc9216', p));
    const ca = Certificate.from(
      lamps('certs-wbond-certvalidator/Sample_LAMPS_Ed25519_Certification_Authority.selfsigned.pem'),
    );
    const carlos = {
      certificate: Certificate.from(lamps('keys-davidi67/lamps-carlos.crt')),
      privateKey: createPrivateKey(lamps('keys-davidi67/lamps-carlos.p8.pem')),
    };
    const msg = message('Carlos Turing <carlos@smime.example>');
    const signed = signMessage(msg, { signers: [carlos], signingTime: SIGNING_TIME });
    const r = verifyMessage(signed, { trustAnchors: [ca], time: TEST_TIME });
    assert.equal(r.status, 'signed', r.reason);
    const other = verifyMessage(signed, verifyOptions());
    assert.equal(other.status, 'untrusted', 'our test root does not vouch for the LAMPS CA');
  });
});

describe('OpenSSL signs, verifyMessage reports every signer', () => {
  const entity = entityOf(fromAlice);
  const cases: [string, UserName[], string[], 'clear-signed' | 'opaque-signed'][] = [
    ['detached (default)', ['alice'], [], 'clear-signed'],
    ['-nodetach (opaque)', ['alice'], ['-nodetach'], 'opaque-signed'],
    ['-stream (clear)', ['alice'], ['-stream'], 'clear-signed'],
    ['-stream -nodetach (indefinite-length BER)', ['alice'], ['-stream', '-nodetach'], 'opaque-signed'],
    ['three signers: RSA, P-256, P-384', ['alice', 'carol', 'dave'], [], 'clear-signed'],
    ['-nosmimecap', ['alice'], ['-nosmimecap'], 'clear-signed'],
    ['-noattr (no signed attributes)', ['alice'], ['-noattr'], 'clear-signed'],
    ['-md sha512', ['alice'], ['-md', 'sha512'], 'clear-signed'],
    ['RSA-PSS', ['alice'], ['-keyopt', 'rsa_padding_mode:pss'], 'clear-signed'],
    ['ECDSA P-384, SHA-384, opaque', ['dave'], ['-md', 'sha384', '-nodetach'], 'opaque-signed'],
  ];
  for (const [label, names, extra, kind] of cases) {
    test(label, () => {
      const from = names.map((n) => `${n}@example.org`).join(', ');
      const signed = Buffer.concat([transport(from), opensslSign(entity, names, extra)]);
      const r = verifyMessage(signed, verifyOptions());
      assert.equal(r.status, 'signed', r.reason);
      assert.equal(r.layers.length, 1);
      const layer = r.layers[0]!;
      assert.equal(layer.kind, kind);
      assert.ok('signers' in layer);
      // SignerInfos is a SET OF: OpenSSL's DER sorts it, so compare without order.
      assert.deepEqual(
        layer.signers.map((s) => `${s.status} ${s.certificate?.emailAddresses[0]}`).sort(),
        names.map((n) => `valid ${n}@example.org`).sort(),
      );
      // OpenSSL's text mode turns the entity's line ends to CRLF; it does not re-encode 8-bit text.
      assert.deepEqual(Buffer.from(r.content), entity);
    });
  }

  test('-noattr has no signingTime; -nosmimecap leaves no capabilities to remember', () => {
    const noattr = verifyMessage(
      Buffer.concat([transport('alice@example.org'), opensslSign(entity, ['alice'], ['-noattr'])]),
      verifyOptions(),
    );
    const s = noattr.layers[0]!;
    assert.ok('signers' in s);
    assert.equal(s.signers[0]!.signingTime, undefined);
    const nocap = verifyMessage(
      Buffer.concat([transport('alice@example.org'), opensslSign(entity, ['alice'], ['-nosmimecap'])]),
      verifyOptions(),
    );
    const c = nocap.layers[0]!;
    assert.ok('signers' in c);
    assert.equal(c.signers[0]!.capabilities, undefined);
    assert.ok(c.signers[0]!.signingTime);
  });

  test('openssl smime (PKCS#7, x-pkcs7 media types), clear and opaque', () => {
    for (const extra of [[], ['-nodetach']]) {
      const out = opensslSignSmime(entity, extra);
      assert.match(out.toString('latin1'), /application\/x-pkcs7-(signature|mime)/);
      const r = verifyMessage(Buffer.concat([transport('alice@example.org'), out]), verifyOptions());
      assert.equal(r.status, 'signed', r.reason);
    }
  });
});

function opensslSignSmime(entity: Buffer, extra: string[]): Buffer {
  const a = pki.user('alice');
  return opensslOk(
    ['smime', '-sign', '-signer', a.certPath, '-inkey', a.keyPath, '-certfile', pki.intermediate.certPath, ...extra],
    entity,
  );
}
