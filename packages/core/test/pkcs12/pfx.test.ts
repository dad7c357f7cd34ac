import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Asn1, decode, readOctetString } from '../../src/asn1/der.ts';
import { algorithm, integer, octets, seq, tlv } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { buildPkcs12, inspectPkcs12, readPkcs12 } from '../../src/pkcs12/pfx.ts';
import { keyMatchesCertificate } from '../../src/util/keys.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { nameToString } from '../../src/x509/name.ts';
import { testPki } from '../support/pki.ts';
import { P12Workshop, PASSWORD } from './support.ts';

const pki = testPki();
const alice = pki.user('alice');
const aliceCert = Certificate.from(alice.cert);
const aliceKey = createPrivateKey(alice.key);
const intermediate = Certificate.from(pki.intermediate.cert);
const root = Certificate.from(pki.root.cert);
const shop = new P12Workshop();
after(() => shop.close());
// Root before intermediate: the reader has to find the leaf → root order itself.
const reversedChain = shop.file(Buffer.concat([pki.root.cert, pki.intermediate.cert]));

const VECTORS = '/usr/lib/python3/dist-packages/cryptography_vectors';

/** The identity in `data` is alice with the chain intermediate → root. */
function assertAlice(data: Uint8Array, password = PASSWORD) {
  const r = readPkcs12(data, password);
  assert.equal(r.identities.length, 1);
  const id = r.identities[0]!;
  assert.equal(id.certificate?.fingerprintSha256, aliceCert.fingerprintSha256);
  assert.ok(keyMatchesCertificate(id.privateKey, aliceCert));
  assert.deepEqual(
    id.chain.map((c) => c.fingerprintSha256),
    [intermediate.fingerprintSha256, root.fingerprintSha256],
  );
  assert.deepEqual(r.certificates, []);
  return r;
}

