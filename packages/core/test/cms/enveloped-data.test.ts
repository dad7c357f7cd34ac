import assert from 'node:assert/strict';
import { createCipheriv, createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type Asn1, decode, readOid, readSmallInt } from '../../src/asn1/der.ts';
import {
  algorithm,
  bitString,
  explicit,
  implicitPrimitive,
  integer,
  octets,
  oid,
  retag,
  seq,
  set,
  setOf,
  tlv,
  unsignedInteger,
} from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import type { ContentCipherName } from '../../src/cms/capabilities.ts';
import { wrapContentInfo } from '../../src/cms/content-info.ts';
import { decryptContent, decryptStream, describeEnvelope, encryptContent } from '../../src/cms/enveloped-data.ts';
import { buildRecipientInfo } from '../../src/cms/recipient-info.ts';
import { isSealpostError, type SealpostError } from '../../src/errors.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import type { UserName } from '../support/pki.ts';
import { vectorPath } from '../support/vectors.ts';
import { cert, chunked, collect, key, opensslDecrypt, opensslEncrypt } from './enveloped-data-support.ts';

const CIPHERS: ContentCipherName[] = ['aes-128-cbc', 'aes-192-cbc', 'aes-256-cbc', 'aes-128-gcm', 'aes-256-gcm'];
const CONTENT = Buffer.from('Content-Type: text/plain\r\n\r\nSealpost envelope test \u00e9\r\n'.repeat(40), 'utf8');
const RFC4134 = vectorPath('rfc4134/files');
const RFC9216 = vectorPath('rfc9216/keys-davidi67');

/** The (Auth)EnvelopedData inside a ContentInfo. */
function body(der: Uint8Array): Asn1 {
  return decode(der, { mode: 'ber' }).child(1).child(0);
}

function isDecryptionFailed(e: unknown): boolean {
  return (
    isSealpostError(e, 'DECRYPTION_FAILED') && (e as SealpostError).message === 'the message could not be decrypted'
  );
}

/** Flips bits of one byte of a copy. */
function flip(der: Uint8Array, offset: number, mask = 0x01): Buffer {
  const out = Buffer.from(der);
  out[offset]! ^= mask;
  return out;
}

describe('encryptContent -> openssl cms -decrypt', () => {
  const recipients: [UserName, 'pkcs1' | 'oaep'][] = [
    ['alice', 'pkcs1'],
    ['bob', 'oaep'],
    ['encrypter', 'pkcs1'],
    ['carol', 'pkcs1'],
    ['dave', 'pkcs1'],
  ];
  for (const cipher of CIPHERS) {
    for (const [name, rsaPadding] of recipients) {
      test(`${cipher} to ${name} (${cert(name).publicKeyInfo.kind}${cert(name).publicKeyInfo.kind === 'rsa' ? `, ${rsaPadding}` : ''})`, () => {
        const der = encryptContent(CONTENT, { recipients: [{ certificate: cert(name), rsaPadding }], cipher });
        assert.deepEqual(opensslDecrypt(der, name), CONTENT);
        assert.deepEqual(decryptContent(der, [key(name)]).content, CONTENT);
      });
    }
  }

  test('subjectKeyIdentifier recipients (RSA and EC), OpenSSL finds them', () => {
    for (const name of ['alice', 'carol'] as const) {
      const der = encryptContent(CONTENT, {
        recipients: [{ certificate: cert(name), identifier: 'subjectKeyIdentifier' }],
        cipher: 'aes-256-cbc',
      });
      const info = describeEnvelope(der);
      assert.equal(
        info.recipients[0]!.identifiers[0]!.subjectKeyIdentifierHex,
        Buffer.from(cert(name).subjectKeyIdentifier!).toString('hex'),
      );
      assert.equal(readSmallInt(body(der).child(0)), 2, 'SKI recipients make EnvelopedData version 2');
      assert.deepEqual(opensslDecrypt(der, name), CONTENT);
    }
  });

  test('one message to RSA (PKCS#1 and OAEP) and EC recipients together: each decrypts', () => {
    const names: UserName[] = ['alice', 'bob', 'carol', 'dave'];
    const der = encryptContent(CONTENT, {
      recipients: names.map((n) => ({ certificate: cert(n), rsaPadding: n === 'bob' ? 'oaep' : 'pkcs1' })),
      cipher: 'aes-256-gcm',
    });
    for (const n of names) assert.deepEqual(opensslDecrypt(der, n), CONTENT);
    const info = describeEnvelope(der);
    assert.deepEqual(info.recipients.map((r) => r.kind).sort(), ['kari', 'kari', 'ktri', 'ktri']);
  });

  test('empty content, both families', () => {
    for (const cipher of ['aes-128-cbc', 'aes-128-gcm'] as const) {
      const der = encryptContent(Buffer.alloc(0), { recipients: [{ certificate: cert('alice') }], cipher });
      assert.equal(opensslDecrypt(der, 'alice').length, 0);
      assert.equal(decryptContent(der, [key('alice')]).content.length, 0);
    }
  });
});

