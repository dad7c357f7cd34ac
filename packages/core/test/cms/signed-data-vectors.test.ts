/** Published vectors: RFC 4134 SignedData examples (SHA-1, DSA) and the RFC 9216 LAMPS identities. */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { OID } from '../../src/asn1/oids.ts';
import { decodeSignedAttributes } from '../../src/cms/attributes.ts';
import { parseSignedData, signContent, verifySigners } from '../../src/cms/signed-data.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { VECTORS_DIR } from '../support/vectors.ts';
import { opensslCheckEd25519, opensslVerify, SIGNING_TIME, tempFile } from './signed-data-support.ts';

const vectors = pathToFileURL(`${VECTORS_DIR}/`);
const rfc4134 = (name: string) => readFileSync(new URL(`rfc4134/files/${name}`, vectors));
const exContent = rfc4134('ExContent.bin');

describe('RFC 4134 SignedData examples', () => {
  // [file, signers, detached]: every example is SHA-1 (and most DSA), so only allowLegacy verifies them.
  const cases: [string, number, boolean][] = [
    ['4.1.bin', 1, false], // DSA, no signed attributes
    ['4.2.bin', 1, false], // RSA, signatureAlgorithm rsaEncryption, no signed attributes
    ['4.3.bin', 1, true], // DSA, detached
    ['4.4.bin', 1, false], // DSA with signed attributes, a countersignature, certificates and CRLs
    ['4.5.bin', 1, false], // RSA, indefinite-length BER
    ['4.7.bin', 1, false], // signer identified by subjectKeyIdentifier
    ['4.10.bin', 1, false], // many (and unknown) signed attributes
  ];
  for (const [file, count, detached] of cases) {
    it(`${file} verifies only with allowLegacy, flagged legacy`, () => {
      const info = parseSignedData(rfc4134(file));
      assert.equal(info.eContentType, OID.data);
      assert.equal(info.content === undefined, detached);
      if (!detached) assert.deepEqual(Buffer.from(info.content!), exContent);
      const strict = verifySigners(info, exContent);
      assert.equal(strict.length, count);
      for (const r of strict) {
        assert.equal(r.status, 'invalid');
        assert.equal(r.legacyAlgorithm, true);
        assert.deepEqual(
          r.checks.filter((c) => !c.ok).map((c) => c.name),
          ['algorithm'],
        );
      }
      for (const r of verifySigners(info, exContent, { allowLegacy: true })) {
        assert.equal(r.status, 'valid', JSON.stringify(r.checks));
        assert.equal(r.legacyAlgorithm, true);
        assert.equal(r.digestAlgorithm, 'sha1');
      }
    });
  }

  it('4.6.bin: two DSA signers; the one whose key inherits DSA parameters is reported, not thrown', () => {
    const info = parseSignedData(rfc4134('4.6.bin'));
    const results = verifySigners(info, info.content!, { allowLegacy: true });
    assert.deepEqual(
      results.map((r) => r.status),
      ['valid', 'invalid'],
    );
    assert.deepEqual(
      results[1]!.checks.filter((c) => !c.ok).map((c) => c.name),
      ['signature'],
    );
  });

  it('4.11.bin: certificates and a CRL only', () => {
    const info = parseSignedData(rfc4134('4.11.bin'));
    assert.equal(info.signerInfos.length, 0);
    assert.equal(info.certificates.length, 2);
    assert.equal(info.crls.length, 1);
  });

  it('4.4.bin signed attributes: signingTime read, countersignature kept as unsigned attributes', () => {
    const info = parseSignedData(rfc4134('4.4.bin'));
    const [r] = verifySigners(info, exContent, { allowLegacy: true });
    assert.deepEqual(r!.signingTime, new Date('2003-05-14T15:39:00Z'));
    assert.ok(info.signerInfos[0]!.unsignedAttrs);
  });
});

describe('RFC 9216 LAMPS identities', () => {
  const lamps = (p: string) => readFileSync(new URL(`rfc9216/${p}`, vectors));
  const rsaCaPath = tempFile(
    lamps('certs-wbond-certvalidator/Sample_LAMPS_RSA_Certification_Authority.selfsigned.pem'),
    'pem',
  );
  const edCaPath = tempFile(
    lamps('certs-wbond-certvalidator/Sample_LAMPS_Ed25519_Certification_Authority.selfsigned.pem'),
    'pem',
  );
  const content = Buffer.from('Content-Type: text/plain\r\n\r\nThis is a test message from Alice to Bob.\r\n');

  it('alice (RSA) signs; openssl verifies against the Sample LAMPS RSA CA', () => {
    const certificate = Certificate.from(lamps('keys-davidi67/lamps-alice.crt'));
    const privateKey = createPrivateKey(lamps('keys-davidi67/lamps-alice.p8.pem'));
    for (const rsaPadding of ['pkcs1', 'pss'] as const) {
      const der = signContent(content, {
        signers: [{ certificate, privateKey, rsaPadding }],
        signingTime: SIGNING_TIME,
        detached: false,
      });
      assert.deepEqual(opensslVerify(der, { caFile: rsaCaPath }), content);
      assert.equal(verifySigners(parseSignedData(der), content)[0]!.status, 'valid');
    }
  });

  it('carlos (Ed25519) signs with SHA-512; openssl checks the signature, digest and chain', () => {
    const certPath = tempFile(lamps('keys-davidi67/lamps-carlos.crt'), 'pem');
    const certificate = Certificate.from(lamps('keys-davidi67/lamps-carlos.crt'));
    const privateKey = createPrivateKey(lamps('keys-davidi67/lamps-carlos.p8.pem'));
    const der = signContent(content, {
      signers: [{ certificate, privateKey }],
      signingTime: SIGNING_TIME,
      detached: true,
    });
    const info = parseSignedData(der);
    assert.deepEqual(
      info.digestAlgorithms.map((a) => a.oid),
      [OID.sha512],
    );
    const si = info.signerInfos[0]!;
    assert.equal(si.signatureAlgorithm.oid, OID.ed25519);
    assert.equal(si.signatureAlgorithm.params, undefined);
    const signed = Buffer.from(si.signedAttrs!);
    signed[0] = 0x31;
    opensslCheckEd25519(
      signed,
      si.signature,
      decodeSignedAttributes(si.signedAttrs!).messageDigest,
      content,
      certPath,
      {
        caFile: edCaPath,
      },
    );
    assert.equal(verifySigners(info, content)[0]!.status, 'valid');
  });
});
