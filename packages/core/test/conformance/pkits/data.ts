/**
 * The PKITS files, as Debian's python3-cryptography-vectors installs them (CI installs the package),
 * read once. Tests skip when the data is absent, except under CI.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isSealpostError } from '../../../src/errors.ts';
import { Certificate } from '../../../src/x509/certificate.ts';

export const DATA = '/usr/lib/python3/dist-packages/cryptography_vectors/x509/PKITS_data/';
const present = existsSync(DATA);
if (!present && process.env.CI) throw new Error(`PKITS data missing at ${DATA}: install python3-cryptography-vectors`);
export const SKIP = !present && `PKITS data not installed at ${DATA}`;

/** Inside every PKITS certificate's validity and before the "old" CRLs' nextUpdate matters. */
export const TIME = new Date('2011-04-15T00:00:00Z');

const certCache = new Map<string, Certificate | undefined>();

/** A certificate by file name without `.crt`; undefined for the two PKITS corrupts beyond parsing. */
export function cert(name: string): Certificate | undefined {
  if (!certCache.has(name)) {
    try {
      certCache.set(name, Certificate.fromDer(readFileSync(`${DATA}certs/${name}.crt`)));
    } catch (e) {
      if (!isSealpostError(e, 'CERT_MALFORMED')) throw e;
      certCache.set(name, undefined);
    }
  }
  return certCache.get(name);
}

/** A CRL by file name without `.crl`. */
export const crl = (name: string): Uint8Array => readFileSync(`${DATA}crls/${name}.crl`);

/** Every certificate file name, without `.crt`. */
export const certNames = (): string[] => readdirSync(`${DATA}certs`).map((f) => f.replace(/\.crt$/, ''));

/** Every CRL file name, without `.crl`. */
export const crlNames = (): string[] => readdirSync(`${DATA}crls`).map((f) => f.replace(/\.crl$/, ''));

let directoryCache: Certificate[] | undefined;
/** Every CA certificate PKITS ships (the anchor aside): the "directory" CRL signers are looked up in. */
export function directory(): Certificate[] {
  directoryCache ??= certNames()
    .filter((n) => !n.endsWith('EE') && n !== 'TrustAnchorRootCertificate')
    .map(cert)
    .filter((c): c is Certificate => c !== undefined);
  return directoryCache;
}
