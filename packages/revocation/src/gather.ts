/**
 * Gathers revocation data for a chain before validation, so that the core checker stays pure:
 * CRLs from files the user names, from a cache directory and from the certificates' distribution
 * points; OCSP answers by HTTP POST to the responders in authorityInfoAccess. OCSP is asked first;
 * a certificate with a usable OCSP answer needs no CRL download. Every failure becomes a note.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  authorityInfoAccess,
  buildOcspRequest,
  Certificate,
  createRevocationChecker,
  crlDistributionPoints,
  distributionPointUrls,
  fail,
  isPem,
  ocspNonceMatches,
  parseCrl,
  parseOcspResponse,
  pemDecodeAll,
  type RevocationMode,
  type RevocationPolicy,
} from '@sealpost/core';
import { fetchBytes } from './http.ts';

export interface GatherOptions {
  /** CRL files (DER or PEM, several PEM blocks allowed) given by the user. */
  crlFiles?: string[];
  /** A directory where downloaded CRLs are kept, named by a hash of their URL, until their nextUpdate. */
  cacheDir?: string;
  /** Never touch the network: files and the cache only. */
  offline?: boolean;
  /** Milliseconds for one HTTP exchange (default 5000). */
  timeoutMs?: number;
  /** Milliseconds for all fetching together (default 20000). */
  deadlineMs?: number;
  /** Largest CRL accepted, in bytes (default 32 MiB). */
  maxCrlBytes?: number;
  /** Largest OCSP response accepted, in bytes (default 64 KiB). */
  maxOcspBytes?: number;
  /** Ask OCSP responders (default true). */
  ocsp?: boolean;
  /** CertID hash for OCSP requests (default sha1, which every responder supports, RFC 5019 §2.1.1). */
  ocspHash?: 'sha1' | 'sha256';
  /** Send a nonce and require it echoed (default true). */
  nonce?: boolean;
  /** The time for cache freshness and the OCSP shortcut (default: now). */
  now?: Date;
}

export interface GatheredRevocationData {
  crls: Uint8Array[];
  ocspResponses: Uint8Array[];
  /** What could not be obtained and why, one sentence each. */
  notes: string[];
}

const DEFAULTS = {
  timeoutMs: 5000,
  deadlineMs: 20000,
  maxCrlBytes: 32 * 1024 * 1024,
  maxOcspBytes: 64 * 1024,
};

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0) fail('INVALID_ARGUMENT', `${name} must be a positive number`);
  return v;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Collects CRLs and OCSP responses for every certificate of `chain` (leaf first) but the last. */
export async function gatherRevocationData(
  chain: Certificate[],
  options: GatherOptions = {},
): Promise<GatheredRevocationData> {
  if (!Array.isArray(chain) || chain.length === 0 || !chain.every((c) => c instanceof Certificate)) {
    fail('INVALID_ARGUMENT', 'the chain must be a non-empty array of certificates, leaf first');
  }
  const timeoutMs = positive('timeoutMs', options.timeoutMs, DEFAULTS.timeoutMs);
  const deadline = Date.now() + positive('deadlineMs', options.deadlineMs, DEFAULTS.deadlineMs);
  const maxCrlBytes = positive('maxCrlBytes', options.maxCrlBytes, DEFAULTS.maxCrlBytes);
  const maxOcspBytes = positive('maxOcspBytes', options.maxOcspBytes, DEFAULTS.maxOcspBytes);
  const now = options.now ?? new Date();
  const out: GatheredRevocationData = { crls: [], ocspResponses: [], notes: [] };
  const budget = () => Math.min(timeoutMs, deadline - Date.now());

  for (const file of options.crlFiles ?? []) {
    try {
      out.crls.push(...splitCrls(await readFile(file)));
    } catch (e) {
      out.notes.push(`The CRL file ${file} cannot be read: ${message(e)}.`);
    }
  }

  const pairs = chain.slice(0, -1).map((certificate, i) => ({ certificate, issuer: chain[i + 1]! }));
  const needCrl = await Promise.all(
    pairs.map(async ({ certificate, issuer }) => {
      if (options.offline || options.ocsp === false) return true;
      const answer = await askOcsp(certificate, issuer, options, budget, maxOcspBytes, out.notes);
      if (!answer) return true;
      out.ocspResponses.push(answer);
      // Only a definite, verifiable answer saves the CRL download.
      const status = createRevocationChecker({ crls: [], ocspResponses: [answer], certificates: chain })(
        certificate,
        issuer,
        now,
      );
      return status.status === 'unknown';
    }),
  );

  const urls = new Set<string>();
  pairs.forEach(({ certificate }, i) => {
    if (!needCrl[i]) return;
    try {
      for (const u of distributionPointUrls(crlDistributionPoints(certificate))) urls.add(u);
    } catch (e) {
      out.notes.push(`The CRL distribution points of a certificate cannot be read: ${message(e)}.`);
    }
  });
  const fetched = await Promise.all(
    [...urls].map((url) => crlFromUrl(url, options, now, budget, maxCrlBytes, out.notes)),
  );
  for (const crl of fetched) if (crl) out.crls.push(crl);
  return out;
}

