// Recipient resolution over HTTP: the certificate and cipher for each address or the reason there
// is none, the overall decision (AES-GCM only when every recipient announced it), and input limits.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Certificate, signMessage } from '@sealpost/core';
import { testPki } from '../../../core/test/support/pki.ts';
import { harvest, signedBy } from './book-support.ts';
import { createRoot, Scratch, useTemplate } from './pki-support.ts';
import { type ApiClient, type ApiServer, DIALECTS, startApi } from './support.ts';

const pki = testPki();

interface Recipient {
  address: string;
  status: string;
  cipher?: string;
  reason?: string;
  message: string;
  certificates: { source: string; certificatePem: string; sha256: string }[];
  excluded: { reason: string }[];
}

for (const dialect of DIALECTS) {
  describe(`recipient resolution API (${dialect})`, () => {
    let api: ApiServer;
    let user: ApiClient;
    const scratch = new Scratch();
    const resolve = async (addresses: string[]) => {
      const res = await user.post('/api/v1/recipients/resolve', { addresses });
      assert.equal(res.status, 200, res.text);
      return res.json() as { canEncrypt: boolean; cipher?: string; cipherReason: string; recipients: Recipient[] };
    };

    before(async () => {
      api = await startApi(dialect);
      assert.equal(
        (await api.admin.post('/api/v1/trust', { pem: readFileSync(pki.root.certPath, 'utf8') })).status,
        200,
      );
      user = await api.login('user@example.test', 'user');
      // Alice signs with OpenSSL (AES-CBC capabilities); Bob with Sealpost's signer (AES-GCM first).
      const alice = pki.user('alice');
      assert.equal((await harvest(user, signedBy(scratch, alice, alice.email))).json()['status'], 'harvested');
      const bob = pki.user('bob');
      const signed = signMessage(Buffer.from('From: bob@example.org\r\nSubject: s\r\n\r\nHi.\r\n'), {
        signingTime: new Date(),
        signers: [
          {
            certificate: Certificate.from(bob.cert),
            privateKey: createPrivateKey(bob.key),
            chain: [Certificate.from(pki.intermediate.cert)],
          },
        ],
      });
      assert.equal((await harvest(user, signed.toString('latin1'))).json()['status'], 'harvested');
      for (const name of ['signer', 'expired'] as const) {
        const res = await user.post('/api/v1/book', { pem: readFileSync(pki.user(name).certPath, 'utf8') });
        assert.equal(res.status, 201, res.text);
      }
      // One of Sealpost's own users, with a certificate from Sealpost's CA.
      const caId = await createRoot(api.admin, scratch);
      await useTemplate(api.admin, 'dual-use', caId);
      assert.equal(
        (await api.admin.post('/api/v1/users', { email: 'own@example.test', displayName: 'Own' })).status,
        201,
      );
      const issued = await api.admin.post('/api/v1/certificates', {
        userEmail: 'own@example.test',
        template: 'dual-use',
      });
      assert.equal(issued.status, 201, issued.text);
    });
    after(async () => {
      scratch.dispose();
      await api.stop();
    });

    test('gives each address its certificate and the cipher they all support', async () => {
      const all = await resolve(['alice@example.org', 'bob@example.org', 'own@example.test']);
      assert.equal(all.canEncrypt, true);
      assert.equal(all.cipher, 'aes-256-cbc', 'Alice and Sealpost’s own user announced no AES-GCM');
      assert.deepEqual(
        all.recipients.map((r) => [r.address, r.status, r.certificates[0]?.source, r.cipher]),
        [
          ['alice@example.org', 'ok', 'harvested', 'aes-256-cbc'],
          ['bob@example.org', 'ok', 'harvested', 'aes-256-gcm'],
          ['own@example.test', 'ok', 'ca', 'aes-256-cbc'],
        ],
      );
      const alice = all.recipients[0]!.certificates[0]!;
      assert.equal(Certificate.from(alice.certificatePem).fingerprintSha256, alice.sha256);
      const bob = await resolve(['bob@example.org']);
      assert.deepEqual([bob.canEncrypt, bob.cipher], [true, 'aes-256-gcm']);
    });

    test('says why an address cannot be encrypted to, and that the message cannot be', async () => {
      const some = await resolve([
        'alice@example.org',
        'signer@example.org',
        'expired@example.org',
        'nobody@example.org',
      ]);
      assert.equal(some.canEncrypt, false);
      assert.equal(some.cipher, undefined);
      assert.deepEqual(
        some.recipients.map((r) => [r.address, r.status, r.reason]),
        [
          ['alice@example.org', 'ok', undefined],
          ['signer@example.org', 'none', 'signing-only'],
          ['expired@example.org', 'none', 'expired'],
          ['nobody@example.org', 'none', 'no-certificate'],
        ],
      );
      assert.match(some.recipients[2]!.message, /expired on/);
      assert.deepEqual(
        some.recipients[1]!.excluded.map((e) => e.reason),
        ['signing-only'],
      );
    });

    test('validates its input', async () => {
      const refused = async (body: unknown, status: number, code: string) => {
        const res = await user.post('/api/v1/recipients/resolve', body);
        assert.equal(res.status, status, res.text);
        assert.equal(res.json()['code'], code);
      };
      await refused({ addresses: [] }, 422, 'VALIDATION_FAILED');
      await refused(
        { addresses: Array.from({ length: 501 }, (_, i) => `a${i}@example.org`) },
        422,
        'VALIDATION_FAILED',
      );
      await refused({ addresses: ['not an address'] }, 422, 'INVALID_ARGUMENT');
      await refused({ addresses: 'alice@example.org' }, 422, 'VALIDATION_FAILED');
      await refused({}, 422, 'VALIDATION_FAILED');
    });
  });
}
