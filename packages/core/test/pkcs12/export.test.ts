import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { generatedPasswordBits, generatePkcs12Password } from '../../src/pkcs12/password.ts';
import { buildPkcs12, inspectPkcs12, readPkcs12 } from '../../src/pkcs12/pfx.ts';
import { keyMatchesCertificate } from '../../src/util/keys.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { Gpgsm } from '../support/gpgsm.ts';
import { testPki } from '../support/pki.ts';
import { openssl, P12Workshop } from './support.ts';

const pki = testPki();
const alice = pki.user('alice');
const aliceCert = Certificate.from(alice.cert);
const aliceKey = createPrivateKey(alice.key);
const chain = [Certificate.from(pki.intermediate.cert), Certificate.from(pki.root.cert)];
const shop = new P12Workshop();
after(() => shop.close());

const PASSWORD = 'Zürich ☺ pw';
const aliceSha1 = createHash('sha1').update(aliceCert.der).digest('hex').toUpperCase();

/** `openssl pkcs12 -info` of a Sealpost file: the structure lines and the PEM output. */
function opensslRead(data: Uint8Array, extra: string[]): string {
  const pw = shop.file(Buffer.from(PASSWORD));
  const r = openssl(['pkcs12', '-info', '-in', shop.file(data), '-passin', `file:${pw}`, ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return `${r.stderr}${r.stdout}`;
}

describe('OpenSSL 3 reads what Sealpost writes', () => {
  test('modern: AES-256-CBC with PBKDF2-HMAC-SHA256 for key and certificates, SHA-256 MAC', () => {
    const data = buildPkcs12({ privateKey: aliceKey, certificate: aliceCert, chain, password: PASSWORD });
    const out = opensslRead(data, ['-noenc']);
    assert.match(out, /MAC: sha256, Iteration 100000/);
    assert.match(out, /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256/);
    assert.match(out, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256/);
    assert.match(out, /friendlyName: alice@example\.org/);
    assert.equal(out.match(/localKeyID: ([0-9A-F ]+)/g)?.length, 2);
    assert.equal(out.match(/-----BEGIN CERTIFICATE-----/g)?.length, 3);
    // The key OpenSSL extracts is alice's.
    const pem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(out)?.[0];
    assert.ok(pem);
    assert.ok(keyMatchesCertificate(createPrivateKey(pem), aliceCert));
    const certsOnly = opensslRead(data, ['-nokeys']);
    assert.doesNotMatch(certsOnly, /PRIVATE KEY/);
  });

  test('compat: pbeWithSHAAnd3-KeyTripleDES-CBC for key and certificates, SHA-1 MAC (openssl -legacy)', () => {
    const data = buildPkcs12({
      privateKey: aliceKey,
      certificate: aliceCert,
      chain,
      password: PASSWORD,
      profile: 'compat',
    });
    const out = opensslRead(data, ['-legacy', '-noenc']);
    assert.match(out, /MAC: sha1, Iteration 2048/);
    assert.match(out, /PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/);
    assert.match(out, /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/);
    assert.equal(out.match(/-----BEGIN CERTIFICATE-----/g)?.length, 3);
    assert.match(out, /-----BEGIN PRIVATE KEY-----/);
  });

  test('EC and Ed25519 identities, a custom friendly name, and no chain', () => {
    for (const who of [pki.user('carol'), pki.user('erin')]) {
      const data = buildPkcs12({
        privateKey: createPrivateKey(who.key),
        certificate: Certificate.from(who.cert),
        password: PASSWORD,
        friendlyName: `${who.name} (S/MIME)`,
        iterations: 2048,
      });
      const out = opensslRead(data, ['-noenc']);
      assert.ok(out.includes(`friendlyName: ${who.name} (S/MIME)`));
      assert.equal(out.match(/-----BEGIN CERTIFICATE-----/g)?.length, 1);
    }
  });
});

describe('Sealpost reads what it writes', () => {
  for (const profile of ['modern', 'compat'] as const) {
    test(`${profile}: identity, chain order, friendly name and localKeyId survive`, () => {
      const data = buildPkcs12({
        privateKey: aliceKey,
        certificate: aliceCert,
        chain,
        password: PASSWORD,
        profile,
        iterations: 1000,
      });
      const r = readPkcs12(data, PASSWORD);
      const id = r.identities[0]!;
      assert.equal(id.certificate?.fingerprintSha256, aliceCert.fingerprintSha256);
      assert.deepEqual(
        id.chain.map((c) => c.fingerprintSha256),
        chain.map((c) => c.fingerprintSha256),
      );
      assert.equal(id.friendlyName, 'alice@example.org');
      assert.equal(id.localKeyId?.length, 20);
      assert.deepEqual(
        createPublicKey(id.privateKey).export({ format: 'jwk' }),
        createPublicKey(aliceKey).export({ format: 'jwk' }),
      );
      assert.equal(r.mac?.algorithm, profile === 'modern' ? 'sha256' : 'sha1');
      assert.throws(() => readPkcs12(data, 'Zurich ☺ pw'), { code: 'PASSWORD_WRONG' });
      assert.equal(inspectPkcs12(data).contents.length, 2);
    });
  }

  test('a key that is not the certificate’s is refused; so are bad options', () => {
    const bob = createPrivateKey(pki.user('bob').key);
    assert.throws(() => buildPkcs12({ privateKey: bob, certificate: aliceCert, password: 'x' }), {
      code: 'KEY_MISMATCH',
    });
    assert.throws(
      () => buildPkcs12({ privateKey: aliceKey, certificate: aliceCert, password: 'x', profile: 'weak' as 'modern' }),
      { code: 'INVALID_ARGUMENT' },
    );
    assert.throws(() => buildPkcs12({ privateKey: aliceKey, certificate: aliceCert, password: 'x', iterations: 0 }), {
      code: 'INVALID_ARGUMENT',
    });
  });
});

test('generated passwords: 20 unambiguous characters, at least 112 bits, never repeated', () => {
  assert.ok(generatedPasswordBits() >= 112);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const p = generatePkcs12Password();
    assert.match(p, /^[A-HJ-NP-Za-km-np-z2-9]{20}$/);
    seen.add(p);
  }
  assert.equal(seen.size, 200);
});

test('gpgsm 2.2 imports a compat file with a generated password, key included', async () => {
  const gpgsm = await Gpgsm.create({ trust: [pki.root.certPath], certs: [pki.intermediate.certPath] });
  try {
    const password = generatePkcs12Password();
    const data = buildPkcs12({ privateKey: aliceKey, certificate: aliceCert, chain, password, profile: 'compat' });
    const path = shop.file(data);
    // Loopback pinentry with the passphrase on standard input (the agent allows loopback in the harness home).
    const r = gpgsm.run(
      ['--pinentry-mode', 'loopback', '--passphrase-fd', '0', '--import', path],
      Buffer.from(password),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /secret keys imported: 1/);
    const listing = gpgsm.run(['--with-colons', '--list-secret-keys']);
    assert.equal(listing.status, 0, listing.stderr);
    // A secret-key listing names the certificate by its SHA-1 fingerprint (colon field 10 of "fpr").
    assert.match(listing.stdout.toString(), new RegExp(`^fpr:(?:[^:]*:){8}${aliceSha1}:`, 'm'));
  } finally {
    gpgsm.close();
  }
});

test('what gpgsm 2.2 exports (RC2-40 certificates, 3DES key, SHA-1 MAC) imports, key and certificate paired', async () => {
  const gpgsm = await Gpgsm.create({
    trust: [pki.root.certPath],
    certs: [pki.intermediate.certPath],
    identities: [alice],
  });
  try {
    const { p12, passphrase } = gpgsm.exportP12(alice.email);
    const inspection = inspectPkcs12(p12);
    assert.equal(inspection.mac?.algorithm, 'sha1');
    assert.equal(inspection.contents[0]?.type, 'encryptedData');
    const contents = readPkcs12(p12, passphrase);
    assert.equal(contents.identities.length, 1);
    const [id] = contents.identities;
    assert.equal(id!.certificate?.fingerprintSha256, aliceCert.fingerprintSha256);
    assert.ok(keyMatchesCertificate(id!.privateKey, aliceCert));
  } finally {
    gpgsm.close();
  }
});
