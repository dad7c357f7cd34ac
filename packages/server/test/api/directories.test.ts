// External directories over HTTP, against a real OpenLDAP slapd: certificates issued through the
// API are published into users' entries and removed on revocation; people and groups are imported;
// partners' certificates are looked up, with their revocation checked at the CRL distribution point
// (a local HTTP server) of a partner PKI made by the openssl CLI.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Slapd } from '../../../ldap/test/support/slapd.ts';
import type { DirectorySettings } from '../../src/config.ts';
import { createServices, type ServerDeps, wiring } from '../../src/index.ts';
import { postgresSchema, startTestServer, type TestServer } from '../support/harness.ts';
import { createRoot, Scratch, useTemplate } from './pki-support.ts';
import { ADMIN_EMAIL, ApiClient, DIALECTS, type Dialect, PASSWORD } from './support.ts';

const SUFFIX = 'dc=example,dc=org';
const PEOPLE = `ou=people,${SUFFIX}`;
const GROUPS = `ou=groups,${SUFFIX}`;
const PARTNERS = `ou=partners,${SUFFIX}`;
/** Polls of slapd and the API wait at most this long for the background publishing. */
const WAIT_MS = 15_000;

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const der = (pem: string): Buffer => Buffer.from(new X509Certificate(pem).raw);

/**
 * The partner PKI, made with `openssl ca`: a root whose CRL lists mallory's certificate, and
 * certificates for bob and mallory whose distribution point is `crlUrl`, and for carol whose
 * distribution point nobody answers at.
 */