describe('reading what OpenSSL 3 writes', () => {
  // The chain file is root + intermediate in that order: the reader must order it leaf → root.
  const variants: [string, string[], string | undefined][] = [
    ['the default (PBES2 AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC)', [], 'sha256'],
    ['-legacy (RC2-40 certificates, 3DES key, SHA-1 MAC)', ['-legacy'], 'sha1'],
    ['PBES2 with AES-128-CBC', ['-keypbe', 'AES-128-CBC', '-certpbe', 'AES-128-CBC'], 'sha256'],
    ['PBES2 with AES-192-CBC', ['-keypbe', 'AES-192-CBC', '-certpbe', 'AES-192-CBC'], 'sha256'],
    ['PBES2 with DES-EDE3-CBC', ['-keypbe', 'DES-EDE3-CBC', '-certpbe', 'DES-EDE3-CBC'], 'sha256'],
    ['PBES2 with RC2-CBC', ['-legacy', '-keypbe', 'RC2-CBC', '-certpbe', 'RC2-CBC'], 'sha1'],
    ['pbeWithSHAAnd40BitRC2-CBC', ['-legacy', '-keypbe', 'PBE-SHA1-RC2-40', '-certpbe', 'PBE-SHA1-RC2-40'], 'sha1'],
    ['pbeWithSHAAnd128BitRC2-CBC', ['-legacy', '-keypbe', 'PBE-SHA1-RC2-128', '-certpbe', 'PBE-SHA1-RC2-128'], 'sha1'],
    ['pbeWithSHAAnd3-KeyTripleDES-CBC', ['-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES'], 'sha256'],
    ['a SHA-1 MAC', ['-macalg', 'sha1'], 'sha1'],
    ['a SHA-384 MAC', ['-macalg', 'sha384'], 'sha384'],
    ['a SHA-512 MAC', ['-macalg', 'sha512'], 'sha512'],
    ['no MAC', ['-nomac'], undefined],
    ['no encryption (keyBag, plain certificate bags)', ['-keypbe', 'NONE', '-certpbe', 'NONE'], 'sha256'],
    ['one iteration', ['-noiter', '-nomaciter'], 'sha256'],
  ];
  for (const [label, extra, mac] of variants) {
    test(label, () => {
      const data = shop.opensslExport(alice, reversedChain, extra);
      const r = assertAlice(data);
      assert.equal(r.mac?.algorithm, mac);
      assert.throws(() => readPkcs12(data, 'wrong password'), { code: 'PASSWORD_WRONG' });
      assert.throws(() => readPkcs12(data, ''), { code: 'PASSWORD_WRONG' });
    });
  }

  test('friendly names of the identity (-name) and of CA certificates (-caname) are kept', () => {
    const data = shop.opensslExport(alice, reversedChain, ['-name', 'Alice Ünicode ☺', '-caname', 'Root']);
    const r = assertAlice(data);
    assert.equal(r.identities[0]!.friendlyName, 'Alice Ünicode ☺');
    assert.equal(r.identities[0]!.localKeyId?.length, 20);
  });

  test('EC and Ed25519 keys', () => {
    for (const who of [pki.user('carol'), pki.user('erin')]) {
      const r = readPkcs12(shop.opensslExport(who, undefined, []), PASSWORD);
      assert.equal(r.identities.length, 1);
      assert.ok(keyMatchesCertificate(r.identities[0]!.privateKey, Certificate.from(who.cert)));
    }
  });

  test('a file with an empty password', () => {
    const data = shop.opensslExport(alice, reversedChain, ['-passout', 'pass:']);
    assertAlice(data, '');
    assert.throws(() => readPkcs12(data, PASSWORD), { code: 'PASSWORD_WRONG' });
  });

  test('a certificate-only file (-nokeys) yields certificates and no identity', () => {
    const r = readPkcs12(shop.opensslExport(alice, reversedChain, ['-nokeys']), PASSWORD);
    assert.equal(r.identities.length, 0);
    assert.equal(r.certificates.length, 3);
  });

  test('inspection without a password shows the outer structure; with one, every bag', () => {
    const data = shop.opensslExport(alice, reversedChain, ['-legacy', '-name', 'alice']);
    const outer = inspectPkcs12(data);
    assert.equal(outer.passwordChecked, false);
    assert.deepEqual(outer.mac, { algorithm: 'sha1', iterations: 2048, saltLength: 8 });
    assert.equal(outer.contents[0]!.type, 'encryptedData');
    assert.equal(outer.contents[0]!.encryption?.algorithm, 'pbeWithSHAAnd40BitRC2-CBC');
    assert.equal(outer.contents[0]!.bags, undefined);
    const key = outer.contents[1]!.bags![0]!;
    assert.equal(key.type, 'pkcs8ShroudedKeyBag');
    assert.equal(key.friendlyName, 'alice');
    assert.equal(key.encryption?.algorithm, 'pbeWithSHAAnd3-KeyTripleDES-CBC');
    assert.equal(key.keyType, undefined);
    const inner = inspectPkcs12(data, PASSWORD);
    assert.equal(inner.passwordChecked, true);
    const certs = inner.contents[0]!.bags!;
    assert.deepEqual(
      certs.map((b) => b.certificate?.subject),
      [nameToString(aliceCert.subject), nameToString(root.subject), nameToString(intermediate.subject)],
    );
    assert.equal(inner.contents[1]!.bags![0]!.keyType, 'rsa');
    assert.throws(() => inspectPkcs12(data, 'nope'), { code: 'PASSWORD_WRONG' });
  });
});

/**
 * Re-encodes in BER as Java and Windows write PKCS#12: indefinite lengths everywhere and OCTET
 * STRINGs (also the [0] IMPLICIT encryptedContent) in constructed segments. With `descend`, the
 * AuthenticatedSafe and SafeContents inside OCTET STRINGs are re-encoded too (which a MAC forbids).
 */
