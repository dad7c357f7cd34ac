/**
 * Response shapes shared by the identity, trust, archive and audit routes. Fields the services
 * report as null are left out of responses (see `withoutNulls`), so they are declared optional.
 */
import { PERMISSIONS, ROLES } from '@sealpost/services';
import { s } from '../http/schema.ts';

const TIME = s.string({ format: 'date-time' });

export const ROLE = s.enum(ROLES);
export const PERMISSION = s.enum(Object.keys(PERMISSIONS) as (keyof typeof PERMISSIONS)[]);

export const USER = s.object({
  id: s.string(),
  email: s.string(),
  displayName: s.string(),
  status: s.enum(['active', 'disabled']),
  createdAt: TIME,
});

export const GROUP = s.object({ id: s.string(), name: s.string(), createdAt: TIME });

export const ACCOUNT = s.object({
  userId: s.string(),
  email: s.string(),
  role: ROLE,
  createdAt: TIME,
  updatedAt: TIME,
});

export const TOKEN_INFO = s.object({
  id: s.string(),
  userId: s.string(),
  name: s.string(),
  scopes: s.array(PERMISSION),
  createdAt: TIME,
  expiresAt: s.optional(TIME),
  lastUsedAt: s.optional(TIME),
  revokedAt: s.optional(TIME),
});

export const TRUST_ANCHOR = s.object({
  id: s.string(),
  sha256: s.string({ description: 'SHA-256 of the DER certificate, lower-case hex.' }),
  subject: s.string(),
  issuer: s.string(),
  kind: s.enum(['root', 'intermediate']),
  notBefore: TIME,
  notAfter: TIME,
  scopeDomain: s.optional(s.string({ description: 'Trusted only for this mail domain; absent for every domain.' })),
  createdAt: TIME,
});

export const ARCHIVED_KEY = s.object({
  archivedKeyId: s.string(),
  certificateId: s.string(),
  serial: s.string(),
  notBefore: TIME,
  notAfter: TIME,
  status: s.enum(['valid', 'revoked']),
  archivedAt: TIME,
});

export const RECOVERY_REQUEST = s.object({
  id: s.string(),
  archivedKeyId: s.string(),
  requestedBy: s.string(),
  approvedBy: s.optional(s.string()),
  reason: s.string(),
  status: s.enum(['pending', 'approved', 'rejected', 'completed']),
  createdAt: TIME,
  decidedAt: s.optional(TIME),
  completedAt: s.optional(TIME),
});

export const RECOVERED_KEY = s.object({
  pkcs12Base64: s.string({ description: 'The PKCS#12 file (key, certificate, CA certificate); shown once.' }),
  password: s.string({ description: 'Its generated password; shown once, never stored.' }),
});

/** Lists are pages: `next`, when present, is the cursor of the following page. */
export const page = <I extends Parameters<typeof s.array>[0]>(item: I) =>
  s.object({ items: s.array(item), next: s.optional(s.string()) });
