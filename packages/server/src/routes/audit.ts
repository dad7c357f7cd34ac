/** The audit log: read it a page at a time, newest first, and verify its hash chain. */
import { listAuditEntries, verifyChain } from '@sealpost/services';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import type { ServicesProvider } from '../services.ts';
import { page } from './shapes.ts';

const ENTRY = s.object({
  seq: s.integer(),
  at: s.string({ format: 'date-time' }),
  actor: s.string(),
  action: s.string(),
  subject: s.optional(s.string()),
  details: s.object({}, { description: 'Non-secret context of the action (any properties).' }),
  prevHash: s.string(),
  hash: s.string(),
});

const DEFAULT_LIMIT = 100;

export function auditRoutes(services: ServicesProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/audit',
      summary: 'Audit entries, newest first.',
      tags: ['audit'],
      auth: 'audit.read',
      query: s.object({
        cursor: s.optional(s.string({ pattern: '^[1-9][0-9]{0,15}$', description: '`next` of the previous page.' })),
        limit: s.optional(s.integer({ minimum: 1, maximum: 500 })),
      }),
      responses: { 200: { description: 'A page of entries.', schema: page(ENTRY) } },
      handler: async ({ query }) => {
        const { items, next } = await listAuditEntries((await services()).db, {
          ...(query.cursor === undefined ? {} : { before: Number(query.cursor) }),
          limit: query.limit ?? DEFAULT_LIMIT,
        });
        return {
          json: {
            items: items.map(({ subject, ...rest }) => (subject == null ? rest : { ...rest, subject })),
            ...(next === undefined ? {} : { next: String(next) }),
          },
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/audit/verify',
      summary: 'Verify the whole hash chain of the audit log.',
      tags: ['audit'],
      auth: 'audit.read',
      responses: {
        200: {
          description: 'Intact (`ok`, the entry count and the head), or where and how it is broken.',
          schema: s.object({
            ok: s.boolean(),
            entries: s.optional(s.integer()),
            head: s.optional(s.object({ seq: s.integer(), hash: s.string() })),
            brokenAt: s.optional(s.integer({ description: 'The seq of the first bad entry.' })),
            reason: s.optional(s.enum(['gap', 'link', 'edited', 'checkpoint'])),
            message: s.optional(s.string()),
          }),
        },
      },
      handler: async () => ({ json: await verifyChain((await services()).db) }),
    }),
  ];
}
