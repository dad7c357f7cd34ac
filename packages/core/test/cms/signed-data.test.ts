import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { decode } from '../../src/asn1/der.ts';
import { algorithm, explicit, integer, oid, seq, set, tlv } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { decodeSignedAttributes } from '../../src/cms/attributes.ts';
import { DEFAULT_CAPABILITIES } from '../../src/cms/capabilities.ts';
import { wrapContentInfo } from '../../src/cms/content-info.ts';
import {
  parseSignedData,
  type SignedDataInfo,
  type SignerVerification,
  signContent,
  verifySigners,
} from '../../src/cms/signed-data.ts';
import { isSealpostError } from '../../src/errors.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import type { UserName } from '../support/pki.ts';
import {
  cert,
  intermediate,
  opensslCheckEd25519,
  opensslSign,
  opensslVerify,
  pki,
  SIGNING_TIME,
  signer,
} from './signed-data-support.ts';

const content = Buffer.from('Content-Type: text/plain\r\n\r\nHello from Sealpost.\r\n');

function failed(r: SignerVerification): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => c.name);
}

function assertValid(results: SignerVerification[], count = 1): void {
  assert.equal(results.length, count);
  for (const r of results) assert.equal(r.status, 'valid', JSON.stringify(r.checks));
}

describe('signContent -> openssl cms -verify', () => {
  const cases: [UserName, Parameters<typeof signer>[1]][] = [
    ['alice', {}],
    ['bob', {}],
    ['carol', {}],
    ['dave', { digest: 'sha384' }],
    ['erin', {}],
    ['alice', { rsaPadding: 'pss' }],
    ['bob', { rsaPadding: 'pss', digest: 'sha512' }],
    ['alice', { digest: 'sha384' }],
    ['carol', { digest: 'sha512' }],
    ['alice', { identifier: 'subjectKeyIdentifier' }],
  ];
  for (const [name, extra] of cases) {
    for (const detached of [false, true]) {
      it(`${name} ${JSON.stringify(extra)} ${detached ? 'detached' : 'attached'}`, () => {
        const der = signContent(content, { signers: [signer(name, extra)], signingTime: SIGNING_TIME, detached });
        const info = parseSignedData(der);
        if (name === 'erin') checkEd25519WithOpenssl(info);
        else assert.deepEqual(opensslVerify(der, detached ? { content } : {}), content);
        assert.equal(info.content === undefined, detached);
        assertValid(verifySigners(info, content));
      });
    }
  }

  it('two signers at once (RSA-PSS and P-384/SHA-384): both verify, digestAlgorithms lists both hashes', () => {
    const der = signContent(content, {
      signers: [signer('alice', { rsaPadding: 'pss' }), signer('dave', { digest: 'sha384' })],
      signingTime: SIGNING_TIME,
      detached: false,
    });
    // openssl -verify checks every SignerInfo.
    opensslVerify(der);
    const info = parseSignedData(der);
    assert.deepEqual(info.digestAlgorithms.map((a) => a.oid).sort(), [OID.sha256, OID.sha384].sort());
    // RFC 5754 §2: SHA-2 digest AlgorithmIdentifiers have absent parameters.
    for (const a of info.digestAlgorithms) assert.equal(a.params, undefined);
    // The intermediate appears once although both signers list it.
    assert.equal(info.certificates.filter((c) => c.fingerprintSha256 === intermediate.fingerprintSha256).length, 1);
    const results = verifySigners(info, content);
    assertValid(results, 2);
    assert.deepEqual(results.map((r) => r.digestAlgorithm).sort(), ['sha256', 'sha384']);
  });

  it('two signers at once (RSA and Ed25519)', () => {
    const der = signContent(content, {
      signers: [signer('bob'), signer('erin')],
      signingTime: SIGNING_TIME,
      detached: true,
    });
    const info = parseSignedData(der);
    assertValid(verifySigners(info, content), 2);
    checkEd25519WithOpenssl({
      ...info,
      signerInfos: info.signerInfos.filter((s) => s.signatureAlgorithm.oid === OID.ed25519),
    });
  });

  it('versions follow RFC 5652 §5.1: 1 with issuerAndSerialNumber, 3 with a subjectKeyIdentifier', () => {
    const v1 = parseSignedData(
      signContent(content, { signers: [signer('alice')], signingTime: SIGNING_TIME, detached: true }),
    );
    assert.equal(v1.version, 1);
    assert.equal(v1.signerInfos[0]!.version, 1);
    const v3 = parseSignedData(
      signContent(content, {
        signers: [signer('alice', { identifier: 'subjectKeyIdentifier' })],
        signingTime: SIGNING_TIME,
        detached: true,
      }),
    );
    assert.equal(v3.version, 3);
    assert.equal(v3.signerInfos[0]!.version, 3);
    assert.ok(v3.signerInfos[0]!.sid.subjectKeyIdentifier);
  });

  it('signed attributes: contentType, signingTime, messageDigest, capabilities and both key preferences', () => {
    const enc = cert('encrypter');
    const der = signContent(content, {
      signers: [signer('signer', { encryptionCertificate: enc })],
      signingTime: SIGNING_TIME,
      detached: true,
    });
    opensslVerify(der, { content });
    const info = parseSignedData(der);
    const attrs = decodeSignedAttributes(info.signerInfos[0]!.signedAttrs!);
    assert.equal(attrs.contentType, OID.data);
    assert.deepEqual(attrs.signingTime, SIGNING_TIME);
    assert.deepEqual(attrs.capabilities, DEFAULT_CAPABILITIES);
    assert.ok(attrs.types.includes(OID.smimeEncryptionKeyPreference));
    assert.ok(attrs.types.includes(OID.msOeEncryptionKeyPreference));
    const [r] = verifySigners(info, content);
    assert.equal(r!.status, 'valid');
    assert.deepEqual(Buffer.from(r!.encryptionKeyPreference!.serialNumber!), Buffer.from(enc.serialNumber));
    assert.deepEqual(r!.signingTime, SIGNING_TIME);
    // OpenSSL prints the attributes it understood.
    const printed = opensslPrint(der);
    assert.match(printed, /id-smime-aa-encrypKeyPref/);
    assert.match(printed, /S\/MIME Capabilities/);
  });

  it('a signingTime after 2049 is a GeneralizedTime (RFC 5652 §11.3)', () => {
    const late = new Date('2051-01-02T03:04:05Z');
    const der = signContent(content, { signers: [signer('alice')], signingTime: late, detached: true });
    const [r] = verifySigners(parseSignedData(der), content);
    assert.deepEqual(r!.signingTime, late);
  });

  it('refuses a private key that does not belong to the certificate', () => {
    const wrong = { ...signer('alice'), privateKey: createPrivateKey(pki.user('bob').key) };
    assert.throws(
      () => signContent(content, { signers: [wrong], signingTime: SIGNING_TIME, detached: true }),
      (e) => isSealpostError(e, 'KEY_MISMATCH'),
    );
  });

  it('refuses Ed25519 with a digest other than SHA-512, and an empty signer list', () => {
    assert.throws(
      () =>
        signContent(content, {
          signers: [signer('erin', { digest: 'sha256' })],
          signingTime: SIGNING_TIME,
          detached: true,
        }),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => signContent(content, { signers: [], signingTime: SIGNING_TIME, detached: true }),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
  });

  it('an X25519 key cannot sign', () => {
    assert.throws(
      () => signContent(content, { signers: [signer('frank')], signingTime: SIGNING_TIME, detached: true }),
      (e) => isSealpostError(e, 'KEY_UNSUITABLE'),
    );
  });
});

function checkEd25519WithOpenssl(info: SignedDataInfo): void {
  for (const si of info.signerInfos) {
    const attrs = decodeSignedAttributes(si.signedAttrs!);
    const signed = Buffer.from(si.signedAttrs!);
    signed[0] = 0x31;
    opensslCheckEd25519(signed, si.signature, attrs.messageDigest, content, pki.user('erin').certPath, {
      caFile: pki.root.certPath,
      untrusted: pki.intermediate.certPath,
    });
  }
}

function opensslPrint(der: Uint8Array): string {
  return opensslVerify(der, { content, extra: ['-cmsout', '-print', '-noverify'] }).toString('latin1');
}

describe('openssl cms -sign -> verifySigners', () => {
  const cases: [string, UserName[], string[]][] = [
    ['RSA attached', ['alice'], ['-nodetach']],
    ['RSA detached', ['bob'], []],
    ['P-256 attached', ['carol'], ['-nodetach']],
    ['P-384 sha384', ['dave'], ['-md', 'sha384']],
    ['RSA-PSS', ['alice'], ['-keyopt', 'rsa_padding_mode:pss', '-nodetach']],
    [
      'RSA-PSS sha512 salt 20',
      ['bob'],
      ['-md', 'sha512', '-keyopt', 'rsa_padding_mode:pss', '-keyopt', 'rsa_pss_saltlen:20'],
    ],
    ['indefinite-length -stream', ['alice'], ['-stream', '-nodetach']],
    ['-nosmimecap', ['carol'], ['-nosmimecap']],
    ['-noattr RSA', ['alice'], ['-noattr', '-nodetach']],
    ['-keyid', ['bob'], ['-keyid', '-nodetach']],
    ['two signers', ['alice', 'carol'], ['-nodetach']],
  ];
  for (const [label, names, extra] of cases) {
    it(label, () => {
      const der = opensslSign(content, names, extra);
      const info = parseSignedData(der);
      const detached = !extra.includes('-nodetach');
      if (!detached) assert.deepEqual(Buffer.from(info.content!), content);
      else assert.equal(info.content, undefined);
      const results = verifySigners(info, content);
      assertValid(results, names.length);
      assert.ok(results.every((r) => !r.legacyAlgorithm));
    });
  }

  it('a -noattr ECDSA signature needs the content: refused when only digests are given', () => {
    const der = opensslSign(content, ['carol'], ['-noattr']);
    const [r] = verifySigners(parseSignedData(der), { digests: new Map([['sha256', Buffer.alloc(32)]]) });
    assert.equal(r!.status, 'invalid');
    assert.deepEqual(failed(r!), ['signature']);
  });

  it('a -noattr RSA signature verifies from a precomputed digest (encode-then-compare)', async () => {
    const der = opensslSign(content, ['alice'], ['-noattr']);
    const { createHash } = await import('node:crypto');
    const good = verifySigners(parseSignedData(der), {
      digests: new Map([['sha256', createHash('sha256').update(content).digest()]]),
    });
    assertValid(good);
    const bad = verifySigners(parseSignedData(der), { digests: new Map([['sha256', Buffer.alloc(32)]]) });
    assert.deepEqual(failed(bad[0]!), ['signature']);
  });
});

describe('tampering and missing pieces', () => {
  const der = signContent(content, { signers: [signer('alice')], signingTime: SIGNING_TIME, detached: false });
  const info = parseSignedData(der);
  const si = info.signerInfos[0]!;

  it('a changed content byte fails the message digest', () => {
    const changed = Buffer.from(content);
    changed[5]! ^= 1;
    const [r] = verifySigners(info, changed);
    assert.equal(r!.status, 'invalid');
    assert.deepEqual(failed(r!), ['message-digest']);
  });

  it('a changed encapsulated content byte fails the message digest', () => {
    const bytes = Buffer.from(der);
    const at = bytes.indexOf(content);
    bytes[at + 3]! ^= 0x20;
    const parsed = parseSignedData(bytes);
    const [r] = verifySigners(parsed, parsed.content!);
    assert.deepEqual(failed(r!), ['message-digest']);
  });

  it('a changed signature byte fails the signature', () => {
    const bytes = Buffer.from(der);
    const at = bytes.indexOf(Buffer.from(si.signature));
    bytes[at + 10]! ^= 1;
    const [r] = verifySigners(parseSignedData(bytes), content);
    assert.deepEqual(failed(r!), ['signature']);
  });

  it('a changed signed attribute (signingTime) fails the signature', () => {
    const bytes = Buffer.from(der);
    const at = bytes.indexOf(Buffer.from('260520100000Z', 'latin1'));
    assert.ok(at > 0);
    bytes[at + 1] = 0x37; // 2026 -> 2027
    const [r] = verifySigners(parseSignedData(bytes), content);
    assert.deepEqual(failed(r!), ['signature']);
    assert.equal(r!.signingTime?.getUTCFullYear(), 2027);
  });

  it('a changed contentType attribute fails both the content-type check and the signature', () => {
    const bytes = Buffer.from(der);
    const attrs = Buffer.from(si.signedAttrs!);
    const ct = oid(OID.data);
    const attrAt = bytes.indexOf(attrs);
    const ctAt = bytes.indexOf(ct, attrAt);
    bytes[ctAt + ct.length - 1] = 2; // id-data -> id-signedData
    const [r] = verifySigners(parseSignedData(bytes), content);
    assert.deepEqual(failed(r!), ['content-type', 'signature']);
  });

  it('a changed certificate is no longer the signer certificate (key mismatch shows as bad signature)', () => {
    const bytes = Buffer.from(der);
    const signerCert = cert('alice');
    const at = bytes.indexOf(Buffer.from(signerCert.publicKeyInfo.publicKeyBytes));
    bytes[at + 40]! ^= 1;
    const parsed = parseSignedData(bytes);
    const [r] = verifySigners(parsed, content);
    assert.equal(r!.status, 'invalid');
    assert.ok(failed(r!).includes('signature'), JSON.stringify(r!.checks));
  });

  it('a missing signer certificate gives an invalid status that says so', () => {
    const stripped = {
      ...info,
      certificates: info.certificates.filter((c) => c.fingerprintSha256 !== cert('alice').fingerprintSha256),
    };
    const [r] = verifySigners(stripped, content);
    assert.equal(r!.status, 'invalid');
    assert.deepEqual(failed(r!), ['signer-certificate']);
    assert.match(r!.checks[0]!.detail, /not signed/);
    // Given out of band, it verifies again.
    assertValid(verifySigners(stripped, content, { extraCertificates: [cert('alice')] }));
  });

  it('a digest algorithm the caller did not compute fails the message-digest check', () => {
    const [r] = verifySigners(info, { digests: new Map([['sha384', Buffer.alloc(48)]]) });
    assert.deepEqual(failed(r!), ['message-digest']);
  });
});

describe('parseSignedData', () => {
  it('reads a degenerate SignedData (certificates only, empty digestAlgorithms, no signers)', () => {
    const der = wrapContentInfo(
      OID.signedData,
      seq(integer(1), set(), seq(oid(OID.data)), explicit(0, intermediate.der), set()),
    );
    const info = parseSignedData(der);
    assert.equal(info.digestAlgorithms.length, 0);
    assert.equal(info.signerInfos.length, 0);
    assert.equal(info.certificates.length, 1);
    assert.deepEqual(verifySigners(info, new Uint8Array(0)), []);
  });

  it('reads a SignedData without certificates', () => {
    const der = wrapContentInfo(OID.signedData, seq(integer(1), set(algorithm(OID.sha256)), seq(oid(OID.data)), set()));
    const info = parseSignedData(der);
    assert.deepEqual(info.certificates, []);
  });

  it('skips and counts other CertificateChoices, reports an unparseable certificate', () => {
    const broken = Buffer.from(intermediate.der);
    broken[broken.length - 300]! ^= 0xff;
    const certs = tlv(0xa0, intermediate.der, tlv(0xa1, seq(integer(1))), seq(integer(5)));
    const der = wrapContentInfo(OID.signedData, seq(integer(1), set(), seq(oid(OID.data)), certs, set()));
    const info = parseSignedData(der);
    assert.equal(info.certificates.length, 1);
    assert.equal(info.skippedCertificates, 1);
    assert.equal(info.certificateErrors.length, 1);
  });

  it('enforces the signer and certificate limits', () => {
    const der = signContent(content, {
      signers: [signer('alice'), signer('carol')],
      signingTime: SIGNING_TIME,
      detached: true,
    });
    assert.throws(
      () => parseSignedData(der, { maxSigners: 1 }),
      (e) => isSealpostError(e, 'CMS_LIMIT'),
    );
    assert.throws(
      () => parseSignedData(der, { maxCertificates: 2 }),
      (e) => isSealpostError(e, 'CMS_LIMIT'),
    );
  });

  it('rejects other content types and malformed input with typed errors', () => {
    assert.throws(
      () => parseSignedData(wrapContentInfo(OID.data, seq())),
      (e) => isSealpostError(e, 'UNSUPPORTED_CONTENT'),
    );
    assert.throws(
      () => parseSignedData(Buffer.from([0x30, 0x03, 0x02, 0x01])),
      (e) => isSealpostError(e, 'CMS_MALFORMED'),
    );
    const der = signContent(content, { signers: [signer('alice')], signingTime: SIGNING_TIME, detached: true });
    assert.throws(
      () => parseSignedData(der.subarray(0, der.length - 10)),
      (e) => isSealpostError(e, 'CMS_MALFORMED'),
    );
  });

  it('keeps the certificates exactly as embedded', () => {
    const der = signContent(content, { signers: [signer('erin')], signingTime: SIGNING_TIME, detached: true });
    const info = parseSignedData(der);
    const fps = info.certificates.map((c) => c.fingerprintSha256).sort();
    assert.deepEqual(fps, [cert('erin').fingerprintSha256, intermediate.fingerprintSha256].sort());
    assert.ok(decode(der).is(0x30));
    assert.ok(info.certificates.every((c) => c instanceof Certificate));
  });
});
