/**
 * PKCS#10 requests: OpenSSL's parse and verify with ours, ours verify with `openssl req -verify`,
 * and a certificate issued from a request takes the key from it and the names from the template.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { bitString, integer, seq, tlv } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { isSealpostError } from '../../src/errors.ts';
import { pemEncode } from '../../src/util/pem.ts';
import { issueCertificate } from '../../src/x509/builder.ts';
import { buildCsr, parseCsr, verifyCsr } from '../../src/x509/csr.ts';
import { nameToString } from '../../src/x509/name.ts';
import { signatureAlgorithmFor } from '../../src/x509/signature.ts';
import { makeIntermediate, makeRoot, STRICT_MAILBOX, workdir } from './ca-support.ts';

const wd = workdir('csr');
after(() => wd.cleanup());

/** `openssl req -new` with a fresh key; returns the PEM request. */
function opensslCsr(name: string, keyArgs: string[], extra: string[] = []): Buffer {
  const key = join(wd.dir, `${name}.key`);
  const out = join(wd.dir, `${name}.csr`);
  let r = wd.openssl(['genpkey', ...keyArgs, '-out', key]);
  assert.equal(r.status, 0, r.out);
  r = wd.openssl([
    'req',
    '-new',
    '-key',
    key,
    '-subj',
    `/CN=${name}/O=Example/emailAddress=${name}@example.org`,
    '-addext',
    `subjectAltName=email:${name}@example.org,email:other@example.net,DNS:host.example.org`,
    ...extra,
    '-out',
    out,
  ]);
  assert.equal(r.status, 0, r.out);
  return readFileSync(out);
}

const rejectsWith = (fn: () => unknown, code: string, message?: RegExp) =>
  assert.throws(fn, (e) => isSealpostError(e) && e.code === code && (!message || message.test(e.message)));

