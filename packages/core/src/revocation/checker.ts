/**
 * A RevocationChecker over revocation data gathered beforehand (RFC 5280 §6.3, RFC 6960).
 *
 * A fresh OCSP answer signed by the CA or its delegated responder is preferred; otherwise the CRLs
 * are searched for complete CRLs that cover the certificate (issuer, distribution point, user/CA
 * scope, reasons), each combined with its newest applicable delta CRL, until all reasons are covered.
 *
 * A CRL may be signed by the CA itself, or by another certificate taken from `certificates`, which
 * must be valid and allowed to sign CRLs, and either
 * - hold the key that issued the CA (§6.3.3 (f)): the CRLs of a self-issued (key rollover) CA
 *   certificate are often signed by the other key of the pair; that key is the next one up the path,
 *   whose status the validator checks itself; or
 * - be issued by the CA's own key or by the key that issued the CA (a separate CRL key, or the issuer
 *   of an indirect CRL), and not be revoked (checked here with the same data, to a bounded depth).
 * The CRL signer's path is not otherwise validated: no policy or name constraint processing happens
 * for it.
 */
import type { KeyObject } from 'node:crypto';
import { fail, SealpostError } from '../errors.ts';
import type { Certificate } from '../x509/certificate.ts';
import {
  ALL_REASONS,
  anyNameMatches,
  crlDistributionPoints,
  type DistributionPoint,
  resolveDistributionPointName,
} from '../x509/distribution.ts';
import { directoryNames } from '../x509/general-name.ts';
import { type Name, namesEqual, nameToString } from '../x509/name.ts';
import { verifySignature } from '../x509/signature.ts';
import { type Crl, type CrlEntry, crlCurrentAt, nameKey, parseCrl, serialContent, verifyCrlSignature } from './crl.ts';
import {
  type BasicOcspResponse,
  findSingleResponse,
  ocspCurrentAt,
  parseOcspResponse,
  verifyOcspSigner,
} from './ocsp.ts';
import type { RevocationChecker, RevocationStatus } from './types.ts';

export interface RevocationData {
  /** DER or PEM CRLs, complete and delta, from any issuers. */
  crls: Uint8Array[];
  /** DER OCSPResponse encodings (nonces already checked by whoever fetched them). */
  ocspResponses?: Uint8Array[];
  /** CA certificates (trust anchors included) that may have signed CRLs or OCSP responder certificates. */
  certificates?: Certificate[];
  /** Accept SHA-1/MD5 signatures on CRLs and OCSP responses (old mail). */
  allowLegacy?: boolean;
}

/** One status question, and how deep in the checking of CRL signers and OCSP responders it is asked. */
interface Query {
  cert: Certificate;
  /** The issuer the path builder chose. */
  issuer: Certificate;
  time: Date;
  depth: number;
  /** CRL signers whose own status is being checked further up. */
  busy: Set<string>;
}

/** How deep the status of a CRL signer or OCSP responder is itself checked. */
const MAX_DEPTH = 2;
const MAX_PROBLEMS = 3;

const nameOf = (n: Name): string => nameToString(n) || '(empty name)';
const iso = (d: Date): string => d.toISOString();

/** Builds a checker. Bad data never throws here or later: it makes the answers `unknown`, with reasons. */
export function createRevocationChecker(data: RevocationData): RevocationChecker {
  return new Checker(data).check;
}

class Checker {
  readonly #bases = new Map<string, Crl[]>();
  readonly #deltas = new Map<string, Crl[]>();
  readonly #ocsp: BasicOcspResponse[] = [];
  readonly #bySubject = new Map<string, Certificate[]>();
  readonly #certificates: Certificate[];
  readonly #allowLegacy: boolean;
  readonly #signatures = new Map<string, boolean>();
  readonly #crlIds = new WeakMap<Crl, number>();
  /** CRLs and OCSP responses that could not be parsed, mentioned in `unknown` answers. */
  #unreadable = 0;

