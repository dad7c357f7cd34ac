import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ResultCode } from '@sealpost/core/ldap';
import { LdapClient } from '../src/client.ts';
import { isLdapError, LdapError } from '../src/ldap-error.ts';
import { closedPort, silentServer } from './support/services.ts';
import { Slapd } from './support/slapd.ts';

const PEOPLE = 25;
/** More than the client buffers before it stops reading the socket. */
const MANY = 1500;

function person(i: number): string {
  return `dn: uid=u${i},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: u${i}\ncn: User ${i}\nsn: Number${i}\nmail: u${i}@example.org\n`;
}

function ldapError(code: 'DIRECTORY_UNAVAILABLE' | 'DIRECTORY_ERROR', resultCode?: number) {
  return (e: unknown) => {
    assert.ok(e instanceof LdapError, `expected an LdapError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.resultCode, resultCode, e.message);
    return true;
  };
}

describe('LdapClient against OpenLDAP slapd', () => {
  let slapd: Slapd;

  before(async () => {
    slapd = await Slapd.start({
      tls: true,
      load: [
        `dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n\n${Array.from({ length: PEOPLE }, (_, i) => person(i)).join('\n')}`,
        `dn: ou=many,dc=example,dc=org\nobjectClass: organizationalUnit\nou: many\n\n${Array.from(
          { length: MANY },
          (_, i) =>
            `dn: cn=m${i},ou=many,dc=example,dc=org\nobjectClass: device\ncn: m${i}\ndescription: ${'x'.repeat(200)}\n`,
        ).join('\n')}`,
      ],
      // Everyone but the root DN gets at most 10 entries per search, and any number through paging.
      databaseConfig: ['limits * size.soft=10 size.hard=10 size.prtotal=unlimited'],
    });
  });
  after(() => slapd.stop());

  it('binds with the right password and refuses a wrong one without revealing it', async () => {
    const client = await LdapClient.connect({ url: slapd.url });
    try {
      await client.bind(slapd.rootDn, slapd.rootPassword);
      const wrong = 'not-the-password-7f3a';
      const error = await client.bind(slapd.rootDn, wrong).then(
        () => assert.fail('a wrong password was accepted'),
        (e: unknown) => e,
      );
      assert.ok(isLdapError(error, ResultCode.invalidCredentials));
      assert.equal(error.code, 'DIRECTORY_ERROR');
      assert.match(error.message, /invalidCredentials \(49\)/);
      assert.ok(!JSON.stringify({ ...error, message: error.message, stack: error.stack }).includes(wrong));
      assert.ok(!error.message.includes(slapd.rootPassword));
    } finally {
      await client.unbind();
    }
  });

  it('pages through more entries than the server returns in one search', async () => {
    const client = await LdapClient.connect({ url: slapd.url });
    try {
      await assert.rejects(
        client.searchAll({ base: slapd.suffix, filter: '(objectClass=inetOrgPerson)' }),
        ldapError('DIRECTORY_ERROR', ResultCode.sizeLimitExceeded),
      );
      const entries = await client.searchAll({
        base: slapd.suffix,
        filter: '(objectClass=inetOrgPerson)',
        attributes: ['mail', 'cn'],
        pageSize: 7,
      });
      assert.equal(entries.length, PEOPLE);
      assert.deepEqual(
        entries.map((e) => e.text('mail')).sort(),
        Array.from({ length: PEOPLE }, (_, i) => `u${i}@example.org`).sort(),
      );
      const u3 = entries.find((e) => e.dn === 'uid=u3,ou=people,dc=example,dc=org');
      assert.equal(u3?.text('cn'), 'User 3');
      assert.equal(u3?.text('sn'), undefined, 'only the requested attributes come back');
    } finally {
      await client.unbind();
    }
  });

  it('stops at the size limit it asked for, after the entries before it', async () => {
    const client = await LdapClient.connect({ url: slapd.url });
    try {
      const seen: string[] = [];
      await assert.rejects(
        async () => {
          for await (const entry of client.search({ base: slapd.suffix, filter: '(uid=*)', sizeLimit: 3 })) {
            seen.push(entry.dn);
          }
        },
        ldapError('DIRECTORY_ERROR', ResultCode.sizeLimitExceeded),
      );
      assert.equal(seen.length, 3);
    } finally {
      await client.unbind();
    }
  });

  it('lets a slow consumer fall behind without timing the search out, and stops when it breaks off', async () => {
    const client = await LdapClient.connect({ url: slapd.url, timeoutMs: 300 });
    try {
      await client.bind(slapd.rootDn, slapd.rootPassword);
      let count = 0;
      for await (const _ of client.search({ base: 'ou=many,dc=example,dc=org', scope: 'one' })) {
        // The socket is paused while the consumer is busy: the server's silence is not its fault.
        if (count++ === 0) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      assert.equal(count, MANY);
      for await (const _ of client.search({ base: 'ou=many,dc=example,dc=org', scope: 'one' })) break;
      assert.equal((await client.searchAll({ base: slapd.suffix, filter: '(uid=u4)' })).length, 1);
    } finally {
      await client.unbind();
    }
  });

  it('runs concurrent searches on one connection and keeps their answers apart', async () => {
    const client = await LdapClient.connect({ url: slapd.url });
    try {
      const results = await Promise.all(
        Array.from({ length: PEOPLE }, (_, i) =>
          client.searchAll({ base: slapd.suffix, filter: `(uid=u${i})`, attributes: ['mail'] }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.map((e) => e.text('mail'))),
        Array.from({ length: PEOPLE }, (_, i) => [`u${i}@example.org`]),
      );
    } finally {
      await client.unbind();
    }
  });

  it('adds, modifies (add, delete, replace values) and deletes entries', async () => {
    const client = await LdapClient.connect({ url: slapd.url });
    const dn = 'uid=mod,ou=people,dc=example,dc=org';
    try {
      await client.bind(slapd.rootDn, slapd.rootPassword);
      await client.add(dn, { objectClass: ['inetOrgPerson'], uid: 'mod', cn: 'Mod', sn: 'Ified' });
      await client.modify(dn, [{ operation: 'add', type: 'description', values: ['one', 'two', 'three'] }]);
      await client.modify(dn, [
        { operation: 'delete', type: 'description', values: ['two'] },
        { operation: 'replace', type: 'sn', values: ['Changed'] },
      ]);
      // Read back with the OpenLDAP CLI, not with the client under test.
      assert.deepEqual((await slapd.values(dn, 'description')).map(String).sort(), ['one', 'three']);
      assert.deepEqual((await slapd.values(dn, 'sn')).map(String), ['Changed']);
      await assert.rejects(
        client.modify(dn, [{ operation: 'delete', type: 'description', values: ['two'] }]),
        ldapError('DIRECTORY_ERROR', ResultCode.noSuchAttribute),
      );
      await assert.rejects(
        client.modify(dn, [{ operation: 'add', type: 'description', values: ['one'] }]),
        ldapError('DIRECTORY_ERROR', ResultCode.attributeOrValueExists),
      );
      await client.delete(dn);
      assert.deepEqual(await slapd.ldapsearch(slapd.suffix, '(uid=mod)'), []);
      await assert.rejects(client.delete(dn), ldapError('DIRECTORY_ERROR', ResultCode.noSuchObject));
    } finally {
      await client.unbind();
    }
  });

  it('reports a missing base as noSuchObject, and a refused connection as unavailable', async () => {
    const client = await LdapClient.connect({ url: slapd.url });
    try {
      await assert.rejects(
        client.searchAll({ base: 'ou=nowhere,dc=example,dc=org' }),
        ldapError('DIRECTORY_ERROR', ResultCode.noSuchObject),
      );
    } finally {
      await client.unbind();
    }
    await assert.rejects(
      LdapClient.connect({ url: `ldap://127.0.0.1:${await closedPort()}` }),
      ldapError('DIRECTORY_UNAVAILABLE'),
    );
  });

  it('speaks TLS: ldaps:// and StartTLS, verifying the server against the given CA', async () => {
    const tls = slapd.tls!;
    for (const options of [{ url: tls.ldapsUrl }, { url: slapd.url, startTls: true }]) {
      const client = await LdapClient.connect({ ...options, tls: { ca: tls.caPem } });
      try {
        await client.bind(slapd.rootDn, slapd.rootPassword);
        const [entry] = await client.searchAll({ base: slapd.suffix, filter: '(uid=u1)', attributes: ['mail'] });
        assert.equal(entry?.text('mail'), 'u1@example.org');
      } finally {
        await client.unbind();
      }
      // Without the CA, or for a name the certificate does not carry, the handshake fails.
      await assert.rejects(LdapClient.connect(options), ldapError('DIRECTORY_UNAVAILABLE'));
      await assert.rejects(
        LdapClient.connect({ ...options, tls: { ca: tls.caPem, servername: 'ldap.example.net' } }),
        ldapError('DIRECTORY_UNAVAILABLE'),
      );
    }
    await assert.rejects(
      LdapClient.connect({ url: tls.ldapsUrl, startTls: true, tls: { ca: tls.caPem } }),
      ldapError('DIRECTORY_ERROR'),
    );
  });

  it('fails the waiting operations when the server goes away', async () => {
    const client = await LdapClient.connect({ url: slapd.url });
    try {
      await slapd.halt();
      await assert.rejects(client.searchAll({ base: slapd.suffix }), ldapError('DIRECTORY_UNAVAILABLE'));
      assert.equal(client.connected, false);
    } finally {
      client.close();
      await slapd.resume();
    }
  });

  it('abandons a search when the consumer aborts it', async () => {
    const client = await LdapClient.connect({ url: slapd.url });
    try {
      const controller = new AbortController();
      let seen = 0;
      await assert.rejects(
        async () => {
          for await (const _ of client.search({
            base: slapd.suffix,
            filter: '(uid=*)',
            pageSize: 2,
            signal: controller.signal,
          })) {
            seen++;
            controller.abort();
          }
        },
        { name: 'AbortError' },
      );
      assert.equal(seen, 1);
      // The connection stays usable.
      assert.equal((await client.searchAll({ base: slapd.suffix, filter: '(uid=u2)' })).length, 1);
      await assert.rejects(client.bind(slapd.rootDn, slapd.rootPassword, { signal: AbortSignal.abort() }), {
        name: 'AbortError',
      });
    } finally {
      await client.unbind();
    }
  });
});