describe('requests made by openssl req -new', () => {
  const kinds: [string, string[], string, number][] = [
    ['rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], 'rsa', 2048],
    ['p256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ec', 256],
    ['p384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'ec', 384],
    ['p521', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'], 'ec', 521],
    ['ed25519', ['-algorithm', 'ED25519'], 'ed25519', 256],
  ];
  for (const [name, args, kind, bits] of kinds) {
    test(`${name}: parses, verifies, reports the requested names`, () => {
      const pem = opensslCsr(name, args);
      const csr = parseCsr(pem);
      assert.equal(csr.verified, true);
      assert.equal(csr.keyKind, kind);
      assert.equal(csr.keyBits, bits);
      assert.equal(nameToString(csr.subject), `emailAddress=${name}@example.org, O=Example, CN=${name}`);
      assert.deepEqual(csr.requestedEmails, [`${name}@example.org`, 'other@example.net']);
      assert.deepEqual(
        csr.requestedExtensions.map((e) => e.oid),
        [OID.subjectAltName],
      );
      // DER in, same result.
      const der = parseCsr(csr.der);
      assert.equal(der.verified, true);
      assert.deepEqual(Buffer.from(der.publicKeyInfo), Buffer.from(csr.publicKeyInfo));
    });
  }

  test('a flipped signature byte fails verification', () => {
    for (const name of ['rsa', 'p256', 'ed25519']) {
      const der = Buffer.from(parseCsr(readFileSync(join(wd.dir, `${name}.csr`))).der);
      der[der.length - 5]! ^= 0x01;
      const csr = parseCsr(der);
      assert.equal(csr.verified, false, name);
      assert.equal(verifyCsr(csr), false);
    }
  });

  test('a changed subject fails verification', () => {
    const der = Buffer.from(parseCsr(readFileSync(join(wd.dir, 'p256.csr'))).der);
    const at = der.indexOf(Buffer.from('Example'));
    der[at] = 0x65; // "example"
    assert.equal(parseCsr(der).verified, false);
  });

  test('SHA-1 signatures are refused', () => {
    const pem = opensslCsr('sha1', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], ['-sha1']);
    rejectsWith(() => parseCsr(pem), 'UNSUPPORTED_ALGORITHM', /legacy/);
  });
});

describe('buildCsr', () => {
  const keys = {
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
    p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
    ed25519: generateKeyPairSync('ed25519').privateKey,
  };
  for (const [name, key] of Object.entries(keys)) {
    for (const pss of name === 'rsa' ? [false, true] : [false]) {
      test(`${name}${pss ? ' PSS' : ''}: openssl req -verify accepts it and shows the request`, () => {
        const der = buildCsr({
          subject: [
            { type: 'C', value: 'DE' },
            { type: 'CN', value: `Built ${name}` },
          ],
          key,
          emails: [`${name}@example.org`],
          pss,
        });
        const path = wd.write(`ours-${name}-${pss}.csr`, pemEncode('CERTIFICATE REQUEST', der));
        const r = wd.openssl(['req', '-verify', '-noout', '-text', '-nameopt', 'RFC2253', '-in', path]);
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /verify OK/);
        assert.match(r.stdout, new RegExp(`Subject: CN=Built ${name},C=DE`));
        assert.match(r.stdout, new RegExp(`email:${name}@example.org`));
        const csr = parseCsr(der);
        assert.equal(csr.verified, true);
        assert.deepEqual(csr.requestedEmails, [`${name}@example.org`]);
      });
    }
  }

  test('without emails: no attributes, still a valid request', () => {
    const der = buildCsr({ subject: [{ type: 'CN', value: 'Plain' }], key: keys.p384 });
    const csr = parseCsr(der);
    assert.deepEqual(csr.attributes, []);
    assert.deepEqual(csr.requestedEmails, []);
    assert.equal(csr.verified, true);
    const r = wd.openssl([
      'req',
      '-verify',
      '-noout',
      '-in',
      wd.write('plain.csr', pemEncode('CERTIFICATE REQUEST', der)),
    ]);
    assert.equal(r.status, 0, r.out);
  });
});

describe('issuing from a request', () => {
  test('the key comes from the CSR, names only from the template', async () => {
    const root = await makeRoot('p256');
    const inter = await makeIntermediate(root);
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const csr = parseCsr(buildCsr({ subject: [{ type: 'CN', value: 'Mallory' }], key, emails: ['ceo@example.org'] }));
    assert.equal(csr.verified, true);
    const cert = await issueCertificate(
      {
        subject: [{ type: 'CN', value: 'alice@example.org' }],
        emails: ['alice@example.org'],
        publicKey: csr.publicKeyInfo,
        notBefore: new Date('2026-01-01T00:00:00Z'),
        notAfter: new Date('2027-01-01T00:00:00Z'),
        keyUsage: ['digitalSignature', 'keyAgreement'],
        extKeyUsage: [OID.emailProtection],
        policies: [STRICT_MAILBOX],
      },
      inter,
    );
    assert.deepEqual(Buffer.from(cert.publicKeyInfo.spki), Buffer.from(csr.publicKeyInfo));
    assert.deepEqual(cert.emailAddresses, ['alice@example.org']);
  });
});

describe('bad requests', () => {
  const key = generateKeyPairSync('ed25519').privateKey;
  const good = buildCsr({ subject: [{ type: 'CN', value: 'x' }], key, emails: ['x@example.org'] });
  const parts = (() => {
    const d = parseCsr(good);
    return { info: Buffer.from(d.info), alg: signatureAlgorithmFor(key, 'sha256', false) };
  })();
  /** A request around a hand-made CertificationRequestInfo, properly signed. */
  const signed = (info: Buffer) => seq(info, parts.alg.algorithm, bitString(parts.alg.sign(info)));
  const spki = Buffer.from(parseCsr(good).publicKeyInfo);

  test('garbage, truncation, trailing bytes and wrong PEM labels are CSR_MALFORMED', () => {
    rejectsWith(() => parseCsr(Buffer.from('hello')), 'CSR_MALFORMED');
    rejectsWith(() => parseCsr(good.subarray(0, good.length - 3)), 'CSR_MALFORMED');
    rejectsWith(() => parseCsr(Buffer.concat([good, Buffer.of(0)])), 'CSR_MALFORMED');
    rejectsWith(() => parseCsr(pemEncode('CERTIFICATE', good)), 'CSR_MALFORMED', /no CERTIFICATE REQUEST/);
    rejectsWith(() => parseCsr(Buffer.alloc(70_000, 0x30)), 'CSR_MALFORMED', /larger than/);
  });

  test('structure is checked strictly', () => {
    const name = seq();
    rejectsWith(() => parseCsr(signed(seq(integer(1), name, spki, tlv(0xa0)))), 'CSR_MALFORMED', /version/);
    rejectsWith(() => parseCsr(signed(seq(integer(0), name, spki))), 'CSR_MALFORMED', /four/);
    rejectsWith(() => parseCsr(signed(seq(integer(0), name, spki, tlv(0x31)))), 'CSR_MALFORMED', /attributes/);
    const dup = seq(Buffer.from('0603550403', 'hex'), tlv(0x31, tlv(0x0c, Buffer.from('a'))));
    rejectsWith(() => parseCsr(signed(seq(integer(0), name, spki, tlv(0xa0, dup, dup)))), 'CSR_MALFORMED', /twice/);
    const empty = seq(Buffer.from('0603550403', 'hex'), tlv(0x31));
    rejectsWith(
      () => parseCsr(signed(seq(integer(0), name, spki, tlv(0xa0, empty)))),
      'CSR_MALFORMED',
      /SET of values/,
    );
    rejectsWith(() => parseCsr(signed(seq(integer(0), name, seq(), tlv(0xa0)))), 'CSR_MALFORMED');
    // The harness itself makes valid requests: the failures above are the structure's.
    assert.equal(parseCsr(signed(parts.info)).verified, true);
  });

  test('an X25519 key cannot sign a request', () => {
    const x = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' });
    rejectsWith(() => parseCsr(signed(seq(integer(0), seq(), x, tlv(0xa0)))), 'KEY_UNSUITABLE', /X25519/);
  });

  test('a signature algorithm that does not fit the key is KEY_UNSUITABLE', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    rejectsWith(() => parseCsr(signed(seq(integer(0), seq(), ec, tlv(0xa0)))), 'KEY_UNSUITABLE');
  });

  test('an EC key on another curve is KEY_UNSUITABLE', () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ type: 'spki', format: 'der' });
    rejectsWith(() => parseCsr(signed(seq(integer(0), seq(), k, tlv(0xa0)))), 'KEY_UNSUITABLE', /secp256k1/);
  });
});
