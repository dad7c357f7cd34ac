/**
 * Identity binding (RFC 8550 §3): the address a message claims to be from must be a mailbox
 * of a certificate that validly signed it. The identity shown is the certificate's, never a header's.
 */

import { isSealpostError } from '../errors.ts';
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

/** The mailboxes of every `name` field, or the parser's complaint when one cannot be read. */
function mailboxesOf(headers: HeaderField[], name: 'Sender' | 'From'): { addresses: string[] } | { malformed: string } {
  try {
    return { addresses: getHeaders(headers, name).flatMap((v) => parseAddressList(v).map((m) => m.address)) };
  } catch (e) {
    if (isSealpostError(e, 'MIME_MALFORMED')) return { malformed: e.message };
    throw e;
  }
}

/**
 * The claimed sender: an explicit address (the caller knows the real sender) wins; otherwise the
 * Sender field when present (RFC 5322 §3.6.2: it names the one who sent a multi-author message);
 * otherwise every From mailbox. A field that cannot be parsed is reported as `malformed`: an
 * unreadable claim must never be skipped in favour of the next field.
 */
export function claimedSenders(
  headers: HeaderField[],
  explicit?: string,
): Pick<SenderCheck, 'addresses' | 'source'> & { malformed?: string } {
  if (explicit) return { addresses: [explicit], source: 'option' };
  for (const source of ['Sender', 'From'] as const) {
    const found = mailboxesOf(headers, source);
    if ('malformed' in found) return { addresses: [], source, malformed: found.malformed };
    if (found.addresses.length > 0) return { addresses: found.addresses, source };
  }
  return { addresses: [], source: 'none' };
}

export function checkSender(headers: HeaderField[], signers: Certificate[], explicit?: string): SenderCheck {
  const { addresses, source, malformed } = claimedSenders(headers, explicit);
  if (malformed !== undefined) {
    return {
      addresses,
      source,
      matched: false,
      detail: `the ${source} field cannot be parsed (${malformed}), so no signer can be bound to it (give --sender)`,
    };
  }
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
