/** Bounds on what a PKCS#12 file may ask of the reader, so that no input can make it hang. */
import { fail } from '../errors.ts';

export const LIMITS = {
  /** Largest file accepted (real files with a long chain are a few tens of KiB). */
  maxBytes: 16 * 1024 * 1024,
  /** Safe bags in the whole file, nested ones included. */
  maxBags: 1000,
  /** safeContentsBag nesting. */
  maxNesting: 4,
  /** Iterations any one key derivation may ask for. */
  maxIterations: 10_000_000,
  /** Iterations all key derivations of one read may ask for together (each hash block counts). */
  maxTotalIterations: 20_000_000,
} as const;

/** The iteration work still allowed while reading one file. */
export class WorkBudget {
  #remaining: number = LIMITS.maxTotalIterations;

  /** Checks one derivation's iteration count and charges it `blocks` times. */
  charge(iterations: number, blocks: number, what: string): void {
    if (!Number.isSafeInteger(iterations) || iterations < 1) {
      fail('PKCS12_MALFORMED', `${what}: the iteration count must be a positive integer`);
    }
    if (iterations > LIMITS.maxIterations) {
      fail(
        'PKCS12_MALFORMED',
        `${what}: refusing ${iterations.toLocaleString('en')} iterations (the limit is ${LIMITS.maxIterations.toLocaleString('en')})`,
      );
    }
    this.#remaining -= iterations * blocks;
    if (this.#remaining < 0) {
      fail(
        'PKCS12_MALFORMED',
        `the file asks for more than ${LIMITS.maxTotalIterations.toLocaleString('en')} key-derivation iterations in total`,
      );
    }
  }
}