function ber(el: Asn1, descend: boolean): Buffer {
  if (el.constructed) {
    const inner = el.children.map((c) => ber(c, descend));
    return Buffer.concat([Buffer.from([el.tag, 0x80]), ...inner, Buffer.from([0, 0])]);
  }
  if (el.tag !== 0x04 && el.tag !== 0x80) return Buffer.from(el.raw);
  let content: Buffer = Buffer.from(el.value);
  if (descend) {
    try {
      const d = decode(content);
      // SEQUENCE OF (ContentInfo | SafeBag): each a SEQUENCE starting with an OID. Not certificates.
      if (d.is(0x30) && d.children.every((c) => c.is(0x30) && c.children[0]?.is(0x06))) content = ber(d, true);
    } catch {
      // Not DER inside: ciphertext or a key.
    }
  }
  const half = content.length >> 1;
  const segments = [tlv(0x04, content.subarray(0, half)), tlv(0x04, content.subarray(half))];
  return Buffer.concat([Buffer.from([el.tag | 0x20, 0x80]), ...segments, Buffer.from([0, 0])]);
}

test('BER files (indefinite lengths, segmented OCTET STRINGs) read like their DER originals', () => {
  const withMac = shop.opensslExport(alice, reversedChain, ['-legacy']);
  assertAlice(ber(decode(withMac), false));
  const noMac = shop.opensslExport(alice, reversedChain, ['-nomac', '-certpbe', 'AES-128-CBC']);
  const deep = ber(decode(noMac), true);
  assert.ok(deep.length > noMac.length);
  assertAlice(deep);
  assert.throws(() => readPkcs12(deep, 'wrong'), { code: 'PASSWORD_WRONG' });
});

test('RC4 (which Sealpost does not decrypt): inspection lists it, reading refuses it', () => {
  const data = shop.opensslExport(alice, undefined, ['-legacy', '-certpbe', 'PBE-SHA1-RC4-128']);
  for (const inspection of [inspectPkcs12(data), inspectPkcs12(data, PASSWORD)]) {
    assert.deepEqual(inspection.contents[0], {
      type: 'encryptedData',
      encryption: { algorithm: 'pbeWithSHAAnd128BitRC4', iterations: 2048, saltLength: 8, supported: false },
    });
  }
  assert.throws(() => readPkcs12(data, PASSWORD), { code: 'UNSUPPORTED_ALGORITHM', message: /RC4/ });
});

