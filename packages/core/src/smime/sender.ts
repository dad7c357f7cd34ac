/**
 * Identity binding (RFC 8550 §3): the address a message claims to be from must be a mailbox
 * of a certificate that validly signed it. The identity shown is the certificate's, never a header's.
 */

import { addressesEqual, parseAddressList } from '../mime/address.ts';
import { getHeaders, type HeaderField } from '../mime/headers.ts';
import type { Certificate } from '../x509/certificate.ts';

export interface SenderCheck {
  /** The addresses that had to match. */
  addresses: string[];
  /** Where they came from. */
  source: 'option' | 'Sender' | 'From' | 'none';
  matched: boolean;
  detail: string;
}

/**
 * The claimed sender: an explicit address (the caller knows the real sender) wins; otherwise the
 * Sender field when present (RFC 5322 §3.6.2: it names the one who sent a multi-author message);
 * otherwise every From mailbox.
 */
export function claimedSenders(headers: HeaderField[], explicit?: string): Pick<SenderCheck, 'addresses' | 'source'> {
  if (explicit) return { addresses: [explicit], source: 'option' };
  const sender = getHeaders(headers, 'Sender').flatMap((v) => parseAddressList(v));
  if (sender.length > 0) return { addresses: sender.map((m) => m.address), source: 'Sender' };
  const from = getHeaders(headers, 'From').flatMap((v) => parseAddressList(v));
  if (from.length > 0) return { addresses: from.map((m) => m.address), source: 'From' };
  return { addresses: [], source: 'none' };
}

export function checkSender(headers: HeaderField[], signers: Certificate[], explicit?: string): SenderCheck {
  const { addresses, source } = claimedSenders(headers, explicit);
  if (addresses.length === 0) {
    return {
      addresses,
      source,
      matched: false,
      detail: 'the message has no From address to match a signer (give --sender)',
    };
  }
  const mailboxes = signers.flatMap((c) => c.emailAddresses);
  const unmatched = addresses.filter((a) => !mailboxes.some((m) => addressesEqual(a, m)));
  if (unmatched.length > 0) {
    const certs = mailboxes.length > 0 ? mailboxes.join(', ') : 'no mailbox at all';
    return {
      addresses,
      source,
      matched: false,
      detail: `${source} address ${unmatched.join(', ')} is not in a valid signer certificate (it names ${certs})`,
    };
  }
  return { addresses, source, matched: true, detail: `${source} address matches the signer certificate` };
}
