// The certificate book over HTTP: harvesting a message signed by OpenSSL (raw message/rfc822 body),
// refusals with their reason, adding certificates by hand, and key-change decisions for oneself or
// for everyone, on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { testPki } from '../../../core/test/support/pki.ts';
import { harvest, signedBy } from './book-support.ts';
import { Scratch } from './pki-support.ts';
import { type ApiClient, type ApiServer, DIALECTS, startApi } from './support.ts';

const pki = testPki();
const pem = (path: string) => readFileSync(path, 'utf8');

interface Entry {
  id: string;
  address: string;
  source: string;
  pending: boolean;
  decision?: string;
  myDecision?: string;
  sha256: string;
}

for (const dialect of DIALECTS) {
  describe(`certificate book API (${dialect})`, () => {
    let api: ApiServer;
    let user: ApiClient;
    const scratch = new Scratch();
    before(async () => {
      api = await startApi(dialect);
      const imported = await api.admin.post('/api/v1/trust', { pem: pem(pki.root.certPath) });
      assert.equal(imported.status, 200, imported.text);
      user = await api.login('user@example.test', 'user');
    });
    after(async () => {
      scratch.dispose();
      await api.stop();
    });

    test('harvests a validly signed message sent as message/rfc822', async () => {
      const alice = pki.user('alice');
      const res = await harvest(user, signedBy(scratch, alice, alice.email));
      assert.equal(res.status, 200, res.text);
      const body = res.json() as { status: string; addresses: string[]; added: number; items: Entry[] };
      assert.equal(body.status, 'harvested');
      assert.deepEqual(body.addresses, ['alice@example.org']);
      assert.equal(body.added, 1);
      assert.equal(body.items[0]!.source, 'harvested');

      const list = await user.get('/api/v1/book?address=alice@example.org');
      assert.equal(list.status, 200, list.text);
      assert.deepEqual(
        (list.json()['items'] as Entry[]).map((e) => [e.address, e.source, e.pending]),
        [['alice@example.org', 'harvested', false]],
      );
    });

    test('refuses what it must not harvest, with the reason', async () => {
      const alice = pki.user('alice');
      const cases: [string, string][] = [
        [signedBy(scratch, alice, 'mallory@example.org'), 'sender-mismatch'],
        [signedBy(scratch, pki.rogue, 'alice@example.org'), 'untrusted'],
        [signedBy(scratch, alice, alice.email).replace('Harvest me.', 'Harvest me!'), 'bad-signature'],
        ['From: alice@example.org\r\nSubject: plain\r\n\r\nNot signed.\r\n', 'not-signed'],
      ];
      for (const [message, reason] of cases) {
        const res = await harvest(user, message);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json()['status'], 'refused', reason);
        assert.equal(res.json()['reason'], reason);
      }
      const wrongType = await user.send('POST', '/api/v1/book/harvest', 'x', {
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(wrongType.status, 415, wrongType.text);
    });

    test('adds certificates by hand and holds a key change for review', async () => {
      const added = await user.post('/api/v1/book', { pem: pem(pki.user('encrypter').certPath) });
      assert.equal(added.status, 201, added.text);
      assert.equal((added.json()['items'] as Entry[])[0]!.source, 'manual');
      const der = readFileSync(pki.user('signer').certPath, 'utf8').replace(/-----[A-Z ]+-----|\s/g, '');
      assert.equal((await user.post('/api/v1/book', { base64: der })).status, 201);
      assert.equal((await user.post('/api/v1/book', { pem: pem(pki.root.certPath) })).status, 422, 'a CA certificate');
      assert.equal((await user.post('/api/v1/book', {})).status, 422);

      // Alice's certificate from a CA nobody trusts: kept, pending.
      const rogue = await user.post('/api/v1/book', { pem: pem(pki.rogue.certPath) });
      assert.equal(rogue.status, 201, rogue.text);
      const change = (rogue.json()['items'] as Entry[])[0]!;
      assert.equal(change.pending, true);
      const pending = await api.admin.get('/api/v1/book?pending=true');
      assert.ok((pending.json()['items'] as Entry[]).some((e) => e.id === change.id));

      const forEveryone = await user.post(`/api/v1/book/${change.id}/accept`, { scope: 'everyone' });
      assert.equal(forEveryone.status, 403, forEveryone.text);
      const mine = await user.post(`/api/v1/book/${change.id}/reject`, {});
      assert.equal(mine.status, 200, mine.text);
      assert.deepEqual([mine.json()['myDecision'], mine.json()['decision']], ['reject', undefined]);
      const pinned = await api.admin.post(`/api/v1/book/${change.id}/pin`, { scope: 'everyone' });
      assert.equal(pinned.status, 200, pinned.text);
      assert.deepEqual([pinned.json()['decision'], pinned.json()['pending']], ['pin', false]);
      assert.equal((await api.admin.post(`/api/v1/book/${change.id}/forget`, {})).status, 422);
      assert.equal((await api.admin.post('/api/v1/book/no-such-id/accept', {})).status, 404);

      const audit = await api.admin.get('/api/v1/audit?limit=10');
      const actions = (audit.json()['items'] as { action: string }[]).map((e) => e.action);
      assert.ok(actions.includes('book.pin') && actions.includes('book.reject'), actions.join());
    });
  });
}