/** A DER CRL, or every X509 CRL block of a PEM text. */
function splitCrls(data: Buffer): Uint8Array[] {
  if (!isPem(data)) return [data];
  const blocks = pemDecodeAll(data).filter((b) => b.label === 'X509 CRL');
  if (blocks.length === 0) throw new Error('no X509 CRL block in the PEM text');
  return blocks.map((b) => b.der);
}

async function askOcsp(
  certificate: Certificate,
  issuer: Certificate,
  options: GatherOptions,
  budget: () => number,
  maxBytes: number,
  notes: string[],
): Promise<Uint8Array | undefined> {
  let urls: string[];
  try {
    urls = authorityInfoAccess(certificate).ocsp.filter((u) => /^https?:\/\//i.test(u));
  } catch (e) {
    notes.push(`The authority information access of a certificate cannot be read: ${message(e)}.`);
    return undefined;
  }
  for (const url of urls) {
    const request = buildOcspRequest([{ certificate, issuer }], {
      hash: options.ocspHash ?? 'sha1',
      ...(options.nonce === false ? { nonce: false as const } : {}),
    });
    const r = await fetchBytes(url, {
      method: 'POST',
      body: request.der,
      contentType: 'application/ocsp-request',
      accept: 'application/ocsp-response',
      timeoutMs: budget(),
      maxBytes,
    });
    if (!r.ok) {
      notes.push(`OCSP: ${r.error}.`);
      continue;
    }
    try {
      const response = parseOcspResponse(r.body);
      if (response.status !== 'successful' || !response.basic) {
        notes.push(`OCSP: ${url} answered "${response.status}".`);
        continue;
      }
      // RFC 8954 §2.1: a response that drops or changes our nonce may be a replay.
      if (request.nonce && !ocspNonceMatches(response.basic, request.nonce)) {
        notes.push(`OCSP: ${url} did not echo the request nonce; the answer is ignored.`);
        continue;
      }
      return r.body;
    } catch (e) {
      notes.push(`OCSP: ${url} sent an unreadable answer: ${message(e)}.`);
    }
  }
  return undefined;
}

const cacheFile = (dir: string, url: string): string =>
  join(dir, `${createHash('sha256').update(url).digest('hex')}.crl`);

async function crlFromUrl(
  url: string,
  options: GatherOptions,
  now: Date,
  budget: () => number,
  maxBytes: number,
  notes: string[],
): Promise<Uint8Array | undefined> {
  const cached = options.cacheDir ? await readCached(cacheFile(options.cacheDir, url), now) : undefined;
  if (cached) return cached;
  if (options.offline) {
    notes.push(`Offline: the CRL at ${url} was not fetched.`);
    return undefined;
  }
  const r = await fetchBytes(url, { timeoutMs: budget(), maxBytes, accept: 'application/pkix-crl' });
  if (!r.ok) {
    notes.push(`CRL: ${r.error}.`);
    return undefined;
  }
  try {
    parseCrl(r.body);
  } catch (e) {
    notes.push(`CRL: ${url} sent an unreadable CRL: ${message(e)}.`);
    return undefined;
  }
  if (options.cacheDir) {
    try {
      await mkdir(options.cacheDir, { recursive: true });
      const file = cacheFile(options.cacheDir, url);
      // Write then rename, so a concurrent reader never sees half a CRL.
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, r.body);
      await rename(tmp, file);
    } catch (e) {
      notes.push(`The CRL from ${url} could not be cached: ${message(e)}.`);
    }
  }
  return r.body;
}

/** A cached CRL still before its nextUpdate; a CRL without nextUpdate is always fetched again. */
async function readCached(file: string, now: Date): Promise<Uint8Array | undefined> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    return undefined;
  }
  try {
    const crl = parseCrl(data);
    return crl.nextUpdate && crl.nextUpdate.getTime() > now.getTime() ? data : undefined;
  } catch {
    return undefined;
  }
}

export interface PolicyOptions extends GatherOptions {
  /** Default `soft-fail`. */
  mode?: RevocationMode;
  /** Accept SHA-1/MD5 signatures on CRLs and OCSP responses. */
  allowLegacy?: boolean;
  /** Receives the notes of gathering (they explain later `unknown` answers). */
  onNotes?: (notes: string[]) => void;
}

/** Gathers the data for `chain` and wraps it in a RevocationPolicy for path validation. */
export async function revocationPolicy(chain: Certificate[], options: PolicyOptions = {}): Promise<RevocationPolicy> {
  const mode = options.mode ?? 'soft-fail';
  if (!['hard-fail', 'soft-fail', 'off'].includes(mode)) fail('INVALID_ARGUMENT', `unknown revocation mode "${mode}"`);
  if (mode === 'off') {
    return { mode, check: () => ({ status: 'unknown', detail: 'Revocation checking is off.' }) };
  }
  const data = await gatherRevocationData(chain, options);
  options.onNotes?.(data.notes);
  return {
    mode,
    check: createRevocationChecker({
      crls: data.crls,
      ocspResponses: data.ocspResponses,
      certificates: chain,
      allowLegacy: options.allowLegacy ?? false,
    }),
  };
}
