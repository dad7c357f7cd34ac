import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { isSealpostError } from '../../src/errors.ts';
import { Certificate } from '../../src/x509/certificate.ts';
import {
  authorityInfoAccess,
  crlDistributionPoints,
  distributionPointUrls,
  resolveDistributionPointName,
} from '../../src/x509/distribution.ts';
import { nameToString } from '../../src/x509/name.ts';
import { cert as pkitsCert, SKIP } from '../conformance/pkits/data.ts';
import { createTestCa, type TestCa } from '../revocation/openssl-ca.ts';

describe('CRL distribution points and authority information access', () => {
  let ca: TestCa;
  before(() => {
    ca = createTestCa('http://127.0.0.1:8080/ca.crl', 'http://127.0.0.1:8081/ocsp');
  });
  after(() => ca.cleanup());

  /** A self-signed certificate with one raw extension, made by openssl. */
  const withExtension = (ext: string): Certificate =>
    Certificate.from(
      execFileSync(
        'openssl',
        ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=x', '-days', '1', '-addext', ext],
        { cwd: ca.dir },
      ),
    );

  test('reads what openssl ca writes', () => {
    const dps = crlDistributionPoints(ca.good);
    assert.deepEqual(dps, [
      { name: { fullName: [{ type: 'uniformResourceIdentifier', value: 'http://127.0.0.1:8080/ca.crl' }] } },
    ]);
    assert.deepEqual(distributionPointUrls(dps), ['http://127.0.0.1:8080/ca.crl']);
    assert.deepEqual(authorityInfoAccess(ca.good), {
      ocsp: ['http://127.0.0.1:8081/ocsp'],
      caIssuers: ['http://127.0.0.1:8080/ca.crl.crt'],
    });
    assert.deepEqual(crlDistributionPoints(ca.ca), []);
    assert.deepEqual(authorityInfoAccess(ca.ca), { ocsp: [], caIssuers: [] });
  });

  test('reasons, cRLIssuer and non-HTTP names', () => {
    // DistributionPoint { [0] { [0] { [6] "ldap://x" } }, [1] reasons keyCompromise, [2] { [4] Name CN=I } }
    const c = withExtension(
      'crlDistributionPoints=DER:30:2a:30:28:a0:0c:a0:0a:86:08:6c:64:61:70:3a:2f:2f:78:81:02:06:40:a2:14:a4:12:30:10:31:0e:30:0c:06:03:55:04:03:0c:05:49:73:73:75:65',
    );
    const [dp] = crlDistributionPoints(c);
    assert.equal(dp?.reasons, 1 << 1);
    assert.equal(dp?.crlIssuer?.[0]?.type, 'directoryName');
    assert.deepEqual(distributionPointUrls([dp!]), []);
  });

  test('malformed extensions are CERT_MALFORMED', () => {
    const bad = (ext: string, read: (c: Certificate) => unknown) =>
      assert.throws(
        () => read(withExtension(ext)),
        (e) => isSealpostError(e, 'CERT_MALFORMED'),
      );
    bad('crlDistributionPoints=DER:30:00', crlDistributionPoints);
    // A distribution point with only reasons (§4.2.1.13 forbids it).
    bad('crlDistributionPoints=DER:30:06:30:04:81:02:06:40', crlDistributionPoints);
    bad('crlDistributionPoints=DER:04:00', crlDistributionPoints);
    bad('authorityInfoAccess=DER:30:00', authorityInfoAccess);
    bad('authorityInfoAccess=DER:30:03:30:01:00', authorityInfoAccess);
  });

  test(
    'nameRelativeToCRLIssuer is appended to the CRL issuer name (PKITS distributionPoint2)',
    {
      skip: SKIP,
    },
    () => {
      const cert = pkitsCert('ValiddistributionPointTest5EE')!;
      const [dp] = crlDistributionPoints(cert);
      assert.ok(dp?.name?.relativeName);
      const [full] = resolveDistributionPointName(dp.name, cert.issuer);
      assert.equal(full?.type, 'directoryName');
      assert.equal(
        nameToString((full as { name: Certificate['issuer'] }).name),
        `CN=CRL1 of distributionPoint2 CA, ${nameToString(cert.issuer)}`,
      );
    },
  );
});
