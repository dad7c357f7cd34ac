import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { ServiceError } from '../errors.ts';

/**
 * Password hashing with scrypt (RFC 7914), stored self-describing so that the parameters can be
 * raised later without invalidating existing hashes:
 *
 *   scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>
 *
 * with a 16-byte random salt and a 32-byte hash. A stored hash whose parameters differ from the
 * current ones still verifies, and `needsRehash` tells the caller to store a fresh hash.
 */

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** N = 2^15, r = 8, p = 1: 32 MiB and about 0.1 s per hash (OWASP's scrypt recommendation). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

const SALT_LENGTH = 16;
const HASH_LENGTH = 32;
/** Bounds on stored parameters, so a corrupted or hostile row cannot make verification exhaust memory. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 1024;

export function checkPasswordPolicy(password: string): void {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) {
    throw new ServiceError('INVALID_ARGUMENT', `A password needs at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
  if (password.length > MAX_PASSWORD_LENGTH || !password.isWellFormed()) {
    throw new ServiceError(
      'INVALID_ARGUMENT',
      `A password has at most ${MAX_PASSWORD_LENGTH} characters of valid text.`,
    );
  }
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  checkParams(params);
  const salt = randomBytes(SALT_LENGTH);
  const hash = await derive(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/**
 * Checks a password against a stored hash in constant time (for hashes of the same parameters).
 * A stored string that is not a hash this module wrote verifies as false.
 */
export async function verifyPassword(
  password: string,
  stored: string,
  current: ScryptParams = DEFAULT_SCRYPT,
): Promise<{ ok: boolean; needsRehash: boolean }> {
  const parsed = parseHash(stored);
  if (parsed === undefined || typeof password !== 'string') return { ok: false, needsRehash: false };
  const candidate = await derive(password, parsed.salt, parsed.params);
  const ok = candidate.length === parsed.hash.length && timingSafeEqual(candidate, parsed.hash);
  const p = parsed.params;
  const needsRehash = ok && (p.N !== current.N || p.r !== current.r || p.p !== current.p);
  return { ok, needsRehash };
}

function parseHash(stored: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | undefined {
  const parts = typeof stored === 'string' ? stored.split('$') : [];
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map((x) => (/^[1-9][0-9]{0,8}$/.test(x!) ? Number(x) : Number.NaN));
  const params = { N: N!, r: r!, p: p! };
  const salt = Buffer.from(parts[4]!, 'base64url');
  const hash = Buffer.from(parts[5]!, 'base64url');
  try {
    checkParams(params);
  } catch {
    return undefined;
  }
  if (salt.length < SALT_LENGTH || hash.length !== HASH_LENGTH) return undefined;
  return { params, salt, hash };
}

function checkParams({ N, r, p }: ScryptParams): void {
  const powerOfTwo = Number.isSafeInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (
    !powerOfTwo ||
    N > MAX_N ||
    !Number.isSafeInteger(r) ||
    r < 1 ||
    r > MAX_R ||
    !Number.isSafeInteger(p) ||
    p < 1 ||
    p > MAX_P
  ) {
    throw new ServiceError('INVALID_ARGUMENT', `Unusable scrypt parameters N=${N} r=${r} p=${p}.`);
  }
}

function derive(password: string, salt: Buffer, { N, r, p }: ScryptParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default ceiling (32 MiB) is exactly the default cost, so raise it.
  const options: ScryptOptions = { N, r, p, maxmem: 128 * N * r * 2 + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, HASH_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