describe('structure of what we send', () => {
  test('EnvelopedData to RSA only is version 0 with rsaEncryption NULL parameters', () => {
    const der = encryptContent(CONTENT, { recipients: [{ certificate: cert('alice') }], cipher: 'aes-256-cbc' });
    const b = body(der);
    assert.equal(readOid(decode(der).child(0)), OID.envelopedData);
    assert.equal(readSmallInt(b.child(0)), 0);
    const alg = b.child(1).child(0).child(2);
    assert.equal(readOid(alg.child(0)), OID.rsaEncryption);
    assert.ok(alg.child(1).is(0x05));
    assert.equal(b.child(2).child(1).child(1).value.length, 16, 'AES-CBC IV');
  });

  test('OAEP carries SHA-256 and MGF1-SHA-256 explicitly', () => {
    const der = encryptContent(CONTENT, {
      recipients: [{ certificate: cert('alice'), rsaPadding: 'oaep' }],
      cipher: 'aes-128-cbc',
    });
    const alg = body(der).child(1).child(0).child(2);
    assert.equal(readOid(alg.child(0)), OID.rsaesOaep);
    const params = alg.child(1);
    assert.equal(readOid(params.child(0).child(0).child(0)), OID.sha256);
    assert.equal(readOid(params.child(1).child(0).child(0)), OID.mgf1);
    assert.equal(readOid(params.child(1).child(0).child(1).child(0)), OID.sha256);
    assert.equal(describeEnvelope(der).recipients[0]!.keyEncryptionAlgorithm, 'rsaesOaep');
  });

  test('AES-GCM goes into AuthEnvelopedData v0 with a 12-octet nonce, aes-ICVlen 16 and a 16-octet mac', () => {
    const der = encryptContent(CONTENT, { recipients: [{ certificate: cert('alice') }], cipher: 'aes-128-gcm' });
    assert.equal(readOid(decode(der).child(0)), OID.authEnvelopedData);
    const b = body(der);
    assert.equal(readSmallInt(b.child(0)), 0);
    const gcm = b.child(2).child(1).child(1);
    assert.equal(gcm.child(0).value.length, 12);
    assert.equal(readSmallInt(gcm.child(1)), 16);
    assert.equal(b.child(3).value.length, 16);
    assert.equal(b.children.length, 4);
  });

  const kariCases: [UserName, ContentCipherName, string, string, string][] = [
    ['carol', 'aes-128-gcm', OID.dhSinglePassStdDHSha256kdf, OID.aes128Wrap, 'dhSinglePassStdDHSha256kdf'],
    ['carol', 'aes-256-cbc', OID.dhSinglePassStdDHSha256kdf, OID.aes256Wrap, 'dhSinglePassStdDHSha256kdf'],
    ['dave', 'aes-256-gcm', OID.dhSinglePassStdDHSha384kdf, OID.aes256Wrap, 'dhSinglePassStdDHSha384kdf'],
    ['frank', 'aes-128-cbc', '1.2.840.113549.1.9.16.3.19', OID.aes128Wrap, 'dhSinglePassStdDHHkdfSha256'],
  ];
  for (const [name, cipher, scheme, wrap, readable] of kariCases) {
    test(`${name} with ${cipher}: KeyAgreeRecipientInfo v3, ${readable}, ephemeral originator key, no ukm`, () => {
      const der = encryptContent(CONTENT, { recipients: [{ certificate: cert(name) }], cipher });
      const b = body(der);
      if (cipher.endsWith('cbc')) assert.equal(readSmallInt(b.child(0)), 2, 'kari makes EnvelopedData version 2');
      const kari = b.child(1).child(0);
      assert.ok(kari.isContext(1) && kari.constructed);
      assert.equal(kari.children.length, 4, 'ukm absent');
      assert.equal(readSmallInt(kari.child(0)), 3);
      const originatorKey = kari.child(1).child(0);
      assert.ok(originatorKey.isContext(1));
      assert.equal(originatorKey.child(0).children.length, 1, 'originator AlgorithmIdentifier parameters absent');
      assert.equal(readOid(kari.child(2).child(0)), scheme);
      assert.equal(readOid(kari.child(2).child(1).child(0)), wrap);
      assert.equal(kari.child(2).child(1).children.length, 1, 'key wrap parameters absent');
      const info = describeEnvelope(der);
      assert.equal(info.recipients[0]!.keyEncryptionAlgorithm, readable);
      assert.deepEqual(decryptContent(der, [key(name)]).content, CONTENT);
    });
  }

  test('describeEnvelope needs no key and names issuer and serial in RFC 4514 form', () => {
    const der = encryptContent(CONTENT, { recipients: [{ certificate: cert('alice') }], cipher: 'aes-256-gcm' });
    const info = describeEnvelope(der);
    assert.equal(info.type, 'authEnveloped-data');
    assert.equal(info.contentType, OID.data);
    assert.equal(info.contentCipher, 'aes-256-gcm');
    assert.equal(info.matched, undefined);
    assert.deepEqual(info.recipients, [
      {
        index: 0,
        kind: 'ktri',
        keyEncryptionAlgorithm: 'rsaEncryption',
        identifiers: [{ issuer: 'CN=Sealpost Test Intermediate', serialHex: cert('alice').serialHex }],
      },
    ]);
  });

  test('a custom contentType is carried', () => {
    const der = encryptContent(CONTENT, {
      recipients: [{ certificate: cert('alice') }],
      cipher: 'aes-128-cbc',
      contentType: OID.signedData,
    });
    assert.equal(describeEnvelope(der).contentType, OID.signedData);
  });
});