describe('pyca/cryptography and NIST PKITS vectors', () => {
  const dir = join(VECTORS, 'pkcs12');
  test('every pyca PKCS#12 file opens with its password (cryptography, password or none)', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.p12'));
    assert.ok(files.length >= 30);
    for (const f of files) {
      const data = readFileSync(join(dir, f));
      const password =
        f.startsWith('cert-') || f === 'no-cert-key-aes256cbc.p12'
          ? 'cryptography'
          : f.includes('no-pwd') || f === 'no-password.p12'
            ? ''
            : 'password';
      const r = readPkcs12(data, password);
      const keyFree = f.startsWith('no-cert-') && f !== 'no-cert-key-aes256cbc.p12';
      assert.equal(r.identities.length, keyFree || f === 'cert-aes256cbc-no-key.p12' ? 0 : 1, f);
      assert.throws(() => readPkcs12(data, 'wrong'), { code: 'PASSWORD_WRONG' }, f);
    }
  });

  test('pyca: RC2-40 certificates with a 3DES key, AES-256 PBES2, unencrypted bags', () => {
    for (const f of ['cert-rc2-key-3des.p12', 'cert-key-aes256cbc.p12', 'cert-none-key-none.p12']) {
      const id = readPkcs12(readFileSync(join(dir, f)), 'cryptography').identities[0]!;
      assert.ok(id.certificate && keyMatchesCertificate(id.privateKey, id.certificate), f);
    }
    const keyOnly = readPkcs12(readFileSync(join(dir, 'no-cert-key-aes256cbc.p12')), 'cryptography');
    assert.equal(keyOnly.identities[0]!.certificate, undefined);
  });

  test('pyca: friendly names, including non-ASCII ones, on keys and on certificates', () => {
    const one = readPkcs12(readFileSync(join(dir, 'name-unicode-pwd.p12')), 'password');
    assert.equal(one.identities[0]!.friendlyName, '☺');
    assert.equal(one.identities[0]!.chain.length, 2);
    const certsOnly = readPkcs12(readFileSync(join(dir, 'no-cert-name-unicode-pwd.p12')), 'password');
    assert.deepEqual(Object.values(certsOnly.friendlyNames).sort(), ['ï', '☹']);
  });

  test('NIST PKITS (Windows-style: 3DES, SHA-1 MAC, localKeyId and friendlyName), including DSA', () => {
    const pkits = join(VECTORS, 'x509/PKITS_data/pkcs12');
    const files = readdirSync(pkits).filter((f) => f.endsWith('.p12'));
    assert.ok(files.length > 400);
    // A sample keeps the test fast; the DSA files exercise inherited DSA parameters (RFC 3279 §2.3.2).
    const sample = files.filter((f, i) => i % 20 === 0 || f.startsWith('DSA'));
    for (const f of sample) {
      const r = readPkcs12(readFileSync(join(pkits, f)), 'password');
      assert.equal(r.identities.length, 1, f);
      const id = r.identities[0]!;
      assert.ok(id.certificate, f);
      assert.ok(id.friendlyName, f);
      assert.equal(id.localKeyId?.length, 20);
    }
    const good = readPkcs12(readFileSync(join(pkits, 'GoodCACert.p12')), 'password').identities[0]!;
    assert.equal(good.friendlyName, 'Good CA Cert');
    assert.throws(() => readPkcs12(readFileSync(join(pkits, 'GoodCACert.p12')), 'Password'), {
      code: 'PASSWORD_WRONG',
    });
    // The certificate inside is deliberately broken; Sealpost's X.509 parser refuses it on import,
    // inspection shows why.
    const bad = readFileSync(join(pkits, 'BadSignedCACert.p12'));
    assert.throws(() => readPkcs12(bad, 'password'), { code: 'CERT_MALFORMED' });
    const bag = inspectPkcs12(bad, 'password').contents[0]!.bags![0]!;
    assert.equal(bag.type, 'certBag');
    assert.match(bag.certificateError ?? '', /signature has unused bits/);
  });
});

describe('PBMAC1 (RFC 9579)', () => {
  /** Replaces the MAC of a Sealpost file by PBMAC1 (PBKDF2-HMAC-SHA256, HMAC-SHA256), built here with node:crypto. */
  function withPbmac1(data: Uint8Array, password: string, iterations: number, keyLength = 32): Buffer {
    const pfx = decode(data);
    const authSafe = readOctetString(pfx.child(1).child(1).child(0));
    const salt = randomBytes(16);
    const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, keyLength, 'sha256');
    const mac = createHmac('sha256', key).update(authSafe).digest();
    const hmacSha256 = algorithm('1.2.840.113549.2.9', null);
    const kdf = algorithm(
      '1.2.840.113549.1.5.12',
      seq(octets(salt), integer(iterations), integer(keyLength), hmacSha256),
    );
    const pbmac1 = algorithm('1.2.840.113549.1.5.14', seq(kdf, hmacSha256));
    // RFC 9579 §3: MacData's own salt and iterations are ignored; filled with something.
    const macData = seq(seq(pbmac1, octets(mac)), octets(Buffer.from('NOT USED')), integer(1));
    return seq(pfx.child(0).raw, pfx.child(1).raw, macData);
  }

  test('a PBMAC1-protected file opens; a wrong password or a changed MAC fails with PASSWORD_WRONG', () => {
    const built = buildPkcs12({ privateKey: aliceKey, certificate: aliceCert, password: 'pw ☺', iterations: 1000 });
    const data = withPbmac1(built, 'pw ☺', 2048);
    const r = readPkcs12(data, 'pw ☺');
    assert.equal(r.mac?.algorithm, 'PBMAC1 (PBKDF2-HMAC-SHA256, HMAC-SHA256)');
    assert.equal(r.mac?.iterations, 2048);
    assert.equal(r.identities[0]!.certificate?.fingerprintSha256, aliceCert.fingerprintSha256);
    assert.throws(() => readPkcs12(data, 'pw'), { code: 'PASSWORD_WRONG' });
    const tampered = Buffer.from(data);
    tampered[tampered.length - 30]! ^= 1;
    assert.throws(() => readPkcs12(tampered, 'pw ☺'), { code: 'PASSWORD_WRONG' });
  });

  test('PBMAC1 without the PBKDF2 key length is malformed (RFC 9579 §3)', () => {
    const pfx = decode(buildPkcs12({ privateKey: aliceKey, certificate: aliceCert, password: 'x', iterations: 10 }));
    const hmacSha256 = algorithm('1.2.840.113549.2.9', null);
    const kdf = algorithm('1.2.840.113549.1.5.12', seq(octets(Buffer.alloc(16)), integer(10), hmacSha256));
    const pbmac1 = algorithm('1.2.840.113549.1.5.14', seq(kdf, hmacSha256));
    const macData = seq(seq(pbmac1, octets(Buffer.alloc(32))), octets(Buffer.alloc(8)), integer(1));
    assert.throws(() => readPkcs12(seq(pfx.child(0).raw, pfx.child(1).raw, macData), 'x'), {
      code: 'PKCS12_MALFORMED',
      message: /key length/,
    });
  });
});

