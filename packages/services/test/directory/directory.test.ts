import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { parseSignedData, pemDecodeAll } from '@sealpost/core';
import {
  type Filter,
  normalizeDn,
  parseFilter,
  ResultCode,
  type SearchRequest,
  type SearchResultEntry,
  type SearchScope,
} from '@sealpost/core/ldap';
import fc from 'fast-check';
import { AuditLog } from '../../src/audit/log.ts';
import type { CaService } from '../../src/ca/ca-service.ts';
import { Directory, type DirectoryOptions, type DirectorySearchResult } from '../../src/directory/directory.ts';
import { personView, searchKeys } from '../../src/directory/entries.ts';
import { evaluate } from '../../src/directory/matching.ts';
import { Accounts } from '../../src/identity/accounts.ts';
import { type User, UserDirectory } from '../../src/identity/users.ts';
import type { Database } from '../../src/ports/database.ts';
import { migrations } from '../../src/schema/migrations.ts';
import { newMasterKey, node, Scratch, TestClock } from '../ca/support.ts';
import { type TestDatabase, targets } from '../secrets/databases.ts';

const ADMIN = 'user:admin';
const BASE = 'ou=People,dc=example,dc=org';
const PASSWORD = 'correct horse battery staple';
const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };
const DAY = 86_400_000;

function request(
  filter: string,
  options: { base?: string; scope?: SearchScope; attributes?: string[]; typesOnly?: boolean } = {},
): SearchRequest {
  return {
    type: 'searchRequest',
    baseObject: options.base ?? BASE,
    scope: options.scope ?? 'sub',
    derefAliases: 0,
    sizeLimit: 0,
    timeLimit: 0,
    typesOnly: options.typesOnly ?? false,
    filter: parseFilter(filter),
    attributes: options.attributes ?? [],
  };
}

function values(entry: SearchResultEntry | undefined, type: string): string[] {
  const attribute = entry?.attributes.find((a) => a.type.toLowerCase() === type.toLowerCase());
  return (attribute?.values ?? []).map((v) => Buffer.from(v).toString('utf8'));
}

function bytes(entry: SearchResultEntry | undefined, type: string): Buffer[] {
  const attribute = entry?.attributes.find((a) => a.type.toLowerCase() === type.toLowerCase());
  return (attribute?.values ?? []).map((v) => Buffer.from(v));
}

/** The mail values of the entries, in answer order (the container entry has none). */
function mails(result: DirectorySearchResult): string[] {
  return result.entries.flatMap((e) => values(e, 'mail'));
}

const live = () => new AbortController().signal;