describe('LdapClient against a server that never answers', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  before(async () => {
    silent = await silentServer();
  });
  after(() => silent.close());

  it('times out an operation', async () => {
    const client = await LdapClient.connect({ url: silent.url('ldap'), timeoutMs: 200 });
    try {
      await assert.rejects(client.bind('cn=x', 'secret-pw'), (e: unknown) => {
        assert.ok(e instanceof LdapError);
        assert.equal(e.code, 'DIRECTORY_UNAVAILABLE');
        assert.match(e.message, /timed out/);
        assert.ok(!e.message.includes('secret-pw'));
        return true;
      });
    } finally {
      client.close();
    }
  });

  it('times out connecting (a TLS handshake that never completes, a StartTLS never answered)', async () => {
    await assert.rejects(
      LdapClient.connect({ url: silent.url('ldaps'), connectTimeoutMs: 200 }),
      (e: unknown) => e instanceof LdapError && e.code === 'DIRECTORY_UNAVAILABLE' && /timed out/.test(e.message),
    );
    await assert.rejects(
      LdapClient.connect({ url: silent.url('ldap'), startTls: true, connectTimeoutMs: 200 }),
      (e: unknown) => e instanceof LdapError && e.code === 'DIRECTORY_UNAVAILABLE' && /timed out/.test(e.message),
    );
  });

  it('gives up when the caller aborts, with the abort reason', async () => {
    const client = await LdapClient.connect({ url: silent.url('ldap'), timeoutMs: 60_000 });
    try {
      const controller = new AbortController();
      const search = client.searchAll({ base: 'dc=example,dc=org', signal: controller.signal });
      controller.abort(new Error('caller gave up'));
      await assert.rejects(search, /caller gave up/);
    } finally {
      client.close();
    }
    const controller = new AbortController();
    const connecting = LdapClient.connect({ url: silent.url('ldaps'), signal: controller.signal });
    controller.abort();
    await assert.rejects(connecting, { name: 'AbortError' });
  });
});
