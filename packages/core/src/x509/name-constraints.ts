/**
 * Name constraints (RFC 5280 §4.2.1.10, processed per §6.1.3 (b)-(c) and §6.1.4 (g)).
 *
 *   NameConstraints ::= SEQUENCE {
 *     permittedSubtrees [0] GeneralSubtrees OPTIONAL,
 *     excludedSubtrees  [1] GeneralSubtrees OPTIONAL }
 *   GeneralSubtrees ::= SEQUENCE SIZE (1..MAX) OF GeneralSubtree
 *   GeneralSubtree ::= SEQUENCE {
 *     base    GeneralName,
 *     minimum [0] BaseDistance DEFAULT 0,
 *     maximum [1] BaseDistance OPTIONAL }
 *
 * Rather than computing the intersection of permitted subtrees (§6.1.4 (g)(1)), the state keeps each
 * CA's constraints and a name must satisfy every one of them: the same set, and the error can name the
 * CA whose constraint the name breaks.
 */
import { domainToASCII } from 'node:url';
import { decode } from '../asn1/der.ts';
import { OID } from '../asn1/oids.ts';
import { fail } from '../errors.ts';
import type { Certificate } from './certificate.ts';
import { type GeneralName, generalNameToString, parseGeneralName } from './general-name.ts';
import { type Name, namesEqual, nameToString } from './name.ts';

export interface NameConstraints {
  permitted?: GeneralName[];
  excluded?: GeneralName[];
}

export function parseNameConstraints(value: Uint8Array): NameConstraints {
  const el = decode(value);
  if (!el.is(0x30)) fail('CERT_MALFORMED', 'nameConstraints must be a SEQUENCE');
  const out: NameConstraints = {};
  for (const part of el.children) {
    if (!part.constructed || part.cls !== 2 || part.tagNumber > 1) fail('CERT_MALFORMED', 'malformed nameConstraints');
    if (part.children.length === 0) fail('CERT_MALFORMED', 'empty GeneralSubtrees in nameConstraints');
    const bases = part.children.map((subtree) => {
      if (!subtree.is(0x30) || subtree.children.length === 0) fail('CERT_MALFORMED', 'malformed GeneralSubtree');
      // §4.2.1.10: minimum MUST be zero and maximum MUST be absent; anything else cannot be processed.
      for (const extra of subtree.children.slice(1)) {
        const zero = extra.isContext(0) && !extra.constructed && extra.value.length === 1 && extra.value[0] === 0;
        if (!zero) fail('CERT_MALFORMED', 'a GeneralSubtree with a minimum or maximum distance');
      }
      return parseGeneralName(subtree.child(0));
    });
    if (part.tagNumber === 0) out.permitted = bases;
    else out.excluded = bases;
  }
  return out;
}

/** Lower-cased A-label form of a domain (RFC 8398 §6 compares U-labels and A-labels alike). */
function asciiDomain(domain: string): string {
  const lower = domain.toLowerCase();
  if (/^[\x21-\x7e]*$/.test(lower)) return lower;
  return domainToASCII(lower) || lower;
}

function domainWithin(domain: string, base: string): boolean {
  const d = asciiDomain(domain.replace(/\.$/, ''));
  const b = asciiDomain(base);
  if (b === '') return true;
  if (b.startsWith('.')) return d.endsWith(b);
  return d === b || d.endsWith(`.${b}`);
}

/**
 * rfc822Name constraints: a full mailbox names one mailbox, a host names all mailboxes on it, and a
 * leading period names all mailboxes in subdomains (§4.2.1.10). Local parts compare exactly.
 */
export function mailboxWithin(mailbox: string, base: string): boolean {
  const at = mailbox.lastIndexOf('@');
  if (at < 0) return false;
  const domain = asciiDomain(mailbox.slice(at + 1));
  const baseAt = base.lastIndexOf('@');
  if (baseAt >= 0) {
    return mailbox.slice(0, at) === base.slice(0, baseAt) && domain === asciiDomain(base.slice(baseAt + 1));
  }
  const b = asciiDomain(base);
  if (b.startsWith('.')) return domain.endsWith(b);
  return domain === b;
}

/** The host of a URI with an authority, lower-cased; undefined for URIs without one (e.g. `mailto:`, `urn:`). */
function uriHost(uri: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(uri);
  return m?.[1] ? m[1].toLowerCase() : undefined;
}

function uriWithin(uri: string, base: string): boolean {
  const host = uriHost(uri);
  if (host === undefined) return false;
  const b = base.toLowerCase();
  // §4.2.1.10: a leading period names subdomains only; otherwise the host itself.
  return b.startsWith('.') ? host.endsWith(b) : host === b;
}

function ipWithin(address: Uint8Array, base: Uint8Array): boolean {
  if (base.length !== address.length * 2) return false;
  for (let i = 0; i < address.length; i++) {
    const mask = base[address.length + i]!;
    if ((address[i]! & mask) !== (base[i]! & mask)) return false;
  }
  return true;
}

function directoryWithin(name: Name, base: Name): boolean {
  if (base.rdns.length > name.rdns.length) return false;
  return namesEqual({ rdns: name.rdns.slice(0, base.rdns.length), der: new Uint8Array(0) }, base);
}