for (const target of targets) {
  describe(`directory on ${target.dialect}`, () => {
    let fresh: TestDatabase;
    let db: Database;
    let ca: CaService;
    let users: UserDirectory;
    let accounts: Accounts;
    let directory: Directory;
    const clock = new TestClock();
    const scratch = new Scratch();
    const people: Record<string, User> = {};
    const serials: Record<string, string> = {};
    let issuingDer: Buffer;
    let rootDer: Buffer;

    const search = (
      filter: string,
      options: Parameters<typeof request>[1] & { limit?: number; cursor?: string; dir?: Directory } = {},
    ) =>
      (options.dir ?? directory).search(request(filter, options), {
        limit: options.limit ?? 1000,
        signal: live(),
        principal: null,
        ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
      });

    function newDirectory(extra: Partial<DirectoryOptions> = {}): Directory {
      return new Directory({ db, clock, baseDn: BASE, accounts, ...extra });
    }

    before(async () => {
      fresh = await target.fresh();
      db = fresh.db;
      ca = node(db, clock, newMasterKey()).ca;
      // An issuing CA under an external root, so that entries carry a chain of two.
      const request = await ca.createIntermediateRequest(ADMIN, {
        name: 'Issuing',
        subject: [{ type: 'CN', value: 'Example Issuing CA' }],
        keyAlgorithm: 'p-256',
        crlUrl: 'http://crl.example.test/issuing.crl',
        caIssuersUrl: 'http://ca.example.test/issuing.cer',
      });
      scratch.write('issuing.csr', request.csrPem!);
      scratch.must(
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key'],
        ...['-subj', '/CN=External Root', '-days', '3650', '-out', 'root.pem'],
      );
      scratch.write(
        'ext.cnf',
        '[v3]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
      );
      scratch.must(
        ...['x509', '-req', '-in', 'issuing.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial'],
        ...['-days', '1825', '-extfile', 'ext.cnf', '-extensions', 'v3', '-out', 'issuing.pem'],
      );
      const issuing = await ca.importSignedIntermediate(
        ADMIN,
        request.id,
        scratch.read('issuing.pem').toString() + scratch.read('root.pem').toString(),
      );
      issuingDer = Buffer.from(issuing.certificate!.der);
      rootDer = Buffer.from(pemDecodeAll(scratch.read('root.pem'))[0]!.der);
      await ca.installDefaultTemplates(ADMIN);
      await ca.updateTemplate(ADMIN, 'signing-only', { caId: issuing.id, defaultKeyAlgorithm: 'p-256' });

      const audit = new AuditLog(clock);
      users = new UserDirectory({ db, audit, clock });
      accounts = new Accounts({ db, audit, clock, csrfKey: randomBytes(32), scrypt: FAST_SCRYPT });
      const create = async (email: string, displayName: string, profile: Partial<User> = {}) => {
        people[email.split('@')[0]!] = await users.create(ADMIN, { email, displayName, ...profile });
      };
      await create('alice@example.org', 'Alice Liddell', { givenName: 'Alice', surname: 'Liddell', uid: 'aliddell' });
      await create('bob@example.org', 'Bob  Builder');
      await create('carol@example.org', 'Carol Ärger', { givenName: 'Carol' });
      await create('dave@example.org', 'Dave Disabled');
      await create('erin+tag@example.org', 'Erin O’Brien, Jr.');
      await users.setStatus(ADMIN, people['dave']!.id, 'disabled');
      for (const who of ['alice', 'bob', 'carol']) {
        const { certificate } = await ca.issue(ADMIN, { userEmail: `${who}@example.org`, template: 'signing-only' });
        serials[who] = certificate.serial;
      }
      // Alice holds two certificates.
      await ca.issue(ADMIN, { userEmail: 'alice@example.org', template: 'signing-only' });
      await accounts.createAccount(ADMIN, people['alice']!.id, PASSWORD, 'user');
      await accounts.createAccount(ADMIN, people['dave']!.id, PASSWORD, 'user');
      directory = newDirectory();
    });
    after(async () => {
      scratch.dispose();
      await fresh.dispose();
    });

    it('publishes an active user as an inetOrgPerson with certificates and a certs-only bundle', async () => {
      const { entries, cursor, result } = await search('(mail=alice@example.org)');
      assert.equal(result, undefined);
      assert.equal(cursor, undefined);
      assert.equal(entries.length, 1);
      const alice = entries[0]!;
      assert.equal(alice.objectName, `mail=alice@example.org,${BASE}`);
      assert.deepEqual(values(alice, 'objectClass'), ['top', 'person', 'organizationalPerson', 'inetOrgPerson']);
      assert.deepEqual(values(alice, 'cn'), ['Alice Liddell']);
      assert.deepEqual(values(alice, 'displayName'), ['Alice Liddell']);
      assert.deepEqual(values(alice, 'sn'), ['Liddell']);
      assert.deepEqual(values(alice, 'givenName'), ['Alice']);
      assert.deepEqual(values(alice, 'uid'), ['aliddell']);
      const certificates = bytes(alice, 'userCertificate;binary');
      assert.equal(certificates.length, 2);

      const [bundle, ...more] = bytes(alice, 'userSMIMECertificate;binary');
      assert.equal(more.length, 0);
      const info = parseSignedData(bundle!);
      assert.deepEqual(info.signerInfos, []);
      const inBundle = info.certificates.map((c) => Buffer.from(c.der).toString('hex')).sort();
      const expected = [...certificates, issuingDer, rootDer].map((d) => d.toString('hex')).sort();
      assert.deepEqual(inBundle, expected);
      const printed = execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-print_certs'], { input: bundle! });
      assert.equal(pemDecodeAll(printed).length, 4);

      // Defaults: sn is the last word of the display name, uid the local part; no givenName.
      const bob = (await search('(mail=bob@example.org)')).entries[0];
      assert.deepEqual(values(bob, 'sn'), ['Builder']);
      assert.deepEqual(values(bob, 'uid'), ['bob']);
      assert.deepEqual(values(bob, 'givenName'), []);
      // Users without certificates have neither attribute.
      const erin = (await directory.entryFor('erin+tag@example.org'))!;
      assert.equal(erin.objectName, `mail=erin\\+tag@example.org,${BASE}`);
      assert.deepEqual(bytes(erin, 'userCertificate;binary'), []);
      assert.deepEqual(bytes(erin, 'userSMIMECertificate;binary'), []);
    });

    it('returns the requested attributes only, or only their types', async () => {
      const selected = await search('(mail=alice@example.org)', { attributes: ['CN', 'userCertificate', 'nosuch'] });
      assert.deepEqual(
        selected.entries[0]!.attributes.map((a) => a.type),
        ['cn', 'userCertificate;binary'],
      );
      const none = await search('(mail=alice@example.org)', { attributes: ['1.1'] });
      assert.deepEqual(none.entries[0]!.attributes, []);
      const types = await search('(mail=alice@example.org)', { attributes: ['mail', 'sn'], typesOnly: true });
      assert.deepEqual(types.entries[0]!.attributes, [
        { type: 'mail', values: [] },
        { type: 'sn', values: [] },
      ]);
    });

    it('matches each kind of filter item as the matching rules say', async () => {
      const cases: [string, string[]][] = [
        ['(mail=ALICE@Example.org)', ['alice@example.org']],
        ['(cn=  alice   LIDDELL )', ['alice@example.org']],
        ['(displayName=bob builder)', ['bob@example.org']],
        ['(2.5.4.3=Bob Builder)', ['bob@example.org']],
        ['(surname=liddell)', ['alice@example.org']],
        ['(sn=ärger)', ['carol@example.org']],
        ['(givenName=CAROL)', ['carol@example.org']],
        ['(uid=aliddell)', ['alice@example.org']],
        ['(uid=Bob)', ['bob@example.org']],
        ['(cn~=alice liddell)', ['alice@example.org']],
        ['(cn=Al*)', ['alice@example.org']],
        ['(cn=*build*)', ['bob@example.org']],
        ['(cn=b*b*r)', ['bob@example.org']],
        ['(cn=bob *)', ['bob@example.org']],
        ['(cn=bo *)', []],
        ['(mail=*@example.org)', ['alice@example.org', 'bob@example.org', 'carol@example.org', 'erin+tag@example.org']],
        ['(mail=erin\\2btag@*)', ['erin+tag@example.org']],
        ['(givenName=*)', ['alice@example.org', 'carol@example.org']],
        ['(userCertificate=*)', ['alice@example.org', 'bob@example.org', 'carol@example.org']],
        ['(userSMIMECertificate;binary=*)', ['alice@example.org', 'bob@example.org', 'carol@example.org']],
        [
          '(objectClass=inetOrgPerson)',
          ['alice@example.org', 'bob@example.org', 'carol@example.org', 'erin+tag@example.org'],
        ],
        [
          '(objectClass=2.5.6.6)',
          ['alice@example.org', 'bob@example.org', 'carol@example.org', 'erin+tag@example.org'],
        ],
        ['(objectClass=groupOfNames)', []],
        ['(sn>=d)', ['alice@example.org', 'erin+tag@example.org', 'carol@example.org'].sort()],
        ['(sn<=c)', ['bob@example.org']],
        ['(&(objectClass=person)(cn=*a*)(!(sn=liddell)))', ['carol@example.org']],
        ['(|(mail=bob@example.org)(uid=aliddell))', ['alice@example.org', 'bob@example.org']],
        ['(|(cn=al*)(sn=bu*))', ['alice@example.org', 'bob@example.org']],
        ['(cn;lang-de=Alice Liddell)', []],
        ['(&)', ['alice@example.org', 'bob@example.org', 'carol@example.org', 'erin+tag@example.org']],
        ['(|)', []],
      ];
      for (const [filter, expected] of cases) {
        const result = await search(filter, { scope: 'one' });
        assert.equal(result.result, undefined, filter);
        assert.deepEqual(mails(result), expected, filter);
      }
    });

    it('treats unknown attributes and unsupported rules as Undefined, which NOT keeps Undefined', async () => {
      const everyone = ['alice@example.org', 'bob@example.org', 'carol@example.org', 'erin+tag@example.org'];
      const cases: [string, string[]][] = [
        ['(nosuch=x)', []],
        ['(!(nosuch=x))', []],
        ['(!(nosuch=*))', []],
        ['(|(nosuch=x)(mail=bob@example.org))', ['bob@example.org']],
        ['(&(nosuch=x)(mail=bob@example.org))', []],
        // AND(Undefined, FALSE) is FALSE, so its negation holds for everyone but Bob.
        ['(!(&(nosuch=x)(mail=bob@example.org)))', everyone.filter((m) => m !== 'bob@example.org')],
        ['(objectClass=per*)', []],
        ['(!(objectClass=per*))', []],
        ['(!(userCertificate=abc))', []],
        ['(cn:caseExactMatch:=Alice Liddell)', []],
        ['(!(cn:caseExactMatch:=Alice Liddell))', []],
        ['(mail=\\c3\\a4@example.org)', []],
        ['(!(mail=\\c3\\a4@example.org))', []],
        ['(!(mail=bob@example.org))', everyone.filter((m) => m !== 'bob@example.org')],
      ];
      for (const [filter, expected] of cases) assert.deepEqual(mails(await search(filter)), expected, filter);
    });

    it('resolves base and scope against the base DN, with noSuchObject and matchedDN elsewhere', async () => {
      const all = ['alice@example.org', 'bob@example.org', 'carol@example.org', 'erin+tag@example.org'];
      const names = (r: DirectorySearchResult) => r.entries.map((e) => e.objectName);

      const container = await search('(objectClass=*)', { scope: 'base' });
      assert.deepEqual(names(container), [BASE]);
      assert.deepEqual(values(container.entries[0], 'objectClass'), ['top', 'organizationalUnit']);
      assert.deepEqual(values(container.entries[0], 'ou'), ['People']);
      assert.deepEqual(names(await search('(ou=people)', { scope: 'base' })), [BASE]);
      assert.deepEqual(mails(await search('(objectClass=*)', { scope: 'one' })), all);
      const subtree = await search('(objectClass=*)');
      assert.deepEqual(names(subtree)[0], BASE);
      assert.deepEqual(mails(subtree), all);
      // DNs compare as RFC 4514 names: case and spacing of types and values do not matter.
      assert.deepEqual(
        mails(await search('(objectClass=*)', { base: 'OU=people, DC=Example,dc=ORG', scope: 'one' })),
        all,
      );
      // The suffix above the base: the whole subtree, and the container one level down.
      assert.deepEqual(mails(await search('(objectClass=*)', { base: 'dc=example,dc=org' })), all);
      assert.deepEqual(names(await search('(objectClass=*)', { base: 'dc=example,dc=org', scope: 'one' })), [BASE]);
      assert.deepEqual(names(await search('(objectClass=*)', { base: 'dc=org', scope: 'one' })), []);

      // An entry as the base.
      const aliceDn = `mail=alice@example.org,${BASE}`;
      assert.deepEqual(names(await search('(objectClass=*)', { base: aliceDn, scope: 'base' })), [aliceDn]);
      assert.deepEqual(names(await search('(objectClass=*)', { base: `MAIL=Alice@EXAMPLE.org,${BASE}` })), [aliceDn]);
      assert.deepEqual(names(await search('(cn=bob*)', { base: aliceDn, scope: 'base' })), []);
      assert.deepEqual(names(await search('(objectClass=*)', { base: aliceDn, scope: 'one' })), []);
      const erinDn = `mail=erin\\+tag@example.org,${BASE}`;
      assert.deepEqual(names(await search('(objectClass=*)', { base: erinDn, scope: 'base' })), [erinDn]);

      const missing = async (base: string, matchedDN: string) => {
        const r = await search('(objectClass=*)', { base, scope: 'base' });
        assert.deepEqual(r.entries, []);
        assert.equal(r.result?.resultCode, ResultCode.noSuchObject, base);
        assert.equal(normalizeDn(r.result?.matchedDN ?? 'x'), normalizeDn(matchedDN), base);
        assert.match(r.result?.diagnosticMessage ?? '', /No entry is named/);
      };
      await missing(`mail=nobody@example.org,${BASE}`, BASE);
      await missing(`uid=alice,${BASE}`, BASE);
      await missing(`mail=dave@example.org,${BASE}`, BASE);
      await missing(`cn=x,${aliceDn}`, aliceDn);
      await missing('ou=People,dc=example,dc=com', '');
      await missing('dc=com', '');

      const bad = await search('(objectClass=*)', { base: 'not a dn' });
      assert.equal(bad.result?.resultCode, ResultCode.invalidDNSyntax);
    });

    it('pages through results in mail order with an opaque cursor', async () => {
      for (let i = 0; i < 23; i++) {
        const n = String(i).padStart(2, '0');
        await users.create(ADMIN, { email: `Page${n}@paging.example`, displayName: `Pager ${n}`, uid: `pager${n}` });
      }
      const expected = Array.from({ length: 23 }, (_, i) => `Page${String(i).padStart(2, '0')}@paging.example`);
      // A scan (no initial substring), an index range and an index union.
      for (const filter of ['(mail=*@paging.example)', '(uid=pager*)', '(|(uid=pager0*)(uid=pager1*)(uid=pager2*))']) {
        for (const dir of [directory, newDirectory({ batchSize: 3 })]) {
          const seen: string[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await search(filter, { limit: 5, dir, ...(cursor === undefined ? {} : { cursor }) });
            assert.equal(page.result, undefined);
            assert.ok(page.entries.length <= 5);
            seen.push(...mails(page));
            cursor = page.cursor;
            pages++;
          } while (cursor !== undefined);
          assert.deepEqual(seen, expected, filter);
          assert.equal(pages, 5, filter);
        }
      }
      // When the limit is exactly the number of matches there is no further page.
      const exact = await search('(uid=pager1*)', { limit: 10 });
      assert.equal(exact.entries.length, 10);
      assert.equal(exact.cursor, undefined);
      const short = await search('(uid=pager1*)', { limit: 9 });
      assert.equal(short.entries.length, 9);
      const rest = await search('(uid=pager1*)', { limit: 9, cursor: short.cursor! });
      assert.deepEqual(mails(rest), ['Page19@paging.example']);
      assert.equal(rest.cursor, undefined);
      // The container counts towards the limit and pages like any entry.
      const first = await search('(|(ou=people)(uid=pager00))', { limit: 1 });
      assert.deepEqual(
        first.entries.map((e) => e.objectName),
        [BASE],
      );
      const second = await search('(|(ou=people)(uid=pager00))', { limit: 1, cursor: first.cursor! });
      assert.deepEqual(mails(second), ['Page00@paging.example']);
      assert.equal(second.cursor, undefined);

      const bad = await search('(uid=pager*)', { cursor: 'bm90IG91cnM' });
      assert.equal(bad.result?.resultCode, ResultCode.unwillingToPerform);
    });

    it('stops a scan at the examined-rows cap with adminLimitExceeded', async () => {
      const capped = newDirectory({ maxExamined: 7, batchSize: 3 });
      const scan = await search('(cn=*nobody has this*)', { dir: capped });
      assert.deepEqual(scan.entries, []);
      assert.equal(scan.result?.resultCode, ResultCode.adminLimitExceeded);
      assert.match(scan.result?.diagnosticMessage ?? '', /read 7 entries/);
      // Indexed lookups read only their matches, and a full page under the cap pages on.
      assert.deepEqual(mails(await search('(mail=carol@example.org)', { dir: capped })), ['carol@example.org']);
      const page = await search('(mail=*@paging.example)', { dir: capped, limit: 3 });
      assert.equal(page.entries.length, 3);
      assert.ok(page.cursor);
    });

    it('honours the abort signal between batches', async () => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(
        directory.search(request('(cn=*x*)'), { limit: 10, signal: controller.signal, principal: null }),
        { name: 'AbortError' },
      );
      // Aborted while the scan is under way: after its first query.
      const during = new AbortController();
      const spy = observed(db, (sql) => {
        if (sql.includes('FROM user_profiles p')) during.abort();
      });
      const dir = new Directory({ db: spy, clock, baseDn: BASE, batchSize: 2 });
      await assert.rejects(dir.search(request('(cn=*x*)'), { limit: 10, signal: during.signal, principal: null }), {
        name: 'AbortError',
      });
    });

    it('answers a lookup by address with two queries: the entry and its certificates', async () => {
      let queries = 0;
      const counting = observed(db, () => {
        queries++;
      });
      const dir = new Directory({ db: counting, clock, baseDn: BASE });
      await dir.search(request('(mail=alice@example.org)'), { limit: 10, signal: live(), principal: null });
      queries = 0;
      const { entries } = await dir.search(request('(mail=alice@example.org)'), {
        limit: 10,
        signal: live(),
        principal: null,
      });
      assert.equal(bytes(entries[0], 'userSMIMECertificate;binary').length, 1);
      assert.equal(queries, 2);
    });

    it('leaves out disabled users, and shows them again once enabled', async () => {
      assert.deepEqual(mails(await search('(mail=dave@example.org)')), []);
      await users.setStatus(ADMIN, people['dave']!.id, 'active');
      assert.deepEqual(mails(await search('(mail=dave@example.org)')), ['dave@example.org']);
      await users.setStatus(ADMIN, people['dave']!.id, 'disabled');
      assert.deepEqual(mails(await search('(mail=dave@example.org)')), []);
    });

    it('follows renames and profile changes at once', async () => {
      const bob = people['bob']!;
      await users.setProfile(ADMIN, bob.id, { givenName: 'Robert', surname: 'Baumeister', uid: 'rb' });
      const entry = (await search('(&(givenName=robert)(sn=baumeister)(uid=RB))')).entries[0];
      assert.deepEqual(values(entry, 'mail'), ['bob@example.org']);
      await users.rename(ADMIN, bob.id, 'Robert Builder');
      assert.deepEqual(mails(await search('(cn=robert builder)')), ['bob@example.org']);
      assert.deepEqual(mails(await search('(cn=bob builder)')), []);
      const cleared = await users.setProfile(ADMIN, bob.id, { givenName: '', surname: '', uid: '' });
      assert.equal(cleared.givenName, undefined);
      assert.deepEqual(values((await search('(mail=bob@example.org)')).entries[0], 'sn'), ['Builder']);
      assert.deepEqual(mails(await search('(uid=bob)')), ['bob@example.org']);
    });

    it('computes the keys the migration could not, before its first search', async () => {
      // As the migration leaves existing users: only the mail key, marked stale.
      await db.run(
        'UPDATE user_profiles SET cn_key = NULL, sn_key = NULL, given_name_key = NULL, uid_key = NULL, keys_stale = 1',
      );
      const dir = newDirectory();
      assert.deepEqual(mails(await search('(sn=ÄRGER)', { dir })), ['carol@example.org']);
      const stale = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM user_profiles WHERE keys_stale = 1');
      assert.equal(Number(stale?.n), 0);
    });

    it('binds with the account password, by entry DN or bare address', async () => {
      const password = Buffer.from(PASSWORD);
      const alice = `user:${people['alice']!.id}`;
      assert.deepEqual(await directory.bind(`mail=alice@example.org,${BASE}`, password), {
        ok: true,
        principal: alice,
      });
      assert.deepEqual(await directory.bind('alice@example.org', password), { ok: true, principal: alice });
      assert.deepEqual(await directory.bind(`MAIL=alice@example.org, OU=people,dc=example,dc=org`, password), {
        ok: true,
        principal: alice,
      });
      for (const [dn, pw] of [
        ['alice@example.org', Buffer.from('wrong password')],
        ['alice@example.org', Buffer.alloc(0)],
        ['bob@example.org', password], // no account
        ['dave@example.org', password], // disabled
        ['mail=alice@example.org,dc=elsewhere', password],
        [`uid=alice,${BASE}`, password],
        ['', password],
        ['alice@example.org', Buffer.from([0xff, 0xfe])],
      ] as const) {
        assert.deepEqual(await directory.bind(dn, pw), { ok: false }, dn);
      }
      assert.deepEqual(await newDirectory({ accounts: undefined }).bind('alice@example.org', password), { ok: false });
      // The login lockout applies: after five failures even the right password is refused.
      for (let i = 0; i < 5; i++) await directory.bind('carol@example.org', Buffer.from('guess'));
      await accounts.createAccount(ADMIN, people['carol']!.id, PASSWORD, 'user');
      assert.deepEqual(await directory.bind('carol@example.org', password), { ok: false });
      const sessions = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM sessions');
      assert.equal(Number(sessions?.n), 0);
    });

    it('drops revoked and expired certificates immediately', async () => {
      assert.equal(bytes((await directory.entryFor('bob@example.org'))!, 'userCertificate;binary').length, 1);
      await ca.revoke(ADMIN, serials['bob']!, 'keyCompromise');
      const bob = (await directory.entryFor('bob@example.org'))!;
      assert.deepEqual(bytes(bob, 'userCertificate;binary'), []);
      assert.deepEqual(bytes(bob, 'userSMIMECertificate;binary'), []);
      assert.deepEqual(mails(await search('(&(userCertificate=*)(mail=bob@example.org))')), []);
      assert.deepEqual(mails(await search('(&(!(userCertificate=*))(mail=bob@example.org))')), ['bob@example.org']);

      const notAfter = (await db.get<{ t: string }>('SELECT MAX(not_after) AS t FROM certificates'))!.t;
      const saved = clock.current;
      clock.current = new Date(Date.parse(notAfter) + DAY);
      try {
        assert.deepEqual(mails(await search('(userCertificate=*)')), []);
        assert.deepEqual(bytes((await directory.entryFor('alice@example.org'))!, 'userCertificate;binary'), []);
      } finally {
        clock.current = saved;
      }
      assert.equal(bytes((await directory.entryFor('alice@example.org'))!, 'userCertificate;binary').length, 2);
    });

    it('returns exactly what a full scan evaluating the filter returns, for random users and filters', async () => {
      const words = ['ann', 'Anna', 'anne', 'ÄNNE', 'bo', 'Bö', 'o', 'x y', 'zé', 'e\u0301'];
      const word = fc.constantFrom(...words);
      const name = fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join(' '));
      const person = fc.record({
        local: fc.stringMatching(/^[a-dA-D]{1,4}$/),
        displayName: name,
        givenName: fc.option(word, { nil: undefined }),
        surname: fc.option(word, { nil: undefined }),
        uid: fc.option(fc.constantFrom('ann', 'Bo', 'x'), { nil: undefined }),
        disabled: fc.boolean(),
      });
      const created = new Set<string>();
      for (const p of fc.sample(person, { numRuns: 40, seed: 4711 })) {
        const email = `${p.local}@random.example`;
        if (created.has(email)) continue;
        created.add(email);
        const { local: _, disabled, ...profile } = p;
        const user = await users.create(ADMIN, { email, ...profile });
        if (disabled) await users.setStatus(ADMIN, user.id, 'disabled');
      }

      const attribute = fc.constantFrom('mail', 'cn', 'sn', 'givenName', 'displayName', 'uid', 'objectClass', 'nosuch');
      const value = fc.oneof(word, fc.constantFrom('a', 'B', 'ann@random.example', 'person', 'top', ''));
      const enc = (s: string) => new TextEncoder().encode(s);
      const leaf: fc.Arbitrary<Filter> = fc.oneof(
        fc
          .record({ type: fc.constantFrom('equality', 'approx', 'greaterOrEqual', 'lessOrEqual'), attribute, value })
          .map((f) => ({ ...f, value: enc(f.value) }) as const),
        fc.record({ attribute }).map((f) => ({ type: 'present', ...f }) as const),
        fc
          .record({
            attribute,
            initial: fc.option(value, { nil: undefined }),
            any: fc.array(value, { maxLength: 2 }),
            final: fc.option(value, { nil: undefined }),
          })
          .filter((f) => f.initial !== undefined || f.any.length > 0 || f.final !== undefined)
          .map((f) => ({
            type: 'substrings' as const,
            attribute: f.attribute,
            ...(f.initial === undefined ? {} : { initial: enc(f.initial) }),
            any: f.any.map(enc),
            ...(f.final === undefined ? {} : { final: enc(f.final) }),
          })),
      );
      const { filter } = fc.letrec<{ filter: Filter }>((tie) => ({
        filter: fc.oneof(
          { depthSize: 'small', withCrossShrink: true },
          leaf,
          fc.record({ type: fc.constantFrom('and', 'or'), filters: fc.array(tie('filter'), { maxLength: 3 }) }),
          fc.record({ type: fc.constant('not'), filter: tie('filter') }),
        ),
      }));

      // The naive answer: every active user of the random domain, evaluated one by one.
      const everyone = (await users.list({ emailPrefix: '', limit: 500 })).users.filter(
        (u) => u.status === 'active' && u.email.endsWith('@random.example'),
      );
      const scope = { type: 'substrings', attribute: 'mail', any: [], final: enc('@random.example') } as const;
      await fc.assert(
        fc.asyncProperty(filter, fc.integer({ min: 1, max: 8 }), async (f, limit) => {
          const expected = everyone
            .filter((u) => {
              const view = personView({ userId: u.id, ...u, ...profileOf(u), ...searchKeys(u) }, false);
              return evaluate(f, view) === 'true';
            })
            .map((u) => u.email)
            .sort();
          const got: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await directory.search(
              { ...request('(objectClass=*)', { scope: 'one' }), filter: { type: 'and', filters: [scope, f] } },
              { limit, signal: live(), principal: null, ...(cursor === undefined ? {} : { cursor }) },
            );
            assert.equal(page.result, undefined);
            got.push(...mails(page));
            cursor = page.cursor;
          } while (cursor !== undefined);
          assert.deepEqual([...got].sort(), expected);
        }),
        { numRuns: 300, seed: 20251203 },
      );
    });
  });
}

