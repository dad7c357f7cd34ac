import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { domainToASCII, pathToFileURL } from 'node:url';
import { OID } from '../../src/asn1/oids.ts';
import { SealpostError } from '../../src/errors.ts';
import type { RevocationChecker, RevocationMode } from '../../src/revocation/types.ts';
import { buildCertificate } from '../../src/x509/builder.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import { nameAttribute } from '../../src/x509/name.ts';
import {
  basicValidator,
  leafPurposeProblems,
  mailboxesMatch,
  pathValidator,
  type ValidationInput,
  type ValidationResult,
} from '../../src/x509/path.ts';
import { TEST_TIME, testPki, type UserName } from '../support/pki.ts';
import { vectorPath } from '../support/vectors.ts';

const pki = testPki();
const root = Certificate.from(pki.root.cert);
const intermediate = Certificate.from(pki.intermediate.cert);
const intermediateKey = createPrivateKey(pki.intermediate.key);
const user = (n: UserName) => Certificate.from(pki.user(n).cert);
const work = mkdtempSync(join(tmpdir(), 'sealpost-path-'));
after(() => rmSync(work, { recursive: true, force: true }));
/**
 * TEST_TIME, unless the test PKI's self-signed roots (made with `req -x509 -days`, so valid from the
 * moment they were generated) start later: anchors are time-checked too.
 */
const TIME = new Date(Math.max(TEST_TIME.getTime(), root.notBefore.getTime() + 60_000));

