import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OID } from '../../src/asn1/oids.ts';
import { buildCertificate } from '../../src/x509/builder.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import {
  basicValidator,
  leafPurposeProblems,
  type ValidationInput,
  type ValidationResult,
} from '../../src/x509/path.ts';
import { TEST_TIME, testPki, type UserName } from '../support/pki.ts';

const pki = testPki();
const root = Certificate.from(pki.root.cert);
const intermediate = Certificate.from(pki.intermediate.cert);
const intermediateKey = createPrivateKey(pki.intermediate.key);
const user = (n: UserName) => Certificate.from(pki.user(n).cert);
const work = mkdtempSync(join(tmpdir(), 'sealpost-path-'));
/**
 * TEST_TIME, unless the test PKI's self-signed roots (made with `req -x509 -days`, so valid from the
 * moment they were generated) start later: anchors are time-checked too.
 */
const TIME = new Date(Math.max(TEST_TIME.getTime(), root.notBefore.getTime() + 60_000));

function validate(leaf: Certificate, extra: Partial<ValidationInput> = {}): ValidationResult {
  return basicValidator.validate({
    leaf,
    candidates: [intermediate],
    trustAnchors: [root],
    time: TIME,
    purpose: 'sign',
    ...extra,
  });
}

const codes = (r: ValidationResult) => r.problems.map((p) => p.code);

const NOT_BEFORE = new Date('2025-01-01T00:00:00Z');
const NOT_AFTER = new Date('2030-01-01T00:00:00Z');

function ecKey(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function ca(
  name: string,
  issuer: { certificate?: Certificate; privateKey: KeyObject },
  key = ecKey(),
  pathLen?: number,
) {
  const certificate = buildCertificate(
    {
      commonName: name,
      publicKey: key.publicKey,
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
      ca: true,
      ...(pathLen !== undefined ? { pathLen } : {}),
      keyUsage: ['keyCertSign', 'cRLSign'],
    },
    issuer,
  );
  return { certificate, privateKey: key.privateKey, key };
}

function leafUnder(issuer: { certificate: Certificate; privateKey: KeyObject }, name = 'leaf'): Certificate {
  return buildCertificate(
    {
      commonName: name,
      emails: [`${name}@example.org`],
      publicKey: ecKey().publicKey,
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
      keyUsage: ['digitalSignature'],
      extKeyUsage: [OID.emailProtection],
    },
    issuer,
  );
}

/** A certificate made by `openssl x509 -req` under the test intermediate, with extra options. */
function opensslLeaf(name: string, extensions: string, digest = 'sha256'): Certificate {
  const key = join(work, `${name}.key`);
  const csr = join(work, `${name}.csr`);
  const ext = join(work, `${name}.ext`);
  const out = join(work, `${name}.pem`);
  writeFileSync(ext, `[e]\n${extensions}\n`);
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      pki.intermediate.certPath,
      '-CAkey',
      pki.intermediate.keyPath,
      `-${digest}`,
      '-extfile',
      ext,
      '-extensions',
      'e',
      '-days',
      '3650',
      '-set_serial',
      '7',
      '-out',
      out,
    ],
    { stdio: 'pipe' },
  );
  return Certificate.from(readFileSync(out));
}

/** `openssl x509 -req -days` certificates start when they are made. */
const afterIssue = (c: Certificate) => new Date(Math.max(TIME.getTime(), c.notBefore.getTime() + 60_000));