describe('limits and malformed input', () => {
  const built = buildPkcs12({
    privateKey: aliceKey,
    certificate: aliceCert,
    password: 'x',
    profile: 'compat',
    iterations: 10,
  });
  const pfx = decode(built);

  test('an absurd MAC iteration count is refused at once, with the count in the message', () => {
    const mac = pfx.child(2);
    const data = seq(
      pfx.child(0).raw,
      pfx.child(1).raw,
      seq(mac.child(0).raw, mac.child(1).raw, integer(2_000_000_000)),
    );
    assert.throws(() => readPkcs12(data, 'x'), {
      code: 'PKCS12_MALFORMED',
      message: /refusing 2,000,000,000 iterations \(the limit is 10,000,000\)/,
    });
    // Inspection without a password only reports it.
    assert.equal(inspectPkcs12(data).mac?.iterations, 2_000_000_000);
  });

  test('not PKCS#12, a wrong version, trailing bytes, truncation: PKCS12_MALFORMED', () => {
    assert.throws(() => readPkcs12(Buffer.from('hello'), 'x'), { code: 'PKCS12_MALFORMED' });
    assert.throws(() => readPkcs12(aliceCert.der, 'x'), { code: 'PKCS12_MALFORMED' });
    assert.throws(() => readPkcs12(seq(integer(2), pfx.child(1).raw, pfx.child(2).raw), 'x'), {
      code: 'PKCS12_MALFORMED',
      message: /version 2/,
    });
    assert.throws(() => readPkcs12(Buffer.concat([built, Buffer.from([0])]), 'x'), { code: 'PKCS12_MALFORMED' });
    assert.throws(() => readPkcs12(built.subarray(0, built.length - 1), 'x'), { code: 'PKCS12_MALFORMED' });
    assert.throws(() => readPkcs12(Buffer.alloc(17 * 1024 * 1024, 0x30), 'x'), {
      code: 'PKCS12_MALFORMED',
      message: /larger/,
    });
  });

  test('an unknown MAC digest or cipher is UNSUPPORTED_ALGORITHM', () => {
    const mac = pfx.child(2);
    const md5Mac = seq(seq(algorithm(OID.md5, null), octets(Buffer.alloc(16))), mac.child(1).raw, mac.child(2).raw);
    assert.throws(() => readPkcs12(seq(pfx.child(0).raw, pfx.child(1).raw, md5Mac), 'x'), {
      code: 'UNSUPPORTED_ALGORITHM',
    });
  });
});
