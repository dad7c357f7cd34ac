/**
 * Every action the audit log records, in one place. The union is closed on purpose: a new kind of
 * event is added here, with its meaning, before any service may log it. Names are `area.verb`.
 */
export const AUDIT_ACTIONS = {
  'ca.create': 'A certificate authority was created or imported.',
  'ca.retire': 'A certificate authority stopped issuing.',
  'certificate.issue': 'A certificate was issued.',
  'certificate.renew': 'A certificate was renewed (issued again for the same holder).',
  'certificate.revoke': 'A certificate was revoked.',
  'key.archive': 'A private key was archived for recovery.',
  'key.recovery.request': 'Recovery of an archived private key was requested.',
  'key.recovery.approve': 'A key recovery request was approved.',
  'key.recovery.reject': 'A key recovery request was rejected.',
  'key.recovery.release': 'An archived private key was released to the requester.',
  'key.recovery.self': 'A user retrieved the archived private key of one of their own certificates.',
  'trust.add': 'A trust anchor was added.',
  'trust.remove': 'A trust anchor was removed.',
  'book.add':
    'A certificate entered the certificate book (added, harvested from a signed message, or found in a directory).',
  'book.accept': 'A certificate of the book was accepted (for everyone or for one user).',
  'book.pin': 'A certificate of the book was pinned: the only one used for its address (for everyone or for one user).',
  'book.reject': 'A certificate of the book was rejected: never used (for everyone or for one user).',
  'auth.login': 'A user logged in.',
  'auth.login.fail': 'A login attempt failed.',
  'auth.logout': 'A user logged out.',
  'user.create': 'A user was created.',
  'user.disable': 'A user was disabled.',
  'user.update': "A user's display name changed.",
  'user.enable': 'A disabled user was enabled again.',
  'user.import': 'Users were imported from a CSV file.',
  'group.create': 'A group was created.',
  'group.member.add': 'A user joined a group.',
  'group.member.remove': 'A user left a group.',
  'account.create': 'A local account (login) was created for a user.',
  'account.password.change': "An account's password was set or changed.",
  'auth.session.revoke': "A user's sessions were revoked.",
  'user.role.change': "A user's role changed.",
  'token.create': 'An API token was created.',
  'token.revoke': 'An API token was revoked.',
  'template.change': 'A certificate template was created, changed or deleted.',
  'vault.master-key.rotate': 'The data keys were re-wrapped under a new master key.',
  'vault.data-key.rotate': 'The secrets were re-encrypted under a new data key.',
  'directory.publish': "A certificate was added to its holder's entry in an external directory.",
  'directory.unpublish':
    "A certificate (revoked or expired) was removed from its holder's entry in an external directory.",
  'directory.import': 'Users and group memberships were imported from an external directory.',
} as const;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

export function isAuditAction(value: string): value is AuditAction {
  return Object.hasOwn(AUDIT_ACTIONS, value);
}