  constructor(data: RevocationData) {
    this.#allowLegacy = data.allowLegacy ?? false;
    let n = 0;
    for (const der of data.crls) {
      try {
        const crl = parseCrl(der);
        this.#crlIds.set(crl, n++);
        const map = crl.deltaBase === undefined ? this.#bases : this.#deltas;
        const key = nameKey(crl.issuer);
        const list = map.get(key);
        if (list) list.push(crl);
        else map.set(key, [crl]);
      } catch (e) {
        if (!(e instanceof SealpostError)) throw e;
        this.#unreadable++;
      }
    }
    for (const der of data.ocspResponses ?? []) {
      try {
        const r = parseOcspResponse(der);
        if (r.basic) this.#ocsp.push(r.basic);
      } catch (e) {
        if (!(e instanceof SealpostError)) throw e;
        this.#unreadable++;
      }
    }
    this.#certificates = data.certificates ?? [];
    for (const c of this.#certificates) {
      const key = nameKey(c.subject);
      const list = this.#bySubject.get(key);
      if (list) list.push(c);
      else this.#bySubject.set(key, [c]);
    }
  }

  readonly check: RevocationChecker = (certificate, issuer, time) => {
    try {
      return this.#status({ cert: certificate, issuer, time, depth: 0, busy: new Set() });
    } catch (e) {
      // Extensions are decoded on demand, so a malformed certificate surfaces here.
      if (!(e instanceof SealpostError)) throw e;
      return { status: 'unknown', detail: `Revocation could not be checked: ${e.message}.` };
    }
  };

  #status(q: Query): RevocationStatus {
    const notes: string[] = [];
    const ocsp = this.#ocspStatus(q, notes);
    if (ocsp) return ocsp;
    const crl = this.#crlStatus(q, notes);
    if (crl.status !== 'unknown') return crl;
    if (this.#unreadable > 0) notes.push(`${this.#unreadable} unreadable CRLs or OCSP responses were ignored`);
    const unique = [...new Set(notes)].slice(0, MAX_PROBLEMS);
    return { status: 'unknown', detail: `${crl.detail}${unique.length ? ` (${unique.join('; ')})` : ''}.` };
  }

