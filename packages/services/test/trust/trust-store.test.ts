import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nameToString } from '@sealpost/core';
import { AuditLog, verifyChain } from '../../src/audit/log.ts';
import { isServiceError } from '../../src/errors.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { Database } from '../../src/ports/database.ts';
import { TrustStore } from '../../src/trust/trust-store.ts';
import { type TestDatabase, targets } from '../secrets/databases.ts';

const DAY = 86_400_000;

interface Material {
  validCa: string;
  expiredCa: string;
  intermediate: string;
  leaf: string;
  explicitLeaf: string;
  /** valid CA, intermediate and leaf as a DER PKCS#7 certs-only bundle (openssl crl2pkcs7). */
  p7b: Buffer;
  validCaDer: Buffer;
  /** When the certificates were made: the expired CA lived for one day from then. */
  madeAt: number;
}

/** CA and leaf certificates made by the OpenSSL CLI, valid from now. */
function material(): Material {
  const dir = mkdtempSync(join(tmpdir(), 'sealpost-trust-'));
  try {
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    const madeAt = Date.now();
    run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Valid Root', '-days', '3650');
    run('req', '-x509', ...ec, '-keyout', 'old.key', '-out', 'old.pem', '-subj', '/CN=Short-lived Root', '-days', '1');
    writeFileSync(join(dir, 'ca.cnf'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    writeFileSync(join(dir, 'leaf.cnf'), 'basicConstraints=critical,CA:FALSE\n');
    const sign = (name: string, cn: string, ext?: string) => {
      run('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
      run(
        ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
        ...['-days', '365', '-out', `${name}.pem`, ...(ext ? ['-extfile', ext] : [])],
      );
    };
    sign('int', 'Issuing CA', 'ca.cnf');
    sign('leaf', 'leaf@example.org');
    sign('leaf2', 'leaf2@example.org', 'leaf.cnf');
    writeFileSync(
      join(dir, 'bundle.pem'),
      ['ca.pem', 'int.pem', 'leaf.pem'].map((f) => readFileSync(join(dir, f), 'latin1')).join(''),
    );
    run('crl2pkcs7', '-nocrl', '-certfile', 'bundle.pem', '-outform', 'DER', '-out', 'bundle.p7b');
    run('x509', '-in', 'ca.pem', '-outform', 'DER', '-out', 'ca.der');
    const read = (f: string) => readFileSync(join(dir, f), 'latin1');
    return {
      validCa: read('ca.pem'),
      expiredCa: read('old.pem'),
      intermediate: read('int.pem'),
      leaf: read('leaf.pem'),
      explicitLeaf: read('leaf2.pem'),
      p7b: readFileSync(join(dir, 'bundle.p7b')),
      validCaDer: readFileSync(join(dir, 'ca.der')),
      madeAt,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const m = material();
/** Ten days on: the one-day root has expired, the others are valid. */
const later: Clock = { now: () => new Date(m.madeAt + 10 * DAY) };
const garbageCertificate = `-----BEGIN CERTIFICATE-----\n${randomBytes(90).toString('base64')}\n-----END CERTIFICATE-----\n`;
const badBase64 = '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n';
const keyBlock = `-----BEGIN PRIVATE KEY-----\n${randomBytes(48).toString('base64')}\n-----END PRIVATE KEY-----\n`;

for (const target of targets) {
  describe(`trust store on ${target.dialect}`, () => {
    let fresh: TestDatabase;
    let db: Database;
    let trust: TrustStore;
    before(async () => {
      fresh = await target.fresh();
      db = fresh.db;
      trust = new TrustStore({ db, audit: new AuditLog(later), clock: later });
    });
    after(() => fresh.dispose());

    it('imports the CAs of a mixed PEM bundle and refuses the rest, each with its reason', async () => {
      const bundle = [
        'Mozilla-style commentary between blocks is ignored.\n',
        m.expiredCa,
        m.leaf,
        m.validCa,
        garbageCertificate,
        m.intermediate,
        badBase64,
        m.explicitLeaf,
        keyBlock,
        m.validCa,
      ].join('');
      const report = await trust.import('user:op', bundle);
      assert.deepEqual(
        report.added.map((a) => [a.subject, a.kind, a.scopeDomain]),
        [
          ['CN=Valid Root', 'root', null],
          ['CN=Issuing CA', 'intermediate', null],
        ],
      );
      assert.deepEqual(
        report.refused.map((r) => [r.index, r.reason, r.subject]),
        [
          [0, 'expired', 'CN=Short-lived Root'],
          [1, 'not-ca', 'CN=leaf@example.org'],
          [3, 'malformed', undefined],
          [5, 'malformed', undefined],
          [6, 'not-ca', 'CN=leaf2@example.org'],
          [7, 'unsupported', undefined],
        ],
      );
      assert.match(report.refused[0]!.message, /expired on/);
      assert.match(report.refused[1]!.message, /not a CA certificate/);
      assert.match(report.refused[3]!.message, /invalid base64/);
      assert.match(report.refused[5]!.message, /PRIVATE KEY/);
      assert.deepEqual(
        report.duplicates.map((d) => d.subject),
        ['CN=Valid Root'],
      );
      const audited = await db.all<{ action: string }>("SELECT action FROM audit_log WHERE action = 'trust.add'");
      assert.equal(audited.length, 2);
    });

    it('reads PKCS#7 certs-only bundles and single DER certificates, deduplicating by SHA-256', async () => {
      const p7b = await trust.import('user:op', m.p7b);
      assert.deepEqual(p7b.added, []);
      assert.deepEqual(p7b.duplicates.map((d) => d.subject).sort(), ['CN=Issuing CA', 'CN=Valid Root']);
      assert.deepEqual(
        p7b.refused.map((r) => [r.reason, r.subject]),
        [['not-ca', 'CN=leaf@example.org']],
      );
      const der = await trust.import('user:op', m.validCaDer);
      assert.equal(der.duplicates.length, 1);
      const garbage = await trust.import('user:op', randomBytes(200));
      assert.deepEqual(
        garbage.refused.map((r) => r.reason),
        ['malformed'],
      );
      assert.equal((await trust.list()).length, 2);
    });

    it('refuses a certificate that is not yet valid at the clock', async () => {
      const earlier: Clock = { now: () => new Date(m.madeAt - 10 * DAY) };
      const store = new TrustStore({ db, audit: new AuditLog(earlier), clock: earlier });
      const report = await store.import('user:op', m.p7b, { scopeDomain: 'partner.example' });
      assert.deepEqual(
        report.refused.map((r) => r.reason),
        ['not-yet-valid', 'not-yet-valid', 'not-ca'],
      );
      assert.match(report.refused[0]!.message, /not valid before/);
    });

    it('scopes anchors to a mail domain, and removes them with an audit entry', async () => {
      const fresh2 = await target.fresh();
      try {
        const store = new TrustStore({ db: fresh2.db, audit: new AuditLog(later), clock: later });
        const global = await store.import('user:op', m.validCa);
        const scoped = await store.import('user:op', m.intermediate, { scopeDomain: 'Partner.Example' });
        assert.equal(scoped.added[0]!.scopeDomain, 'partner.example');
        const subjects = async (domain?: string) =>
          (await store.anchorsFor(domain)).map((c) => nameToString(c.subject)).sort();
        assert.deepEqual(await subjects(), ['CN=Valid Root']);
        assert.deepEqual(await subjects('partner.example'), ['CN=Issuing CA', 'CN=Valid Root']);
        assert.deepEqual(await subjects('PARTNER.example'), ['CN=Issuing CA', 'CN=Valid Root']);
        assert.deepEqual(await subjects('other.example'), ['CN=Valid Root']);
        await assert.rejects(store.import('user:op', m.validCa, { scopeDomain: 'not a domain' }), (e) =>
          isServiceError(e, 'INVALID_ARGUMENT'),
        );
        await store.remove('user:op', global.added[0]!.id);
        assert.equal((await store.anchorsFor()).length, 0);
        await assert.rejects(store.remove('user:op', global.added[0]!.id), (e) => isServiceError(e, 'NOT_FOUND'));
        const last = await fresh2.db.get<{ action: string; details: string }>(
          'SELECT action, details FROM audit_log ORDER BY seq DESC LIMIT 1',
        );
        assert.equal(last?.action, 'trust.remove');
        assert.match(last!.details, /CN=Valid Root/);
        assert.equal((await verifyChain(fresh2.db)).ok, true);
      } finally {
        await fresh2.dispose();
      }
    });

    it('refuses empty and oversized bundles as a whole', async () => {
      await assert.rejects(trust.import('user:op', ''), (e) => isServiceError(e, 'INVALID_ARGUMENT'));
      await assert.rejects(trust.import('user:op', Buffer.alloc(9 * 1024 * 1024)), (e) =>
        isServiceError(e, 'TOO_LARGE'),
      );
    });
  });
}