describe('X25519 (RFC 8418): OpenSSL 3.0 has no X25519 key agreement in CMS, so known answers and our own round trip', () => {
  const dana = () => ({
    certificate: Certificate.from(readFileSync(join(RFC9216, 'lamps-dana.encrypt.crt'))),
    privateKey: createPrivateKey(readFileSync(join(RFC9216, 'lamps-dana.decrypt.p8.pem'))),
  });
  const bob = () => ({
    certificate: Certificate.from(readFileSync(join(RFC9216, 'lamps-bob.encrypt.crt'))),
    privateKey: createPrivateKey(readFileSync(join(RFC9216, 'lamps-bob.decrypt.p8.pem'))),
  });
  const h = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

  test('draft-ireland-examples-cms authEnvelopedForDanaX25519HKDF (X25519, HKDF-SHA-256, aes256-wrap, AES-128-GCM)', () => {
    // Rebuilt field by field from the example's ASN.1 dump (github.com/davidi67/examples-cms,
    // asn1dumps/authEnvelopedForDanaX25519HKDF.asn1.txt); the issuer is Dana's CA name.
    const d = dana();
    const kari = tlv(
      0xa1,
      integer(3),
      explicit(
        0,
        tlv(
          0xa1,
          algorithm(OID.x25519),
          bitString(h('BCCD393928413227 86AC048EF35C36E0 D54030DAF8AD17AA F45432202BEB0448')),
        ),
      ),
      algorithm('1.2.840.113549.1.9.16.3.19', algorithm(OID.aes256Wrap)),
      seq(
        seq(
          seq(d.certificate.issuer.der, unsignedInteger(h('0E4B0A36A9EFBA9C9A3B68248E521DC0DEF3A7'))),
          octets(h('27BC5CE0A386CE13 83A945B1BD690071 838B1E47262AE8B5')),
        ),
      ),
    );
    const der = wrapContentInfo(
      OID.authEnvelopedData,
      seq(
        integer(0),
        set(kari),
        seq(
          oid(OID.data),
          algorithm(OID.aes128GCM, seq(octets(h('9103A09D94921227 13B12C35')), integer(16))),
          implicitPrimitive(0, h('30783E5773966EBA 262C2BB120011E18 B3C385B333F76D97 46189DA1')),
        ),
        octets(h('14934D82E7912130 EE79B989C54CF66B')),
      ),
    );
    const { content, info } = decryptContent(der, [bob(), d]);
    assert.equal(content.toString(), 'This is some sample content.');
    assert.deepEqual(info.matched, { recipientIndex: 0, keyIndex: 1 });
    assert.equal(info.recipients[0]!.keyEncryptionAlgorithm, 'dhSinglePassStdDHHkdfSha256');
  });

  test('draft-ireland-examples-cms encryptedForBobAndDana (RSA-OAEP and X25519 with the X9.63 SHA-256 KDF)', () => {
    // pem-encoded/encryptedForBobAndDana.pem of the same repository.
    const der = Buffer.from(
      `MIIC/AYJKoZIhvcNAQcDoIIC7TCCAukCAQIxggKUMIIBswIBADBsMFUxDTALBgNVBAoTBElFVEYxETAPBgNVBAsTCExBTVBTIFdHMTEwLwYDVQQDEyhTYW1wbGUgTEFNUFMgUlNBIENlcnRp
ZmljYXRpb24gQXV0aG9yaXR5AhMwfEdAD4YmOhxi0uuDL5bA14aUMDwGCSqGSIb3DQEBBzAvoA8wDQYJYIZIAWUDBAIBBQChHDAaBgkqhkiG9w0BAQgwDQYJYIZIAWUDBAIBBQAEggEALDDJ
dkhYTd2gvCcPXRxP1HZl4nXdm5DfiNI/Mxtr5ZPNzT0JgEpMrT1h9KzX1AgRqZhgk/3NFMmfgDWY/Aj45vGwZn1nLBZY+B+CkoHWlI/c6HYEzbf3+MT507/GDaKxwrMQrMEvA6Mfi/O91bdW
OOxKWj2mnkpe6oGPVQqfugI2sTjQyD91R3at1+GudB3pWoMDc2Bdbje+FIsyEfgbWSGlomPu357TyfVbhUMq6IuF5/IjttXUBk8Xs4FmYk67gDCpnh09qfKD0zPYQub/oT4II7Pu7V1+idk6
88Px/mDbqzlqAdwhX8AvqbcqPBgwovAH6C8xX9yQhWC82Na2/qGB2gIBA6AsoSowBQYDK2VuAyEA/EGr+owykPVD3bNWB2IcUTkBmP7WgK2gLl0e9U3U4jEwFQYGK4EEAQsBMAsGCWCGSAFl
AwQBBTCBjzCBjDBwMFkxDTALBgNVBAoTBElFVEYxETAPBgNVBAsTCExBTVBTIFdHMTUwMwYDVQQDEyxTYW1wbGUgTEFNUFMgRWQyNTUxOSBDZXJ0aWZpY2F0aW9uIEF1dGhvcml0eQITDksK
NqnvupyaO2gkjlIdwN7zpwQYzl4eD55lNGGBxp4MTiZvVfKVizQ8uOHRMEwGCSqGSIb3DQEHATAdBglghkgBZQMEAQIEECMOtGHAZPlhLNH26hlNk8eAIMwMTIvUoLW+PCDFKf23ON4OzxbZ
jYcUMzPR8WCTFLvy`,
      'base64',
    );
    for (const [k, index] of [
      [dana(), 1],
      [bob(), 0],
    ] as const) {
      const { content, info } = decryptContent(der, [k]);
      assert.equal(content.toString(), 'This is some sample content.');
      assert.equal(info.matched?.recipientIndex, index);
    }
  });

  test('we encrypt to Dana and to frank (HKDF-SHA-256), and decrypt', () => {
    for (const cipher of ['aes-128-cbc', 'aes-256-gcm'] as const) {
      const der = encryptContent(CONTENT, {
        recipients: [{ certificate: dana().certificate }, { certificate: cert('frank') }],
        cipher,
      });
      assert.deepEqual(decryptContent(der, [dana()]).content, CONTENT);
      assert.deepEqual(decryptContent(der, [key('frank')]).content, CONTENT);
    }
  });
});

