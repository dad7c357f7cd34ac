/**
 * Worker thread of bench/directory.ts: issues the seeded users' certificates with the project's
 * builder (`issueCertificate` through a `keySigner`), signed by the bench CA. Every user shares one
 * subject key, so what costs is what differs from one certificate to the next: the serial, the
 * subject and subjectAltName, and the CA's ECDSA signature.
 *
 * workerData: { caPkcs8, caCertificate, subjectSpki, notBefore, notAfter, crlUrl, ocspUrl }.
 * Messages in: { from, to } (user numbers, `to` excluded). Out: { from, ders, serials } with the
 * DER of each certificate in order and its serial as stored (lower-case hex).
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { Certificate, issueCertificate, keySigner, OID, randomSerial } from '@sealpost/core';
import { keyUsageFor, SMIME_MAILBOX_STRICT, serialKey } from '../packages/services/src/ca/records.ts';
import { emailOf } from './directory-users.ts';

interface Setup {
  readonly caPkcs8: Uint8Array;
  readonly caCertificate: Uint8Array;
  readonly subjectSpki: Uint8Array;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly crlUrl: string;
  readonly ocspUrl: string;
}

const setup = workerData as Setup;
const signer = keySigner(createPrivateKey({ key: Buffer.from(setup.caPkcs8), format: 'der', type: 'pkcs8' }));
const caCertificate = Certificate.fromDer(setup.caCertificate);
const publicKey = createPublicKey({ key: Buffer.from(setup.subjectSpki), format: 'der', type: 'spki' });
const notBefore = new Date(setup.notBefore);
const notAfter = new Date(setup.notAfter);
/** What CaService gives an EC key under the dual-use template: signing and ECDH key agreement. */
const keyUsage = keyUsageFor('dual-use', { kind: 'ec', curve: 'P-256' });

parentPort!.on('message', async ({ from, to }: { from: number; to: number }) => {
  const ders: Uint8Array[] = [];
  const serials: string[] = [];
  for (let i = from; i < to; i++) {
    const email = emailOf(i);
    const serialNumber = randomSerial();
    const certificate = await issueCertificate(
      {
        subject: [{ type: 'CN', value: email }],
        emails: [email],
        publicKey,
        serialNumber,
        notBefore,
        notAfter,
        keyUsage,
        extKeyUsage: [OID.emailProtection],
        policies: [SMIME_MAILBOX_STRICT],
        crlUrls: [setup.crlUrl],
        ocspUrls: [setup.ocspUrl],
      },
      { certificate: caCertificate, signer },
    );
    ders.push(certificate.der);
    serials.push(serialKey(serialNumber));
  }
  parentPort!.postMessage({ from, ders, serials });
});
