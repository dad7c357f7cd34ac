/**
 * Revocation of correspondents' certificates (those Sealpost did not issue) for recipient
 * resolution: the CRLs and OCSP answers of the chain are fetched over HTTP (@sealpost/revocation)
 * and read by core's checker. It soft-fails: a responder that is down, slow or answers nonsense
 * makes the status `unknown`, never an error, and costs at most the timeout. Answers are kept in
 * memory for a while and concurrent checks of one chain share one fetch, so a sender resolving the
 * same recipients for every message does not fetch their CRLs every time.
 */
import type { Certificate } from '@sealpost/core';
import { revocationPolicy } from '@sealpost/revocation';
import type { Clock, RevocationCheck } from '@sealpost/services';
import type { Logger } from './logging.ts';

type Status = Awaited<ReturnType<RevocationCheck>>;

export interface RevocationCheckOptions {
  readonly clock: Clock;
  /** Receives (at debug level) why a status is unknown. */
  readonly log?: Logger;
  /** For all the fetching of one chain together (OCSP, then CRLs); default 3 s. */
  readonly timeoutMs?: number;
}

export const REVOCATION_TIMEOUT_MS = 3000;
/**
 * How long an answer is reused. A revocation shows within ten minutes (plus however late the CA
 * publishes it); revoked stays revoked; an unreachable responder is tried again after a minute.
 */
const TTL_MS: Readonly<Record<Status, number>> = { good: 10 * 60_000, revoked: 60 * 60_000, unknown: 60_000 };
/** Chains whose answer is kept; the least recently used go first beyond this. */
const CACHE_SIZE = 1000;

interface Cached {
  /** Infinity while the check runs: concurrent callers wait for the same answer. */
  expires: number;
  readonly status: Promise<Status>;
}

/**
 * The RevocationCheck over HTTP. `chain` is the validated path, leaf first and trust anchor last:
 * every certificate but the anchor is checked against the next one (RFC 5280 §6.1.3 (a)(3)). The
 * answer is `revoked` if any is revoked, `good` only if all are good, `unknown` otherwise.
 */
export function onlineRevocationCheck(options: RevocationCheckOptions): RevocationCheck {
  const { clock, log } = options;
  const timeoutMs = options.timeoutMs ?? REVOCATION_TIMEOUT_MS;
  const cache = new Map<string, Cached>();

  const check = async (chain: readonly Certificate[]): Promise<Status> => {
    const path = [...chain];
    if (path.length < 2) return 'unknown';
    const now = clock.now();
    const notes: string[] = [];
    const policy = await revocationPolicy(path, {
      mode: 'soft-fail',
      now,
      timeoutMs,
      deadlineMs: timeoutMs,
      onNotes: (n) => notes.push(...n),
    });
    const statuses = path.slice(0, -1).map((certificate, i) => policy.check(certificate, path[i + 1]!, now));
    if (statuses.some((s) => s.status === 'revoked')) return 'revoked';
    if (statuses.every((s) => s.status === 'good')) return 'good';
    log?.debug('revocation status unknown', {
      certificate: path[0]!.fingerprintSha256,
      details: [...statuses.filter((s) => s.status === 'unknown').map((s) => s.detail), ...notes],
    });
    return 'unknown';
  };

  return (certificate, chain) => {
    const key = (chain.length > 0 ? chain : [certificate]).map((c) => c.fingerprintSha256).join('/');
    const hit = cache.get(key);
    if (hit !== undefined && hit.expires > clock.now().getTime()) {
      // Re-inserted so that the map's order is least-recently-used first.
      cache.delete(key);
      cache.set(key, hit);
      return hit.status;
    }
    const entry: Cached = {
      expires: Number.POSITIVE_INFINITY,
      status: check(chain).catch((e: unknown) => {
        log?.debug('revocation check failed', { certificate: certificate.fingerprintSha256, error: e });
        return 'unknown' as const;
      }),
    };
    void entry.status.then((status) => {
      entry.expires = clock.now().getTime() + TTL_MS[status];
    });
    cache.delete(key);
    cache.set(key, entry);
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    return entry.status;
  };
}