describe('basicValidator with the OpenSSL test PKI', () => {
  for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'signer', 'legacy'] as const) {
    it(`${name}: valid for signing, chain leaf -> intermediate -> root`, () => {
      const r = validate(user(name));
      assert.deepEqual(r.problems, []);
      assert.equal(r.valid, true);
      assert.deepEqual(
        r.chain.map((c) => c.fingerprintSha256),
        [user(name), intermediate, root].map((c) => c.fingerprintSha256),
      );
    });
  }

  for (const name of ['alice', 'carol', 'frank', 'encrypter'] as const) {
    it(`${name}: valid for encryption`, () => {
      assert.deepEqual(validate(user(name), { purpose: 'encrypt' }).problems, []);
    });
  }

  it('expired leaf', () => {
    const r = validate(user('expired'));
    assert.equal(r.valid, false);
    assert.deepEqual(codes(r), ['EXPIRED']);
    assert.match(r.problems[0]!.message, /expired on 2021-01-01/);
  });

  it('not yet valid at an earlier time (every certificate in the path is checked)', () => {
    const r = validate(user('alice'), { time: new Date('2023-06-01T00:00:00Z') });
    assert.deepEqual(
      r.problems.map((p) => p.subject),
      ['emailAddress=alice@example.org, CN=alice', 'CN=Sealpost Test Intermediate', 'CN=Sealpost Test Root'],
    );
    assert.deepEqual(codes(r), ['NOT_YET_VALID', 'NOT_YET_VALID', 'NOT_YET_VALID']);
  });

  it('untrusted: the rogue chain stops at its own root', () => {
    const rogueRoot = Certificate.from(pki.rogueRoot.cert);
    const r = validate(Certificate.from(pki.rogue.cert), { candidates: [intermediate, rogueRoot] });
    assert.equal(r.valid, false);
    assert.deepEqual(codes(r), ['UNTRUSTED']);
    assert.equal(r.problems[0]!.subject, 'CN=Rogue Root');
    assert.equal(r.chain.length, 2);
  });

  it('untrusted: a missing intermediate is named', () => {
    const r = validate(user('alice'), { candidates: [] });
    assert.deepEqual(codes(r), ['UNTRUSTED']);
    assert.match(r.problems[0]!.message, /Sealpost Test Intermediate/);
  });

  it('a server-authentication certificate cannot sign mail', () => {
    assert.deepEqual(codes(validate(user('server'))), ['EXT_KEY_USAGE']);
  });

  it('a signing-only certificate cannot be encrypted to, an encryption-only one cannot sign', () => {
    assert.deepEqual(codes(validate(user('signer'), { purpose: 'encrypt' })), ['KEY_USAGE']);
    assert.deepEqual(codes(validate(user('encrypter'), { purpose: 'sign' })), ['KEY_USAGE']);
    assert.deepEqual(codes(validate(user('frank'), { purpose: 'sign' })), ['KEY_USAGE']);
    assert.deepEqual(codes(validate(user('erin'), { purpose: 'encrypt' })), ['KEY_USAGE']);
    assert.deepEqual(validate(user('signer'), { purpose: 'any' }).problems, []);
  });

  it('leafPurposeProblems alone', () => {
    assert.deepEqual(
      leafPurposeProblems(user('signer'), 'encrypt').map((p) => p.code),
      ['KEY_USAGE'],
    );
    assert.deepEqual(leafPurposeProblems(user('alice'), 'encrypt'), []);
    assert.deepEqual(
      leafPurposeProblems(user('server'), 'any').map((p) => p.code),
      ['EXT_KEY_USAGE'],
    );
  });

  it('a leaf that is itself a trust anchor is trusted', () => {
    const r = validate(user('alice'), { trustAnchors: [user('alice')], candidates: [] });
    assert.equal(r.valid, true);
    assert.equal(r.chain.length, 1);
  });

  it('an intermediate given as a trust anchor is enough', () => {
    const r = validate(user('bob'), { trustAnchors: [intermediate], candidates: [] });
    assert.equal(r.valid, true);
    assert.equal(r.chain.length, 2);
  });

  it('validating the same chain again (from the signature cache) agrees with the first result', () => {
    const dave = user('dave');
    const first = validate(dave);
    for (let i = 0; i < 3; i++) assert.deepEqual(validate(dave), first);
    assert.deepEqual(validate(dave, { time: new Date('2023-06-01T00:00:00Z') }).valid, false);
  });

  it('a SHA-1 signed certificate is refused unless legacy algorithms are allowed', () => {
    const old = opensslLeaf(
      'sha1-leaf',
      'keyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection',
      'sha1',
    );
    const time = afterIssue(old);
    assert.deepEqual(codes(validate(old, { time })), ['WEAK_ALGORITHM']);
    assert.deepEqual(validate(old, { time, allowLegacy: true }).problems, []);
  });

  it('an unknown critical extension is refused', () => {
    const odd = opensslLeaf('critical-ext', 'keyUsage=critical,digitalSignature\n1.2.3.4.5=critical,ASN1:NULL');
    assert.deepEqual(codes(validate(odd, { time: afterIssue(odd) })), ['UNKNOWN_CRITICAL_EXTENSION']);
  });
});

