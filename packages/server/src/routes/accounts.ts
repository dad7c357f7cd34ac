/** API tokens (one's own) and accounts (a login and a role for a user; administrators only). */
import { ServiceError } from '@sealpost/services';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { actorOf, callerOf, type ServicesProvider, withoutNulls } from '../services.ts';
import { ACCOUNT, PERMISSION, ROLE, TOKEN_INFO } from './shapes.ts';

export function accountRoutes(services: ServicesProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/tokens',
      summary: "The caller's API tokens, newest first (never their secret).",
      tags: ['tokens'],
      auth: 'self.token',
      responses: { 200: { description: 'The tokens.', schema: s.object({ items: s.array(TOKEN_INFO) }) } },
      handler: async ({ principal }) => {
        const tokens = await (await services()).accounts.listTokens(callerOf(principal).userId);
        return { json: { items: tokens.map(withoutNulls) } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/tokens',
      summary: 'Create an API token for the caller.',
      description:
        'The scopes must be permissions of the caller’s role. The token (`spk_…`) is in this response only; ' +
        'send it as `Authorization: Bearer spk_…`.',
      tags: ['tokens'],
      auth: 'self.token',
      body: s.object({
        name: s.string({ minLength: 1, maxLength: 100 }),
        scopes: s.array(PERMISSION, { minItems: 1, maxItems: 32 }),
        expiresAt: s.optional(s.string({ format: 'date-time' })),
      }),
      responses: {
        201: {
          description: 'Created; `token` is shown once.',
          schema: s.object({
            id: s.string(),
            token: s.string(),
            name: s.string(),
            scopes: s.array(PERMISSION),
            expiresAt: s.optional(s.string({ format: 'date-time' })),
          }),
        },
      },
      handler: async ({ principal, body }) => {
        const caller = callerOf(principal);
        const created = await (await services()).accounts.createToken(
          actorOf(caller),
          caller.userId,
          body.name,
          body.scopes,
          body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
        );
        return { status: 201, json: withoutNulls(created) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/tokens/{id}',
      summary: 'Revoke one of the caller’s API tokens.',
      tags: ['tokens'],
      auth: 'self.token',
      params: s.object({ id: s.string({ minLength: 1, maxLength: 64 }) }),
      responses: { 204: { description: 'Revoked (or revoked already).' }, 404: { description: 'No such token.' } },
      handler: async ({ principal, params }) => {
        const caller = callerOf(principal);
        const { accounts } = await services();
        // Another user's token is reported missing, so token ids cannot be probed.
        if (!(await accounts.listTokens(caller.userId)).some((t) => t.id === params.id)) {
          throw new ServiceError('NOT_FOUND', `You have no API token with id ${params.id}.`);
        }
        await accounts.revokeToken(actorOf(caller), params.id);
        return {};
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/accounts',
      summary: 'Give a user a login with a role (the user is created when the address is new).',
      tags: ['accounts'],
      auth: 'user.manage',
      body: s.object({
        email: s.string({ format: 'email', maxLength: 320 }),
        role: ROLE,
        password: s.string({ minLength: 1, maxLength: 1024 }),
        displayName: s.optional(s.string({ minLength: 1, maxLength: 200 })),
      }),
      responses: {
        201: { description: 'The account.', schema: ACCOUNT },
        409: { description: 'The user has an account already.' },
      },
      handler: async ({ principal, body }) => {
        const caller = callerOf(principal);
        const { accounts, users } = await services();
        const actor = actorOf(caller);
        const user =
          (await users.findByEmail(body.email)) ??
          (await users.create(actor, { email: body.email, displayName: body.displayName ?? body.email }));
        return { status: 201, json: await accounts.createAccount(actor, user.id, body.password, body.role) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: '/api/v1/accounts/{userId}',
      summary: 'Change the role of an account.',
      tags: ['accounts'],
      auth: 'user.manage',
      params: s.object({ userId: s.string({ minLength: 1, maxLength: 64 }) }),
      body: s.object({ role: ROLE }),
      responses: { 200: { description: 'The account.', schema: ACCOUNT }, 404: { description: 'No such account.' } },
      handler: async ({ principal, params, body }) => {
        const caller = callerOf(principal);
        const account = await (await services()).accounts.setRole(actorOf(caller), params.userId, body.role);
        return { json: account };
      },
    }),
  ];
}
