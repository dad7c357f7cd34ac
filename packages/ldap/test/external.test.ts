import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatFilter } from '@sealpost/core/ldap';
import { LdapDirectory } from '../src/external.ts';
import { LdapError } from '../src/ldap-error.ts';
import { closedPort, foreignCertificate, silentServer } from './support/services.ts';
import { Slapd } from './support/slapd.ts';

function partner(uid: string, mail: string, certificates: readonly Buffer[]): string {
  return [
    `dn: uid=${uid},ou=partners,dc=example,dc=org`,
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${uid}`,
    `sn: ${uid}`,
    `mail: ${mail}`,
    ...certificates.map((c) => `userCertificate;binary:: ${c.toString('base64')}`),
    '',
  ].join('\n');
}

function unavailable(e: unknown): boolean {
  return e instanceof LdapError && e.code === 'DIRECTORY_UNAVAILABLE';
}

describe('LdapDirectory: looking up partners certificates', () => {
  let slapd: Slapd;
  let alice: Buffer[];
  let bob: Buffer;

  before(async () => {
    alice = [await foreignCertificate('alice@partner.example'), await foreignCertificate('alice@partner.example')];
    bob = await foreignCertificate('bob@partner.example');
    slapd = await Slapd.start({
      tls: true,
      load: [
        [
          'dn: ou=partners,dc=example,dc=org\nobjectClass: organizationalUnit\nou: partners\n',
          partner('alice', 'alice@partner.example', alice),
          partner('bob', 'bob@partner.example', [bob]),
          partner('nocert', 'nocert@partner.example', []),
        ].join('\n'),
      ],
    });
  });
  after(() => slapd.stop());

  it('finds the certificates of a mailbox, anonymously', async () => {
    const directory = new LdapDirectory({ name: 'partner', url: slapd.url, baseDn: slapd.suffix });
    try {
      const found = await directory.certificatesFor('alice@partner.example', AbortSignal.timeout(5000));
      assert.deepEqual(
        found.map((d) => Buffer.from(d).toString('hex')).sort(),
        alice.map((d) => d.toString('hex')).sort(),
      );
      assert.deepEqual(await directory.certificatesFor('nocert@partner.example', AbortSignal.timeout(5000)), []);
      assert.deepEqual(await directory.certificatesFor('nobody@partner.example', AbortSignal.timeout(5000)), []);
    } finally {
      await directory.close();
    }
  });

  it('puts the address into the filter as a value, so filter syntax in it matches nothing', async () => {
    const directory = new LdapDirectory({
      name: 'partner',
      url: slapd.url,
      baseDn: slapd.suffix,
      filter: '(&(objectClass=inetOrgPerson)(|(mail={address})(uid={address})))',
    });
    try {
      assert.equal(
        formatFilter(directory.filterFor('x*)(uid=*')),
        '(&(objectClass=inetOrgPerson)(|(mail=x\\2a\\29\\28uid=\\2a)(uid=x\\2a\\29\\28uid=\\2a)))',
      );
      for (const hostile of ['*', 'x*)(uid=*', '*)(|(objectClass=*']) {
        assert.deepEqual(await directory.certificatesFor(hostile, AbortSignal.timeout(5000)), [], hostile);
      }
      // The uid branch of the template finds bob too.
      const [der] = await directory.certificatesFor('bob', AbortSignal.timeout(5000));
      assert.deepEqual(Buffer.from(der!), bob);
    } finally {
      await directory.close();
    }
  });

  it('refuses a template without {address}, a bind DN without password, and a wrong password', async () => {
    assert.throws(
      () => new LdapDirectory({ name: 'x', url: slapd.url, baseDn: slapd.suffix, filter: '(mail=*)' }),
      (e: unknown) => e instanceof LdapError && /\{address\}/.test(e.message),
    );
    assert.throws(
      () => new LdapDirectory({ name: 'x', url: slapd.url, baseDn: slapd.suffix, bindDn: slapd.rootDn }),
      (e: unknown) => e instanceof LdapError && /bindPassword/.test(e.message),
    );
    const wrong = new LdapDirectory({
      name: 'x',
      url: slapd.url,
      baseDn: slapd.suffix,
      bindDn: slapd.rootDn,
      bindPassword: 'wrong-password-4d1c',
    });
    await assert.rejects(
      wrong.certificatesFor('bob@partner.example', AbortSignal.timeout(5000)),
      (e: unknown) => e instanceof LdapError && e.resultCode === 49 && !e.message.includes('wrong-password-4d1c'),
    );
    await wrong.close();
  });

  it('looks up over ldaps:// and StartTLS, bound as a user', async () => {
    const tls = slapd.tls!;
    for (const transport of [{ url: tls.ldapsUrl }, { url: slapd.url, startTls: true }]) {
      const directory = new LdapDirectory({
        name: 'partner',
        ...transport,
        tls: { ca: tls.caPem },
        baseDn: slapd.suffix,
        bindDn: slapd.rootDn,
        bindPassword: slapd.rootPassword,
      });
      try {
        const [der] = await directory.certificatesFor('bob@partner.example', AbortSignal.timeout(5000));
        assert.deepEqual(Buffer.from(der!), bob);
      } finally {
        await directory.close();
      }
    }
  });

  it('reconnects after the directory restarted', async () => {
    const directory = new LdapDirectory({ name: 'partner', url: slapd.url, baseDn: slapd.suffix });
    try {
      assert.equal((await directory.certificatesFor('bob@partner.example', AbortSignal.timeout(5000))).length, 1);
      await slapd.halt();
      await assert.rejects(directory.certificatesFor('bob@partner.example', AbortSignal.timeout(5000)), unavailable);
      await slapd.resume();
      assert.equal((await directory.certificatesFor('bob@partner.example', AbortSignal.timeout(5000))).length, 1);
    } finally {
      await slapd.resume();
      await directory.close();
    }
  });
});

describe('LdapDirectory: a directory that is down or does not answer', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  before(async () => {
    silent = await silentServer();
  });
  after(() => silent.close());

  it('rejects at once when nothing listens', async () => {
    const directory = new LdapDirectory({
      name: 'dead',
      url: `ldap://127.0.0.1:${await closedPort()}`,
      baseDn: 'dc=example,dc=org',
    });
    await assert.rejects(directory.certificatesFor('a@example.org', AbortSignal.timeout(5000)), unavailable);
    await directory.close();
  });

  it('rejects within its timeout when the server never answers', async () => {
    for (const url of [silent.url('ldap'), silent.url('ldaps')]) {
      const directory = new LdapDirectory({ name: 'silent', url, baseDn: 'dc=example,dc=org', timeoutMs: 200 });
      await assert.rejects(directory.certificatesFor('a@example.org', AbortSignal.timeout(60_000)), unavailable);
      await directory.close();
    }
  });

  it("rejects when the caller's signal fires first", async () => {
    const directory = new LdapDirectory({
      name: 'silent',
      url: silent.url('ldap'),
      baseDn: 'dc=example,dc=org',
      timeoutMs: 60_000,
    });
    await assert.rejects(directory.certificatesFor('a@example.org', AbortSignal.timeout(200)), {
      name: 'TimeoutError',
    });
    await directory.close();
  });
});