  #ocspStatus(q: Query, notes: string[]): RevocationStatus | undefined {
    const { cert, issuer, time } = q;
    for (const basic of this.#ocsp) {
      const single = findSingleResponse(basic, cert, issuer);
      if (!single) continue;
      if (basic.unsupportedCritical !== undefined) {
        notes.push(`an OCSP response has an unknown critical extension ${basic.unsupportedCritical}`);
        continue;
      }
      if (!ocspCurrentAt(single, time)) {
        notes.push(`an OCSP response is not current (this update ${iso(single.thisUpdate)})`);
        continue;
      }
      const signer = verifyOcspSigner(basic, issuer, time, {
        certificates: this.#certificates,
        allowLegacy: this.#allowLegacy,
      });
      if (!signer.ok) {
        notes.push(signer.reason);
        continue;
      }
      if (signer.delegated && !signer.noCheck && q.depth < MAX_DEPTH) {
        // §4.2.2.2.1: without id-pkix-ocsp-nocheck the responder certificate may itself be revoked;
        // only CRLs are consulted for it, so OCSP never recurses into OCSP.
        const r = this.#crlStatus({ ...q, cert: signer.signer, depth: q.depth + 1 }, []);
        if (r.status === 'revoked') {
          notes.push('the OCSP responder certificate is revoked');
          continue;
        }
      }
      if (single.status === 'unknown') {
        notes.push('the OCSP responder does not know the certificate');
        continue;
      }
      const out: RevocationStatus = {
        status: single.status,
        source: 'ocsp',
        detail:
          single.status === 'good'
            ? `The OCSP responder reports the certificate as good (as of ${iso(single.thisUpdate)}).`
            : `The OCSP responder reports the certificate as revoked on ${iso(single.revokedAt!)}${single.reason ? ` (${single.reason})` : ''}.`,
      };
      if (single.revokedAt) out.revokedAt = single.revokedAt;
      if (single.reason) out.reason = single.reason;
      return out;
    }
    return undefined;
  }

  #crlStatus(q: Query, notes: string[]): RevocationStatus {
    const { cert, time } = q;
    const isCa = cert.basicConstraints?.ca === true;
    const listed = crlDistributionPoints(cert);
    // §6.3.3: without the extension, one distribution point with the certificate issuer as CRL issuer.
    const points: DistributionPoint[] = listed.length > 0 ? listed : [{}];
    let covered = 0;
    let seen = 0;
    for (const dp of points) {
      const crlIssuers = dp.crlIssuer ? directoryNames(dp.crlIssuer) : [cert.issuer];
      for (const name of crlIssuers) {
        for (const crl of this.#bases.get(nameKey(name)) ?? []) {
          if ((covered & ALL_REASONS) === ALL_REASONS) break;
          seen++;
          const source = `"${nameOf(crl.issuer)}" issued ${iso(crl.thisUpdate)}`;
          const label = `the CRL of ${source}`;
          const scope = scopeProblem(crl, cert, isCa, dp);
          if (scope) {
            notes.push(`${label} ${scope}`);
            continue;
          }
          const interim = (dp.reasons ?? ALL_REASONS) & (crl.issuingDistributionPoint?.onlySomeReasons ?? ALL_REASONS);
          if ((interim & ~covered & ALL_REASONS) === 0) continue;
          const usable = this.#usable(crl, time);
          if (usable) {
            notes.push(`${label} ${usable}`);
            continue;
          }
          const signer = this.#crlSigner(crl, q);
          if (typeof signer === 'string') {
            notes.push(`${label}: ${signer}`);
            continue;
          }
          const delta = this.#delta(crl, signer, time, notes);
          const entry = this.#entry(cert, crl, delta);
          if (entry) {
            const out: RevocationStatus = {
              status: 'revoked',
              source: 'crl',
              revokedAt: entry.revocationDate,
              detail: `The certificate is listed as revoked on ${iso(entry.revocationDate)}${entry.reason ? ` (${entry.reason})` : ''} by the CRL${delta ? ' (with its delta CRL)' : ''} of ${source}.`,
            };
            if (entry.reason) out.reason = entry.reason;
            return out;
          }
          covered |= interim;
        }
      }
    }
    if ((covered & ALL_REASONS) === ALL_REASONS) {
      return {
        status: 'good',
        source: 'crl',
        detail: `The certificate is not on the current CRL of "${nameOf(cert.issuer)}".`,
      };
    }
    const what =
      seen === 0
        ? `No CRL or OCSP response from "${nameOf(cert.issuer)}" is available`
        : covered === 0
          ? `No usable CRL covers this certificate`
          : `The usable CRLs cover only some revocation reasons`;
    return { status: 'unknown', detail: `The revocation status of "${nameOf(cert.subject)}" is unknown: ${what}` };
  }

  /** A reason the CRL cannot be used at `time`, or undefined. */
  #usable(crl: Crl, time: Date): string | undefined {
    if (crl.unsupportedCritical !== undefined) return `has an unknown critical extension ${crl.unsupportedCritical}`;
    if (time.getTime() < crl.thisUpdate.getTime()) return 'is newer than the validation time';
    if (!crlCurrentAt(crl, time)) return `expired on ${iso(crl.nextUpdate!)}`;
    return undefined;
  }

  /** The entry of the certificate after applying the delta (§5.2.4): removeFromCRL unlists it. */
  #entry(cert: Certificate, base: Crl, delta: Crl | undefined): CrlEntry | undefined {
    const d = delta?.lookup(cert.issuer, serialContent(cert));
    if (d) return d.reason === 'removeFromCRL' ? undefined : d;
    const b = base.lookup(cert.issuer, serialContent(cert));
    return b && b.reason !== 'removeFromCRL' ? b : undefined;
  }

  /** The newest current delta CRL for a base (§5.2.4, §6.3.3 (c)), signed by the same signer. */
  #delta(base: Crl, signer: Certificate, time: Date, notes: string[]): Crl | undefined {
    if (base.crlNumber === undefined) return undefined;
    let best: Crl | undefined;
    for (const d of this.#deltas.get(nameKey(base.issuer)) ?? []) {
      if (d.deltaBase! > base.crlNumber || d.crlNumber === undefined || d.crlNumber <= base.crlNumber) continue;
      const a = base.issuingDistributionPoint?.der;
      const b = d.issuingDistributionPoint?.der;
      if ((a === undefined) !== (b === undefined) || (a && b && Buffer.compare(a, b) !== 0)) continue;
      if (this.#usable(d, time) !== undefined) continue;
      if (!this.#signedBy(d, signer)) {
        notes.push(`a delta CRL of "${nameOf(d.issuer)}" is not signed by the CRL signer`);
        continue;
      }
      if (best === undefined || d.crlNumber > best.crlNumber!) best = d;
    }
    return best;
  }

  #signedBy(crl: Crl, signer: Certificate): boolean {
    const key = `${this.#crlIds.get(crl)}:${signer.fingerprintSha256}`;
    let ok = this.#signatures.get(key);
    if (ok === undefined) {
      try {
        ok = verifyCrlSignature(crl, this.#keyOf(signer), this.#allowLegacy);
      } catch (e) {
        if (!(e instanceof SealpostError)) throw e;
        ok = false;
      }
      this.#signatures.set(key, ok);
    }
    return ok;
  }

  /**
   * The certificate that signed the CRL (§6.3.3 (f)), or why none can be trusted to. Candidates are
   * the CA, then the given certificates named like the CRL issuer, narrowed by the CRL's AKI.
   */
  #crlSigner(crl: Crl, q: Query): Certificate | string {
    const issuer = q.issuer;
    const candidates: Certificate[] = [];
    if (namesEqual(issuer.subject, crl.issuer)) candidates.push(issuer);
    for (const c of this.#bySubject.get(nameKey(crl.issuer)) ?? []) {
      if (c.fingerprintSha256 !== issuer.fingerprintSha256) candidates.push(c);
    }
    let problem = `no certificate of "${nameOf(crl.issuer)}" that may sign it is available`;
    for (const c of candidates) {
      const ski = c.subjectKeyIdentifier;
      if (crl.authorityKeyId && ski && Buffer.compare(crl.authorityKeyId, ski) !== 0) continue;
      if (!this.#signedBy(crl, c)) {
        problem = 'its signature does not verify';
        continue;
      }
      const ku = c.keyUsage;
      if (ku && !ku.has('cRLSign')) {
        problem = `its signer "${nameOf(c.subject)}" is not allowed to sign CRLs (no cRLSign key usage)`;
        continue;
      }
      // A signer whose own status is being checked one level up may vouch for itself here: an
      // indirect CRL issuer's certificate may be covered by its own CRL (PKITS 4.14.30).
      if (c !== issuer && !q.busy.has(c.fingerprintSha256)) {
        const why = this.#authorized(c, q);
        if (why) {
          problem = why;
          continue;
        }
      }
      return c;
    }
    return problem;
  }

  /** Why a CRL signer other than the CA cannot be trusted for the CA's certificates, or undefined. */
  #authorized(signer: Certificate, q: Query): string | undefined {
    const { cert, issuer, time, depth, busy } = q;
    const who = `the CRL signer "${nameOf(signer.subject)}"`;
    if (time.getTime() < signer.notBefore.getTime() || time.getTime() > signer.notAfter.getTime()) {
      return `${who} is not valid at the validation time`;
    }
    // The key that issued the CA: its certificate is next up the path, and the validator checks it.
    if (this.#issued(signer, issuer)) return undefined;
    // The authority that vouches for the signer: the CA itself, or whoever issued the CA.
    const authorities = [issuer, ...(this.#bySubject.get(nameKey(issuer.issuer)) ?? [])].filter(
      (a) => a === issuer || this.#issued(a, issuer),
    );
    const authority = authorities.find((a) => this.#issued(a, signer));
    if (!authority) return `${who} neither issued the CA nor is issued by the CA or by the CA's issuer`;
    if (depth >= MAX_DEPTH) {
      return `the revocation status of ${who} cannot be checked (too deep)`;
    }
    if (signer.fingerprintSha256 === cert.fingerprintSha256) return `${who} would vouch for itself`;
    busy.add(signer.fingerprintSha256);
    try {
      const s = this.#status({ cert: signer, issuer: authority, time, depth: depth + 1, busy });
      if (s.status === 'revoked') return `${who} is revoked`;
      if (s.status === 'unknown') return `the revocation status of ${who} is unknown`;
      return undefined;
    } finally {
      busy.delete(signer.fingerprintSha256);
    }
  }

  /**
   * A signer's public key. A DSA key without domain parameters takes them from a given certificate
   * that issued it (RFC 5280 §6.1.4 (f), PKITS 4.1.5); one level up, as DSA CAs rarely chain further.
   */
  #keyOf(signer: Certificate): KeyObject {
    const info = signer.publicKeyInfo;
    if (info.kind !== 'dsa' || info.algorithm.params !== undefined) return signer.publicKey;
    for (const parent of this.#bySubject.get(nameKey(signer.issuer)) ?? []) {
      const params = parent.publicKeyInfo.kind === 'dsa' ? parent.publicKeyInfo.algorithm.params : undefined;
      if (params && this.#issued(parent, signer)) return signer.publicKeyWithDsaParameters(params.raw);
    }
    fail(
      'KEY_MALFORMED',
      `the DSA key of "${nameOf(signer.subject)}" inherits its parameters, but no certificate that issued it is available`,
    );
  }

  /** Whether `parent`'s key signed `child` and the names chain. */
  #issued(parent: Certificate, child: Certificate): boolean {
    if (!namesEqual(child.issuer, parent.subject)) return false;
    const key = `cert:${child.fingerprintSha256}:${parent.fingerprintSha256}`;
    let ok = this.#signatures.get(key);
    if (ok === undefined) {
      try {
        ok = verifySignature(child.signatureAlgorithm, this.#keyOf(parent), child.tbs, child.signature, {
          allowLegacy: this.#allowLegacy,
        });
      } catch (e) {
        if (!(e instanceof SealpostError)) throw e;
        ok = false;
      }
      this.#signatures.set(key, ok);
    }
    return ok;
  }
}

