import { domainToASCII } from 'node:url';
import { ServiceError } from '../errors.ts';

/** RFC 5322 §3.2.3 atext: the characters of an unquoted local part besides dots. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/** RFC 5321 §4.1.2 Quoted-string: printable ASCII, with `"` and `\` escaped. */
const QUOTED = /^"([\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
/** RFC 5321 §4.1.2 sub-domain, applied to each label of the A-label form. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The canonical form of a mailbox address: the domain lower-cased (in its A-label form for
 * internationalized domains), the local part kept exactly as written, because RFC 5321 §2.4 lets
 * the receiving host treat it as case-sensitive. Limits from RFC 5321 §4.5.3.1: 64 octets of local
 * part, 255 of domain, 254 of address (the 256-octet path minus its angle brackets).
 */
export function normalizeEmail(input: string): string {
  if (typeof input !== 'string') throw invalid(String(input), 'it is not a string');
  const address = input.trim();
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) throw invalid(address, 'it needs a local part, "@" and a domain');
  const local = address.slice(0, at);
  if (!DOT_ATOM.test(local) && !QUOTED.test(local)) {
    throw invalid(address, 'the local part has characters an address cannot hold unquoted');
  }
  if (Buffer.byteLength(local, 'utf8') > 64) throw invalid(address, 'the local part is longer than 64 octets');
  const domain = asciiDomain(address.slice(at + 1));
  if (domain === undefined) throw invalid(address, 'the domain is not a valid host name');
  const canonical = `${local}@${domain}`;
  if (canonical.length > 254) throw invalid(address, 'it is longer than 254 octets');
  return canonical;
}

/** A mail domain in canonical form (lower case, A-labels); INVALID_ARGUMENT when it is not a host name. */
export function normalizeDomain(input: string): string {
  const domain = typeof input === 'string' ? asciiDomain(input.trim()) : undefined;
  if (domain === undefined) {
    throw new ServiceError('INVALID_ARGUMENT', `${JSON.stringify(input)} is not a mail domain.`);
  }
  return domain;
}

function asciiDomain(text: string): string | undefined {
  const domain = domainToASCII(text.toLowerCase());
  const labels = domain.split('.');
  return domain !== '' && domain.length <= 253 && labels.length >= 2 && labels.every((l) => LABEL.test(l))
    ? domain
    : undefined;
}

function invalid(address: string, why: string): ServiceError {
  return new ServiceError('INVALID_ARGUMENT', `${JSON.stringify(address)} is not a mailbox address: ${why}.`);
}
