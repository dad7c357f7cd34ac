import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Certificate, DEFAULT_CAPABILITIES, OID, signMessage } from '@sealpost/core';
import { listAuditEntries } from '../../src/audit/log.ts';
import type { BookEntry } from '../../src/book/book.ts';
import type { RecipientResolution } from '../../src/book/resolve.ts';
import { isServiceError } from '../../src/errors.ts';
import type { ExternalDirectory } from '../../src/ports/external-directory.ts';
import { addUser, Scratch, TestClock } from '../ca/support.ts';
import { type TestDatabase, targets } from '../secrets/databases.ts';
import {
  type BookRig,
  DAY,
  type Identity,
  makeLeaf,
  makeRoot,
  opensslSigned,
  pem,
  plainMessage,
  rig,
} from './support.ts';

const clock = new TestClock();
const now = clock.now();
/** A partner's CA, trusted; another trusted CA; and one nobody trusts. */
const partner = makeRoot('Partner Root', now);
const other = makeRoot('Other Trusted Root', now);
const rogue = makeRoot('Rogue Root', now);

/** A message signed by core's signer, announcing `encryption` as the certificate to encrypt to. */
function signedWithPreference(
  signer: Identity,
  encryption: Certificate | undefined,
  from: string,
  signingTime: Date,
  carried: Certificate[] = encryption ? [encryption] : [],
): Buffer {
  return signMessage(Buffer.from(`From: ${from}\r\nTo: x@example.org\r\nSubject: s\r\n\r\nHello.\r\n`), {
    signingTime,
    signers: [
      {
        certificate: signer.certificate,
        privateKey: signer.key,
        chain: carried,
        ...(encryption ? { encryptionCertificate: encryption } : {}),
      },
    ],
  });
}

const only = (r: { recipients: RecipientResolution[] }) => r.recipients[0]!;
const chosen = (r: RecipientResolution) => r.certificates[0]?.entry;

