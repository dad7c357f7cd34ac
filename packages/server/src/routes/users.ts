/** The user directory: list, create, read, update and bulk-import users. */
import { authorize, can, ServiceError } from '@sealpost/services';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { actorOf, callerOf, type ServicesProvider } from '../services.ts';
import { page, USER } from './shapes.ts';

/** `me` in a user path means the caller. */
export const ME = 'me';

export const USER_ID = s.object({
  id: s.string({ minLength: 1, maxLength: 64, description: 'A user id, or `me` for the caller.' }),
});

export function userRoutes(services: ServicesProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/users',
      summary: 'List users, by address, ordered by address.',
      tags: ['users'],
      auth: 'user.read',
      query: s.object({
        cursor: s.optional(s.string({ maxLength: 400 })),
        limit: s.optional(s.integer({ minimum: 1, maximum: 500 })),
        email: s.optional(s.string({ maxLength: 320, description: 'Addresses starting with this text.' })),
        group: s.optional(s.string({ maxLength: 100, description: 'Members of this group.' })),
        status: s.optional(s.enum(['active', 'disabled'])),
      }),
      responses: { 200: { description: 'A page of users.', schema: page(USER) } },
      handler: async ({ query }) => {
        const result = await (await services()).users.list({
          ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
          ...(query.limit === undefined ? {} : { limit: query.limit }),
          ...(query.email === undefined ? {} : { emailPrefix: query.email }),
          ...(query.group === undefined ? {} : { group: query.group }),
          ...(query.status === undefined ? {} : { status: query.status }),
        });
        return {
          json: { items: result.users, ...(result.nextCursor === undefined ? {} : { next: result.nextCursor }) },
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/users',
      summary: 'Create a user (no login: see POST /api/v1/accounts).',
      tags: ['users'],
      auth: 'user.manage',
      body: s.object({
        email: s.string({ format: 'email', maxLength: 320 }),
        displayName: s.string({ minLength: 1, maxLength: 200 }),
        groups: s.optional(s.array(s.string({ minLength: 1, maxLength: 100 }), { maxItems: 100 })),
      }),
      responses: {
        201: { description: 'The user.', schema: USER },
        409: { description: 'A user with this address exists.' },
      },
      handler: async ({ principal, body }) => {
        const user = await (await services()).users.create(actorOf(callerOf(principal)), body);
        return { status: 201, json: user };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/users/import',
      summary: 'Import users from CSV (columns email, display_name, groups).',
      description:
        'The CSV text travels in the JSON body as `csv` (header line first; groups separated by `;`). ' +
        'all-or-nothing imports nothing when any row is bad; best-effort (the default) imports the good rows. ' +
        'The report lists the bad rows by line number.',
      tags: ['users'],
      auth: 'user.manage',
      query: s.object({ mode: s.optional(s.enum(['all-or-nothing', 'best-effort'])) }),
      body: s.object({ csv: s.string({ minLength: 1 }) }),
      responses: {
        200: {
          description: 'The import report.',
          schema: s.object({
            committed: s.boolean(),
            created: s.integer(),
            updated: s.integer(),
            errors: s.array(s.object({ line: s.integer(), message: s.string() })),
          }),
        },
      },
      handler: async ({ principal, query, body }) => {
        const report = await (await services()).users.importCsv(actorOf(callerOf(principal)), body.csv, {
          atomic: query.mode === 'all-or-nothing',
        });
        return { json: report };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/users/{id}',
      summary: 'Read a user.',
      description: 'Needs user.read, or self.read for one’s own record (`me`).',
      tags: ['users'],
      auth: 'authenticated',
      params: USER_ID,
      responses: { 200: { description: 'The user.', schema: USER }, 404: { description: 'No such user.' } },
      handler: async ({ principal, params }) => {
        const caller = callerOf(principal);
        const userId = params.id === ME ? caller.userId : params.id;
        if (!can(caller, 'user.read')) authorize(caller, 'self.read', { userId });
        const user = await (await services()).users.get(userId);
        if (user === undefined) throw new ServiceError('NOT_FOUND', `No user has id ${userId}.`);
        return { json: user };
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: '/api/v1/users/{id}',
      summary: 'Rename, disable or re-enable a user.',
      description: 'Disabling ends the user’s sessions and stops their API tokens.',
      tags: ['users'],
      auth: 'user.manage',
      params: USER_ID,
      body: s.object({
        displayName: s.optional(s.string({ minLength: 1, maxLength: 200 })),
        status: s.optional(s.enum(['active', 'disabled'])),
      }),
      responses: { 200: { description: 'The user.', schema: USER }, 404: { description: 'No such user.' } },
      handler: async ({ principal, params, body }) => {
        const caller = callerOf(principal);
        const actor = actorOf(caller);
        const userId = params.id === ME ? caller.userId : params.id;
        const { users, accounts } = await services();
        let user = await users.get(userId);
        if (user === undefined) throw new ServiceError('NOT_FOUND', `No user has id ${userId}.`);
        if (body.displayName !== undefined) user = await users.rename(actor, userId, body.displayName);
        if (body.status !== undefined && body.status !== user.status) {
          user = await users.setStatus(actor, userId, body.status);
          if (body.status === 'disabled') await accounts.revokeSessions(actor, userId);
        }
        return { json: user };
      },
    }),
  ];
}