function validate(leaf: Certificate, extra: Partial<ValidationInput> = {}): ValidationResult {
  return pathValidator.validate({
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

interface OpensslIssuer {
  certPath: string;
  keyPath: string;
}

/**
 * A certificate made by `openssl x509 -req` with an EC key: `extensions` is the body of its extension
 * section, `sections` more configuration sections it refers to.
 */
function opensslCert(
  name: string,
  subj: string,
  issuer: OpensslIssuer,
  extensions: string,
  opts: { digest?: string; sections?: string } = {},
): OpensslIssuer & { cert: Certificate } {
  const keyPath = join(work, `${name}.key`);
  const csr = join(work, `${name}.csr`);
  const ext = join(work, `${name}.ext`);
  const certPath = join(work, `${name}.pem`);
  writeFileSync(ext, `[e]\n${extensions}\n${opts.sections ?? ''}\n`);
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
  execFileSync('openssl', ['req', '-new', '-key', keyPath, '-subj', subj, '-out', csr]);
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      issuer.certPath,
      '-CAkey',
      issuer.keyPath,
      `-${opts.digest ?? 'sha256'}`,
      '-extfile',
      ext,
      '-extensions',
      'e',
      '-days',
      '3650',
      '-set_serial',
      '7',
      '-out',
      certPath,
    ],
    { stdio: 'pipe' },
  );
  return { cert: Certificate.from(readFileSync(certPath)), certPath, keyPath };
}

/** A leaf made by OpenSSL under the test intermediate. */
function opensslLeaf(name: string, extensions: string, digest = 'sha256'): Certificate {
  return opensslCert(name, `/CN=${name}`, pki.intermediate, extensions, { digest }).cert;
}

/** `openssl x509 -req -days` certificates start when they are made. */
const afterIssue = (c: Certificate) => new Date(Math.max(TIME.getTime(), c.notBefore.getTime() + 60_000));

describe('pathValidator with the OpenSSL test PKI', () => {
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

describe('pathValidator with built hierarchies', () => {
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

describe('pathValidator with the RFC 9216 LAMPS certificates', () => {
  const dir = pathToFileURL(`${vectorPath('rfc9216/certs-wbond-certvalidator')}/`);
  const load = (f: string) => Certificate.from(readFileSync(new URL(f, dir)));
  const rsaCa = load('Sample_LAMPS_RSA_Certification_Authority.selfsigned.pem');
  const edCa = load('Sample_LAMPS_Ed25519_Certification_Authority.selfsigned.pem');
  const edCross = load('Sample_LAMPS_Ed25519_Certification_Authority.crosssigned.pem');
  const time = new Date('2030-01-01T00:00:00Z');

  it('alice (RSA) under the RSA CA, carlos (Ed25519) under the Ed25519 CA', () => {
    const alice = load('alice@smime.example.sig.pem');
    assert.deepEqual(
      pathValidator.validate({ leaf: alice, candidates: [], trustAnchors: [rsaCa], time, purpose: 'sign' }).problems,
      [],
    );
    const carlos = load('carlos@smime.example.sig.pem');
    assert.deepEqual(
      pathValidator.validate({ leaf: carlos, candidates: [], trustAnchors: [edCa], time, purpose: 'sign' }).problems,
      [],
    );
    assert.deepEqual(
      codes(
        pathValidator.validate({
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
    const r = pathValidator.validate({
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

describe('pathValidator: RFC 5280 checks on OpenSSL-made certificates', () => {
  const mk = (name: string, subj: string, issuer: OpensslIssuer, extensions: string, sections?: string) =>
    opensslCert(name, subj, issuer, extensions, sections === undefined ? {} : { sections });
  const CA =
    'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid';
  const LEAF =
    'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection';
  const idnDomain = domainToASCII('例子.广告');

  const ncCa = mk(
    'nc-ca',
    '/CN=Constrained CA',
    pki.root,
    `${CA}\nnameConstraints=critical,permitted;email:example.org,permitted;email:${idnDomain},permitted;DNS:example.org,permitted;IP:192.168.0.0/255.255.0.0,permitted;dirName:dn,excluded;email:bad@example.org`,
    '[dn]\nO=Sealpost',
  );
  const check = (leaf: Certificate, extra: Partial<ValidationInput> = {}) =>
    pathValidator.validate({
      leaf,
      candidates: [ncCa.cert],
      trustAnchors: [root],
      time: afterIssue(leaf),
      purpose: 'any',
      ...extra,
    });
  const ncLeaf = (name: string, subj: string, san?: string) =>
    mk(name, subj, ncCa, `${LEAF}${san ? `\nsubjectAltName=${san}` : ''}`).cert;
  const ncMessages = (r: ValidationResult) =>
    r.problems.filter((p) => p.code === 'NAME_CONSTRAINTS').map((p) => p.message);

  it('names inside every permitted subtree pass', () => {
    const leaf = ncLeaf('nc-ok', '/O=Sealpost/CN=ok', 'email:ok@example.org,DNS:mail.example.org,IP:192.168.7.5');
    const r = check(leaf);
    assert.deepEqual(r.problems, []);
    assert.equal(r.valid, true);
  });

  it('a mailbox, a DNS name and an address outside the permitted subtrees are each named', () => {
    const leaf = ncLeaf('nc-out', '/O=Sealpost/CN=out', 'email:x@evil.test,DNS:notexample.org,IP:10.0.0.1');
    const messages = ncMessages(check(leaf));
    assert.equal(messages.length, 3);
    assert.match(messages[0]!, /rfc822Name "x@evil\.test" is outside the subtrees that "CN=Constrained CA" permits/);
    assert.match(messages[1]!, /dNSName "notexample\.org"/);
    assert.match(messages[2]!, /iPAddress 10\.0\.0\.1/);
    assert.equal(check(leaf).valid, false);
  });

  it('an excluded mailbox inside a permitted domain', () => {
    const messages = ncMessages(check(ncLeaf('nc-excl', '/O=Sealpost/CN=bad', 'email:bad@example.org')));
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, /rfc822Name "bad@example\.org" is in a subtree that "CN=Constrained CA" excludes/);
  });

  it('the subject DN must lie under a permitted directoryName', () => {
    const messages = ncMessages(check(ncLeaf('nc-dn', '/O=Other/CN=x', 'email:x@example.org')));
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, /subject "CN=x, O=Other" is outside/);
  });

  it('without a subjectAltName, the subject emailAddress is checked as an rfc822Name (RFC 5280 §4.2.1.10)', () => {
    const messages = ncMessages(check(ncLeaf('nc-legacy', '/O=Sealpost/CN=y/emailAddress=y@evil.test')));
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, /subject emailAddress "y@evil\.test"/);
    // With a subjectAltName, the subject attribute is not a constrained mailbox of its own.
    const withSan = ncLeaf('nc-legacy-san', '/O=Sealpost/CN=y/emailAddress=y@evil.test', 'email:y@example.org');
    assert.deepEqual(ncMessages(check(withSan)), []);
  });

  const utf8Leaf = (name: string, mailbox: string, issuer = ncCa) =>
    mk(
      name,
      '/O=Sealpost/CN=utf8',
      issuer,
      `${LEAF}\nsubjectAltName=@alt`,
      `[alt]\notherName.0=1.3.6.1.5.5.7.8.9;FORMAT:UTF8,UTF8:${mailbox}`,
    ).cert;

  it('an SmtpUTF8Mailbox is held to rfc822Name constraints, U-labels against A-labels (RFC 8398 §6)', () => {
    assert.deepEqual(check(utf8Leaf('nc-utf8', '用户@例子.广告')).problems, []);
    const messages = ncMessages(check(utf8Leaf('nc-utf8-out', '用户@例子.中国')));
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, /SmtpUTF8Mailbox "用户@例子\.中国" is outside/);
  });

  it('a malformed nameConstraints extension is reported, not thrown', () => {
    const bad = mk('nc-malformed', '/CN=Malformed CA', pki.root, `${CA}\n2.5.29.30=critical,DER:30:03:80:01:00`);
    const leaf = mk('nc-malformed-leaf', '/CN=z', bad, LEAF).cert;
    const r = pathValidator.validate({
      leaf,
      candidates: [bad.cert],
      trustAnchors: [root],
      time: afterIssue(leaf),
      purpose: 'any',
    });
    assert.deepEqual(codes(r), ['MALFORMED']);
    assert.match(r.problems[0]!.message, /"CN=Malformed CA" has a malformed nameConstraints/);
  });

  describe('certificate policies', () => {
    const policyCa = mk(
      'policy-ca',
      '/CN=Policy CA',
      pki.root,
      `${CA}\ncertificatePolicies=1.2.3.4,1.2.3.5\npolicyConstraints=requireExplicitPolicy:0`,
    );
    const policyLeaf = (name: string, policies?: string, issuer = policyCa) =>
      mk(name, `/CN=${name}`, issuer, `${LEAF}${policies ? `\ncertificatePolicies=${policies}` : ''}`).cert;
    const run = (leaf: Certificate, issuer: Certificate, extra: Partial<ValidationInput> = {}) =>
      pathValidator.validate({
        leaf,
        candidates: [issuer],
        trustAnchors: [root],
        time: afterIssue(leaf),
        purpose: 'any',
        ...extra,
      });

    it('a leaf under a policy its CA asserts is valid, with that policy reported', () => {
      const r = run(policyLeaf('pol-ok', '1.2.3.4'), policyCa.cert);
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.policies, ['1.2.3.4']);
    });

    it('requireExplicitPolicy: a leaf with another policy, or none, is refused and told why', () => {
      const other = run(policyLeaf('pol-other', '1.2.3.9'), policyCa.cert);
      assert.deepEqual(codes(other), ['POLICY']);
      assert.match(other.problems[0]!.message, /none of the policies of "CN=pol-other" \(1\.2\.3\.9\)/);
      assert.match(other.problems[0]!.message, /the CA "CN=Policy CA" requires an explicit policy/);
      const none = run(policyLeaf('pol-none'), policyCa.cert);
      assert.deepEqual(codes(none), ['POLICY']);
      assert.match(none.problems[0]!.message, /"CN=pol-none" has no usable certificatePolicies/);
    });

    it('user-initial-policy-set: a path valid only for other policies is refused when a policy is required', () => {
      const leaf = policyLeaf('pol-set', '1.2.3.4');
      const r = run(leaf, policyCa.cert, { initialPolicySet: ['1.2.3.5'] });
      assert.deepEqual(codes(r), ['POLICY']);
      assert.match(r.problems[0]!.message, /among the acceptable ones \(1\.2\.3\.5\)/);
      assert.deepEqual(run(leaf, policyCa.cert, { initialPolicySet: ['1.2.3.4', '1.2.3.5'] }).policies, ['1.2.3.4']);
    });

    it('initial-explicit-policy over a path without policies', () => {
      assert.deepEqual(validate(user('alice')).policies, []);
      const r = validate(user('alice'), { initialExplicitPolicy: true });
      assert.deepEqual(codes(r), ['POLICY']);
      assert.match(r.problems[0]!.message, /your settings require an explicit policy/);
    });

    it('policyMappings: the leaf policy maps back to the issuer-domain policy; inhibiting mapping refuses it', () => {
      const mapCa = mk(
        'map-ca',
        '/CN=Mapping CA',
        pki.root,
        `${CA}\ncertificatePolicies=1.2.3.4\npolicyMappings=1.2.3.4:1.2.3.40\npolicyConstraints=requireExplicitPolicy:0`,
      );
      const leaf = policyLeaf('map-leaf', '1.2.3.40', mapCa);
      const r = run(leaf, mapCa.cert);
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.policies, ['1.2.3.4']);
      assert.deepEqual(codes(run(leaf, mapCa.cert, { initialPolicyMappingInhibit: true })), ['POLICY']);
    });

    it('inhibitAnyPolicy: anyPolicy in the leaf no longer counts, a named policy still does', () => {
      const anyCa = mk(
        'any-ca',
        '/CN=Any CA',
        pki.root,
        `${CA}\ncertificatePolicies=2.5.29.32.0\ninhibitAnyPolicy=0\npolicyConstraints=requireExplicitPolicy:0`,
      );
      assert.deepEqual(codes(run(policyLeaf('any-leaf', '2.5.29.32.0', anyCa), anyCa.cert)), ['POLICY']);
      assert.deepEqual(run(policyLeaf('any-named', '1.2.3.4', anyCa), anyCa.cert).policies, ['1.2.3.4']);
    });
  });

  it('anyExtendedKeyUsage is accepted only when asked for', () => {
    const leaf = opensslLeaf('any-eku', 'keyUsage=critical,digitalSignature\nextendedKeyUsage=anyExtendedKeyUsage');
    const time = afterIssue(leaf);
    const r = validate(leaf, { time });
    assert.deepEqual(codes(r), ['EXT_KEY_USAGE']);
    assert.match(r.problems[0]!.message, /accepts only when told to/);
    assert.deepEqual(validate(leaf, { time, allowAnyExtendedKeyUsage: true }).problems, []);
  });

  describe('the mailbox check (RFC 8550 §3, RFC 8398 §3)', () => {
    it('matches a subjectAltName rfc822Name with the domain in any case, the local part exactly', () => {
      assert.equal(validate(user('alice'), { email: 'alice@EXAMPLE.org' }).valid, true);
      const r = validate(user('alice'), { email: 'Alice@example.org' });
      assert.deepEqual(codes(r), ['EMAIL_MISMATCH']);
      assert.match(r.problems[0]!.message, /not issued to Alice@example\.org: it is issued to "alice@example\.org"/);
      assert.deepEqual(codes(validate(user('alice'), { email: 'bob@example.org' })), ['EMAIL_MISMATCH']);
    });

    it('matches the legacy subject emailAddress of a certificate without subjectAltName', () => {
      assert.deepEqual(validate(user('legacy'), { email: 'legacy@example.org' }).problems, []);
    });

    it('matches an SmtpUTF8Mailbox with U-labels or A-labels', () => {
      const leaf = utf8Leaf('mailbox-utf8', '用户@例子.广告');
      assert.deepEqual(check(leaf, { email: '用户@例子.广告' }).problems, []);
      assert.deepEqual(check(leaf, { email: `用户@${idnDomain}` }).problems, []);
      assert.deepEqual(codes(check(leaf, { email: '用戶@例子.广告' })), ['EMAIL_MISMATCH']);
    });

    it('mailboxesMatch', () => {
      assert.equal(mailboxesMatch('a@Example.ORG', 'a@example.org'), true);
      assert.equal(mailboxesMatch('A@example.org', 'a@example.org'), false);
      assert.equal(mailboxesMatch('x@例子.广告', `x@${idnDomain.toUpperCase()}`), true);
      assert.equal(mailboxesMatch('no-at-sign', 'no-at-sign'), false);
      assert.equal(mailboxesMatch('@example.org', '@example.org'), false);
    });
  });
});

describe('pathValidator: revocation', () => {
  const revokedAt = new Date('2026-01-02T03:04:05Z');
  const calls: string[] = [];
  const cn = (c: Certificate) => nameAttribute(c.subject, OID.commonName)[0];
  const checker =
    (status: 'good' | 'revoked' | 'unknown'): RevocationChecker =>
    (cert, issuer) => {
      calls.push(`${cn(cert)} <- ${cn(issuer)}`);
      return status === 'revoked'
        ? { status, source: 'crl', revokedAt, reason: 'keyCompromise', detail: 'Listed on the CRL.' }
        : { status, detail: status === 'good' ? 'Not listed.' : 'No CRL covers it.' };
    };
  const run = (mode: RevocationMode, status: 'good' | 'revoked' | 'unknown' | RevocationChecker) => {
    calls.length = 0;
    return validate(user('alice'), {
      revocation: { mode, check: typeof status === 'function' ? status : checker(status) },
    });
  };

  it('checks every certificate but the anchor, each with the issuer the path chose', () => {
    assert.deepEqual(run('hard-fail', 'good').problems, []);
    assert.deepEqual(calls, [
      'alice <- Sealpost Test Intermediate',
      'Sealpost Test Intermediate <- Sealpost Test Root',
    ]);
  });

  it('a revoked certificate is refused with the date and the reason', () => {
    const r = run('soft-fail', 'revoked');
    assert.equal(r.valid, false);
    assert.deepEqual(codes(r), ['REVOKED', 'REVOKED']);
    assert.match(
      r.problems[0]!.message,
      /"emailAddress=alice@example\.org, CN=alice" was revoked on 2026-01-02T03:04:05\.000Z \(reason: keyCompromise\); do not trust it\. Listed on the CRL\./,
    );
  });

  it('unknown status: a problem under hard-fail, a warning under soft-fail, not asked when off', () => {
    const hard = run('hard-fail', 'unknown');
    assert.equal(hard.valid, false);
    assert.deepEqual(codes(hard), ['REVOCATION_UNKNOWN', 'REVOCATION_UNKNOWN']);
    assert.match(
      hard.problems[0]!.message,
      /status of the certificate of "emailAddress=alice@example\.org, CN=alice" is unknown\. No CRL covers it\./,
    );
    const soft = run('soft-fail', 'unknown');
    assert.equal(soft.valid, true);
    assert.deepEqual(soft.problems, []);
    assert.deepEqual(
      soft.warnings.map((w) => w.code),
      ['REVOCATION_UNKNOWN', 'REVOCATION_UNKNOWN'],
    );
    const off = run('off', 'revoked');
    assert.equal(off.valid, true);
    assert.deepEqual(calls, []);
  });

  it('a checker that throws a SealpostError counts as unknown', () => {
    const r = run('hard-fail', () => {
      throw new SealpostError('CRL_MALFORMED', 'the CRL is truncated');
    });
    assert.deepEqual(codes(r), ['REVOCATION_UNKNOWN', 'REVOCATION_UNKNOWN']);
    assert.match(r.problems[0]!.message, /the CRL is truncated/);
  });
});

describe('basicValidator', () => {
  it('is the RFC 5280 validator under its old name', () => {
    assert.equal(basicValidator, pathValidator);
  });
});
