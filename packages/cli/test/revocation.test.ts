/**
 * Revocation in `sealpost verify` and `sealpost cert validate`: CRL files, the three modes,
 * --offline, and the network (a real `openssl ocsp` responder and a CRL served over HTTP).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Certificate } from '../../core/src/x509/certificate.ts';
import { buildCrl } from '../../core/test/revocation/crl-support.ts';
import { createTestCa, freePort, type TestCa } from '../../core/test/revocation/openssl-ca.ts';
import { TEST_TIME, testPki } from '../../core/test/support/pki.ts';
import { BIN, message, type RunResult, sealpost, tempDir } from './support/run.ts';

const pki = testPki();
const alice = pki.user('alice');
const bob = pki.user('bob');
const AT = ['--at', TEST_TIME.toISOString()];
const TRUST = ['--trust', pki.root.certPath, '--intermediates', pki.intermediate.certPath];

/** A CRL of the test PKI's intermediate that revokes Bob (keyCompromise), current at TEST_TIME. */
function intermediateCrl(dir: string): string {
  const intermediate = Certificate.from(pki.intermediate.cert);
  const der = buildCrl(
    {
      issuer: intermediate.subject.der,
      thisUpdate: new Date('2026-05-01T00:00:00Z'),
      nextUpdate: new Date('2026-07-01T00:00:00Z'),
      entries: [
        { serial: BigInt(`0x${Certificate.from(bob.cert).serialHex}`), date: new Date('2026-04-01Z'), reason: 1 },
      ],
    },
    createPrivateKey(pki.intermediate.key),
  );
  const path = join(dir, 'intermediate.crl');
  writeFileSync(path, der);
  return path;
}

/** An empty CRL of the root: under hard-fail the intermediate needs a status too. */
function rootCrl(dir: string): string {
  const der = buildCrl(
    {
      issuer: Certificate.from(pki.root.cert).subject.der,
      thisUpdate: new Date('2026-05-01T00:00:00Z'),
      nextUpdate: new Date('2026-07-01T00:00:00Z'),
    },
    createPrivateKey(pki.root.key),
  );
  const path = join(dir, 'root.crl');
  writeFileSync(path, der);
  return path;
}

function signed(who: typeof alice): Buffer {
  const msg = message(`${who.name} <${who.email}>`, 'carol@example.org', 'Hello.\r\n');
  const r = sealpost(['sign', '--cert', who.certPath, '--key', who.keyPath, '--chain', pki.intermediate.certPath], {
    input: msg,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const json = (r: RunResult) => JSON.parse(r.stdout.toString());
const chainOf = (r: RunResult) => json(r).layers[0].signers[0].chain;

describe('sealpost verify with revocation', () => {
  test('a CRL that lists the signer: untrusted (exit 3), the reason named', (t) => {
    const crl = intermediateCrl(tempDir(t));
    const r = sealpost(['verify', ...TRUST, ...AT, '--crl', crl, '--json'], { input: signed(bob) });
    assert.equal(r.status, 3, r.stderr);
    const problem = chainOf(r).problems[0];
    assert.equal(problem.code, 'REVOKED');
    assert.match(problem.message, /keyCompromise/);
  });
  test('hard-fail needs a status for every certificate of the path but the anchor', (t) => {
    const dir = tempDir(t);
    const crl = ['--crl', intermediateCrl(dir), '--revocation', 'hard-fail', '--json'];
    const missing = sealpost(['verify', ...TRUST, ...AT, ...crl], { input: signed(alice) });
    assert.equal(missing.status, 3);
    assert.match(chainOf(missing).problems[0].message, /"CN=Sealpost Test Intermediate" is unknown/);
    const r = sealpost(['verify', ...TRUST, ...AT, ...crl, '--crl', rootCrl(dir)], { input: signed(alice) });
    assert.equal(r.status, 0, r.stderr);
  });
  test('--revocation off ignores the CRL', (t) => {
    const crl = intermediateCrl(tempDir(t));
    const r = sealpost(['verify', ...TRUST, ...AT, '--crl', crl, '--revocation', 'off'], { input: signed(bob) });
    assert.equal(r.status, 0, r.stderr);
  });
  test('no revocation data: soft-fail (default) warns, hard-fail refuses', () => {
    const msg = signed(alice);
    const soft = sealpost(['verify', ...TRUST, ...AT, '--offline', '--json'], { input: msg });
    assert.equal(soft.status, 0, soft.stderr);
    assert.equal(chainOf(soft).warnings[0].code, 'REVOCATION_UNKNOWN');
    const hard = sealpost(['verify', ...TRUST, ...AT, '--offline', '--revocation', 'hard-fail', '--json'], {
      input: msg,
    });
    assert.equal(hard.status, 3, hard.stderr);
    assert.equal(chainOf(hard).problems[0].code, 'REVOCATION_UNKNOWN');
  });
  test('an unknown mode is a usage error', () => {
    const r = sealpost(['verify', ...TRUST, '--revocation', 'sometimes'], { input: signed(alice) });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--revocation "sometimes" is not one of soft-fail, hard-fail, off/);
  });
});

describe('sealpost cert validate', () => {
  const validate = (cert: string, extra: string[]) =>
    sealpost(['cert', 'validate', cert, ...TRUST, ...AT, '--offline', ...extra]);
  test('valid for signing with the right mailbox (exit 0), JSON names the chain', () => {
    const r = validate(alice.certPath, ['--purpose', 'sign', '--email', 'ALICE@Example.ORG', '--json']);
    assert.equal(r.status, 4, 'the local part is compared exactly');
    const ok = validate(alice.certPath, ['--purpose', 'sign', '--email', 'alice@EXAMPLE.org', '--json']);
    assert.equal(ok.status, 0, ok.stderr);
    const report = json(ok);
    assert.equal(report.valid, true);
    assert.deepEqual(
      report.chain.map((c: { subject: string }) => c.subject),
      ['emailAddress=alice@example.org, CN=alice', 'CN=Sealpost Test Intermediate', 'CN=Sealpost Test Root'],
    );
  });
  test('revoked by a CRL file (exit 3)', (t) => {
    const r = validate(bob.certPath, ['--crl', intermediateCrl(tempDir(t)), '--json']);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(json(r).problems[0].code, 'REVOKED');
  });
  test('wrong purpose: a signing-only certificate for encryption (exit 3)', () => {
    const r = validate(pki.user('signer').certPath, ['--purpose', 'encrypt']);
    assert.equal(r.status, 3);
    assert.match(r.stdout.toString(), /^INVALID\n/);
  });
  test('an option of another subcommand is refused', () => {
    const r = sealpost(['cert', 'validate', alice.certPath, ...TRUST, '--profile', 'strict']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--profile is not an option of "cert validate"/);
  });
});

/** Runs sealpost without blocking this process, so servers in it can answer. */
function sealpostAsync(args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('close', (status) =>
      resolve({ status: status ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }),
    );
  });
}

