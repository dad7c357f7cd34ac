// Support for the book and recipient API tests: messages signed by the OpenSSL CLI with the test
// PKI's certificates, and the harvest call with its raw message/rfc822 body.
import { type Identity, testPki } from '../../../core/test/support/pki.ts';
import type { Scratch } from './pki-support.ts';
import type { ApiClient } from './support.ts';

/** A message from `from` clear-signed by OpenSSL with `signer`'s key, carrying the intermediate. */
export function signedBy(scratch: Scratch, signer: Identity, from: string): string {
  const pki = testPki();
  scratch.write('body.txt', 'Content-Type: text/plain\r\n\r\nHarvest me.\r\n');
  scratch.must(
    ...['cms', '-sign', '-in', 'body.txt', '-signer', signer.certPath, '-inkey', signer.keyPath],
    ...['-certfile', pki.intermediate.certPath, '-from', from, '-to', 'x@example.net', '-subject', 'hi'],
    ...['-out', 'signed.eml'],
  );
  return scratch.read('signed.eml').toString('latin1');
}

export const harvest = (client: ApiClient, message: string) =>
  client.send('POST', '/api/v1/book/harvest', message, { headers: { 'content-type': 'message/rfc822' } });