function partnerPki(scratch: Scratch, crlUrl: string, deadUrl: string) {
  scratch.write('index.txt', '');
  scratch.write('serial', '1000\n');
  scratch.write('crlnumber', '1000\n');
  scratch.write(
    'ca.cnf',
    [
      '[ca]',
      'default_ca = partner',
      '[partner]',
      'database = index.txt',
      'new_certs_dir = .',
      'certificate = partner-ca.pem',
      'private_key = partner-ca.key',
      'serial = serial',
      'crlnumber = crlnumber',
      'default_md = sha256',
      'default_days = 30',
      'default_crl_days = 1',
      'policy = any',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  scratch.must(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-keyout', 'partner-ca.key', '-out', 'partner-ca.pem', '-days', '30', '-subj', '/O=Partner/CN=Partner Root'],
    ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  );
  const leaf = (name: string, cdp: string): string => {
    scratch.write(
      `${name}.ext`,
      [
        '[leaf]',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature, keyEncipherment',
        'extendedKeyUsage = emailProtection',
        `subjectAltName = email:${name}@partner.example`,
        'authorityKeyIdentifier = keyid',
        `crlDistributionPoints = URI:${cdp}`,
        '',
      ].join('\n'),
    );
    scratch.must(
      ...['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`],
      ...['-subj', `/CN=${name} at Partner`],
    );
    scratch.must(
      ...['ca', '-config', 'ca.cnf', '-batch', '-notext', '-in', `${name}.csr`, '-out', `${name}.pem`],
      ...['-extfile', `${name}.ext`, '-extensions', 'leaf'],
    );
    return scratch.read(`${name}.pem`).toString('utf8');
  };
  const certificates = { bob: leaf('bob', crlUrl), mallory: leaf('mallory', crlUrl), carol: leaf('carol', deadUrl) };
  scratch.must('ca', '-config', 'ca.cnf', '-revoke', 'mallory.pem', '-crl_reason', 'keyCompromise');
  scratch.must('ca', '-config', 'ca.cnf', '-gencrl', '-out', 'partner-crl.pem');
  scratch.must('crl', '-in', 'partner-crl.pem', '-outform', 'DER', '-out', 'partner.crl');
  return { rootPem: scratch.read('partner-ca.pem').toString('utf8'), certificates, crl: scratch.read('partner.crl') };
}

function ldif(dn: string, lines: readonly string[]): string {
  return [`dn: ${dn}`, ...lines, ''].join('\n');
}

function person(uid: string, name: string, base = PEOPLE, certificatePem?: string): string {
  return ldif(`uid=${uid},${base}`, [
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${name}`,
    `sn: ${name.split(' ').at(-1)}`,
    `displayName: ${name}`,
    `mail: ${uid}@${base === PARTNERS ? 'partner.example' : 'example.org'}`,
    ...(certificatePem === undefined ? [] : [`userCertificate;binary:: ${der(certificatePem).toString('base64')}`]),
  ]);
}

interface DirectoryServer {
  readonly url: string;
  readonly admin: ApiClient;
  stop(): Promise<void>;
}

/**
 * The production wiring (routes, access and background: publishing on issuance, jobs) with the
 * given directories, and a first administrator made through the services as `admin create` does.
 */
async function startServer(dialect: Dialect, directories: readonly DirectorySettings[]): Promise<DirectoryServer> {
  const schema = dialect === 'postgres' ? await postgresSchema() : undefined;
  let deps: ServerDeps | undefined;
  let server: TestServer;
  try {
    server = await startTestServer(
      { directories, ...(schema === undefined ? {} : { databaseUrl: schema.url() }) },
      {
        ...wiring,
        routes: (d) => {
          deps = d;
          return wiring.routes?.(d) ?? [];
        },
      },
    );
  } catch (e) {
    await schema?.dispose();
    throw e;
  }
  if (deps === undefined) throw new Error('the server did not build its routes');
  const services = await createServices(deps);
  await services.accounts.createAdmin(ADMIN_EMAIL, PASSWORD, 'First Admin');
  await services.externalDirectories.close();
  const admin = new ApiClient(server.url);
  await admin.login(ADMIN_EMAIL, PASSWORD);
  return {
    url: server.url,
    admin,
    stop: async () => {
      try {
        await server.stop();
      } finally {
        await schema?.dispose();
      }
    },
  };
}

describe('external directories over the API', () => {
  const scratch = new Scratch();
  let crlServer: Server;
  let crlRequests = 0;
  let partner: ReturnType<typeof partnerPki>;

  before(async () => {
    crlServer = createServer((req, res) => {
      if (req.url !== '/partner.crl') {
        res.writeHead(404).end();
        return;
      }
      crlRequests++;
      res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(partner.crl);
    });
    await new Promise<void>((resolve) => crlServer.listen(0, '127.0.0.1', resolve));
    // A port that was free a moment ago: connections to it are refused.
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadPort = (dead.address() as AddressInfo).port;
    await new Promise((resolve) => dead.close(resolve));
    const crlPort = (crlServer.address() as AddressInfo).port;
    partner = partnerPki(scratch, `http://127.0.0.1:${crlPort}/partner.crl`, `http://127.0.0.1:${deadPort}/gone.crl`);
  });
  after(async () => {
    crlServer.closeAllConnections();
    await new Promise((resolve) => crlServer.close(resolve));
    scratch.dispose();
  });

  for (const dialect of DIALECTS) {
    describe(dialect, () => {
      let slapd: Slapd;
      let api: DirectoryServer;
      let admin: ApiClient;

      before(async () => {
        slapd = await Slapd.start({
          load: [
            [
              ldif(PEOPLE, ['objectClass: organizationalUnit', 'ou: people']),
              ldif(GROUPS, ['objectClass: organizationalUnit', 'ou: groups']),
              ldif(PARTNERS, ['objectClass: organizationalUnit', 'ou: partners']),
              person('alice', 'Alice Liddell'),
              person('carol', 'Carol Danvers'),
              ldif(`cn=staff,${GROUPS}`, [
                'objectClass: groupOfNames',
                'cn: staff',
                `member: uid=alice,${PEOPLE}`,
                `member: uid=carol,${PEOPLE}`,
              ]),
              person('bob', 'Bob Partner', PARTNERS, partner.certificates.bob),
              person('mallory', 'Mallory Partner', PARTNERS, partner.certificates.mallory),
              person('carol', 'Carol Partner', PARTNERS, partner.certificates.carol),
            ].join('\n'),
          ],
        });
        const common = { startTls: false, filter: '(mail={address})', timeoutMs: 3000 } as const;
        api = await startServer(dialect, [
          {
            name: 'corp',
            url: slapd.url,
            baseDn: PEOPLE,
            uses: ['import', 'publish'],
            bindDn: slapd.rootDn,
            bindPasswordFile: join(slapd.dir, 'root.pw'),
            groupsBaseDn: GROUPS,
            ...common,
          },
          { name: 'partners', url: slapd.url, baseDn: PARTNERS, uses: ['lookup'], ...common },
        ]);
        admin = api.admin;
      });
      after(async () => {
        await api?.stop();
        await slapd?.stop();
      });

      test('lists the configured directories; bind credentials stay out', async () => {
        const res = await admin.get('/api/v1/directories');
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.json()['items'], [
          { name: 'corp', url: slapd.url, baseDn: PEOPLE, uses: ['import', 'publish'], pending: 0 },
          { name: 'partners', url: slapd.url, baseDn: PARTNERS, uses: ['lookup'] },
        ]);
        const doc = (await admin.get('/api/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> };
        assert.ok(doc.paths['/api/v1/directories']?.['get']);
        assert.ok(doc.paths['/api/v1/directories/{name}/import']?.['post']);
        assert.ok(doc.paths['/api/v1/directories/publish']?.['post']);
      });

      test('imports people and groups on request; refuses unknown and non-import directories', async () => {
        const res = await admin.post('/api/v1/directories/corp/import');
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.json(), {
          source: 'corp',
          people: 2,
          groups: 1,
          created: 2,
          updated: 0,
          disabled: 0,
          enabled: 0,
          joined: 2,
          left: 0,
          skipped: [],
        });
        const staff = await admin.get('/api/v1/users?group=staff');
        assert.equal(staff.status, 200, staff.text);
        const members = staff.json()['items'] as { email: string; displayName: string; status: string }[];
        assert.deepEqual(
          members.map((u) => [u.email, u.displayName, u.status]),
          [
            ['alice@example.org', 'Alice Liddell', 'active'],
            ['carol@example.org', 'Carol Danvers', 'active'],
          ],
        );

        const unknown = await admin.post('/api/v1/directories/nowhere/import');
        assert.equal(unknown.status, 404, unknown.text);
        assert.equal(unknown.json()['code'], 'NOT_FOUND');
        const lookupOnly = await admin.post('/api/v1/directories/partners/import');
        assert.equal(lookupOnly.status, 409, lookupOnly.text);
        assert.equal(lookupOnly.json()['code'], 'INVALID_STATE');
        assert.match(String(lookupOnly.json()['detail']), /not an import source/);
      });

      test('publishes an issued certificate into the holder’s entry and removes it on revocation', async () => {
        const aliceDn = `uid=alice,${PEOPLE}`;
        const published = () => slapd.values(aliceDn, 'userCertificate;binary');
        const caId = await createRoot(admin, scratch);
        await useTemplate(admin, 'dual-use', caId);
        const issued = await admin.post('/api/v1/certificates', {
          userEmail: 'alice@example.org',
          template: 'dual-use',
        });
        assert.equal(issued.status, 201, issued.text);
        const { serial, certificatePem } = issued.json() as { serial: string; certificatePem: string };
        const value = der(certificatePem);
        await until('the certificate in slapd', async () => (await published()).some((v) => v.equals(value)));
        assert.equal((await published()).length, 1);

        const revoked = await admin.post(`/api/v1/certificates/${serial}/revoke`, { reason: 'keyCompromise' });
        assert.equal(revoked.status, 200, revoked.text);
        await until('the certificate out of slapd', async () => (await published()).length === 0);
        const pending = async () =>
          ((await admin.get('/api/v1/directories')).json()['items'] as { name: string; pending?: number }[]).find(
            (d) => d.name === 'corp',
          )?.pending;
        await until('the removal confirmed', async () => (await pending()) === 0);

        // The administrator has no entry in the directory: their certificate waits, counted as pending.
        const own = await admin.post('/api/v1/certificates', { userEmail: ADMIN_EMAIL, template: 'dual-use' });
        assert.equal(own.status, 201, own.text);
        await until('the publication without an entry', async () => (await pending()) === 1);
        const publish = await admin.post('/api/v1/directories/publish');
        assert.equal(publish.status, 200, publish.text);
        assert.deepEqual(publish.json(), { published: 0, removed: 0, noEntry: 1, failed: [], unreachable: [] });
      });

      test('finds partners’ certificates in a lookup directory and checks their CRL', async () => {
        const anchored = await admin.post('/api/v1/trust', { pem: partner.rootPem });
        assert.equal(anchored.status, 200, anchored.text);
        assert.equal((anchored.json()['imported'] as unknown[]).length, 1);
        const before = crlRequests;
        const res = await admin.post('/api/v1/recipients/resolve', {
          addresses: ['bob@partner.example', 'mallory@partner.example', 'carol@partner.example'],
        });
        assert.equal(res.status, 200, res.text);
        type Answer = {
          address: string;
          status: string;
          reason?: string;
          certificates: { source: string; directory?: string; sha256: string; revocation: string }[];
          excluded: { source: string; reason: string }[];
        };
        const [bob, mallory, carol] = res.json()['recipients'] as Answer[];

        assert.equal(bob?.status, 'ok');
        const bobCert = bob.certificates[0];
        assert.equal(bobCert?.source, 'directory');
        assert.equal(bobCert.directory, 'partners');
        assert.equal(
          bobCert.sha256,
          new X509Certificate(partner.certificates.bob).fingerprint256.replaceAll(':', '').toLowerCase(),
        );
        assert.equal(bobCert.revocation, 'good');

        assert.equal(mallory?.status, 'none');
        assert.equal(mallory.reason, 'revoked');
        assert.deepEqual(mallory.excluded, [{ ...mallory.excluded[0], source: 'directory', reason: 'revoked' }]);

        // Nobody answers at carol's distribution point: the status is unknown and she can still be encrypted to.
        assert.equal(carol?.status, 'ok');
        assert.equal(carol.certificates[0]?.revocation, 'unknown');
        assert.ok(crlRequests > before, 'the CRL was fetched from its distribution point');
      });
    });
  }
});