describe('openssl cms -encrypt -> decryptContent', () => {
  const cases: [string, UserName[], string[]][] = [
    ['AES-256-CBC to RSA', ['alice'], ['-aes-256-cbc']],
    ['AES-128-CBC to RSA-3072', ['bob'], ['-aes-128-cbc']],
    ['AES-128-GCM to P-256 (sha1kdf, OpenSSL default)', ['carol'], ['-aes-128-gcm']],
    ['AES-256-GCM to P-384', ['dave'], ['-aes-256-gcm']],
    ['AES-192-CBC to P-256 with -keyid', ['carol'], ['-aes-192-cbc', '-keyid']],
    ['RSA-OAEP default (SHA-1)', ['alice'], ['-aes-256-cbc', '-keyopt', 'rsa_padding_mode:oaep']],
    [
      'RSA-OAEP SHA-256',
      ['alice'],
      ['-aes-256-gcm', '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256'],
    ],
    ['-stream (indefinite lengths), several recipients', ['alice', 'carol', 'dave'], ['-aes-256-gcm', '-stream']],
    ['-stream CBC with -keyid', ['bob', 'carol'], ['-aes-256-cbc', '-stream', '-keyid']],
  ];
  for (const [label, names, args] of cases) {
    test(label, () => {
      const der = opensslEncrypt(CONTENT, names, args);
      for (const n of names) {
        const { content, info } = decryptContent(der, [key(n)]);
        assert.deepEqual(content, CONTENT);
        assert.equal(info.matched?.keyIndex, 0);
      }
    });
  }

  test('the first offered key that a RecipientInfo names wins; unnamed keys are skipped', () => {
    const der = opensslEncrypt(CONTENT, ['alice', 'carol'], ['-aes-256-cbc']);
    // An "archived" key (erin, bob: not recipients) before the current one.
    let r = decryptContent(der, [key('bob'), key('signer'), key('carol')]);
    assert.deepEqual(r.content, CONTENT);
    assert.equal(r.info.matched?.keyIndex, 2);
    assert.equal(r.info.recipients[r.info.matched!.recipientIndex]!.kind, 'kari');
    r = decryptContent(der, [key('alice'), key('carol')]);
    assert.equal(r.info.matched?.keyIndex, 0);
    assert.equal(r.info.recipients[r.info.matched!.recipientIndex]!.kind, 'ktri');
  });

  test('describeEnvelope of an OpenSSL kari reports the sha1kdf scheme and wrap', () => {
    const info = describeEnvelope(opensslEncrypt(CONTENT, ['carol'], ['-aes-256-cbc']));
    assert.equal(info.recipients[0]!.keyEncryptionAlgorithm, 'dhSinglePassStdDHSha1kdf');
    assert.equal(info.recipients[0]!.keyWrapAlgorithm, 'aes256Wrap');
    assert.equal(info.type, 'enveloped-data');
  });
});

