/**
 * The key server against independent clients: OpenLDAP's ldapsearch (libldap) over ldap://, ldaps://
 * and StartTLS, with paging, size and time limits; and the ldapts library (its own BER codec) for
 * binds, searches, paging, StartTLS, abandon and unbind in the middle of a search.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { formatFilter, LdapOid, ResultCode } from '@sealpost/core/ldap';
import {
  AbandonRequest,
  Client,
  ConfidentialityRequiredError,
  FilterParser,
  OperationsError,
  SearchRequest,
} from 'ldapts';
import { eventually, startTestServer } from './support/harness.ts';
import {
  BASE_DN,
  certificateDer,
  MemoryBackend,
  PEOPLE_DN,
  READER_DN,
  READER_PASSWORD,
} from './support/memory-backend.ts';
import { RawClient } from './support/raw-client.ts';
import { makeTlsFixture } from './support/tls.ts';

const run = promisify(execFile);

/** `(cn=slow)` searches wait until the server aborts them: abandon, unbind, time limit. */
const backend = new MemoryBackend({
  beforeSearch: async (request, { signal }) => {
    if (formatFilter(request.filter) !== '(cn=slow)') return;
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
  },
});
const slowSearches = () => backend.searches.filter((s) => formatFilter(s.request.filter) === '(cn=slow)');

