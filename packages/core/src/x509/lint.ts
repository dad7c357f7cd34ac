/**
 * A linter for S/MIME subscriber certificates against the CA/Browser Forum S/MIME Baseline
 * Requirements (the "BR"), strict and multipurpose generations, mailbox- and organization-validated.
 * Each finding names a stable rule id (e_ error, w_ warning, n_ notice) and the BR section.
 *
 * The linter reads the certificate only: it does not validate the chain or check revocation.
 */
import { type Asn1, decode, readInteger } from '../asn1/der.ts';
import { OID, oidName } from '../asn1/oids.ts';
import { SealpostError } from '../errors.ts';
import type { Certificate, KeyUsageName, PublicKeyKind } from './certificate.ts';
import { crlDistributionPoints } from './distribution.ts';
import type { GeneralName } from './general-name.ts';
import { nameAttribute } from './name.ts';
import { parseCertificatePolicies } from './policy.ts';
import { resolveSignatureAlgorithm } from './signature.ts';

export type LintProfile = 'strict' | 'multipurpose';
export type LintValidation = 'mailbox' | 'organization';

export interface LintOptions {
  profile: LintProfile;
  /** The validation type; when absent, whichever the certificate's reserved policy OID asserts. */
  validation?: LintValidation;
}

export interface Finding {
  severity: 'error' | 'warning' | 'notice';
  /** Stable identifier, e.g. `e_key_usage_rsa_encryption`. */
  rule: string;
  /** The BR section (or RFC section) the rule comes from, e.g. `7.1.2.3(e)`. */
  section: string;
  message: string;
}

/** The CA/B Forum reserved policy arc for S/MIME (BR §7.1.6.1): 2.23.140.1.5.<validation>.<generation>. */
const SMIME_POLICY_ARC = '2.23.140.1.5.';
const VALIDATION_ARC: Record<LintValidation, number> = { mailbox: 1, organization: 2 };
const VALIDATION_BY_ARC: Record<string, string> = { 1: 'mailbox', 2: 'organization', 3: 'sponsor', 4: 'individual' };
const GENERATION_ARC: Record<LintProfile, number> = { multipurpose: 2, strict: 3 };
const GENERATION_BY_ARC: Record<string, string> = { 1: 'legacy', 2: 'multipurpose', 3: 'strict' };

/** Maximum validity of strict and multipurpose subscriber certificates (BR §6.3.2). */
const MAX_VALIDITY_DAYS = 825;

/** Extended key usages multipurpose certificates must not carry (BR §7.1.2.3(f)). */
const PROHIBITED_EKUS = new Set<string>([
  OID.serverAuth,
  OID.codeSigning,
  OID.timeStamping,
  OID.ocspSigning,
  OID.anyExtendedKeyUsage,
]);

const CURVES: Record<string, string> = {
  [OID.prime256v1]: 'P-256',
  [OID.secp384r1]: 'P-384',
  [OID.secp521r1]: 'P-521',
};

/** Collects findings; `check` turns a malformed extension into a finding instead of a crash. */
class Findings {
  readonly list: Finding[] = [];
  error(rule: string, section: string, message: string): void {
    this.list.push({ severity: 'error', rule, section, message });
  }
  warning(rule: string, section: string, message: string): void {
    this.list.push({ severity: 'warning', rule, section, message });
  }
  notice(rule: string, section: string, message: string): void {
    this.list.push({ severity: 'notice', rule, section, message });
  }
  check(what: string, section: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof SealpostError)) throw e;
      this.error('e_extension_malformed', section, `The ${what} extension is malformed: ${e.message}.`);
    }
  }
}

