import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Certificate, lintCertificate, nameToString, pemEncode, randomSerial } from '@sealpost/core';
import { verifyChain } from '../../src/audit/log.ts';
import type { CaService } from '../../src/ca/ca-service.ts';
import { LintFailedError, TemplateError } from '../../src/ca/errors.ts';
import { isServiceError } from '../../src/errors.ts';
import type { Database } from '../../src/ports/database.ts';
import { type TestDatabase, targets } from '../secrets/databases.ts';
import { addUser, newMasterKey, node, Scratch, secondPostgresNode, TestClock } from './support.ts';

const DAY = 86_400_000;
const URLS = {
  crlUrl: 'http://crl.example.test/root.crl',
  ocspUrl: 'http://ocsp.example.test/',
  caIssuersUrl: 'http://ca.example.test/root.cer',
};

function pem(cert: Certificate): string {
  return pemEncode('CERTIFICATE', cert.der);
}

function code(c: string) {
  return (e: unknown) => isServiceError(e) && e.code === c;
}

for (const target of targets) {
  describe(`CA service on ${target.dialect}`, () => {
    let fresh: TestDatabase;
    let db: Database;
    let ca: CaService;
    let rootId: string;
    let rootPem: string;
    const masterKey = newMasterKey();
    const clock = new TestClock();
    const scratch = new Scratch();

    before(async () => {
      fresh = await target.fresh();
      db = fresh.db;
      ca = node(db, clock, masterKey).ca;
      const root = await ca.createRoot('user:admin', {
        name: 'Example Root',
        subject: [
          { type: 'C', value: 'DE' },
          { type: 'O', value: 'Example' },
          { type: 'CN', value: 'Example S/MIME Root' },
        ],
        keyAlgorithm: 'p-256',
        validityDays: 3650,
        ...URLS,
      });
      rootId = root.id;
      rootPem = pem(root.certificate!);
      scratch.write('root.pem', rootPem);
      assert.deepEqual((await ca.installDefaultTemplates('user:admin')).sort(), [
        'dual-use',
        'encryption-only',
        'signing-only',
      ]);
      for (const name of ['dual-use', 'encryption-only', 'signing-only']) {
        await ca.updateTemplate('user:admin', name, { caId: rootId });
      }
      for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) await addUser(db, `${user}@example.org`);
    });
    after(async () => {
      scratch.dispose();
      await fresh.dispose();
    });

    it('creates a self-signed root whose key exists only sealed in the vault', async () => {
      const root = await ca.get(rootId);
      assert.equal(root.status, 'active');
      assert.equal(root.certificate?.basicConstraints?.ca, true);
      assert.deepEqual([...root.certificate!.keyUsage!].sort(), ['cRLSign', 'keyCertSign']);
      assert.equal(root.crlUrl, URLS.crlUrl);
      scratch.must('verify', '-CAfile', 'root.pem', 'root.pem');
      const secret = await db.get<{ aad: Uint8Array }>(
        'SELECT s.aad FROM cas c JOIN secrets s ON s.id = c.key_secret_id WHERE c.id = ?',
        [rootId],
      );
      assert.equal(Buffer.from(secret!.aad).toString(), `ca-key:${rootId}`);
      assert.deepEqual(
        (await ca.list()).map((c) => c.name),
        ['Example Root'],
      );
      await assert.rejects(
        ca.createRoot('user:admin', {
          name: 'Example Root',
          subject: [{ type: 'CN', value: 'x' }],
          keyAlgorithm: 'p-256',
          validityDays: 10,
        }),
        code('CONFLICT'),
      );
    });

    it('puts the mailbox in the subject as emailAddress too when the template asks, lint-clean', async () => {
      await ca.updateTemplate('user:admin', 'signing-only', { mailboxInSubject: true });
      try {
        scratch.must('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'subj.key');
        scratch.must('req', '-new', '-key', 'subj.key', '-subj', '/CN=x', '-out', 'subj.csr');
        const { certificate } = await ca.issue('user:admin', {
          userEmail: 'alice@example.org',
          template: 'signing-only',
          csrPem: scratch.read('subj.csr').toString(),
        });
        assert.equal(
          nameToString(certificate.certificate.subject),
          'emailAddress=alice@example.org, CN=alice@example.org',
        );
        assert.deepEqual(
          lintCertificate(certificate.certificate, { profile: 'strict', validation: 'mailbox' }).filter(
            (f) => f.severity === 'error',
          ),
          [],
        );
      } finally {
        await ca.updateTemplate('user:admin', 'signing-only', { mailboxInSubject: false });
      }
    });

    it('issues from an OpenSSL CSR, taking only its key: subject and SAN come from the user record', async () => {
      scratch.must('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'alice.key');
      scratch.must(
        'req',
        '-new',
        '-key',
        'alice.key',
        '-subj',
        '/CN=Mallory/O=Evil Corp',
        '-out',
        'alice.csr',
        '-addext',
        'subjectAltName=email:mallory@evil.example,email:alice@example.org',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
      );
      const result = await ca.issue('user:admin', {
        userEmail: 'alice@example.org',
        template: 'dual-use',
        csrPem: scratch.read('alice.csr').toString(),
      });
      const cert = result.certificate.certificate;
      assert.equal(result.pkcs12, undefined);
      assert.equal(result.archived, false);
      assert.deepEqual(cert.emailAddresses, ['alice@example.org']);
      assert.equal(Buffer.from(cert.subject.der).includes('Evil'), false);
      assert.notEqual(cert.basicConstraints?.ca, true);
      assert.deepEqual([...cert.keyUsage!].sort(), ['digitalSignature', 'keyEncipherment']);
      assert.equal(result.certificate.serial, cert.serialHex);
      assert.equal(result.certificate.notAfter.getTime() - result.certificate.notBefore.getTime(), 365 * DAY - 1000);
      scratch.write('alice.pem', result.certificate.pem);
      scratch.must('verify', '-CAfile', 'root.pem', '-purpose', 'smimesign', 'alice.pem');
      scratch.must('verify', '-CAfile', 'root.pem', '-purpose', 'smimeencrypt', 'alice.pem');

      scratch.must('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'bob.key');
      scratch.must('req', '-new', '-key', 'bob.key', '-subj', '/CN=bob', '-out', 'bob.csr');
      const bob = await ca.issue('user:admin', {
        userEmail: 'bob@EXAMPLE.org',
        template: 'signing-only',
        csrPem: scratch.read('bob.csr'),
      });
      assert.deepEqual([...bob.certificate.certificate.keyUsage!], ['digitalSignature']);
      scratch.write('bob.pem', bob.certificate.pem);
      scratch.must('verify', '-CAfile', 'root.pem', '-purpose', 'smimesign', 'bob.pem');
    });

    it('generates keys on the server (RSA-2048 and P-256) and hands them out once as PKCS#12', async () => {
      const rsa = await ca.issue('user:admin', {
        userEmail: 'carol@example.org',
        template: 'encryption-only',
        keyAlgorithm: 'rsa-2048',
      });
      assert.ok(rsa.pkcs12 && rsa.pkcs12Password);
      assert.equal(rsa.archived, true);
      assert.equal(rsa.certificate.certificate.publicKeyInfo.kind, 'rsa');
      assert.deepEqual([...rsa.certificate.certificate.keyUsage!], ['keyEncipherment']);
      scratch.write('carol.p12', rsa.pkcs12);
      scratch.must('pkcs12', '-info', '-noout', '-in', 'carol.p12', '-passin', `pass:${rsa.pkcs12Password}`);
      scratch.write('carol.pem', rsa.certificate.pem);
      scratch.must('verify', '-CAfile', 'root.pem', '-purpose', 'smimeencrypt', 'carol.pem');
      const archived = await db.get('SELECT certificate_id FROM archived_keys WHERE certificate_id = ?', [
        rsa.certificate.id,
      ]);
      assert.ok(archived, 'the encryption key is escrowed');
      // Nothing but the sealed key is kept: no column anywhere holds the password.
      const secrets = await db.all<{ ciphertext: Uint8Array }>('SELECT ciphertext FROM secrets');
      assert.ok(secrets.every((s) => !Buffer.from(s.ciphertext).includes(Buffer.from(rsa.pkcs12Password!))));

      const ec = await ca.issue('user:admin', {
        userEmail: 'dave@example.org',
        template: 'signing-only',
        keyAlgorithm: 'p-256',
      });
      assert.equal(ec.archived, false);
      assert.equal(ec.certificate.certificate.publicKeyInfo.kind, 'ec');
      scratch.write('dave.p12', ec.pkcs12!);
      const info = scratch.must('pkcs12', '-info', '-noout', '-in', 'dave.p12', '-passin', `pass:${ec.pkcs12Password}`);
      assert.match(info, /AES-256-CBC/);
      scratch.write('dave.pem', ec.certificate.pem);
      scratch.must('verify', '-CAfile', 'root.pem', '-purpose', 'smimesign', 'dave.pem');
      assert.equal(
        await db.get('SELECT certificate_id FROM archived_keys WHERE certificate_id = ?', [ec.certificate.id]),
        undefined,
      );
    });

    it('validates template edits and refuses keys the template does not allow', async () => {
      await assert.rejects(
        ca.updateTemplate('user:admin', 'dual-use', { validityDays: 900 }),
        (e: unknown) => e instanceof TemplateError && e.code === 'TEMPLATE_INVALID' && e.field === 'validityDays',
      );
      await assert.rejects(
        ca.updateTemplate('user:admin', 'signing-only', { archiveKeys: true }),
        (e: unknown) => e instanceof TemplateError && e.field === 'archiveKeys',
      );
      await assert.rejects(
        ca.updateTemplate('user:admin', 'dual-use', { keys: { rsaMinBits: 1024, ecCurves: [], ed25519: false } }),
        (e: unknown) => e instanceof TemplateError && e.field === 'keys.rsaMinBits',
      );
      await assert.rejects(
        ca.updateTemplate('user:admin', 'encryption-only', {
          keys: { rsaMinBits: 2048, ecCurves: [], ed25519: true },
        }),
        (e: unknown) => e instanceof TemplateError && e.field === 'keys.ed25519',
      );
      assert.equal((await ca.template('dual-use')).validityDays, 365, 'a refused edit changes nothing');
      const edited = await ca.updateTemplate('user:admin', 'dual-use', { renewalWindowDays: 30 });
      assert.equal(edited.renewalWindowDays, 30);

      scratch.must('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'weak.key');
      scratch.must('req', '-new', '-key', 'weak.key', '-subj', '/CN=weak', '-out', 'weak.csr');
      const before = await db.all('SELECT id FROM certificates');
      await assert.rejects(
        ca.issue('user:admin', {
          userEmail: 'erin@example.org',
          template: 'dual-use',
          csrPem: scratch.read('weak.csr'),
        }),
        code('KEY_REJECTED'),
      );
      await assert.rejects(
        ca.issue('user:admin', { userEmail: 'erin@example.org', template: 'dual-use', keyAlgorithm: 'ed25519' }),
        code('KEY_REJECTED'),
      );
      // A request whose signature does not verify proves no possession of the key.
      const csr = Buffer.from(scratch.read('bob.csr').toString().split('-----')[2]!.replace(/\s/g, ''), 'base64');
      csr[csr.length - 5]! ^= 0x01;
      await assert.rejects(
        ca.issue('user:admin', { userEmail: 'erin@example.org', template: 'signing-only', csrPem: csr }),
        code('CSR_INVALID'),
      );
      await assert.rejects(
        ca.issue('user:admin', { userEmail: 'nobody@example.org', template: 'signing-only' }),
        code('NOT_FOUND'),
      );
      assert.equal((await db.all('SELECT id FROM certificates')).length, before.length);
    });

    it("joins the caller's transaction, and refuses disabled users", async () => {
      const count = async () => (await db.all('SELECT id FROM certificates')).length;
      const before = await count();
      await assert.rejects(
        db.transaction(async (tx) => {
          const r = await ca.issue(
            'user:admin',
            { userEmail: 'erin@example.org', template: 'signing-only', keyAlgorithm: 'p-256' },
            tx,
          );
          assert.ok(await tx.get('SELECT id FROM certificates WHERE id = ?', [r.certificate.id]));
          throw new Error('the caller changes its mind');
        }),
        /changes its mind/,
      );
      assert.equal(await count(), before, 'the rolled-back transaction took the certificate with it');
      await addUser(db, 'gone@example.org', 'disabled');
      await assert.rejects(
        ca.issue('user:admin', { userEmail: 'gone@example.org', template: 'signing-only', keyAlgorithm: 'p-256' }),
        code('INVALID_STATE'),
      );
    });

    it('blocks a certificate the BR lint rejects: nothing is stored or returned', async () => {
      const bare = await ca.createRoot('user:admin', {
        name: 'No CRL Root',
        subject: [{ type: 'CN', value: 'Root without CRL' }],
        keyAlgorithm: 'p-256',
        validityDays: 3650,
      });
      await ca.createTemplate('user:admin', {
        ...(await ca.template('signing-only')),
        name: 'no-crl',
        caId: bare.id,
      });
      const certificates = (await db.all('SELECT id FROM certificates')).length;
      const audit = (await db.all('SELECT seq FROM audit_log')).length;
      await assert.rejects(
        ca.issue('user:admin', { userEmail: 'erin@example.org', template: 'no-crl', keyAlgorithm: 'p-256' }),
        (e: unknown) =>
          e instanceof LintFailedError &&
          e.code === 'LINT_FAILED' &&
          e.findings.some((f) => f.rule === 'e_crl_distribution_points_missing'),
      );
      assert.equal((await db.all('SELECT id FROM certificates')).length, certificates);
      assert.equal((await db.all('SELECT seq FROM audit_log')).length, audit);
    });

    it('announces issuance, renewal and revocation after the commit, with the holder', async () => {
      const seen: string[] = [];
      const stop = ca.onCertificateChange(async (change) => {
        // Announced after the commit: the change is visible to another reader already.
        const row = await db.get<{ status: string }>('SELECT status FROM certificates WHERE id = ?', [
          change.certificateId,
        ]);
        seen.push(`${change.type} ${change.userId === null ? 'none' : 'holder'} ${row?.status}`);
      });
      try {
        const first = await ca.issue('user:admin', { userEmail: 'frank@example.org', template: 'encryption-only' });
        const second = await ca.renew('user:admin', first.certificate.id, { newKey: true });
        await ca.revoke('user:admin', second.certificate.serial, 'superseded');
        assert.deepEqual(seen, [
          'CertificateIssued holder valid',
          'CertificateIssued holder valid',
          'CertificateRevoked holder revoked',
        ]);
      } finally {
        stop();
      }
      await ca.issue('user:admin', { userEmail: 'frank@example.org', template: 'encryption-only' });
      assert.equal(seen.length, 3, 'an unregistered listener hears nothing');
    });

    it('revokes: the CRL lists the serial, openssl verify -crl_check rejects it, OCSP says revoked/good', async () => {
      const victim = await ca.issue('user:admin', {
        userEmail: 'frank@example.org',
        template: 'signing-only',
        keyAlgorithm: 'p-256',
      });
      scratch.write('victim.pem', victim.certificate.pem);
      const firstCrl = await ca.currentCrl(rootId);
      assert.deepEqual(
        Buffer.from(await ca.currentCrl(rootId)),
        Buffer.from(firstCrl),
        'a fresh CRL is served from its row',
      );
      const revoked = await ca.revoke('user:admin', victim.certificate.serial.toUpperCase(), 'keyCompromise');
      assert.equal(revoked.status, 'revoked');
      assert.equal(revoked.revocationReason, 'keyCompromise');
      await assert.rejects(ca.revoke('user:admin', victim.certificate.serial, 'superseded'), code('CONFLICT'));
      await assert.rejects(
        ca.revoke('user:admin', victim.certificate.serial, 'certificateHold'),
        code('INVALID_ARGUMENT'),
      );

      const crl = await ca.currentCrl(rootId);
      assert.notDeepEqual(Buffer.from(crl), Buffer.from(firstCrl));
      scratch.write('root.crl.der', crl);
      scratch.must('crl', '-inform', 'DER', '-in', 'root.crl.der', '-out', 'root.crl.pem');
      const text = scratch.must('crl', '-in', 'root.crl.pem', '-noout', '-text', '-CAfile', 'root.pem');
      assert.match(text, new RegExp(victim.certificate.serial.toUpperCase()));
      assert.match(text, /Key Compromise/);
      assert.match(text, /verify OK/);
      const rejected = scratch.openssl(
        'verify',
        '-crl_check',
        '-CRLfile',
        'root.crl.pem',
        '-CAfile',
        'root.pem',
        '-purpose',
        'smimesign',
        'victim.pem',
      );
      assert.notEqual(rejected.status, 0);
      assert.match(rejected.stdout + rejected.stderr, /certificate revoked/);
      scratch.must('verify', '-crl_check', '-CRLfile', 'root.crl.pem', '-CAfile', 'root.pem', 'dave.pem');

      for (const [file, status] of [
        ['victim.pem', 'revoked'],
        ['dave.pem', 'good'],
      ] as const) {
        scratch.must('ocsp', '-issuer', 'root.pem', '-cert', file, '-reqout', `${file}.req`);
        const response = await ca.ocspRespond(scratch.read(`${file}.req`));
        scratch.write(`${file}.resp`, response);
        // With -reqin, openssl checks the signature and that the request's nonce is echoed.
        const text = scratch.must(
          'ocsp',
          '-respin',
          `${file}.resp`,
          '-reqin',
          `${file}.req`,
          '-CAfile',
          'root.pem',
          '-verify_other',
          'root.pem',
          '-resp_text',
        );
        assert.match(text, /Response verify OK/);
        assert.match(text, /OCSP Nonce/);
        assert.doesNotMatch(text, /WARNING/);
        assert.match(text, new RegExp(`Cert Status: ${status}`));
        const out = scratch.must(
          'ocsp',
          '-respin',
          `${file}.resp`,
          '-issuer',
          'root.pem',
          '-cert',
          file,
          '-CAfile',
          'root.pem',
          '-no_nonce',
        );
        assert.match(out, new RegExp(`${file}: ${status}`));
        if (status === 'revoked') assert.match(out, /Reason: keyCompromise/);
      }
      // Garbage gets malformedRequest; a certificate of another CA gets unauthorized.
      const malformed = await ca.ocspRespond(Buffer.from('not a request'));
      assert.deepEqual(Buffer.from(malformed), Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x01]));
      scratch.must(
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'other.key',
        '-subj',
        '/CN=Other',
        '-out',
        'other.pem',
      );
      scratch.must('ocsp', '-issuer', 'other.pem', '-cert', 'other.pem', '-reqout', 'other.req');
      const unauthorized = await ca.ocspRespond(scratch.read('other.req'));
      assert.deepEqual(Buffer.from(unauthorized), Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x06]));
    });

    it('draws a new serial when the insert hits a duplicate serial', async () => {
      const taken = await db.get<{ serial: string }>('SELECT serial FROM certificates ORDER BY created_at LIMIT 1');
      const fresh = randomSerial();
      const queue = [Buffer.from(taken!.serial, 'hex'), fresh];
      const drawn: Buffer[] = [];
      const colliding = node(db, clock, masterKey, {
        serialNumbers: () => {
          const next = queue.shift() ?? randomSerial();
          drawn.push(next);
          return next;
        },
      }).ca;
      const issued = await colliding.issue('user:admin', {
        userEmail: 'erin@example.org',
        template: 'signing-only',
        keyAlgorithm: 'p-256',
      });
      assert.equal(drawn.length, 2);
      assert.equal(issued.certificate.serial, fresh.toString('hex'));
    });

    it('computes the renewal window and renews with the same or a new key', async () => {
      const start = clock.current;
      const first = await ca.issue('user:admin', {
        userEmail: 'erin@example.org',
        template: 'encryption-only',
        keyAlgorithm: 'p-256',
      });
      const notAfter = first.certificate.notAfter.getTime();
      assert.equal(notAfter, start.getTime() + 365 * DAY - 1000);
      const dueIds = async (at: number) => (await ca.dueForRenewal(new Date(at))).map((c) => c.certificate.id);
      // encryption-only: a 42-day window before notAfter.
      assert.ok(!(await dueIds(notAfter - 42 * DAY - 1)).includes(first.certificate.id));
      const due = await ca.dueForRenewal(new Date(notAfter - 42 * DAY));
      const mine = due.find((c) => c.certificate.id === first.certificate.id);
      assert.equal(mine?.dueFrom.getTime(), notAfter - 42 * DAY);
      assert.ok((await dueIds(notAfter - 1)).includes(first.certificate.id));
      assert.ok(!(await dueIds(notAfter + 1)).includes(first.certificate.id), 'expired certificates are not due');

      clock.current = new Date(notAfter - 40 * DAY);
      const same = await ca.renew('user:admin', first.certificate.id, { newKey: false });
      assert.equal(same.pkcs12, undefined);
      assert.equal(same.archived, true, 'the escrowed key follows the certificate');
      assert.deepEqual(
        Buffer.from(same.certificate.certificate.publicKeyInfo.spki),
        Buffer.from(first.certificate.certificate.publicKeyInfo.spki),
      );
      assert.ok(!(await dueIds(notAfter - 1)).includes(first.certificate.id), 'a renewed certificate is not due again');
      const rekeyed = await ca.renew('user:admin', same.certificate.id, { newKey: true, keyAlgorithm: 'p-384' });
      assert.ok(rekeyed.pkcs12);
      assert.equal(rekeyed.certificate.certificate.publicKeyInfo.curve !== undefined, true);
      assert.notDeepEqual(
        Buffer.from(rekeyed.certificate.certificate.publicKeyInfo.spki),
        Buffer.from(first.certificate.certificate.publicKeyInfo.spki),
      );
      await ca.revoke('user:admin', first.certificate.serial, 'superseded');
      await assert.rejects(ca.renew('user:admin', first.certificate.id, { newKey: false }), code('INVALID_STATE'));
      clock.current = start;
    });

    it('imports an intermediate signed by an external root and issues under it', async () => {
      const request = await ca.createIntermediateRequest('user:admin', {
        name: 'Example Issuing CA',
        subject: [{ type: 'CN', value: 'Example Issuing CA' }],
        keyAlgorithm: 'p-384',
        crlUrl: 'http://crl.example.test/issuing.crl',
      });
      assert.equal(request.status, 'pending');
      scratch.write('issuing.csr', request.csrPem!);
      scratch.must(
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-384',
        '-nodes',
        '-keyout',
        'ext.key',
        '-subj',
        '/CN=External Root',
        '-days',
        '3650',
        '-out',
        'ext.pem',
      );
      scratch.write(
        'ext.cnf',
        '[v3]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
      );
      scratch.must(
        'x509',
        '-req',
        '-in',
        'issuing.csr',
        '-CA',
        'ext.pem',
        '-CAkey',
        'ext.key',
        '-CAcreateserial',
        '-days',
        '1825',
        '-extfile',
        'ext.cnf',
        '-extensions',
        'v3',
        '-out',
        'issuing.pem',
      );
      await assert.rejects(
        ca.importSignedIntermediate('user:admin', request.id, scratch.read('bob.pem')),
        code('INVALID_ARGUMENT'),
      );
      const issuing = await ca.importSignedIntermediate(
        'user:admin',
        request.id,
        scratch.read('issuing.pem').toString() + scratch.read('ext.pem').toString(),
      );
      assert.equal(issuing.status, 'active');
      assert.equal(issuing.chain.length, 1);
      await ca.createTemplate('user:admin', { ...(await ca.template('dual-use')), name: 'issuing', caId: issuing.id });
      const leaf = await ca.issue('user:admin', {
        userEmail: 'erin@example.org',
        template: 'issuing',
        keyAlgorithm: 'p-256',
      });
      assert.equal(leaf.chain.length, 2);
      scratch.write('leaf.pem', leaf.certificate.pem);
      scratch.must('verify', '-CAfile', 'ext.pem', '-untrusted', 'issuing.pem', '-purpose', 'smimesign', 'leaf.pem');
    });

    it('imports an existing CA with its key', async () => {
      scratch.must(
        'req',
        '-x509',
        '-newkey',
        'rsa:3072',
        '-nodes',
        '-keyout',
        'imp.key',
        '-subj',
        '/CN=Imported',
        '-days',
        '100',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-out',
        'imp.pem',
      );
      await assert.rejects(
        ca.importCa('user:admin', {
          name: 'Mismatch',
          certificatePem: scratch.read('imp.pem'),
          keyPem: scratch.read('ext.key'),
        }),
        code('INVALID_ARGUMENT'),
      );
      const imported = await ca.importCa('user:admin', {
        name: 'Imported',
        certificatePem: scratch.read('imp.pem'),
        keyPem: scratch.read('imp.key'),
      });
      const { signer } = await db.transaction((tx) => ca.signerFor(tx, imported.id));
      assert.deepEqual(Buffer.from(signer.publicKeyInfo), Buffer.from(imported.certificate!.publicKeyInfo.spki));
      scratch.write('imp.crl', await ca.currentCrl(imported.id));
      scratch.must('crl', '-inform', 'DER', '-in', 'imp.crl', '-noout', '-CAfile', 'imp.pem');
    });

    it('records every change in the audit log, whose chain verifies', async () => {
      const actions = await db.all<{ action: string; n: number | bigint }>(
        'SELECT action, COUNT(*) AS n FROM audit_log GROUP BY action ORDER BY action',
      );
      const counts = Object.fromEntries(actions.map((a) => [a.action, Number(a.n)]));
      const issued = await db.all('SELECT id FROM certificates');
      assert.equal(counts['certificate.issue']! + counts['certificate.renew']!, issued.length);
      assert.equal(counts['certificate.renew'], 3);
      assert.equal(counts['certificate.revoke'], 3);
      assert.equal(counts['ca.create'], 5); // two roots, the request and its import, the import
      assert.ok(counts['key.archive']! >= 2);
      assert.ok(counts['template.change']! >= 8);
      const chain = await verifyChain(db);
      assert.equal(chain.ok, true);
      // The CAs that never published a CRL get one; the others' CRLs are still fresh.
      const unpublished = await db.all<{ id: string }>(
        'SELECT id FROM cas WHERE id NOT IN (SELECT ca_id FROM crls) ORDER BY id',
      );
      assert.equal(unpublished.length, 2);
      assert.deepEqual(
        await ca.refreshCrls(),
        unpublished.map((r) => r.id),
      );
      assert.deepEqual(await ca.refreshCrls(), []);
      const saved = clock.current;
      const latest = await db.get<{ n: string }>('SELECT MAX(next_update) AS n FROM crls');
      clock.current = new Date(new Date(latest!.n).getTime() - 3.5 * DAY);
      assert.equal((await ca.refreshCrls()).length, 3, 'a CRL with half of its 7 days left stays');
      clock.current = new Date(new Date(latest!.n).getTime() - 3.5 * DAY + 1000);
      assert.equal((await ca.refreshCrls()).length, 1, 'CRLs are re-signed once more than half their 7 days are gone');
      clock.current = saved;
    });

    if (target.dialect === 'postgres') {
      it('issues concurrently from two nodes: distinct serials, no half-written rows', async () => {
        const other = await secondPostgresNode(db);
        try {
          // Both nodes draw the same serial sequence, so they collide and must draw again.
          const sequence = Array.from({ length: 64 }, () => randomSerial());
          let draws = 0;
          const drawFrom = () => {
            let i = 0;
            return () => {
              draws++;
              return sequence[i++ % sequence.length]!;
            };
          };
          const a = node(db, clock, masterKey, { serialNumbers: drawFrom() }).ca;
          const b = node(other, clock, masterKey, { serialNumbers: drawFrom() }).ca;
          const before = (await db.all('SELECT id FROM certificates')).length;
          const jobs = [a, b, a, b, a, b].map((svc) =>
            svc.issue('user:admin', {
              userEmail: 'alice@example.org',
              template: 'signing-only',
              csrPem: scratch.read('bob.csr'),
            }),
          );
          const results = await Promise.all(jobs);
          const serials = new Set(results.map((r) => r.certificate.serial));
          assert.equal(serials.size, 6);
          // Each node starts at the same serial, so at least one issuance collided and drew again.
          assert.ok(draws > 6, `${draws} serials drawn`);
          const rows = await db.all<{ id: string }>('SELECT id FROM certificates');
          assert.equal(rows.length, before + 6);
          for (const r of results) {
            const entry = await db.get('SELECT seq FROM audit_log WHERE action = ? AND subject = ?', [
              'certificate.issue',
              `certificate:${r.certificate.id}`,
            ]);
            assert.ok(entry, 'each stored certificate has its audit entry');
          }
          assert.equal((await verifyChain(db)).ok, true);
        } finally {
          await other.close();
        }
      });
    }
  });
}
