import { generateKeyPair, type KeyObject } from 'node:crypto';
import { ServiceError } from '../errors.ts';

/** Key algorithms the server can generate for subscribers. */
export const KEY_ALGORITHMS = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'p-256', 'p-384', 'ed25519'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** Key algorithms for CA keys: no RSA-2048 (too short for a CA's lifetime) and no Ed25519 (poor client support). */
export const CA_KEY_ALGORITHMS = ['rsa-3072', 'rsa-4096', 'p-256', 'p-384'] as const;
export type CaKeyAlgorithm = (typeof CA_KEY_ALGORITHMS)[number];

export type EcCurve = 'P-256' | 'P-384';

/** What a key is, as far as the key policy of a template cares. */
export type KeyShape =
  | { readonly kind: 'rsa'; readonly bits: number }
  | { readonly kind: 'ec'; readonly curve: EcCurve | undefined }
  | { readonly kind: 'ed25519' }
  | { readonly kind: 'other'; readonly type: string };

const NODE_CURVES: Record<string, EcCurve> = { prime256v1: 'P-256', secp384r1: 'P-384' };

export function isKeyAlgorithm(value: unknown): value is KeyAlgorithm {
  return typeof value === 'string' && (KEY_ALGORITHMS as readonly string[]).includes(value);
}

export function isCaKeyAlgorithm(value: unknown): value is CaKeyAlgorithm {
  return typeof value === 'string' && (CA_KEY_ALGORITHMS as readonly string[]).includes(value);
}

/** The shape of a public or private key. */
export function keyShape(key: KeyObject): KeyShape {
  const type = key.asymmetricKeyType ?? 'unknown';
  if (type === 'rsa') return { kind: 'rsa', bits: key.asymmetricKeyDetails?.modulusLength ?? 0 };
  if (type === 'ec') return { kind: 'ec', curve: NODE_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] };
  if (type === 'ed25519') return { kind: 'ed25519' };
  return { kind: 'other', type };
}

/** The shape a generated key of this algorithm has. */
export function algorithmShape(algorithm: KeyAlgorithm): KeyShape {
  switch (algorithm) {
    case 'rsa-2048':
      return { kind: 'rsa', bits: 2048 };
    case 'rsa-3072':
      return { kind: 'rsa', bits: 3072 };
    case 'rsa-4096':
      return { kind: 'rsa', bits: 4096 };
    case 'p-256':
      return { kind: 'ec', curve: 'P-256' };
    case 'p-384':
      return { kind: 'ec', curve: 'P-384' };
    case 'ed25519':
      return { kind: 'ed25519' };
  }
}

export function describeShape(shape: KeyShape): string {
  switch (shape.kind) {
    case 'rsa':
      return `RSA-${shape.bits}`;
    case 'ec':
      return shape.curve ?? 'EC on an unsupported curve';
    case 'ed25519':
      return 'Ed25519';
    case 'other':
      return `a ${shape.type} key`;
  }
}

/**
 * Generates a private key off the event loop (RSA generation takes a noticeable while). The
 * public half is derived from the private KeyObject wherever it is needed.
 */
export function generateKey(algorithm: KeyAlgorithm): Promise<KeyObject> {
  const shape = algorithmShape(algorithm);
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _publicKey: KeyObject, privateKey: KeyObject) => {
      if (err) reject(new ServiceError('INVALID_ARGUMENT', `Key generation failed: ${err.message}`, { cause: err }));
      else resolve(privateKey);
    };
    if (shape.kind === 'rsa') generateKeyPair('rsa', { modulusLength: shape.bits }, done);
    else if (shape.kind === 'ec') generateKeyPair('ec', { namedCurve: shape.curve! }, done);
    else generateKeyPair('ed25519', undefined, done);
  });
}