/** Lints one S/MIME subscriber (end-entity) certificate. An empty list means it conforms. */
export function lintCertificate(cert: Certificate, options: LintOptions): Finding[] {
  const f = new Findings();
  lintEncoding(cert, f);
  lintKey(cert, f);
  f.check('basicConstraints', '7.1.2.3(d)', () => lintBasicConstraints(cert, f));
  f.check('keyUsage', '7.1.2.3(e)', () => lintKeyUsage(cert, options.profile, f));
  f.check('extKeyUsage', '7.1.2.3(f)', () => lintExtKeyUsage(cert, options.profile, f));
  f.check('subjectAltName', '7.1.2.3(h)', () => lintSubjectAltName(cert, options, f));
  f.check('certificatePolicies', '7.1.2.3(a)', () => lintPolicies(cert, options, f));
  f.check('cRLDistributionPoints', '7.1.2.3(b)', () => lintCrlDistributionPoints(cert, f));
  f.check('authorityKeyIdentifier', '7.1.2.3(g)', () => lintAuthorityKeyIdentifier(cert, f));
  if (!cert.extension(OID.subjectKeyIdentifier)) {
    f.notice(
      'n_subject_key_identifier_missing',
      'RFC 5280 4.2.1.2',
      'There is no subjectKeyIdentifier: mail clients cannot find the certificate by key identifier.',
    );
  }
  return f.list;
}

/** Version, serial number, signature algorithm, validity period. */
function lintEncoding(cert: Certificate, f: Findings): void {
  if (cert.version !== 3) {
    f.error('e_version_not_3', '7.1.1', `The certificate is version ${cert.version}; it must be version 3.`);
  }
  const serial = serialElement(cert);
  const value = readInteger(serial);
  if (value <= 0n) {
    f.error('e_serial_not_positive', '7.1', `The serial number is ${value}; it must be greater than zero.`);
  }
  if (serial.value.length > 20) {
    f.error(
      'e_serial_too_long',
      'RFC 5280 4.1.2.2',
      `The serial number is ${serial.value.length} octets long; at most 20 are allowed.`,
    );
  } else if (value > 0n && serial.value.length < 9) {
    // A positive INTEGER of 8 octets has at most 63 free bits: too few for 64 bits of CSPRNG output.
    f.error(
      'e_serial_low_entropy',
      '7.1',
      `The serial number is ${serial.value.length} octets long; it cannot hold the 64 random bits required (9 octets or more).`,
    );
  }
  lintSignatureAlgorithm(cert, f);
  const days = (cert.notAfter.getTime() - cert.notBefore.getTime() + 1000) / 86_400_000;
  if (days > MAX_VALIDITY_DAYS) {
    f.error(
      'e_validity_too_long',
      '6.3.2',
      `The validity period is ${Math.ceil(days)} days; strict and multipurpose certificates allow at most ${MAX_VALIDITY_DAYS}.`,
    );
  }
}

/** The serialNumber INTEGER as encoded (the Certificate keeps only its unsigned magnitude). */
function serialElement(cert: Certificate): Asn1 {
  const tbs = decode(cert.tbs);
  const first = tbs.child(0);
  return first.isContext(0) && first.constructed ? tbs.child(1) : first;
}

/** BR §7.1.3.2: PKCS#1 v1.5 or PSS with SHA-256/384/512, ECDSA with SHA-256/384/512, EdDSA. */
function lintSignatureAlgorithm(cert: Certificate, f: Findings): void {
  let problem: string | undefined;
  try {
    const alg = resolveSignatureAlgorithm(cert.signatureAlgorithm);
    if (alg.scheme === 'dsa' || alg.hash === 'sha1' || alg.hash === 'md5' || alg.hash === 'sha224') {
      problem = `${alg.name} is not an allowed signature algorithm`;
    }
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
    problem = e.message;
  }
  if (problem) {
    f.error(
      'e_signature_algorithm_not_allowed',
      '7.1.3.2',
      `${problem}; use RSA (PKCS#1 v1.5 or PSS) or ECDSA with SHA-256, SHA-384 or SHA-512, or EdDSA.`,
    );
  }
}

