/**
 * Revocation for `verify` and `cert validate`. Path validation in core is synchronous and pure, so
 * revocation data is gathered between two validations: the first finds the chains, the data for
 * exactly those chains is gathered (files, cache, network), the second validates with it.
 */
import {
  type Certificate,
  type CertificateValidator,
  createRevocationChecker,
  pathValidator,
  type RevocationMode,
  type RevocationPolicy,
} from '@sealpost/core';
import { type GatherOptions, gatherRevocationData } from '@sealpost/revocation';
import { type Options, str, strings, type Values } from './command.ts';
import { UsageError } from './io.ts';

export const REVOCATION_OPTIONS = {
  crl: { type: 'string', multiple: true },
  revocation: { type: 'string' },
  offline: { type: 'boolean' },
  'revocation-cache': { type: 'string' },
} as const satisfies Options;

export const REVOCATION_HELP = `      --revocation MODE   soft-fail (default: an unknown status is reported, not fatal),
                          hard-fail (an unknown status fails) or off
      --crl FILE          a CRL to use (DER or PEM; repeatable)
      --offline           never fetch CRLs or OCSP answers over the network
      --revocation-cache DIR  keep downloaded CRLs in DIR until their nextUpdate`;

const MODES: RevocationMode[] = ['soft-fail', 'hard-fail', 'off'];

export interface RevocationSettings {
  mode: RevocationMode;
  gather: GatherOptions;
}

export function revocationSettings(v: Values, now: Date): RevocationSettings {
  const mode = str(v.revocation) ?? 'soft-fail';
  if (!MODES.some((m) => m === mode)) {
    throw new UsageError(`--revocation "${mode}" is not one of ${MODES.join(', ')}`);
  }
  const cacheDir = str(v['revocation-cache']);
  return {
    mode: mode as RevocationMode,
    gather: { crlFiles: strings(v.crl), offline: v.offline === true, now, ...(cacheDir ? { cacheDir } : {}) },
  };
}

export interface RevocationRun {
  policy: RevocationPolicy;
  /** What could not be obtained and why (they explain `unknown` answers). */
  notes: string[];
}

/**
 * Gathers revocation data for every chain (leaf first, anchor last) and returns one policy over all
 * of it, or undefined when checking is off or there is nothing to check.
 */
export async function gatherFor(
  chains: Certificate[][],
  settings: RevocationSettings,
  allowLegacy: boolean,
): Promise<RevocationRun | undefined> {
  const paths = chains.filter((c) => c.length > 1);
  if (settings.mode === 'off' || paths.length === 0) return undefined;
  const crls: Uint8Array[] = [];
  const ocspResponses: Uint8Array[] = [];
  const notes = new Set<string>();
  const seen = new Set<string>();
  for (const chain of paths) {
    // The same chain twice (several signatures by one signer) is fetched once.
    const key = chain.map((c) => c.fingerprintSha256).join('/');
    if (seen.has(key)) continue;
    seen.add(key);
    const data = await gatherRevocationData(chain, settings.gather);
    crls.push(...data.crls);
    ocspResponses.push(...data.ocspResponses);
    for (const n of data.notes) notes.add(n);
  }
  const certificates = [...new Map(paths.flat().map((c) => [c.fingerprintSha256, c])).values()];
  return {
    policy: {
      mode: settings.mode,
      check: createRevocationChecker({ crls, ocspResponses, certificates, allowLegacy }),
    },
    notes: [...notes],
  };
}

/** The RFC 5280 validator with revocation checking added. */
export function validatorWith(policy: RevocationPolicy | undefined): CertificateValidator {
  if (!policy) return pathValidator;
  return { validate: (input) => pathValidator.validate({ ...input, revocation: policy }) };
}