for (const target of targets) {
  describe(`certificate book and recipient resolution (${target.dialect})`, () => {
    let fresh: TestDatabase;
    let r: BookRig;
    const scratch = new Scratch();
    let caId: string;

    before(async () => {
      fresh = await target.fresh();
      r = rig(fresh.db, clock);
      await r.trust.import('user:admin', pem(partner.certificate));
      await r.trust.import('user:admin', pem(other.certificate));
      const root = await r.ca.createRoot('user:admin', {
        name: 'Sealpost Root',
        subject: [{ type: 'CN', value: 'Sealpost Test Root' }],
        keyAlgorithm: 'p-256',
        validityDays: 3650,
        crlUrl: 'http://pki.example.org/root.crl',
      });
      caId = root.id;
      await r.ca.installDefaultTemplates('user:admin');
      await r.ca.updateTemplate('user:admin', 'dual-use', { caId });
    });
    after(async () => {
      scratch.dispose();
      await fresh.dispose();
    });

    const issue = async (email: string) => {
      await addUser(fresh.db, email);
      return (await r.ca.issue('user:admin', { userEmail: email, template: 'dual-use', keyAlgorithm: 'p-256' }))
        .certificate;
    };

    it('harvests a message signed by OpenSSL whose signer chains to an imported anchor', async () => {
      const alice = makeLeaf(partner, 'alice@partner.example', now);
      const message = opensslSigned(scratch, alice, [], 'alice@partner.example');
      const report = await r.book.harvest('user:u1', message);
      assert.equal(report.status, 'harvested', JSON.stringify(report));
      assert.ok(report.status === 'harvested');
      assert.deepEqual(report.addresses, ['alice@partner.example']);
      assert.equal(report.added, 1);
      assert.equal(report.entries[0]!.source, 'harvested');
      assert.equal(report.entries[0]!.sha256, alice.certificate.fingerprintSha256);
      assert.equal(report.entries[0]!.pending, false);
      // OpenSSL announces AES-CBC, not GCM.
      const sender = await r.book.sender('alice@partner.example');
      assert.ok(sender?.capabilities?.some((c) => c.oid === OID.aes256CBC));
      assert.ok(!sender?.capabilities?.some((c) => c.oid === OID.aes256GCM));

      const again = await r.book.harvest('user:u1', message);
      assert.ok(again.status === 'harvested');
      assert.equal(again.added, 0);

      const resolved = only(await r.resolver().resolve(['alice@Partner.EXAMPLE'], 'u1'));
      assert.equal(resolved.status, 'ok');
      assert.equal(chosen(resolved)?.source, 'harvested');
      assert.equal(resolved.cipher, 'aes-256-cbc');

      const audit = await listAuditEntries(fresh.db, { limit: 50 });
      assert.ok(
        audit.items.some(
          (e) => e.action === 'book.add' && e.details['address'] === 'alice@partner.example' && e.actor === 'user:u1',
        ),
      );
    });

    it('records the certificate an SMIMEEncryptionKeyPreference names, and prefers the latest one named', async () => {
      const address = 'bob@partner.example';
      const signing = makeLeaf(partner, address, now, { use: 'sign', from: -60 });
      const older = makeLeaf(partner, address, now, { use: 'encrypt', from: -20 });
      const newer = makeLeaf(partner, address, now, { use: 'encrypt', from: -5 });
      const at = (days: number) => new Date(now.getTime() - days * DAY);
      const first = await r.book.harvest('user:u1', signedWithPreference(signing, newer.certificate, address, at(2)));
      assert.ok(first.status === 'harvested', JSON.stringify(first));
      assert.deepEqual(
        first.entries.map((e) => e.sha256).sort(),
        [signing.certificate.fingerprintSha256, newer.certificate.fingerprintSha256].sort(),
      );
      // A later message names the older encryption certificate: the latest preference wins over the newest.
      assert.ok(
        (await r.book.harvest('user:u1', signedWithPreference(signing, older.certificate, address, at(1)))).status ===
          'harvested',
      );
      // An earlier-dated message does not take the preference back.
      assert.ok(
        (await r.book.harvest('user:u1', signedWithPreference(signing, newer.certificate, address, at(3)))).status ===
          'harvested',
      );

      const resolved = only(await r.resolver().resolve([address], 'u1'));
      assert.equal(resolved.status, 'ok');
      assert.equal(chosen(resolved)?.sha256, older.certificate.fingerprintSha256);
      assert.match(resolved.message, /SMIMEEncryptionKeyPreference/);
      // Core's signer announces AES-256-GCM.
      assert.equal(resolved.cipher, 'aes-256-gcm');
      const signingOnly = resolved.excluded.find((e) => e.entry.sha256 === signing.certificate.fingerprintSha256);
      assert.equal(signingOnly?.reason, 'signing-only');
      assert.deepEqual(
        (await r.book.sender(address))?.capabilities?.map((c) => c.oid),
        DEFAULT_CAPABILITIES.map((c) => c.oid),
      );
    });

    it('refuses a bad signature, a From the signer does not match, an untrusted signer, and unsigned mail', async () => {
      const carol = makeLeaf(partner, 'carol@partner.example', now);
      const good = opensslSigned(scratch, carol, [], 'carol@partner.example').toString('latin1');
      const tampered = Buffer.from(good.replace('Signed by OpenSSL.', 'Signed by OpenSSL!'), 'latin1');
      const cases: [Buffer, string][] = [
        [tampered, 'bad-signature'],
        [opensslSigned(scratch, carol, [], 'mallory@partner.example'), 'sender-mismatch'],
        [
          opensslSigned(scratch, makeLeaf(rogue, 'carol@partner.example', now), [], 'carol@partner.example'),
          'untrusted',
        ],
        [plainMessage('carol@partner.example', 'x@example.org'), 'not-signed'],
      ];
      for (const [message, reason] of cases) {
        const report = await r.book.harvest('user:u1', message);
        assert.equal(report.status, 'refused', reason);
        assert.ok(report.status === 'refused');
        assert.equal(report.reason, reason);
        assert.ok(report.message.length > 0);
      }
      assert.deepEqual(await r.book.entries('carol@partner.example'), []);
      assert.deepEqual(await r.book.entries('mallory@partner.example'), []);
    });

    it('says why an address cannot be encrypted to', async () => {
      const add = (id: Identity) => r.book.add('user:admin', pem(id.certificate));
      const reasonOf = async (address: string) => only(await r.resolver().resolve([address], 'u1'));

      const none = await reasonOf('nobody@partner.example');
      assert.deepEqual([none.status, none.reason, none.cipher], ['none', 'no-certificate', null]);
      assert.match(none.message, /No certificate is known/);

      await add(makeLeaf(partner, 'old@partner.example', now, { from: -400, to: -10 }));
      assert.equal((await reasonOf('old@partner.example')).reason, 'expired');
      await add(makeLeaf(partner, 'early@partner.example', now, { from: 10, to: 400 }));
      assert.equal((await reasonOf('early@partner.example')).reason, 'not-yet-valid');
      await add(makeLeaf(partner, 'signer@partner.example', now, { use: 'sign' }));
      const signer = await reasonOf('signer@partner.example');
      assert.equal(signer.reason, 'signing-only');
      assert.match(signer.message, /may only sign/);
      await add(makeLeaf(partner, 'web@partner.example', now, { extKeyUsage: [OID.serverAuth] }));
      assert.equal((await reasonOf('web@partner.example')).reason, 'wrong-purpose');
      // The closest to usable wins: an expired encryption certificate says more than a signing-only one.
      await add(makeLeaf(partner, 'signer@partner.example', now, { from: -400, to: -1 }));
      assert.equal((await reasonOf('signer@partner.example')).reason, 'expired');

      const [stranger] = await add(makeLeaf(rogue, 'stranger@rogue.example', now));
      const untrusted = await reasonOf('stranger@rogue.example');
      assert.equal(untrusted.reason, 'untrusted');
      assert.match(untrusted.message, /trust/);
      // Accepting it is a statement of trust: it is then used although its chain reaches no anchor.
      await r.book.decide('admin', stranger!.id, 'accept', 'everyone');
      assert.equal((await reasonOf('stranger@rogue.example')).status, 'ok');

      const issued = await issue('dave@example.org');
      assert.equal(chosen(await reasonOf('dave@example.org'))?.source, 'ca');
      await r.ca.revoke('user:admin', issued.serial, 'keyCompromise');
      const revoked = await reasonOf('dave@example.org');
      assert.equal(revoked.reason, 'revoked');
      assert.match(revoked.message, /revoked by Sealpost's CA/);
    });

    it('asks the revocation port about certificates Sealpost did not issue; unknown soft-fails', async () => {
      const [entry] = await r.book.add('user:admin', pem(makeLeaf(partner, 'eve@partner.example', now).certificate));
      const answer = async (status: 'good' | 'revoked' | 'unknown' | 'throws') => {
        const seen: Certificate[][] = [];
        const resolver = r.resolver({
          revocation: async (certificate, chain) => {
            seen.push([certificate, ...chain]);
            if (status === 'throws') throw new Error('OCSP responder down');
            return status;
          },
        });
        const result = only(await resolver.resolve(['eve@partner.example'], 'u1'));
        assert.equal(seen[0]?.[0]?.fingerprintSha256, entry!.sha256);
        // The port gets the chain that validated: the partner's root ends it.
        assert.equal(seen[0]?.at(-1)?.fingerprintSha256, partner.certificate.fingerprintSha256);
        return result;
      };
      assert.equal((await answer('revoked')).reason, 'revoked');
      assert.equal((await answer('good')).certificates[0]?.revocation, 'good');
      assert.equal((await answer('unknown')).certificates[0]?.revocation, 'unknown');
      assert.equal((await answer('throws')).certificates[0]?.revocation, 'unknown');
      assert.equal(
        only(await r.resolver().resolve(['eve@partner.example'], 'u1')).certificates[0]?.revocation,
        'not-checked',
      );
    });

    it('ranks by trust level first, then preference, then the newest', async () => {
      const address = 'gina@partner.example';
      const signer = makeLeaf(partner, address, now, { from: -30 });
      assert.ok((await r.book.harvest('user:u1', opensslSigned(scratch, signer, [], address))).status === 'harvested');
      const manualNewer = makeLeaf(partner, address, now, { from: -1 });
      await r.book.add('user:admin', pem(manualNewer.certificate));
      const pick = async () => chosen(only(await r.resolver().resolve([address], 'u1')));
      assert.equal((await pick())?.sha256, signer.certificate.fingerprintSha256, 'harvested beats a newer manual one');

      const published = makeLeaf(partner, address, now, { from: -40 });
      const directory: ExternalDirectory = {
        name: 'partner-ldap',
        certificatesFor: async () => [published.certificate.der],
      };
      const viaDirectory = only(await r.resolver({ directories: [directory] }).resolve([address], 'u1'));
      assert.equal(chosen(viaDirectory)?.source, 'directory', 'directory beats harvested');
      assert.equal(chosen(viaDirectory)?.directory, 'partner-ldap');

      // Two certificates of the same source: the newest.
      const ivy = 'ivy@partner.example';
      await r.book.add('user:admin', pem(makeLeaf(partner, ivy, now, { from: -50 }).certificate));
      const newest = makeLeaf(partner, ivy, now, { from: -3 });
      await r.book.add('user:admin', pem(newest.certificate));
      await r.book.add('user:admin', pem(makeLeaf(partner, ivy, now, { from: -20 }).certificate));
      assert.equal(chosen(only(await r.resolver().resolve([ivy], 'u1')))?.sha256, newest.certificate.fingerprintSha256);

      // Sealpost's own CA beats everything, even a newer accepted certificate.
      const hal = 'hal@example.org';
      const own = await issue(hal);
      const [foreign] = await r.book.add('user:admin', pem(makeLeaf(partner, hal, now, { from: 0 }).certificate));
      assert.equal(foreign!.pending, true, 'another issuer than Sealpost is a key change');
      await r.book.decide('admin', foreign!.id, 'accept', 'everyone');
      const halChoice = only(await r.resolver().resolve([hal], 'u1'));
      assert.equal(chosen(halChoice)?.sha256, own.certificate.fingerprintSha256);
      assert.equal(chosen(halChoice)?.id, own.id);
    });

    it('holds a key change for review; users decide for themselves, administrators for everyone', async () => {
      const address = 'jack@partner.example';
      const first = makeLeaf(partner, address, now, { use: 'sign' });
      assert.ok((await r.book.harvest('user:u1', opensslSigned(scratch, first, [], address))).status === 'harvested');
      const second = makeLeaf(other, address, now);
      const report = await r.book.harvest('user:u1', opensslSigned(scratch, second, [], address));
      assert.ok(report.status === 'harvested');
      const changed = report.entries.find((e) => e.sha256 === second.certificate.fingerprintSha256)!;
      assert.equal(changed.pending, true);
      assert.equal(
        (await r.book.list({ pending: true })).entries.some((e) => e.id === changed.id),
        true,
      );

      const resolveAs = async (viewer: string) => only(await r.resolver().resolve([address], viewer));
      const pending = await resolveAs('u1');
      assert.equal(pending.reason, 'pending-key-change');
      assert.match(pending.message, new RegExp(changed.id));

      // A user's own accept: for them only.
      const mine = await r.book.decide('u1', changed.id, 'accept', 'me');
      assert.deepEqual([mine.myDecision, mine.decision, mine.pending], ['accept', null, true]);
      assert.equal(chosen(await resolveAs('u1'))?.id, changed.id);
      assert.equal((await resolveAs('u2')).reason, 'pending-key-change');

      // An administrator's reject, for everyone: the user's own accept still wins for them.
      await r.book.decide('admin', changed.id, 'reject', 'everyone');
      assert.equal(chosen(await resolveAs('u1'))?.id, changed.id);
      const u2 = await resolveAs('u2');
      assert.equal(u2.status, 'none');
      assert.equal(u2.excluded.find((e) => e.entry.id === changed.id)?.reason, 'rejected');

      await r.book.decide('admin', changed.id, 'accept', 'everyone');
      assert.equal(chosen(await resolveAs('u2'))?.id, changed.id);
      assert.equal(
        (await r.book.list({ pending: true })).entries.some((e) => e.id === changed.id),
        false,
      );

      // Pinning: the pinned certificate only, whatever the ranking says.
      const [third] = await r.book.add('user:admin', pem(makeLeaf(other, address, now, { from: -1 }).certificate));
      assert.equal(third!.pending, false, 'same issuer as an accepted certificate: no review');
      assert.equal(chosen(await resolveAs('u2'))?.id, changed.id, 'harvested outranks a newer manual one');
      await r.book.decide('admin', third!.id, 'pin', 'everyone');
      assert.equal(chosen(await resolveAs('u2'))?.id, third!.id);
      assert.equal(chosen(await resolveAs('u1'))?.id, third!.id, "everyone's pin applies over one's own accept");
      await r.book.decide('u1', changed.id, 'pin', 'me');
      assert.equal(chosen(await resolveAs('u1'))?.id, changed.id, "a user's own pin wins for them");
      assert.equal(chosen(await resolveAs('u2'))?.id, third!.id);
      // Pinning another one for everyone turns the earlier pin into an accept.
      const repinned = await r.book.decide('admin', changed.id, 'pin', 'everyone');
      assert.equal(repinned.decision, 'pin');
      const entries = await r.book.entries(address, 'u2');
      assert.equal(entries.find((e) => e.id === third!.id)?.decision, 'accept');

      const audit = (await listAuditEntries(fresh.db, { limit: 100 })).items.filter(
        (e) => e.action.startsWith('book.') && e.details['address'] === address && e.action !== 'book.add',
      );
      assert.deepEqual(audit.map((e) => [e.action, e.actor, e.details['scope']]).reverse(), [
        ['book.accept', 'user:u1', 'me'],
        ['book.reject', 'user:admin', 'everyone'],
        ['book.accept', 'user:admin', 'everyone'],
        ['book.pin', 'user:admin', 'everyone'],
        ['book.pin', 'user:u1', 'me'],
        ['book.pin', 'user:admin', 'everyone'],
      ]);
      await assert.rejects(r.book.decide('admin', 'no-such-id', 'accept', 'everyone'), (e) =>
        isServiceError(e, 'NOT_FOUND'),
      );
    });

    it('asks directories, caches their answers, and reviews what they publish', async () => {
      const address = 'kim@partner.example';
      const published = makeLeaf(partner, address, now);
      const calls: string[] = [];
      let answer: () => Promise<Uint8Array[]> = async () => [published.certificate.der];
      const directory: ExternalDirectory = {
        name: 'partner-ldap',
        certificatesFor: (a) => {
          calls.push(a);
          return answer();
        },
      };
      const resolver = r.resolver({ directories: [directory] });
      const first = only(await resolver.resolve([address], 'u1'));
      assert.equal(chosen(first)?.source, 'directory');
      assert.deepEqual(
        (await r.book.entries(address)).map((e: BookEntry) => e.source),
        ['directory'],
      );
      await resolver.resolve([address], 'u1');
      assert.equal(calls.length, 1, 'a found answer is reused for 5 minutes');
      const start = clock.current;
      clock.current = new Date(start.getTime() + 5 * 60_000 + 1);
      answer = async () => [];
      await resolver.resolve([address], 'u1');
      assert.equal(calls.length, 2);
      clock.current = new Date(clock.current.getTime() + 30_000);
      await resolver.resolve([address], 'u1');
      assert.equal(calls.length, 2, 'an empty answer is reused for a minute');
      clock.current = new Date(clock.current.getTime() + 31_000);
      answer = async () => {
        throw new Error('connection refused');
      };
      const failed = only(await resolver.resolve([address], 'u1'));
      assert.equal(calls.length, 3);
      assert.deepEqual(failed.lookupFailures, [{ directory: 'partner-ldap', message: 'connection refused' }]);
      assert.equal(chosen(failed)?.source, 'directory', 'the book still answers');
      clock.current = start;

      // A partner's directory publishing a certificate from another issuer: a key change like any other.
      const swapped = makeLeaf(rogue, 'lee@partner.example', now);
      await r.book.add('user:admin', pem(makeLeaf(partner, 'lee@partner.example', now).certificate));
      const lee = r.resolver({
        directories: [{ name: 'partner-ldap', certificatesFor: async () => [swapped.certificate.der] }],
      });
      const resolved = only(await lee.resolve(['lee@partner.example'], 'u1'));
      const entry = (await r.book.entries('lee@partner.example')).find((e) => e.source === 'directory');
      assert.equal(entry?.pending, true);
      assert.equal(chosen(resolved)?.source, 'manual');

      // Not asked when Sealpost's own CA has a usable certificate.
      await issue('mia@example.org');
      const asked: string[] = [];
      const recording: ExternalDirectory = {
        name: 'd',
        certificatesFor: async (a) => {
          asked.push(a);
          return [];
        },
      };
      const own = r.resolver({ directories: [recording] });
      assert.equal(chosen(only(await own.resolve(['mia@example.org'], 'u1')))?.source, 'ca');
      assert.deepEqual(asked, []);
    });

    it('chooses AES-GCM only when every recipient announced it', async () => {
      const resolver = r.resolver();
      const gcm = await resolver.resolve(['bob@partner.example'], 'u1');
      assert.deepEqual([gcm.canEncrypt, gcm.cipher], [true, 'aes-256-gcm']);
      const mixed = await resolver.resolve(['bob@partner.example', 'alice@partner.example'], 'u1');
      assert.deepEqual([mixed.canEncrypt, mixed.cipher], [true, 'aes-256-cbc']);
      assert.deepEqual(
        mixed.recipients.map((x) => x.cipher),
        ['aes-256-gcm', 'aes-256-cbc'],
      );
      // Sealpost's own users never announced anything here: CBC, which every client reads.
      const withOwn = await resolver.resolve(['bob@partner.example', 'mia@example.org'], 'u1');
      assert.equal(withOwn.cipher, 'aes-256-cbc');
      const missing = await resolver.resolve(['bob@partner.example', 'nobody@partner.example'], 'u1');
      assert.deepEqual([missing.canEncrypt, missing.cipher], [false, null]);
      assert.match(missing.cipherReason, /nobody@partner\.example/);
    });

    it('bounds the request and refuses what is no address or no certificate', async () => {
      const many = Array.from({ length: 501 }, (_, i) => `u${i}@partner.example`);
      await assert.rejects(r.resolver().resolve(many, 'u1'), (e) => isServiceError(e, 'TOO_LARGE'));
      await assert.rejects(r.resolver().resolve([], 'u1'), (e) => isServiceError(e, 'INVALID_ARGUMENT'));
      await assert.rejects(r.resolver().resolve(['not an address'], 'u1'), (e) =>
        isServiceError(e, 'INVALID_ARGUMENT'),
      );
      await assert.rejects(r.book.add('user:admin', pem(partner.certificate)), (e) =>
        isServiceError(e, 'INVALID_ARGUMENT'),
      );
      await assert.rejects(r.book.add('user:admin', 'not a certificate'), (e) => isServiceError(e, 'INVALID_ARGUMENT'));
      const page = await r.book.list({ limit: 2 });
      assert.equal(page.entries.length, 2);
      const next = await r.book.list({ limit: 2, cursor: page.nextCursor! });
      assert.ok(next.entries[0]!.address >= page.entries[1]!.address);
      assert.notEqual(next.entries[0]!.id, page.entries[1]!.id);
    });
  });
}