/** A name of the certificate as checked: SmtpUTF8Mailbox is checked against rfc822Name constraints (RFC 8398 §6). */
type CheckedName =
  | { form: 'rfc822Name'; mailbox: string; label: string }
  | { form: 'dNSName' | 'uniformResourceIdentifier'; value: string; label: string }
  | { form: 'iPAddress'; bytes: Uint8Array; label: string }
  | { form: 'directoryName'; name: Name; label: string }
  | { form: 'unsupported'; type: string; typeId?: string; label: string };

/** The constraint form that applies to a base, or undefined for forms Sealpost cannot evaluate. */
function baseForm(base: GeneralName): CheckedName['form'] | undefined {
  switch (base.type) {
    case 'rfc822Name':
    case 'dNSName':
    case 'uniformResourceIdentifier':
    case 'iPAddress':
    case 'directoryName':
      return base.type;
    default:
      return undefined;
  }
}

function within(name: CheckedName, base: GeneralName): boolean {
  if (name.form === 'rfc822Name' && base.type === 'rfc822Name') return mailboxWithin(name.mailbox, base.value);
  if (name.form === 'dNSName' && base.type === 'dNSName') return domainWithin(name.value, base.value);
  if (name.form === 'uniformResourceIdentifier' && base.type === 'uniformResourceIdentifier')
    return uriWithin(name.value, base.value);
  if (name.form === 'iPAddress' && base.type === 'iPAddress') return ipWithin(name.bytes, base.bytes);
  if (name.form === 'directoryName' && base.type === 'directoryName') return directoryWithin(name.name, base.name);
  return false;
}

/** Whether a base of a form Sealpost cannot evaluate constrains this name (same GeneralName type). */
function unprocessable(name: CheckedName, base: GeneralName): boolean {
  if (name.form !== 'unsupported' || baseForm(base) !== undefined || name.type !== base.type) return false;
  return base.type !== 'otherName' || base.typeId === name.typeId;
}

/**
 * The names of a certificate that name constraints apply to: the subject DN (when not empty), every
 * subjectAltName entry, and, when there is no subjectAltName, the subject's emailAddress attributes as
 * rfc822Names (§4.2.1.10).
 */
function checkedNames(cert: Certificate): CheckedName[] {
  const out: CheckedName[] = [];
  if (cert.subject.rdns.length > 0) {
    out.push({ form: 'directoryName', name: cert.subject, label: `subject "${nameToString(cert.subject)}"` });
  }
  const san = cert.subjectAltNameEntries;
  if (san === undefined) {
    for (const rdn of cert.subject.rdns) {
      for (const a of rdn) {
        if (a.type === OID.emailAddress)
          out.push({ form: 'rfc822Name', mailbox: a.value, label: `subject emailAddress "${a.value}"` });
      }
    }
    return out;
  }
  for (const gn of san) {
    const label = generalNameToString(gn);
    switch (gn.type) {
      case 'rfc822Name':
        out.push({ form: 'rfc822Name', mailbox: gn.value, label });
        break;
      case 'dNSName':
      case 'uniformResourceIdentifier':
        out.push({ form: gn.type, value: gn.value, label });
        break;
      case 'iPAddress':
        out.push({ form: 'iPAddress', bytes: gn.bytes, label });
        break;
      case 'directoryName':
        out.push({ form: 'directoryName', name: gn.name, label });
        break;
      case 'otherName':
        if (gn.typeId === OID.smtpUTF8Mailbox && gn.value.is(0x0c)) {
          const mailbox = Buffer.from(gn.value.value).toString('utf8');
          out.push({ form: 'rfc822Name', mailbox, label: `SmtpUTF8Mailbox "${mailbox}"` });
        } else {
          out.push({ form: 'unsupported', type: gn.type, typeId: gn.typeId, label });
        }
        break;
      default:
        out.push({ form: 'unsupported', type: gn.type, label });
    }
  }
  return out;
}

/** The constraints in force along a path: each CA's constraints with the CA's subject for messages. */
export class NameConstraintsState {
  readonly #imposed: { constraints: NameConstraints; by: string }[] = [];

  /** §6.1.4 (g): the constraints of a CA certificate apply to every certificate below it. */
  add(constraints: NameConstraints, by: string): void {
    this.#imposed.push({ constraints, by });
  }

  /** Sentences describing each name of `cert` that the constraints in force forbid (§6.1.3 (b)-(c)). */
  violations(cert: Certificate): string[] {
    if (this.#imposed.length === 0) return [];
    const out: string[] = [];
    for (const name of checkedNames(cert)) {
      for (const { constraints, by } of this.#imposed) {
        const excluded = constraints.excluded ?? [];
        const permitted = (constraints.permitted ?? []).filter(
          (b) => baseForm(b) === name.form || unprocessable(name, b),
        );
        if ([...excluded, ...permitted].some((b) => unprocessable(name, b))) {
          out.push(`its ${name.label} is constrained by "${by}" in a form Sealpost cannot check`);
        } else if (excluded.some((b) => within(name, b))) {
          out.push(`its ${name.label} is in a subtree that "${by}" excludes`);
        } else if (permitted.length > 0 && !permitted.some((b) => within(name, b))) {
          out.push(`its ${name.label} is outside the subtrees that "${by}" permits`);
        }
      }
    }
    return out;
  }
}
