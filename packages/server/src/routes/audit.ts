/** The audit log: read it a page at a time, newest first, and verify its hash chain. */
import { type AuditDetails, type Row, verifyChain } from '@sealpost/services';
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

interface EntryRow extends Row {
  seq: number | bigint | string;
  at: string;
  actor: string;
  action: string;
  subject: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

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
        const { db } = await services();
        const limit = query.limit ?? DEFAULT_LIMIT;
        // Keyset pagination on seq: pages stay stable while entries are appended.
        const rows = await db.all<EntryRow>(
          `SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log
            ${query.cursor === undefined ? '' : 'WHERE seq < ?'} ORDER BY seq DESC LIMIT ?`,
          query.cursor === undefined ? [limit + 1] : [Number(query.cursor), limit + 1],
        );
        const items = rows.slice(0, limit).map(toEntry);
        const last = items.at(-1);
        return {
          json: { items, ...(rows.length > limit && last !== undefined ? { next: String(last.seq) } : {}) },
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

function toEntry(row: EntryRow) {
  return {
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor,
    action: row.action,
    ...(row.subject === null ? {} : { subject: row.subject }),
    details: JSON.parse(row.details) as AuditDetails,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
