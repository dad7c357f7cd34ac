/** `--cert/--key` pairs for decryption: a user's current key first, then archived ones. */
import type { DecryptionKey } from '@sealpost/core';
import { keyMatchesCertificate } from '@sealpost/core';
import { strings, type Values } from '../command.ts';
import { type Io, loadCertificate, loadKey, UsageError } from '../io.ts';

export const KEY_PAIR_HELP = `      --cert FILE --key FILE  a decryption certificate and its private key; repeat the pair to
                          offer older (archived) keys too — they are tried by identifier, in order`;

export async function decryptionKeys(v: Values, io: Io): Promise<DecryptionKey[]> {
  const certs = strings(v.cert);
  const keys = strings(v.key);
  if (certs.length !== keys.length) {
    throw new UsageError(`give --cert and --key in pairs (${certs.length} --cert, ${keys.length} --key)`);
  }
  const out: DecryptionKey[] = [];
  for (let i = 0; i < certs.length; i++) {
    const certificate = await loadCertificate(certs[i]!, 'certificate');
    const privateKey = await loadKey(keys[i]!, v as never, io);
    if (!keyMatchesCertificate(privateKey, certificate)) {
      throw new UsageError(`the key "${keys[i]}" does not belong to the certificate "${certs[i]}" (pair ${i + 1})`);
    }
    out.push({ certificate, privateKey });
  }
  return out;
}
