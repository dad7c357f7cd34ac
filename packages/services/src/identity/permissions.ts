import { ServiceError } from '../errors.ts';

/** The four roles: administrator, CA operator, auditor, and an ordinary user. */
export const ROLES = ['admin', 'operator', 'auditor', 'user'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Every permission the API checks, with its meaning. `self.*` apply only to the principal's own data. */
export const PERMISSIONS = {
  'ca.manage': 'Create, import and retire certificate authorities and edit certificate templates.',
  'certificate.issue': 'Issue and renew certificates for any user.',
  'certificate.revoke': 'Revoke any certificate.',
  'certificate.read': "Read any user's certificates and their status.",
  'archive.request': "Request recovery of another user's archived private key.",
  'archive.approve': 'Approve or reject a key recovery requested by another administrator.',
  'archive.release': 'Release an approved key recovery as a PKCS#12 file.',
  'trust.manage': 'Import and remove trust anchors.',
  'trust.read': 'List trust anchors.',
  'audit.read': 'Read and verify the audit log.',
  'book.read': "List the certificate book: correspondents' certificates and pending key changes.",
  'book.contribute': 'Add certificates to the book: harvest signed messages, add a certificate file.',
  'book.manage': 'Accept, pin or reject certificates of the book for everyone.',
  'recipients.resolve': 'Find the certificates to encrypt to for a list of addresses.',
  'directories.read': 'List the external directories and their pending publications.',
  'directories.manage': 'Run the import from and the publishing to external directories now.',
  'user.manage': 'Create, import, disable users; manage groups, accounts and roles.',
  'user.read': 'List and read users and groups.',
  'self.read': 'Read one’s own profile, certificates and key history.',
  'self.recover': 'Retrieve the archived private keys of one’s own certificates.',
  'self.token': 'Create, list and revoke one’s own API tokens.',
  'self.book': 'Accept, pin or reject certificates of the book for oneself.',
} as const;

export type Permission = keyof typeof PERMISSIONS;

const SELF: readonly Permission[] = ['self.read', 'self.recover', 'self.token', 'self.book'];
/** Everyone who sends mail looks recipients up and reads the book; only auditors do not add to it. */
const CORRESPONDENT: readonly Permission[] = ['book.read', 'book.contribute', 'recipients.resolve'];

/**
 * The single table of who may do what. Administrators may do everything; CA operators run the CAs
 * and trust store; auditors only read (and read the audit log); users only touch their own data.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: Object.keys(PERMISSIONS) as Permission[],
  operator: [
    'ca.manage',
    'certificate.issue',
    'certificate.revoke',
    'certificate.read',
    'trust.manage',
    'trust.read',
    'user.read',
    'directories.read',
    'book.manage',
    ...CORRESPONDENT,
    ...SELF,
  ],
  auditor: [
    'certificate.read',
    'trust.read',
    'audit.read',
    'user.read',
    'directories.read',
    'book.read',
    'recipients.resolve',
    ...SELF,
  ],
  user: [...CORRESPONDENT, ...SELF],
};

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.hasOwn(PERMISSIONS, value);
}

/** Who is acting: a browser session (all of the role's permissions) or an API token (its scopes only). */
export interface Principal {
  readonly userId: string;
  readonly role: Role;
  /** A token's scopes; undefined for a session. */
  readonly scopes?: readonly Permission[];
  readonly via: 'session' | 'token';
  /** The session's or token's id, for audit entries and revocation. */
  readonly credentialId: string;
}

/**
 * Whether the principal may do `permission`, on `target` when given. A permission must be granted
 * to the role AND, for a token, be among its scopes; a `self.*` permission further needs a target
 * owned by the principal.
 */
export function can(principal: Principal, permission: Permission, target?: { readonly userId: string }): boolean {
  if (!isPermission(permission) || !isRole(principal.role)) return false;
  if (!ROLE_PERMISSIONS[principal.role].includes(permission)) return false;
  if (principal.scopes !== undefined && !principal.scopes.includes(permission)) return false;
  if (permission.startsWith('self.')) return target !== undefined && target.userId === principal.userId;
  return true;
}

/** `can`, throwing ServiceError FORBIDDEN when not allowed. */
export function authorize(principal: Principal, permission: Permission, target?: { readonly userId: string }): void {
  if (!can(principal, permission, target)) {
    throw new ServiceError(
      'FORBIDDEN',
      `A ${principal.role}${principal.via === 'token' ? ' token' : ''} may not ${permission}${target ? ` for user ${target.userId}` : ''}.`,
    );
  }
}
