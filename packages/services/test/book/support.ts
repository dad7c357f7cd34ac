// Test support for the certificate book: certificates made with core's builder (any dates, key
// usages and issuers a case needs), messages signed by OpenSSL or by core's signer, and the book's
// services wired over a test database.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { buildCertificate, type Certificate, type KeyUsageName, OID, pemEncode } from '@sealpost/core';
import type { AuditLog } from '../../src/audit/log.ts';
import { CertificateBook } from '../../src/book/book.ts';
import { RecipientResolver, type RecipientResolverOptions } from '../../src/book/resolve.ts';
import type { CaService } from '../../src/ca/ca-service.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { Database } from '../../src/ports/database.ts';
import { TrustStore } from '../../src/trust/trust-store.ts';
import { newMasterKey, node, type Scratch } from '../ca/support.ts';

export const DAY = 86_400_000;

export interface Identity {
  readonly certificate: Certificate;
  readonly key: KeyObject;
}

export type Use = 'dual' | 'sign' | 'encrypt';

const USAGE: Record<Use, KeyUsageName[]> = {
  dual: ['digitalSignature', 'keyAgreement'],
  sign: ['digitalSignature'],
  encrypt: ['keyAgreement'],
};

/** A self-signed CA (P-256), valid from a year before `now` for ten years. */
export function makeRoot(commonName: string, now: Date): Identity {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certificate = buildCertificate(
    {
      commonName,
      publicKey: privateKey,
      notBefore: new Date(now.getTime() - 365 * DAY),
      notAfter: new Date(now.getTime() + 3650 * DAY),
      ca: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
    },
    { privateKey },
  );
  return { certificate, key: privateKey };
}

export interface LeafOptions {
  readonly use?: Use;
  /** Days from `now`; default -30 and +365. */
  readonly from?: number;
  readonly to?: number;
  readonly extKeyUsage?: string[];
  readonly commonName?: string;
}

/** An end-entity certificate for `email`, issued by `issuer`. */
export function makeLeaf(issuer: Identity, email: string, now: Date, options: LeafOptions = {}): Identity {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certificate = buildCertificate(
    {
      commonName: options.commonName ?? email,
      emails: [email],
      publicKey: privateKey,
      notBefore: new Date(now.getTime() + (options.from ?? -30) * DAY),
      notAfter: new Date(now.getTime() + (options.to ?? 365) * DAY),
      keyUsage: USAGE[options.use ?? 'dual'],
      extKeyUsage: options.extKeyUsage ?? [OID.emailProtection],
    },
    { certificate: issuer.certificate, privateKey: issuer.key },
  );
  return { certificate, key: privateKey };
}

export const pem = (c: Certificate) => pemEncode('CERTIFICATE', c.der);

/** A plain RFC 5322 message (CRLF line ends). */
export function plainMessage(from: string, to: string, body = 'Hello.'): Buffer {
  return Buffer.from(
    [`From: ${from}`, `To: ${to}`, 'Subject: test', 'Content-Type: text/plain', '', body, ''].join('\r\n'),
  );
}

/** A message clear-signed by the OpenSSL CLI (`openssl cms -sign`), with its chain, capabilities and signingTime. */
export function opensslSigned(scratch: Scratch, signer: Identity, chain: Certificate[], from: string): Buffer {
  scratch.write('signer.pem', pem(signer.certificate));
  scratch.write('signer.key', signer.key.export({ type: 'pkcs8', format: 'pem' }));
  scratch.write('body.txt', 'Content-Type: text/plain\r\n\r\nSigned by OpenSSL.\r\n');
  const extra = chain.length > 0 ? ['-certfile', scratch.write('chain.pem', chain.map(pem).join(''))] : [];
  scratch.must(
    ...['cms', '-sign', '-in', 'body.txt', '-signer', 'signer.pem', '-inkey', 'signer.key', ...extra],
    ...['-from', from, '-to', 'someone@example.org', '-subject', 'signed', '-out', 'signed.eml'],
  );
  return scratch.read('signed.eml');
}

export interface BookRig {
  readonly book: CertificateBook;
  readonly trust: TrustStore;
  readonly audit: AuditLog;
  readonly ca: CaService;
  resolver(options?: Partial<RecipientResolverOptions>): RecipientResolver;
}

/** The book and what it reads from (trust store, Sealpost's CA) over `db`. */
export function rig(db: Database, clock: Clock): BookRig {
  const { ca, audit } = node(db, clock, newMasterKey());
  const trust = new TrustStore({ db, audit, clock });
  const book = new CertificateBook({ db, audit, clock, trust });
  return { book, trust, audit, ca, resolver: (options = {}) => new RecipientResolver({ book, clock, ...options }) };
}
