/**
 * The key archive: a user's key history and self-service recovery, and the four-eyes recovery of
 * someone else's key (one administrator requests, another approves, the requester releases once).
 */
import { authorize, can, type RecoveredKey } from '@sealpost/services';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { callerOf, type ServicesProvider, withoutNulls } from '../services.ts';
import { ARCHIVED_KEY, RECOVERED_KEY, RECOVERY_REQUEST } from './shapes.ts';
import { ME, USER_ID } from './users.ts';

const KEY_ID = s.string({ minLength: 1, maxLength: 64 });

const recovered = (key: RecoveredKey) => ({
  pkcs12Base64: Buffer.from(key.pkcs12).toString('base64'),
  password: key.password,
});

export function archiveRoutes(services: ServicesProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/users/{id}/keys',
      summary: 'A user’s archived keys (key history), newest first.',
      description: 'Needs self.read for one’s own history (`me`), or archive.request for anyone’s.',
      tags: ['archive'],
      auth: 'authenticated',
      params: USER_ID,
      responses: { 200: { description: 'The history.', schema: s.object({ items: s.array(ARCHIVED_KEY) }) } },
      handler: async ({ principal, params }) => {
        const caller = callerOf(principal);
        const userId = params.id === ME ? caller.userId : params.id;
        if (!can(caller, 'archive.request')) authorize(caller, 'self.read', { userId });
        return { json: { items: await (await services()).recovery.history(userId) } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/users/me/keys/{archivedKeyId}/recover',
      summary: 'Retrieve the archived private key of one of one’s own certificates, as PKCS#12.',
      tags: ['archive'],
      auth: 'self.recover',
      params: s.object({ archivedKeyId: KEY_ID }),
      responses: {
        200: { description: 'The key; shown once.', schema: RECOVERED_KEY },
        404: { description: 'The caller has no archived key with this id.' },
      },
      handler: async ({ principal, params }) => {
        const key = await (await services()).recovery.selfRecover(callerOf(principal).userId, params.archivedKeyId);
        return { json: recovered(key) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/recovery-requests',
      summary: 'Request the recovery of an archived key (another administrator must approve).',
      tags: ['archive'],
      auth: 'archive.request',
      body: s.object({ archivedKeyId: KEY_ID, reason: s.string({ minLength: 1, maxLength: 1000 }) }),
      responses: {
        201: { description: 'The pending request.', schema: RECOVERY_REQUEST },
        404: { description: 'No archived key has this id.' },
      },
      handler: async ({ principal, body }) => {
        const request = await (await services()).recovery.request(
          callerOf(principal).userId,
          body.archivedKeyId,
          body.reason,
        );
        return { status: 201, json: withoutNulls(request) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/recovery-requests',
      summary: 'List key recovery requests, oldest first.',
      tags: ['archive'],
      auth: 'archive.approve',
      query: s.object({ status: s.optional(s.enum(['pending', 'approved', 'rejected', 'completed'])) }),
      responses: {
        200: { description: 'The requests.', schema: s.object({ items: s.array(RECOVERY_REQUEST) }) },
      },
      handler: async ({ query }) => {
        const requests = await (await services()).recovery.list(query.status);
        return { json: { items: requests.map(withoutNulls) } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/recovery-requests/{id}/approve',
      summary: 'Approve a pending recovery request (four eyes: not its requester).',
      tags: ['archive'],
      auth: 'archive.approve',
      params: s.object({ id: KEY_ID }),
      responses: {
        200: { description: 'The approved request.', schema: RECOVERY_REQUEST },
        403: { description: 'FOUR_EYES: the requester cannot approve their own request.' },
        409: { description: 'INVALID_STATE: the request is not pending.' },
      },
      handler: async ({ principal, params }) => {
        const request = await (await services()).recovery.approve(callerOf(principal).userId, params.id);
        return { json: withoutNulls(request) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/recovery-requests/{id}/release',
      summary: 'Release an approved recovery to its requester, once, as PKCS#12.',
      tags: ['archive'],
      auth: 'archive.release',
      params: s.object({ id: KEY_ID }),
      responses: {
        200: { description: 'The key; shown once.', schema: RECOVERED_KEY },
        403: { description: 'Only the requester may release.' },
        409: { description: 'INVALID_STATE: not approved, or released already.' },
      },
      handler: async ({ principal, params }) => {
        const key = await (await services()).recovery.release(callerOf(principal).userId, params.id);
        return { json: recovered(key) };
      },
    }),
  ];
}
