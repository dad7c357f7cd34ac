import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isServiceError } from '../../src/errors.ts';
import {
  authorize,
  can,
  PERMISSIONS,
  type Permission,
  type Principal,
  ROLES,
  type Role,
} from '../../src/identity/permissions.ts';

/**
 * The expected matrix, written out independently of ROLE_PERMISSIONS: true where the role may act
 * (on its own data for self.*), false where it must not.
 */
const EXPECTED: Record<Permission, Record<Role, boolean>> = {
  'ca.manage': { admin: true, operator: true, auditor: false, user: false },
  'certificate.issue': { admin: true, operator: true, auditor: false, user: false },
  'certificate.revoke': { admin: true, operator: true, auditor: false, user: false },
  'certificate.read': { admin: true, operator: true, auditor: true, user: false },
  'archive.request': { admin: true, operator: false, auditor: false, user: false },
  'archive.approve': { admin: true, operator: false, auditor: false, user: false },
  'archive.release': { admin: true, operator: false, auditor: false, user: false },
  'trust.manage': { admin: true, operator: true, auditor: false, user: false },
  'trust.read': { admin: true, operator: true, auditor: true, user: false },
  'audit.read': { admin: true, operator: false, auditor: true, user: false },
  'book.read': { admin: true, operator: true, auditor: true, user: true },
  'book.contribute': { admin: true, operator: true, auditor: false, user: true },
  'book.manage': { admin: true, operator: true, auditor: false, user: false },
  'recipients.resolve': { admin: true, operator: true, auditor: true, user: true },
  'directories.read': { admin: true, operator: true, auditor: true, user: false },
  'directories.manage': { admin: true, operator: false, auditor: false, user: false },
  'user.manage': { admin: true, operator: false, auditor: false, user: false },
  'user.read': { admin: true, operator: true, auditor: true, user: false },
  'self.read': { admin: true, operator: true, auditor: true, user: true },
  'self.recover': { admin: true, operator: true, auditor: true, user: true },
  'self.token': { admin: true, operator: true, auditor: true, user: true },
  'self.book': { admin: true, operator: true, auditor: true, user: true },
};

const session = (role: Role): Principal => ({ userId: `u-${role}`, role, via: 'session', credentialId: 's' });

describe('permission table', () => {
  it('covers every permission', () => {
    assert.deepEqual(Object.keys(EXPECTED).sort(), Object.keys(PERMISSIONS).sort());
  });

  for (const permission of Object.keys(EXPECTED) as Permission[]) {
    for (const role of ROLES) {
      const allowed = EXPECTED[permission][role];
      it(`${role} ${allowed ? 'may' : 'may not'} ${permission}`, () => {
        const principal = session(role);
        const own = { userId: principal.userId };
        assert.equal(can(principal, permission, own), allowed);
        if (allowed) assert.doesNotThrow(() => authorize(principal, permission, own));
        else
          assert.throws(
            () => authorize(principal, permission, own),
            (e) => isServiceError(e, 'FORBIDDEN'),
          );
        if (permission.startsWith('self.')) {
          // Only one's own data, never another user's, whatever the role.
          assert.equal(can(principal, permission, { userId: 'someone-else' }), false);
          assert.equal(can(principal, permission), false);
        }
      });
    }
  }

  it('limits a token to its scopes, and scopes to the role', () => {
    const token: Principal = {
      userId: 'u1',
      role: 'operator',
      scopes: ['certificate.issue'],
      via: 'token',
      credentialId: 't',
    };
    assert.equal(can(token, 'certificate.issue'), true);
    assert.equal(can(token, 'certificate.revoke'), false);
    // A scope the role lost (e.g. after a demotion) grants nothing.
    assert.equal(can({ ...token, role: 'user' }, 'certificate.issue'), false);
    assert.equal(can({ ...token, role: 'superuser' as Role }, 'certificate.issue'), false);
    assert.equal(can(token, 'everything' as Permission), false);
  });
});