/**
 * Why the CRL's scope does not include the certificate (§6.3.3 (b)), or undefined. The CRL issuer is
 * already one of the distribution point's (or the certificate's issuer).
 */
function scopeProblem(crl: Crl, cert: Certificate, isCa: boolean, dp: DistributionPoint): string | undefined {
  const idp = crl.issuingDistributionPoint;
  if (!namesEqual(crl.issuer, cert.issuer) && !idp?.indirectCRL) return 'is not an indirect CRL';
  if (!idp) return undefined;
  if (idp.distributionPoint) {
    const idpNames = resolveDistributionPointName(idp.distributionPoint, crl.issuer);
    if (dp.name) {
      const dpIssuer = directoryNames(dp.crlIssuer ?? [])[0] ?? cert.issuer;
      if (!anyNameMatches(idpNames, resolveDistributionPointName(dp.name, dpIssuer))) {
        return "is for another distribution point than the certificate's";
      }
    } else if (!dp.crlIssuer || !anyNameMatches(idpNames, dp.crlIssuer)) {
      return 'is for a distribution point the certificate does not name';
    }
  }
  if (idp.onlyContainsUserCerts && isCa) return 'lists only end-entity certificates';
  if (idp.onlyContainsCACerts && !isCa) return 'lists only CA certificates';
  if (idp.onlyContainsAttributeCerts) return 'lists only attribute certificates';
  return undefined;
}