/** BR §7.1.3.1 key algorithms and §6.1.5 key sizes. */
function lintKey(cert: Certificate, f: Findings): void {
  const key = cert.publicKeyInfo;
  switch (key.kind) {
    case 'rsa': {
      if (key.bits < 2048) {
        f.error('e_rsa_key_too_small', '6.1.5', `The RSA modulus is ${key.bits} bits; at least 2048 are required.`);
      }
      if (key.bits % 8 !== 0) {
        f.error(
          'e_rsa_modulus_not_multiple_of_8',
          '6.1.5',
          `The RSA modulus is ${key.bits} bits, which is not divisible by 8.`,
        );
      }
      const e = rsaPublicExponent(key.publicKeyBytes);
      if (e === undefined || e < 3n || e % 2n === 0n) {
        f.error(
          'e_rsa_public_exponent_invalid',
          '6.1.6',
          `The RSA public exponent ${e ?? '(unreadable)'} is not an odd number of 3 or more.`,
        );
      } else if (e < 65537n || e >= 1n << 256n) {
        f.warning(
          'w_rsa_public_exponent_range',
          '6.1.6',
          `The RSA public exponent ${e} is outside 2^16+1 … 2^256−1, the range the BRs recommend.`,
        );
      }
      break;
    }
    case 'ec':
      if (key.curve === undefined || CURVES[key.curve] === undefined) {
        f.error(
          'e_ec_curve_not_allowed',
          '6.1.5',
          `The EC key is on ${key.curve ? oidName(key.curve) : 'an unnamed curve'}; only P-256, P-384 and P-521 are allowed.`,
        );
      }
      break;
    case 'ed25519':
    case 'ed448':
      break;
    default:
      f.error(
        'e_public_key_algorithm_not_allowed',
        '7.1.3.1',
        `The ${key.kind} public key (${oidName(key.algorithm.oid)}) is not allowed: use RSA, ECDSA on P-256/P-384/P-521, Ed25519 or Ed448.`,
      );
  }
}

function lintBasicConstraints(cert: Certificate, f: Findings): void {
  const bc = cert.basicConstraints;
  if (bc?.ca) {
    f.error(
      'e_basic_constraints_ca',
      '7.1.2.3(d)',
      'basicConstraints has cA set: a subscriber certificate must not be a CA certificate.',
    );
  } else if (bc?.pathLen !== undefined) {
    f.error(
      'e_basic_constraints_path_len',
      '7.1.2.3(d)',
      'basicConstraints carries a pathLenConstraint, which only CA certificates may have.',
    );
  }
}

interface KeyUsageRule {
  /** Rule id suffix and the words for the key type. */
  id: string;
  label: string;
  /** The bit that makes the certificate a signing one, and the one that makes it a key-management one. */
  sign?: KeyUsageName;
  manage?: KeyUsageName;
  /** Bits allowed beside them, per purpose. */
  extraSign: KeyUsageName[];
  extraManage: KeyUsageName[];
}

/** BR §7.1.2.3(e): the key usage table by key type; multipurpose RSA may also set dataEncipherment. */
function keyUsageRule(kind: PublicKeyKind, profile: LintProfile): KeyUsageRule | undefined {
  switch (kind) {
    case 'rsa':
      return {
        id: 'rsa',
        label: 'an RSA key',
        sign: 'digitalSignature',
        manage: 'keyEncipherment',
        extraSign: ['nonRepudiation'],
        extraManage: profile === 'multipurpose' ? ['dataEncipherment'] : [],
      };
    case 'ec':
      return {
        id: 'ec',
        label: 'an EC key',
        sign: 'digitalSignature',
        manage: 'keyAgreement',
        extraSign: ['nonRepudiation'],
        extraManage: ['encipherOnly', 'decipherOnly'],
      };
    case 'ed25519':
    case 'ed448':
      return {
        id: 'eddsa',
        label: `an ${kind === 'ed25519' ? 'Ed25519' : 'Ed448'} key`,
        sign: 'digitalSignature',
        extraSign: ['nonRepudiation'],
        extraManage: [],
      };
    case 'x25519':
    case 'x448':
      return {
        id: 'xdh',
        label: `an ${kind.toUpperCase()} key`,
        manage: 'keyAgreement',
        extraSign: [],
        extraManage: ['encipherOnly', 'decipherOnly'],
      };
    default:
      return undefined;
  }
}