describe('failures', () => {
  const rsa = () => encryptContent(CONTENT, { recipients: [{ certificate: cert('alice') }], cipher: 'aes-256-cbc' });

  test('corrupted encryptedKey (PKCS#1 v1.5, OAEP, ECDH wrap) all give the same DECRYPTION_FAILED', () => {
    const variants: [UserName, 'pkcs1' | 'oaep'][] = [
      ['alice', 'pkcs1'],
      ['alice', 'oaep'],
      ['carol', 'pkcs1'],
      ['frank', 'pkcs1'],
    ];
    for (const [name, rsaPadding] of variants) {
      for (const cipher of ['aes-256-cbc', 'aes-128-gcm'] as const) {
        const der = encryptContent(CONTENT, { recipients: [{ certificate: cert(name), rsaPadding }], cipher });
        const ri = body(der).child(1).child(0);
        const ek = ri.is(0x30) ? ri.child(3) : ri.child(3).child(0).child(1);
        const bad = flip(der, ek.valueStart + 7);
        assert.throws(() => decryptContent(bad, [key(name)]), isDecryptionFailed, `${name} ${rsaPadding} ${cipher}`);
      }
    }
  });

  test('an originator public key that is not on the curve is DECRYPTION_FAILED', () => {
    const der = encryptContent(CONTENT, { recipients: [{ certificate: cert('carol') }], cipher: 'aes-128-cbc' });
    const point = body(der).child(1).child(0).child(1).child(0).child(1);
    // Last byte of y: the point leaves the curve.
    assert.throws(() => decryptContent(flip(der, point.end - 1), [key('carol')]), isDecryptionFailed);
  });

  test('CBC padding error, GCM ciphertext and tag corruption are DECRYPTION_FAILED', () => {
    const cbc = rsa();
    const ec = body(cbc).child(2).child(2);
    // XOR 0x20 into the second-to-last block's last byte turns the padding byte (1..16) into 33..48: always invalid.
    assert.throws(() => decryptContent(flip(cbc, ec.valueEnd - 17, 0x20), [key('alice')]), isDecryptionFailed);
    const gcm = encryptContent(CONTENT, { recipients: [{ certificate: cert('carol') }], cipher: 'aes-256-gcm' });
    const b = body(gcm);
    assert.throws(
      () => decryptContent(flip(gcm, b.child(2).child(2).valueStart + 3), [key('carol')]),
      isDecryptionFailed,
    );
    assert.throws(() => decryptContent(flip(gcm, b.child(3).valueEnd - 1, 0x80), [key('carol')]), isDecryptionFailed);
  });

  test('no RecipientInfo names any offered key: NO_RECIPIENT, listing nothing secret', () => {
    assert.throws(
      () => decryptContent(rsa(), [key('bob'), key('carol')]),
      (e) => isSealpostError(e, 'NO_RECIPIENT') && /2 given key\(s\).*1 recipient/.test((e as Error).message),
    );
    assert.throws(
      () => decryptContent(rsa(), []),
      (e) => isSealpostError(e, 'NO_RECIPIENT'),
    );
  });

  test('a private key that does not belong to its certificate is KEY_MISMATCH', () => {
    assert.throws(
      () => decryptContent(rsa(), [{ certificate: cert('alice'), privateKey: key('bob').privateKey }]),
      (e) => isSealpostError(e, 'KEY_MISMATCH'),
    );
  });

  test('signing-only certificates are KEY_UNSUITABLE, Ed25519 keys UNSUPPORTED_ALGORITHM, recipient count bounded', () => {
    assert.throws(
      () => encryptContent(CONTENT, { recipients: [{ certificate: cert('signer') }], cipher: 'aes-256-cbc' }),
      (e) => isSealpostError(e, 'KEY_UNSUITABLE') && /CN=signer/.test((e as Error).message),
    );
    assert.throws(
      () => encryptContent(CONTENT, { recipients: [{ certificate: cert('erin') }], cipher: 'aes-256-cbc' }),
      (e) => isSealpostError(e, 'UNSUPPORTED_ALGORITHM') && /ed25519/.test((e as Error).message),
    );
    assert.throws(
      () => encryptContent(CONTENT, { recipients: [], cipher: 'aes-256-cbc' }),
      (e) => isSealpostError(e, 'INVALID_ARGUMENT'),
    );
    const many = Array.from({ length: 1001 }, () => ({ certificate: cert('alice') }));
    assert.throws(
      () => encryptContent(CONTENT, { recipients: many, cipher: 'aes-256-cbc' }),
      (e) => isSealpostError(e, 'CMS_LIMIT'),
    );
  });

  test('not an envelope: UNSUPPORTED_CONTENT', () => {
    const data = wrapContentInfo(OID.data, octets(Buffer.from('x')));
    assert.throws(
      () => describeEnvelope(data),
      (e) => isSealpostError(e, 'UNSUPPORTED_CONTENT'),
    );
  });
});

