/**
 * A small certificate builder (RFC 5280 §4.1) for throwaway PKIs: the demo and tests.
 * The production CA (with templates and the Baseline Requirements lint) builds on it later.
 */
import { createHash, createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import {
  bitString,
  bool,
  explicit,
  ia5,
  integer,
  octets,
  oid,
  seq,
  set,
  time,
  tlv,
  unsignedInteger,
  utf8,
} from '../asn1/encode.ts';
import { OID } from '../asn1/oids.ts';
import { Certificate, type KeyUsageName } from './certificate.ts';
import { signatureAlgorithmFor } from './signature.ts';

export interface CertificateRequestSpec {
  /** Subject common name. */
  commonName: string;
  /** Mailboxes: put into subjectAltName rfc822Name. */
  emails?: string[];
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  ca?: boolean;
  pathLen?: number;
  keyUsage: KeyUsageName[];
  /** Extended key usages (OIDs); omitted when empty. */
  extKeyUsage?: string[];
}

export interface IssuerSpec {
  /** Absent for a self-signed certificate. */
  certificate?: Certificate;
  privateKey: KeyObject;
}

const KU_ORDER: KeyUsageName[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

/** KeyUsage as a DER named BIT STRING: trailing zero bits removed (X.690 §11.2.2). */
function keyUsageBits(usages: KeyUsageName[]): Buffer {
  let bits = 0;
  for (const u of usages) bits |= 1 << (15 - KU_ORDER.indexOf(u));
  let len = bits & 0xff ? 2 : 1;
  if (bits === 0) len = 0;
  const bytes = Buffer.from([(bits >> 8) & 0xff, bits & 0xff].slice(0, len));
  let unused = 0;
  if (len > 0) {
    const last = bytes[len - 1]!;
    while (unused < 8 && !(last & (1 << unused))) unused++;
  }
  return bitString(bytes, unused);
}

function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

export function buildCertificate(spec: CertificateRequestSpec, issuer: IssuerSpec): Certificate {
  const spki = spec.publicKey.export({ type: 'spki', format: 'der' });
  const subject = seq(set(seq(oid(OID.commonName), utf8(spec.commonName))));
  const ski = createHash('sha1').update(Certificate.spkiKeyBits(spki)).digest();
  const issuerName = issuer.certificate ? Buffer.from(issuer.certificate.subject.der) : subject;
  const akiSource =
    issuer.certificate?.subjectKeyIdentifier ??
    createHash('sha1')
      .update(Certificate.spkiKeyBits(createPublicKey(issuer.privateKey).export({ type: 'spki', format: 'der' })))
      .digest();
  const exts = [
    extension(
      OID.basicConstraints,
      true,
      spec.ca ? seq(bool(true), ...(spec.pathLen !== undefined ? [integer(spec.pathLen)] : [])) : seq(),
    ),
    extension(OID.keyUsage, true, keyUsageBits(spec.keyUsage)),
    extension(OID.subjectKeyIdentifier, false, octets(ski)),
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, akiSource))),
  ];
  if (spec.extKeyUsage?.length)
    exts.push(extension(OID.extKeyUsage, false, seq(...spec.extKeyUsage.map((o) => oid(o)))));
  if (spec.emails?.length) exts.push(extension(OID.subjectAltName, false, seq(...spec.emails.map((e) => retagIa5(e)))));
  // Serial: 64+ random bits, positive (RFC 5280 §4.1.2.2, S/MIME BR §7.1).
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  serial[0]! |= 0x40;
  const signer = signatureAlgorithmFor(issuer.privateKey, 'sha256', false);
  const tbs = seq(
    explicit(0, integer(2)),
    unsignedInteger(serial),
    signer.algorithm,
    issuerName,
    seq(time(spec.notBefore), time(spec.notAfter)),
    subject,
    spki,
    explicit(3, seq(...exts)),
  );
  return Certificate.fromDer(seq(tbs, signer.algorithm, bitString(signer.sign(tbs))));
}

/** rfc822Name is an IMPLICIT [1] IA5String. */
function retagIa5(email: string): Buffer {
  const enc = ia5(email);
  enc[0] = 0x81;
  return enc;
}