function lintKeyUsage(cert: Certificate, profile: LintProfile, f: Findings): void {
  const ext = cert.extension(OID.keyUsage);
  const ku = cert.keyUsage;
  if (!ext || !ku) {
    f.error('e_key_usage_missing', '7.1.2.3(e)', 'There is no keyUsage extension; it is required.');
    return;
  }
  if (!ext.critical) {
    f.warning('w_key_usage_not_critical', '7.1.2.3(e)', 'The keyUsage extension should be marked critical.');
  }
  const caBits = (['keyCertSign', 'cRLSign'] as const).filter((b) => ku.has(b));
  if (caBits.length > 0) {
    f.error(
      'e_key_usage_ca_bits',
      '7.1.2.3(e)',
      `keyUsage sets ${caBits.join(' and ')}, which only CA certificates may set.`,
    );
  }
  const rule = keyUsageRule(cert.publicKeyInfo.kind, profile);
  if (!rule) return; // the key algorithm itself is reported by lintKey
  const signs = rule.sign !== undefined && ku.has(rule.sign);
  const manages = rule.manage !== undefined && ku.has(rule.manage);
  if (!signs && !manages) {
    const need = [rule.sign, rule.manage].filter((b) => b !== undefined).join(' or ');
    f.error(`e_key_usage_${rule.id}_none`, '7.1.2.3(e)', `keyUsage on ${rule.label} must set ${need}.`);
    return;
  }
  const purpose = signs && manages ? 'dual_use' : signs ? 'signing' : 'encryption';
  const allowed = new Set<KeyUsageName>(['keyCertSign', 'cRLSign']);
  if (signs) for (const b of [rule.sign!, ...rule.extraSign]) allowed.add(b);
  if (manages) for (const b of [rule.manage!, ...rule.extraManage]) allowed.add(b);
  const extra = [...ku].filter((b) => !allowed.has(b));
  if (extra.length > 0) {
    const words = { dual_use: 'a dual-use', signing: 'a signing', encryption: 'an encryption' }[purpose];
    f.error(
      `e_key_usage_${rule.id}_${purpose}`,
      '7.1.2.3(e)',
      `keyUsage sets ${extra.join(', ')}, not allowed in ${words} ${profile} certificate with ${rule.label}.`,
    );
  }
}

function lintExtKeyUsage(cert: Certificate, profile: LintProfile, f: Findings): void {
  const eku = cert.extKeyUsage;
  if (!eku) {
    f.error('e_eku_missing', '7.1.2.3(f)', 'There is no extKeyUsage extension; it must list id-kp-emailProtection.');
    return;
  }
  if (!eku.includes(OID.emailProtection)) {
    f.error('e_eku_email_protection_missing', '7.1.2.3(f)', 'extKeyUsage does not include id-kp-emailProtection.');
  }
  const others = eku.filter((o) => o !== OID.emailProtection);
  if (profile === 'strict') {
    if (others.length > 0) {
      f.error(
        'e_eku_strict_other',
        '7.1.2.3(f)',
        `extKeyUsage of a strict certificate must hold id-kp-emailProtection only; it also has ${others.map(oidName).join(', ')}.`,
      );
    }
    return;
  }
  const prohibited = others.filter((o) => PROHIBITED_EKUS.has(o));
  if (prohibited.length > 0) {
    f.error(
      'e_eku_prohibited',
      '7.1.2.3(f)',
      `extKeyUsage has ${prohibited.map(oidName).join(', ')}, which S/MIME certificates must not have.`,
    );
  }
}