describe('revocation over the network', () => {
  let ocspCa: TestCa;
  let crlCa: TestCa;
  let crlServer: ReturnType<typeof createServer>;
  let requests = 0;
  before(async () => {
    const ocspPort = await freePort();
    ocspCa = createTestCa('http://127.0.0.1:9/none.crl', `http://127.0.0.1:${ocspPort}/`);
    await ocspCa.serveOcsp(ocspPort);
    // This CA's leaves name a dead OCSP responder, so their status must come from the served CRL.
    const crlPort = await freePort();
    crlCa = createTestCa(`http://127.0.0.1:${crlPort}/ca.crl`, 'http://127.0.0.1:9/ocsp');
    crlServer = createServer((_req, res) => {
      requests++;
      res.end(crlCa.crl());
    });
    await new Promise<void>((resolve) => crlServer.listen(crlPort, '127.0.0.1', resolve));
  });
  after(() => {
    ocspCa.cleanup();
    crlCa.cleanup();
    crlServer.close();
  });
  const validate = (ca: TestCa, name: string, extra: string[] = []) =>
    sealpostAsync([
      'cert',
      'validate',
      join(ca.dir, `${name}.crt`),
      '--trust',
      join(ca.dir, 'ca.crt'),
      '--json',
      ...extra,
    ]);

  test('OCSP: revoked is refused, good is valid', async () => {
    const revoked = await validate(ocspCa, 'revoked', ['--revocation', 'hard-fail']);
    assert.equal(revoked.status, 3, revoked.stderr);
    assert.equal(json(revoked).problems[0].code, 'REVOKED');
    const good = await validate(ocspCa, 'good', ['--revocation', 'hard-fail']);
    assert.equal(good.status, 0, good.stdout.toString());
  });
  test('a CRL from the distribution point over HTTP', async () => {
    const revoked = await validate(crlCa, 'revoked');
    assert.equal(revoked.status, 3, revoked.stderr);
    assert.equal(json(revoked).problems[0].code, 'REVOKED');
    assert.ok(requests > 0);
  });
  test('--offline never touches the network: soft-fail reports the status as unknown', async () => {
    const before = requests;
    const r = await validate(crlCa, 'revoked', ['--offline']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(json(r).warnings[0].code, 'REVOCATION_UNKNOWN');
    assert.equal(requests, before);
  });
});
