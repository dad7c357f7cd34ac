/** Private keys from PEM (PKCS#8, encrypted PKCS#8, traditional RSA/EC) or DER PKCS#8. */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { fail, SealpostError } from '../errors.ts';
import type { Certificate } from '../x509/certificate.ts';
import { isPem } from './pem.ts';

/**
 * Reads a private key. `password` is only consulted for encrypted keys; it is never put into
 * an error message.
 */
export function loadPrivateKey(data: Uint8Array, password?: Uint8Array | string): KeyObject {
  const pem = isPem(data);
  const text = pem ? Buffer.from(data).toString('latin1') : '';
  const encrypted = pem ? /ENCRYPTED/.test(text) : isEncryptedPkcs8Der(data);
  if (encrypted && password === undefined) {
    fail('PASSWORD_REQUIRED', 'the private key is encrypted: give its password (--password-file or --password-env)');
  }
  try {
    const passphrase = encrypted && password !== undefined ? Buffer.from(password) : undefined;
    if (pem)
      return createPrivateKey(passphrase ? { key: text, format: 'pem', passphrase } : { key: text, format: 'pem' });
    const der = Buffer.from(data);
    return createPrivateKey(
      passphrase ? { key: der, format: 'der', type: 'pkcs8', passphrase } : { key: der, format: 'der', type: 'pkcs8' },
    );
  } catch (e) {
    if (e instanceof SealpostError) throw e;
    if (encrypted) fail('PASSWORD_WRONG', 'the password for the private key is wrong');
    fail('KEY_MALFORMED', 'the private key cannot be read: expected PEM (PKCS#8 or traditional) or DER PKCS#8');
  }
}

/** EncryptedPrivateKeyInfo starts SEQUENCE { SEQUENCE { OID ... } }; PrivateKeyInfo with an INTEGER. */
function isEncryptedPkcs8Der(d: Uint8Array): boolean {
  let i = 1;
  if (d[0] !== 0x30) return false;
  const l = d[i++]!;
  if (l & 0x80) i += l & 0x7f;
  return d[i] === 0x30;
}

const spkiCache = new WeakMap<KeyObject, Buffer>();

/** True when the private key belongs to the certificate (compares SubjectPublicKeyInfo bytes). */
export function keyMatchesCertificate(privateKey: KeyObject, certificate: Certificate): boolean {
  let spki = spkiCache.get(privateKey);
  if (!spki) {
    spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    spkiCache.set(privateKey, spki);
  }
  return Buffer.compare(spki, certificate.publicKeyInfo.spki) === 0;
}