describe('interoperability', async () => {
  const tls = makeTlsFixture();
  const t = await startTestServer({
    backend,
    tls: { key: tls.key, cert: tls.cert },
    ldaps: { port: 0 },
    limits: { maxTimeLimitSeconds: 5 },
  });
  after(async () => {
    await t.server.close();
    tls.cleanup();
  });
  const ldap = `ldap://127.0.0.1:${t.port}`;
  const ldaps = `ldaps://127.0.0.1:${t.server.ldapsAddress()?.port}`;

  /** ldapsearch's exit status, standard output and error; a failing status is a result, not a throw. */
  async function ldapsearch(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const r = await run('ldapsearch', ['-x', '-LLL', ...args], {
        env: { ...process.env, LDAPTLS_CACERT: tls.caPath, LDAPTLS_REQCERT: 'demand', LDAPCONF: '/dev/null' },
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const failed = e as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  /** LDIF (RFC 2849) as [attribute, value] pairs, folded lines joined and base64 values decoded. */
  function ldif(text: string): [string, Buffer][] {
    return text
      .replace(/\n /g, '')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const [, name = '', base64, value = ''] = /^([^:]+):(:?) ?(.*)$/.exec(line) ?? [];
        return [name, base64 ? Buffer.from(value, 'base64') : Buffer.from(value)];
      });
  }

  describe('ldapsearch', () => {
    it('reads the root DSE', async () => {
      const r = await ldapsearch('-H', ldap, '-s', 'base', '-b', '', '+');
      assert.equal(r.code, 0, r.stderr);
      const lines = ldif(r.stdout).map(([k, v]) => `${k}: ${v}`);
      assert.deepEqual(lines, [
        'dn: ',
        `namingContexts: ${BASE_DN}`,
        'supportedLDAPVersion: 3',
        'supportedControl: 1.2.840.113556.1.4.319',
        'supportedExtension: 1.3.6.1.4.1.4203.1.11.3',
        'supportedExtension: 1.3.6.1.4.1.1466.20037',
        'vendorName: Sealpost',
      ]);
    });

    for (const [name, args] of [
      ['ldap://', ['-H', ldap]],
      ['ldaps://', ['-H', ldaps]],
      ['StartTLS (-ZZ)', ['-ZZ', '-H', ldap]],
      ['ldaps:// after a simple bind', ['-H', ldaps, '-D', READER_DN, '-w', READER_PASSWORD]],
    ] as const) {
      it(`finds alice's certificate over ${name}`, async () => {
        const r = await ldapsearch(...args, '-b', BASE_DN, '(mail=alice@example.org)', 'userCertificate', 'mail');
        assert.equal(r.code, 0, r.stderr);
        const attributes = ldif(r.stdout);
        assert.deepEqual(
          attributes.map(([k]) => k),
          ['dn', 'mail', 'userCertificate;binary'],
        );
        assert.equal(attributes[0]?.[1].toString(), `uid=alice,${PEOPLE_DN}`);
        assert.deepEqual(attributes[2]?.[1], certificateDer('alice'));
      });
    }

    it('reports a wrong password (49) and a plain-text bind refused (13)', async () => {
      const wrong = await ldapsearch('-H', ldaps, '-D', READER_DN, '-w', 'nope', '-b', BASE_DN);
      assert.equal(wrong.code, ResultCode.invalidCredentials);
      const clear = await ldapsearch('-H', ldap, '-D', READER_DN, '-w', READER_PASSWORD, '-b', BASE_DN);
      assert.equal(clear.code, ResultCode.confidentialityRequired);
    });

    it('pages with -E pr=2/noprompt', async () => {
      const r = await ldapsearch('-H', ldap, '-b', BASE_DN, '-E', 'pr=2/noprompt', '(objectClass=*)', '1.1');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        ldif(r.stdout).map(([, v]) => v.toString()),
        [BASE_DN, PEOPLE_DN, `uid=alice,${PEOPLE_DN}`, `uid=bob,${PEOPLE_DN}`, `uid=carol,${PEOPLE_DN}`],
      );
      assert.equal(r.stdout.match(/^# pagedresults: cookie=/gm)?.length, 3);
    });

    it('stops at -z with sizeLimitExceeded (4)', async () => {
      const r = await ldapsearch('-H', ldap, '-b', PEOPLE_DN, '-s', 'one', '-z', '2', '(objectClass=*)', '1.1');
      assert.equal(r.code, ResultCode.sizeLimitExceeded);
      assert.equal(ldif(r.stdout).length, 2);
    });

    it('stops at -l with timeLimitExceeded (3)', async () => {
      const r = await ldapsearch('-H', ldap, '-b', BASE_DN, '-l', '1', '(cn=slow)');
      assert.equal(r.code, ResultCode.timeLimitExceeded, r.stderr);
      assert.match(r.stderr, /Time limit exceeded/);
    });
  });

  describe('ldapts', () => {
    it('binds and searches, reading userCertificate;binary as bytes', async () => {
      const client = new Client({ url: ldaps, tlsOptions: { ca: tls.ca } });
      try {
        await client.bind(READER_DN, READER_PASSWORD);
        const { searchEntries } = await client.search(BASE_DN, {
          filter: '(&(objectClass=inetOrgPerson)(mail=bob@example.org))',
          attributes: ['cn', 'userCertificate;binary'],
        });
        assert.equal(searchEntries.length, 1);
        assert.equal(searchEntries[0]?.dn, `uid=bob,${PEOPLE_DN}`);
        assert.equal(searchEntries[0]?.cn, 'Bob Example');
        assert.deepEqual(searchEntries[0]?.['userCertificate;binary'], certificateDer('bob'));
        assert.equal(backend.searches.at(-1)?.options.principal, 'reader');
        // ldapts returns the entries that fit when the server answers sizeLimitExceeded to its sizeLimit.
        const limited = await client.search(BASE_DN, { sizeLimit: 1 });
        assert.equal(limited.searchEntries.length, 1);
      } finally {
        await client.unbind();
      }
    });

    it('pages with searchPaginated', async () => {
      const client = new Client({ url: ldap });
      try {
        const pages: string[][] = [];
        for await (const page of client.searchPaginated(PEOPLE_DN, {
          scope: 'one',
          attributes: ['uid'],
          paged: { pageSize: 2 },
        })) {
          pages.push(page.searchEntries.map((e) => String(e.uid)));
        }
        assert.deepEqual(pages, [['alice', 'bob'], ['carol']]);
      } finally {
        await client.unbind();
      }
    });

    it('upgrades with StartTLS, then binds', async () => {
      const client = new Client({ url: ldap });
      try {
        await assert.rejects(client.bind(READER_DN, READER_PASSWORD), ConfidentialityRequiredError);
        await client.startTLS({ ca: tls.ca, servername: '127.0.0.1' });
        await client.bind(READER_DN, READER_PASSWORD);
        const { searchEntries } = await client.search(BASE_DN, { filter: '(uid=carol)', attributes: ['mail'] });
        assert.deepEqual(
          searchEntries.map((e) => e.mail),
          ['carol@example.org'],
        );
        const whoAmI = await client.exop(LdapOid.whoAmI);
        assert.equal(whoAmI.value, `dn:${READER_DN}`);
        // RFC 4513 §3.1.1: a second StartTLS on a TLS session is an operations error.
        await assert.rejects(client.exop(LdapOid.startTls), OperationsError);
      } finally {
        await client.unbind();
      }
    });

    it('refuses StartTLS while an operation is outstanding, and the session stays in the clear', async () => {
      const client = await RawClient.connect(t.port);
      client.send(
        new SearchRequest({ messageId: 1, baseDN: BASE_DN, filter: FilterParser.parseString('(cn=slow)') }).write(),
      );
      await eventually(() => slowSearches().some((s) => !s.options.signal.aborted));
      client.send({ id: 2, op: { type: 'extendedRequest', name: LdapOid.startTls }, controls: [] });
      const refused = await client.next(2);
      assert.equal(refused.op.type === 'extendedResponse' && refused.op.resultCode, ResultCode.operationsError);
      client.send({ id: 3, op: { type: 'abandonRequest', idToAbandon: 1 }, controls: [] });
      client.send(
        new SearchRequest({ messageId: 4, baseDN: BASE_DN, filter: FilterParser.parseString('(uid=bob)') }).write(),
      );
      assert.equal((await client.untilDone(4)).length, 2);
      client.close();
    });

    it('unbind in the middle of a search aborts it on the server', async () => {
      const client = new Client({ url: ldap });
      const before = slowSearches().length;
      const pending = client.search(BASE_DN, { filter: '(cn=slow)', timeLimit: 0 });
      pending.catch(() => {});
      await eventually(() => slowSearches().length === before + 1);
      await client.unbind();
      const search = slowSearches().at(-1);
      await eventually(() => search?.options.signal.aborted === true);
      assert.equal(search?.options.signal.reason, 'session ended');
    });

    it('abandon, encoded by ldapts, aborts the search and the session goes on', async () => {
      const client = await RawClient.connect(t.port);
      const before = slowSearches().length;
      const search = (messageId: number, filter: string) =>
        new SearchRequest({ messageId, baseDN: BASE_DN, filter: FilterParser.parseString(filter), timeLimit: 0 });
      client.send(search(1, '(cn=slow)').write());
      await eventually(() => slowSearches().length === before + 1);
      client.send(new AbandonRequest({ messageId: 2, abandonId: 1 }).write());
      const abandoned = slowSearches().at(-1);
      await eventually(() => abandoned?.options.signal.aborted === true);
      assert.equal(abandoned?.options.signal.reason, 'abandoned');
      client.send(search(3, '(uid=alice)').write());
      const messages = await client.untilDone(3);
      assert.equal(messages.length, 2);
      assert.deepEqual(client.pending(), []);
      client.close();
    });
  });
});
