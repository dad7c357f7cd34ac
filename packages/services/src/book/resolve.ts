import { Certificate, type ContentCipherName, isSealpostError, selectContentCipher } from '@sealpost/core';
import { ServiceError } from '../errors.ts';
import { normalizeEmail } from '../identity/email.ts';
import type { Clock } from '../ports/clock.ts';
import type { ExternalDirectory } from '../ports/external-directory.ts';
import type { CertificateBook } from './book.ts';
import {
  type CertificateChoice,
  chooseCertificate,
  type Exclusion,
  type RecipientReason,
  type RevocationCheck,
  type UsableCertificate,
} from './ranking.ts';

/**
 * Recipient resolution: "can I encrypt to these addresses, and if not, why?". For each address the
 * certificate to encrypt to (ranking.ts), the content cipher its SMIMECapabilities allow, or the
 * reason there is none; overall, whether the message can be encrypted and with which cipher
 * (AES-GCM only when every recipient announced it, RFC 8551 §2.7.1, core's `selectContentCipher`).
 *
 * External directories are asked for every address, except one that has a usable certificate from
 * Sealpost's own CA (nothing a directory publishes could outrank it): asking even when the book
 * already has a certificate is how a key change published by a partner is noticed. What they publish
 * enters the book as source `directory`, under key-change review like any other certificate. The
 * directories are asked concurrently, each bounded by its own timeout, and answers (found, none,
 * failed) are cached in memory for a short while, so a slow partner costs one timeout per cache
 * period, not one per message.
 */

export const MAX_RECIPIENTS = 500;
export const DIRECTORY_TIMEOUT_MS = 3000;
export const FOUND_TTL_MS = 5 * 60_000;
export const NOT_FOUND_TTL_MS = 60_000;
/** Cached directory answers; the oldest go first beyond this. */
const CACHE_SIZE = 10_000;

export interface RecipientResolverOptions {
  readonly book: CertificateBook;
  /** For the cache's expiry; the ranking's validation time. */
  readonly clock: Clock;
  readonly directories?: readonly ExternalDirectory[];
  readonly revocation?: RevocationCheck;
  /** Per directory and address; default 3 s. */
  readonly lookupTimeoutMs?: number;
  /** How long an answer with certificates is reused; default 5 min. */
  readonly foundTtlMs?: number;
  /** How long an answer without certificates (or a failure) is reused; default 1 min. */
  readonly notFoundTtlMs?: number;
}

export interface LookupFailure {
  readonly directory: string;
  readonly message: string;
}

export interface RecipientResolution {
  readonly address: string;
  readonly status: 'ok' | 'none';
  /** The certificate to encrypt to (one today; a list so that a rule choosing several needs no new shape). */
  readonly certificates: UsableCertificate[];
  /** The content cipher this recipient's capabilities allow; null when there is no certificate. */
  readonly cipher: ContentCipherName | null;
  /** Why there is no certificate; null when there is one. */
  readonly reason: RecipientReason | null;
  /** Why this certificate, or why none, for people. */
  readonly message: string;
  /** The certificates considered and not used, each with its reason. */
  readonly excluded: Exclusion[];
  /** Directories that did not answer (in time), so the answer may lack what they publish. */
  readonly lookupFailures: LookupFailure[];
}

export interface Resolution {
  /** Every address has a certificate. */
  readonly canEncrypt: boolean;
  /** The cipher for a message to all of them; null when it cannot be encrypted. */
  readonly cipher: ContentCipherName | null;
  readonly cipherReason: string;
  readonly recipients: RecipientResolution[];
}

type Answer = { readonly certificates: Uint8Array[] } | { readonly failure: string };

export class RecipientResolver {
  readonly #book: CertificateBook;
  readonly #clock: Clock;
  readonly #directories: readonly ExternalDirectory[];
  readonly #revocation: RevocationCheck | undefined;
  readonly #timeoutMs: number;
  readonly #foundTtlMs: number;
  readonly #notFoundTtlMs: number;
  readonly #cache = new Map<string, { readonly expires: number; readonly answer: Answer }>();

  constructor(options: RecipientResolverOptions) {
    this.#book = options.book;
    this.#clock = options.clock;
    this.#directories = options.directories ?? [];
    this.#revocation = options.revocation;
    this.#timeoutMs = options.lookupTimeoutMs ?? DIRECTORY_TIMEOUT_MS;
    this.#foundTtlMs = options.foundTtlMs ?? FOUND_TTL_MS;
    this.#notFoundTtlMs = options.notFoundTtlMs ?? NOT_FOUND_TTL_MS;
  }

