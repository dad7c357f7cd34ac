/** Groups and their members. (Auto-enrollment templates per group live with the CA routes.) */
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { actorOf, callerOf, type ServicesProvider } from '../services.ts';
import { GROUP } from './shapes.ts';

const GROUP_NAME = s.string({ minLength: 1, maxLength: 100 });

export function groupRoutes(services: ServicesProvider): Route[] {
  const membership = s.object({ name: GROUP_NAME, userId: s.string({ minLength: 1, maxLength: 64 }) });
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/groups',
      summary: 'List groups, by name.',
      tags: ['groups'],
      auth: 'user.read',
      responses: { 200: { description: 'The groups.', schema: s.object({ items: s.array(GROUP) }) } },
      handler: async () => ({ json: { items: await (await services()).users.groups() } }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/groups',
      summary: 'Create a group.',
      tags: ['groups'],
      auth: 'user.manage',
      body: s.object({ name: GROUP_NAME }),
      responses: {
        201: { description: 'The group.', schema: GROUP },
        409: { description: 'A group with this name exists.' },
      },
      handler: async ({ principal, body }) => {
        const group = await (await services()).users.createGroup(actorOf(callerOf(principal)), body.name);
        return { status: 201, json: group };
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/api/v1/groups/{name}/members/{userId}',
      summary: 'Add a user to a group (idempotent; the group is created when new).',
      tags: ['groups'],
      auth: 'user.manage',
      params: membership,
      responses: { 204: { description: 'The user is a member.' }, 404: { description: 'No such user.' } },
      handler: async ({ principal, params }) => {
        await (await services()).users.addToGroup(actorOf(callerOf(principal)), params.userId, params.name);
        return {};
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/groups/{name}/members/{userId}',
      summary: 'Remove a user from a group (idempotent).',
      tags: ['groups'],
      auth: 'user.manage',
      params: membership,
      responses: { 204: { description: 'The user is not a member.' }, 404: { description: 'No such user.' } },
      handler: async ({ principal, params }) => {
        await (await services()).users.removeFromGroup(actorOf(callerOf(principal)), params.userId, params.name);
        return {};
      },
    }),
  ];
}