describe('basicValidator with built hierarchies', () => {
  const anchorKey = ecKey();
  const anchor = ca('Anchor', { privateKey: anchorKey.privateKey }, anchorKey);

  it('pathLen: a sub-CA below the pathlen:0 intermediate is refused', () => {
    const sub = ca('Sub CA', { certificate: intermediate, privateKey: intermediateKey });
    const leaf = leafUnder(sub);
    const r = validate(leaf, { candidates: [sub.certificate, intermediate] });
    assert.deepEqual(codes(r), ['PATH_LENGTH']);
    assert.equal(r.problems[0]!.subject, 'CN=Sealpost Test Intermediate');
  });

  it('a leaf issued by a non-CA certificate', () => {
    const k = ecKey();
    const notCa = {
      certificate: buildCertificate(
        {
          commonName: 'Not a CA',
          publicKey: k.publicKey,
          notBefore: NOT_BEFORE,
          notAfter: NOT_AFTER,
          keyUsage: ['digitalSignature', 'keyCertSign'],
        },
        anchor,
      ),
      privateKey: k.privateKey,
    };
    const r = validate(leafUnder(notCa), { candidates: [notCa.certificate], trustAnchors: [anchor.certificate] });
    assert.deepEqual(codes(r), ['NOT_CA']);
  });

  it('a CA without keyCertSign', () => {
    const k = ecKey();
    const weak = {
      certificate: buildCertificate(
        {
          commonName: 'CRL-only CA',
          publicKey: k.publicKey,
          notBefore: NOT_BEFORE,
          notAfter: NOT_AFTER,
          ca: true,
          keyUsage: ['cRLSign'],
        },
        anchor,
      ),
      privateKey: k.privateKey,
    };
    const r = validate(leafUnder(weak), { candidates: [weak.certificate], trustAnchors: [anchor.certificate] });
    assert.deepEqual(codes(r), ['KEY_USAGE']);
  });

  it('a certificate whose issuer name matches but whose signature is by another key', () => {
    const forger = ecKey();
    const fake = leafUnder({ certificate: anchor.certificate, privateKey: forger.privateKey });
    const r = validate(fake, { candidates: [], trustAnchors: [anchor.certificate] });
    assert.deepEqual(codes(r), ['BAD_SIGNATURE']);
  });

  it('tries several candidates with the same name and picks the one that verifies', () => {
    // Two CAs named alike: the first listed did not issue the leaf.
    const other = ca('Twin CA', anchor);
    const real = ca('Twin CA', anchor);
    const leaf = buildCertificate(
      {
        commonName: 'twin-leaf',
        publicKey: ecKey().publicKey,
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
        keyUsage: ['digitalSignature'],
      },
      // Without an AKI match to rule the twin out, the builder sets the AKI from the real CA's SKI.
      real,
    );
    const r = validate(leaf, { candidates: [other.certificate, real.certificate], trustAnchors: [anchor.certificate] });
    assert.equal(r.valid, true, JSON.stringify(r.problems));
    assert.equal(r.chain[1]!.fingerprintSha256, real.certificate.fingerprintSha256);
  });

  it('stops at loops (two CAs that issued each other) without an anchor', () => {
    const aKey = ecKey();
    const bKey = ecKey();
    const aBySelf = ca('Loop A', { privateKey: aKey.privateKey }, aKey);
    const bByA = ca('Loop B', aBySelf, bKey);
    const aByB = ca('Loop A', { certificate: bByA.certificate, privateKey: bKey.privateKey }, aKey);
    const leaf = leafUnder({ certificate: aByB.certificate, privateKey: aKey.privateKey });
    const r = validate(leaf, { candidates: [aByB.certificate, bByA.certificate], trustAnchors: [root] });
    assert.deepEqual(codes(r), ['UNTRUSTED']);
    assert.ok(r.chain.length <= 3);
  });

  it('stops a path longer than 8 certificates', () => {
    let issuer = anchor as { certificate: Certificate; privateKey: KeyObject };
    const chain: Certificate[] = [];
    for (let i = 0; i < 9; i++) {
      issuer = ca(`Level ${i}`, issuer);
      chain.push(issuer.certificate);
    }
    const r = validate(leafUnder(issuer), { candidates: chain, trustAnchors: [anchor.certificate] });
    assert.equal(r.valid, false);
    assert.deepEqual(codes(r), ['UNTRUSTED']);
    assert.match(r.problems[0]!.message, /longer than 8/);
    assert.equal(r.chain.length, 8);
  });
});

describe('basicValidator with the RFC 9216 LAMPS certificates', () => {
  const dir = new URL('../../../../../shared/vectors/rfc9216/certs-wbond-certvalidator/', import.meta.url);
  const load = (f: string) => Certificate.from(readFileSync(new URL(f, dir)));
  const rsaCa = load('Sample_LAMPS_RSA_Certification_Authority.selfsigned.pem');
  const edCa = load('Sample_LAMPS_Ed25519_Certification_Authority.selfsigned.pem');
  const edCross = load('Sample_LAMPS_Ed25519_Certification_Authority.crosssigned.pem');
  const time = new Date('2030-01-01T00:00:00Z');

  it('alice (RSA) under the RSA CA, carlos (Ed25519) under the Ed25519 CA', () => {
    const alice = load('alice@smime.example.sig.pem');
    assert.deepEqual(
      basicValidator.validate({ leaf: alice, candidates: [], trustAnchors: [rsaCa], time, purpose: 'sign' }).problems,
      [],
    );
    const carlos = load('carlos@smime.example.sig.pem');
    assert.deepEqual(
      basicValidator.validate({ leaf: carlos, candidates: [], trustAnchors: [edCa], time, purpose: 'sign' }).problems,
      [],
    );
    assert.deepEqual(
      codes(
        basicValidator.validate({
          leaf: load('carlos@smime.example.enc.pem'),
          candidates: [],
          trustAnchors: [edCa],
          time,
          purpose: 'sign',
        }),
      ),
      ['KEY_USAGE'],
    );
  });

  it('carlos through the cross-signed Ed25519 CA to the RSA anchor', () => {
    const carlos = load('carlos@smime.example.sig.pem');
    const r = basicValidator.validate({
      leaf: carlos,
      candidates: [edCa, edCross],
      trustAnchors: [rsaCa],
      time,
      purpose: 'sign',
    });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.chain.map((c) => c.fingerprintSha256),
      [carlos, edCross, rsaCa].map((c) => c.fingerprintSha256),
    );
  });
});