describe('AuthEnvelopedData with authAttrs (RFC 5083 §2.2)', () => {
  /** Builds one by hand: authAttrs travel as [1] IMPLICIT and are authenticated as a DER SET. */
  function withAuthAttrs(tamper: boolean): Buffer {
    const cek = randomBytes(16);
    const nonce = randomBytes(12);
    const attrs = setOf([seq(oid(OID.contentType), set(oid(OID.data)))]);
    const gcm = createCipheriv('aes-128-gcm', cek, nonce);
    gcm.setAAD(attrs);
    const ct = Buffer.concat([gcm.update(CONTENT), gcm.final()]);
    const sent = retag(attrs, 0xa1);
    if (tamper) sent[sent.length - 1]! ^= 1;
    return wrapContentInfo(
      OID.authEnvelopedData,
      seq(
        integer(0),
        set(buildRecipientInfo({ certificate: cert('alice') }, cek).der),
        seq(oid(OID.data), algorithm(OID.aes128GCM, seq(octets(nonce), integer(16))), implicitPrimitive(0, ct)),
        sent,
        octets(gcm.getAuthTag()),
      ),
    );
  }

  test('decryptContent authenticates them; a changed attribute is DECRYPTION_FAILED', () => {
    assert.deepEqual(decryptContent(withAuthAttrs(false), [key('alice')]).content, CONTENT);
    assert.throws(() => decryptContent(withAuthAttrs(true), [key('alice')]), isDecryptionFailed);
  });

  test('decryptStream cannot feed them to GCM in time: UNSUPPORTED_CONTENT at the end', async () => {
    const { content } = await decryptStream(chunked(withAuthAttrs(false), 3), [key('alice')]);
    await assert.rejects(collect(content), (e) => isSealpostError(e, 'UNSUPPORTED_CONTENT'));
  });
});