/** A mailbox of an rfc822Name or an id-on-SmtpUTF8Mailbox otherName (RFC 8398 §3), if the name is one. */
function mailboxOf(gn: GeneralName): string | undefined {
  if (gn.type === 'rfc822Name') return gn.value;
  if (gn.type === 'otherName' && gn.typeId === OID.smtpUTF8Mailbox && gn.value.is(0x0c)) {
    return Buffer.from(gn.value.value).toString('utf8');
  }
  return undefined;
}

/** Mailbox comparison: the domain is case-insensitive (RFC 5321 §2.4); the local part is compared as is. */
function sameMailbox(a: string, b: string): boolean {
  const split = (s: string) => {
    const at = s.lastIndexOf('@');
    return at < 0 ? s : `${s.slice(0, at)}@${s.slice(at + 1).toLowerCase()}`;
  };
  return split(a) === split(b);
}

function lintSubjectAltName(cert: Certificate, options: LintOptions, f: Findings): void {
  const names = cert.subjectAltNameEntries;
  if (!names) {
    f.error('e_san_missing', '7.1.2.3(h)', 'There is no subjectAltName extension; it must list the mailboxes.');
    return;
  }
  const mailboxes = names.map(mailboxOf).filter((m) => m !== undefined);
  if (mailboxes.length === 0) {
    f.error(
      'e_san_no_mailbox',
      '7.1.2.3(h)',
      'subjectAltName has no rfc822Name or SmtpUTF8Mailbox: an S/MIME certificate must name a mailbox.',
    );
  }
  for (const email of nameAttribute(cert.subject, OID.emailAddress)) {
    if (!mailboxes.some((m) => sameMailbox(m, email))) {
      f.error(
        'e_subject_email_not_in_san',
        '7.1.4.2.1',
        `The subject's emailAddress "${email}" is not repeated in subjectAltName.`,
      );
    }
  }
  const hostNames = names.filter((n) => n.type === 'dNSName' || n.type === 'iPAddress').map((n) => n.type);
  if (hostNames.length > 0) {
    const message = `subjectAltName holds ${[...new Set(hostNames)].join(' and ')} entries; an S/MIME certificate names mailboxes, not hosts.`;
    if (validationOf(cert, options) === 'mailbox') f.error('e_san_dns_or_ip', '7.1.2.3(h)', message);
    else f.warning('w_san_dns_or_ip', '7.1.2.3(h)', message);
  }
}

function policyOids(cert: Certificate): string[] | undefined {
  const ext = cert.extension(OID.certificatePolicies);
  return ext ? parseCertificatePolicies(ext.value) : undefined;
}

/** The validation type asked for, else the one the certificate's reserved policy OID asserts. */
function validationOf(cert: Certificate, options: LintOptions): string | undefined {
  if (options.validation) return options.validation;
  let oids: string[] | undefined;
  try {
    oids = policyOids(cert);
  } catch (e) {
    if (!(e instanceof SealpostError)) throw e;
    return undefined; // lintPolicies reports it
  }
  const reserved = oids?.find((o) => o.startsWith(SMIME_POLICY_ARC));
  return reserved ? VALIDATION_BY_ARC[reserved.slice(SMIME_POLICY_ARC.length).split('.')[0]!] : undefined;
}

function describePolicy(oid: string): string {
  const [v, g] = oid.slice(SMIME_POLICY_ARC.length).split('.');
  const validation = VALIDATION_BY_ARC[v ?? ''];
  const generation = GENERATION_BY_ARC[g ?? ''];
  return validation && generation ? `${oid} (${validation}-validated ${generation})` : oid;
}