  /** Resolves up to MAX_RECIPIENTS addresses for `viewerId`, whose own book decisions apply. */
  async resolve(addresses: readonly string[], viewerId: string): Promise<Resolution> {
    if (!Array.isArray(addresses) || addresses.length === 0) {
      throw new ServiceError('INVALID_ARGUMENT', 'Give at least one address.');
    }
    if (addresses.length > MAX_RECIPIENTS) {
      throw new ServiceError('TOO_LARGE', `At most ${MAX_RECIPIENTS} addresses are resolved at once.`);
    }
    const canonical = [...new Set(addresses.map(normalizeEmail))];
    const recipients = await Promise.all(canonical.map((a) => this.#resolveOne(a, viewerId)));
    const canEncrypt = recipients.every((r) => r.status === 'ok');
    if (!canEncrypt) {
      const missing = recipients.filter((r) => r.status === 'none').map((r) => r.address);
      return { canEncrypt, cipher: null, cipherReason: `no certificate for ${missing.join(', ')}`, recipients };
    }
    const capabilities = await Promise.all(
      recipients.map(async (r) => (await this.#book.sender(r.address))?.capabilities),
    );
    const choice = selectContentCipher(capabilities);
    return { canEncrypt, cipher: choice.cipher, cipherReason: choice.reason, recipients };
  }

  async #resolveOne(address: string, viewerId: string): Promise<RecipientResolution> {
    const sender = await this.#book.sender(address);
    const context = {
      time: this.#clock.now(),
      anchors: await this.#book.anchorsFor([address]),
      ...(sender?.preference === undefined ? {} : { preference: sender.preference }),
      ...(this.#revocation === undefined ? {} : { revocation: this.#revocation }),
    };
    const choose = async () => chooseCertificate(address, await this.#book.entries(address, viewerId), context);
    let choice: CertificateChoice = await choose();
    const lookupFailures: LookupFailure[] = [];
    if (choice.chosen?.entry.source !== 'ca' && this.#directories.length > 0) {
      const fresh = await Promise.all(this.#directories.map((d) => this.#ask(d, address, lookupFailures)));
      if (fresh.some((n) => n > 0)) choice = await choose();
    }
    const chosen = choice.chosen;
    return {
      address,
      status: chosen === undefined ? 'none' : 'ok',
      certificates: chosen === undefined ? [] : [chosen],
      cipher: chosen === undefined ? null : selectContentCipher([sender?.capabilities]).cipher,
      reason: choice.reason ?? null,
      message: choice.message,
      excluded: choice.excluded,
      lookupFailures,
    };
  }

  /**
   * Asks one directory (or its cached answer) and records what it publishes; returns how many
   * certificates were new to the book. Failures and timeouts are reported, not thrown.
   */
  async #ask(directory: ExternalDirectory, address: string, failures: LookupFailure[]): Promise<number> {
    const key = `${directory.name}\n${address}`;
    const now = this.#clock.now().getTime();
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.expires > now) {
      if ('failure' in cached.answer) failures.push({ directory: directory.name, message: cached.answer.failure });
      return 0;
    }
    const answer = await this.#lookUp(directory, address);
    const found = 'certificates' in answer && answer.certificates.length > 0;
    this.#cache.delete(key);
    this.#cache.set(key, { expires: now + (found ? this.#foundTtlMs : this.#notFoundTtlMs), answer });
    if (this.#cache.size > CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value as string);
    if ('failure' in answer) {
      failures.push({ directory: directory.name, message: answer.failure });
      return 0;
    }
    const certificates: Certificate[] = [];
    for (const der of answer.certificates) {
      try {
        certificates.push(Certificate.fromDer(der));
      } catch (e) {
        if (!isSealpostError(e)) throw e;
        failures.push({ directory: directory.name, message: `it published a malformed certificate: ${e.message}` });
      }
    }
    return this.#book.recordPublished(directory.name, address, certificates);
  }

  /** One lookup, never longer than the timeout, even if the directory ignores the abort signal. */
  async #lookUp(directory: ExternalDirectory, address: string): Promise<Answer> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new Error(`no answer within ${this.#timeoutMs} ms`);
        controller.abort(e);
        reject(e);
      }, this.#timeoutMs);
    });
    try {
      const lookup = Promise.resolve().then(() => directory.certificatesFor(address, controller.signal));
      return { certificates: await Promise.race([lookup, timeout]) };
    } catch (e) {
      return { failure: e instanceof Error ? e.message : String(e) };
    } finally {
      clearTimeout(timer);
    }
  }
}