describe('RFC 4134 vectors', () => {
  const bob = () => ({
    certificate: Certificate.from(readFileSync(join(RFC4134, 'BobRSASignByCarl.cer'))),
    privateKey: createPrivateKey({
      key: readFileSync(join(RFC4134, 'BobPrivRSAEncrypt.pri')),
      format: 'der',
      type: 'pkcs8',
    }),
  });

  test('5.1: EnvelopedData, RSA key transport, 3DES content, to Bob', () => {
    const { content, info } = decryptContent(readFileSync(join(RFC4134, '5.1.bin')), [bob()]);
    assert.deepEqual(content, readFileSync(join(RFC4134, 'ExContent.bin')));
    assert.equal(info.contentCipher, 'des-ede3-cbc');
    assert.equal(info.recipients[0]!.identifiers[0]!.issuer, 'CN=CarlRSA');
  });

  test('5.2: RC2 content encryption is UNSUPPORTED_ALGORITHM, and describable', () => {
    const der = readFileSync(join(RFC4134, '5.2.bin'));
    assert.throws(
      () => decryptContent(der, [bob()]),
      (e) => isSealpostError(e, 'UNSUPPORTED_ALGORITHM') && /rc2-cbc/.test((e as Error).message),
    );
    assert.equal(describeEnvelope(der).contentCipher, 'rc2-cbc');
  });
});