function lintPolicies(cert: Certificate, options: LintOptions, f: Findings): void {
  const oids = policyOids(cert);
  if (!oids) {
    f.error(
      'e_certificate_policies_missing',
      '7.1.2.3(a)',
      'There is no certificatePolicies extension; it must hold a CA/Browser Forum S/MIME policy OID.',
    );
    return;
  }
  const reserved = oids.filter((o) => o.startsWith(SMIME_POLICY_ARC));
  const generation = GENERATION_ARC[options.profile];
  const wanted = options.validation
    ? [`${SMIME_POLICY_ARC}${VALIDATION_ARC[options.validation]}.${generation}`]
    : Object.values(VALIDATION_ARC).map((v) => `${SMIME_POLICY_ARC}${v}.${generation}`);
  if (reserved.length > 1) {
    f.error(
      'e_smime_policy_multiple',
      '7.1.6.1',
      `certificatePolicies holds ${reserved.length} CA/Browser Forum S/MIME policy OIDs (${reserved.map(describePolicy).join(', ')}); exactly one is allowed.`,
    );
  }
  if (!reserved.some((o) => wanted.includes(o))) {
    const has = reserved.length > 0 ? `it has ${reserved.map(describePolicy).join(', ')}` : 'it has none';
    f.error(
      'e_smime_policy_missing',
      '7.1.6.1',
      `certificatePolicies must hold ${wanted.map(describePolicy).join(' or ')} for this profile; ${has}.`,
    );
  }
}

function lintCrlDistributionPoints(cert: Certificate, f: Findings): void {
  const ext = cert.extension(OID.crlDistributionPoints);
  if (!ext) {
    f.error(
      'e_crl_distribution_points_missing',
      '7.1.2.3(b)',
      'There is no cRLDistributionPoints extension; it must give an http:// URL of the CRL.',
    );
    return;
  }
  if (ext.critical) {
    f.error('e_crl_distribution_points_critical', '7.1.2.3(b)', 'cRLDistributionPoints must not be critical.');
  }
  const uris = crlDistributionPoints(cert).flatMap((dp) =>
    (dp.name?.fullName ?? []).flatMap((gn) => (gn.type === 'uniformResourceIdentifier' ? [gn.value] : [])),
  );
  if (!uris.some((u) => /^http:\/\//i.test(u))) {
    f.error(
      'e_crl_distribution_point_no_http',
      '7.1.2.3(b)',
      `cRLDistributionPoints has no http:// URL${uris.length > 0 ? ` (only ${uris.join(', ')})` : ''}.`,
    );
  }
}

/**
 *   AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] OPTIONAL,
 *       authorityCertIssuer [1] OPTIONAL, authorityCertSerialNumber [2] OPTIONAL }
 */
function lintAuthorityKeyIdentifier(cert: Certificate, f: Findings): void {
  const ext = cert.extension(OID.authorityKeyIdentifier);
  if (!ext) {
    f.error('e_authority_key_identifier_missing', '7.1.2.3(g)', 'There is no authorityKeyIdentifier extension.');
    return;
  }
  if (ext.critical) {
    f.error('e_authority_key_identifier_critical', '7.1.2.3(g)', 'authorityKeyIdentifier must not be critical.');
  }
  const fields = decode(ext.value).children;
  if (!fields.some((c) => c.isContext(0) && !c.constructed)) {
    f.error(
      'e_authority_key_identifier_no_key_id',
      '7.1.2.3(g)',
      'authorityKeyIdentifier has no keyIdentifier; it is required.',
    );
  }
  if (fields.some((c) => c.isContext(1) || c.isContext(2))) {
    f.error(
      'e_authority_key_identifier_issuer_serial',
      '7.1.2.3(g)',
      'authorityKeyIdentifier carries authorityCertIssuer or authorityCertSerialNumber, which must be absent.',
    );
  }
}

/** RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 §A.1.1). */
function rsaPublicExponent(publicKeyBytes: Uint8Array): bigint | undefined {
  try {
    const key = decode(publicKeyBytes);
    return key.children.length === 2 ? readInteger(key.child(1)) : undefined;
  } catch (e) {
    if (e instanceof SealpostError) return undefined;
    throw e;
  }
}
