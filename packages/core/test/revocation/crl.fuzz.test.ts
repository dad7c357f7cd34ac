import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { integer, seq, tlv } from '../../src/asn1/encode.ts';
import { OID } from '../../src/asn1/oids.ts';
import { SealpostError } from '../../src/errors.ts';
import { createRevocationChecker } from '../../src/revocation/checker.ts';
import { parseCrl } from '../../src/revocation/crl.ts';
import { buildOcspRequest, parseOcspResponse } from '../../src/revocation/ocsp.ts';
import { buildCrl, crlNumber, extension } from './crl-support.ts';
import { createTestCa, type TestCa } from './openssl-ca.ts';

function rethrowUnlessSealpost(e: unknown): void {
  if (!(e instanceof SealpostError)) throw e;
}

const mutate = (seeds: Buffer[]) =>
  fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.option(fc.nat(), { nil: undefined }),
    )
    .map(([seed, flips, cut]) => {
      const out = Buffer.from(seed);
      for (const [at, mask] of flips) out[at % out.length]! ^= mask;
      return cut === undefined ? out : out.subarray(0, cut % out.length);
    });

describe('mutated CRLs and OCSP responses', () => {
  let ca: TestCa;
  let crls: Buffer[];
  let responses: Buffer[];
  before(() => {
    ca = createTestCa();
    const T = new Date();
    const idp = seq(
      tlv(0xa0, tlv(0xa0, tlv(0x86, Buffer.from('http://127.0.0.1:9/ca.crl')))),
      tlv(0x81, Buffer.from([0xff])),
    );
    // Ours covers what OpenSSL's `ca` does not write: IDP, delta indicator, reasons and entry issuers.
    const ours = buildCrl(
      {
        issuer: ca.ca.subject.der,
        thisUpdate: T,
        entries: [
          { serial: 0x1001n, date: T, reason: 1 },
          { serial: 0x1002n, date: T, certificateIssuer: seq(tlv(0xa4, ca.ca.subject.der)) },
        ],
        extensions: [
          crlNumber(3),
          extension(OID.issuingDistributionPoint, idp, true),
          extension(OID.deltaCRLIndicator, integer(2), true),
        ],
      },
      createPrivateKey(readFileSync(join(ca.dir, 'ca.key'))),
    );
    crls = [ca.crl(), ours];
    const req = buildOcspRequest([
      { certificate: ca.good, issuer: ca.ca },
      { certificate: ca.revoked, issuer: ca.ca },
    ]);
    responses = [ca.respond(req.der, 'ca'), ca.respond(req.der, 'responder')];
  });
  after(() => ca.cleanup());

  test('seeds parse', () => {
    for (const c of crls) assert.ok(parseCrl(c));
    assert.equal(createRevocationChecker({ crls: [crls[0]!] })(ca.revoked, ca.ca, new Date()).status, 'revoked');
    for (const r of responses) assert.equal(parseOcspResponse(r).status, 'successful');
  });

  test('parseCrl and parseOcspResponse throw only SealpostError; the checker never throws', () => {
    const time = new Date();
    fc.assert(
      fc.property(mutate(crls), mutate(responses), (crl, response) => {
        try {
          parseCrl(crl);
        } catch (e) {
          rethrowUnlessSealpost(e);
        }
        try {
          parseOcspResponse(response);
        } catch (e) {
          rethrowUnlessSealpost(e);
        }
        const check = createRevocationChecker({ crls: [crl], ocspResponses: [response], certificates: [ca.responder] });
        for (const cert of [ca.good, ca.revoked]) {
          const s = check(cert, ca.ca, time);
          assert.ok(['good', 'revoked', 'unknown'].includes(s.status));
          assert.equal(typeof s.detail, 'string');
        }
      }),
      { numRuns: 1000 },
    );
  });
});