for (const target of targets) {
  describe(`directory migration on ${target.dialect}`, () => {
    let fresh: TestDatabase;
    before(async () => {
      fresh = await target.fresh();
    });
    after(() => fresh.dispose());

    it('backfills the users that existed before it; the directory completes their keys', async () => {
      const { db } = fresh;
      // The schema as version 4 left it, with a user written by the code of then.
      await db.run('DROP TABLE user_profiles');
      await db.run("INSERT INTO users (id, email, display_name, status, created_at) VALUES (?, ?, ?, 'active', ?)", [
        'u1',
        'Zoe@Example.org',
        'Zoë  ÅSTRÖM',
        '2026-01-01T00:00:00.000Z',
      ]);
      const up = migrations.find((m) => m.name === 'directory')!.up;
      for (const statement of up.split(';')) await db.run(statement);
      const dir = new Directory({ db, clock: new TestClock(), baseDn: BASE });
      const { entries } = await dir.search(request('(&(sn=åström)(cn=zoë åström)(uid=zoe)(mail=zoe@example.org))'), {
        limit: 10,
        signal: live(),
        principal: null,
      });
      assert.deepEqual(mails({ entries }), ['Zoe@Example.org']);
      assert.deepEqual(values(entries[0], 'sn'), ['ÅSTRÖM']);
      assert.deepEqual(values(entries[0], 'uid'), ['Zoe']);
    });
  });
}

/** The database with `seen` called after each query made outside a transaction. */
function observed(db: Database, seen: (sql: string) => void): Database {
  return {
    dialect: db.dialect,
    all: async (sql, params) => {
      const rows = await db.all(sql, params);
      seen(sql);
      return rows as never;
    },
    get: async (sql, params) => {
      const row = await db.get(sql, params);
      seen(sql);
      return row as never;
    },
    run: async (sql, params) => {
      const result = await db.run(sql, params);
      seen(sql);
      return result;
    },
    transaction: (fn) => db.transaction(fn),
    exclusive: (name, fn) => db.exclusive(name, fn),
    ping: () => db.ping(),
    close: () => db.close(),
  };
}

function profileOf(u: User) {
  return { givenName: u.givenName ?? null, surname: u.surname ?? null, uid: u.uid ?? null };
}
