/** The certificate book: correspondents' certificates, harvesting signed mail, and key-change review. */
import { nameToString, pemEncode } from '@sealpost/core';
import {
  authorize,
  BOOK_DECISIONS,
  type BookEntry,
  HARVEST_REFUSALS,
  type HarvestReport,
  ServiceError,
} from '@sealpost/services';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { actorOf, callerOf, type ServicesProvider, withoutNulls } from '../services.ts';

const TIME = s.string({ format: 'date-time' });
const DECISION = s.enum(BOOK_DECISIONS);
export const SOURCE = s.enum(['ca', 'directory', 'harvested', 'manual'], {
  description:
    "Where it comes from, most trusted first: Sealpost's CA, an external directory, a signed message, by hand.",
});

/** The certificate fields every answer about a book certificate shares. */
export const CERTIFICATE_FIELDS = {
  id: s.string({ description: "The book entry's id (for `ca`: the issued certificate's id); decisions name it." }),
  address: s.string(),
  source: SOURCE,
  directory: s.optional(s.string({ description: 'The external directory that publishes it.' })),
  sha256: s.string({ description: 'SHA-256 of the DER certificate, lower-case hex.' }),
  serial: s.string({ description: 'Lower-case hex.' }),
  subject: s.string(),
  issuer: s.string(),
  notBefore: TIME,
  notAfter: TIME,
  certificatePem: s.string(),
} as const;

export const BOOK_ENTRY = s.object({
  ...CERTIFICATE_FIELDS,
  pending: s.boolean({ description: 'A key change waiting for a decision for everyone.' }),
  decision: s.optional(DECISION),
  myDecision: s.optional(s.enum(BOOK_DECISIONS, { description: "The caller's own decision, which wins for them." })),
  revokedAt: s.optional(TIME),
  firstSeen: TIME,
  lastSeen: TIME,
});

export function certificateFields(e: BookEntry): Record<string, unknown> {
  const c = e.certificate;
  return withoutNulls({
    id: e.id,
    address: e.address,
    source: e.source,
    directory: e.directory,
    sha256: e.sha256,
    serial: c.serialHex,
    subject: nameToString(c.subject),
    issuer: nameToString(c.issuer),
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    certificatePem: pemEncode('CERTIFICATE', c.der),
  });
}

function entryJson(e: BookEntry): Record<string, unknown> {
  return {
    ...certificateFields(e),
    ...withoutNulls({
      pending: e.pending,
      decision: e.decision,
      myDecision: e.myDecision,
      revokedAt: e.revokedAt,
      firstSeen: e.firstSeen,
      lastSeen: e.lastSeen,
    }),
  };
}

function harvestJson(report: HarvestReport): Record<string, unknown> {
  return report.status === 'refused'
    ? report
    : {
        status: report.status,
        message: report.message,
        addresses: report.addresses,
        added: report.added,
        items: report.entries.map(entryJson),
      };
}

/** A signed message with attachments may be large; it is verified in memory. */
const HARVEST_LIMIT = 16 * 1024 * 1024;

export function bookRoutes(services: ServicesProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/book',
      summary: 'List the certificate book.',
      description:
        "With `address`: everything known for that correspondent, Sealpost's own certificates included, unpaged. " +
        'Without: the book entries by address, a page at a time; `pending=true` lists key changes waiting for review.',
      tags: ['book'],
      auth: 'book.read',
      query: s.object({
        address: s.optional(s.string({ minLength: 3, maxLength: 320 })),
        pending: s.optional(s.boolean()),
        cursor: s.optional(s.string({ maxLength: 64 })),
        limit: s.optional(s.integer({ minimum: 1, maximum: 500 })),
      }),
      responses: {
        200: {
          description: 'One page; `next` is the cursor of the following one.',
          schema: s.object({ items: s.array(BOOK_ENTRY), next: s.optional(s.string()) }),
        },
      },
      handler: async ({ principal, query }) => {
        const page = await (await services()).book.list(query, callerOf(principal).userId);
        const items = page.entries.map(entryJson);
        return { json: page.nextCursor === undefined ? { items } : { items, next: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/book',
      summary: 'Add a certificate to the book by hand, for every mailbox it names.',
      description:
        '`pem` for PEM text (the certificate first, optionally its issuers after it) or `base64` for one DER ' +
        'certificate. Manual certificates rank lowest; one from another issuer than those known for the mailbox ' +
        'waits for review (`pending`).',
      tags: ['book'],
      auth: 'book.contribute',
      body: s.object({
        pem: s.optional(s.string({ minLength: 1, maxLength: 100_000 })),
        base64: s.optional(s.string({ minLength: 1, maxLength: 100_000, pattern: '^[A-Za-z0-9+/_=\\s-]+$' })),
      }),
      responses: {
        201: { description: 'The entries, one per mailbox.', schema: s.object({ items: s.array(BOOK_ENTRY) }) },
      },
      handler: async ({ principal, body }) => {
        if ((body.pem === undefined) === (body.base64 === undefined)) {
          throw new ServiceError('INVALID_ARGUMENT', 'Send the certificate as exactly one of `pem` or `base64`.');
        }
        const caller = callerOf(principal);
        const upload = body.pem ?? Buffer.from(body.base64 ?? '', 'base64');
        const entries = await (await services()).book.add(actorOf(caller), upload, caller.userId);
        return { status: 201, json: { items: entries.map(entryJson) } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/book/harvest',
      summary: "Harvest a signed message: its signer's certificates and capabilities enter the book.",
      description:
        'The body is the whole message (`message/rfc822`). Only a message whose every signature verifies, whose ' +
        'signers chain to a trust anchor (the trust store or a Sealpost CA) and whose signer is the From (or ' +
        'Sender) address is harvested: the signer certificate, the certificate its SMIMEEncryptionKeyPreference ' +
        'names when the message carries it, and its SMIMECapabilities. Otherwise `status` is `refused` and ' +
        '`reason` says why; nothing is stored.',
      tags: ['book'],
      auth: 'book.contribute',
      rawBody: { types: ['message/rfc822'], limit: HARVEST_LIMIT },
      responses: {
        200: {
          description: 'Harvested, or refused with the reason.',
          schema: s.object({
            status: s.enum(['harvested', 'refused']),
            reason: s.optional(s.enum(HARVEST_REFUSALS)),
            message: s.string(),
            addresses: s.optional(s.array(s.string())),
            added: s.optional(s.integer({ description: 'Certificates new to the book.' })),
            items: s.optional(s.array(BOOK_ENTRY)),
          }),
        },
      },
      handler: async ({ principal, rawBody }) => {
        const caller = callerOf(principal);
        const report = await (await services()).book.harvest(actorOf(caller), rawBody!.bytes, caller.userId);
        return { json: harvestJson(report) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/book/{id}/{decision}',
      summary: 'Accept, pin or reject a certificate of the book, for yourself or for everyone.',
      description:
        '`accept` lets it be used (a key change, or a certificate whose chain reaches no anchor); `pin` makes it ' +
        'the only certificate used for its address; `reject` never uses it. `scope` `me` (default) decides for the ' +
        'caller only, and wins over the decision for everyone when they resolve; `everyone` needs `book.manage` ' +
        'and ends the key-change review.',
      tags: ['book'],
      auth: 'self.book',
      params: s.object({ id: s.string({ minLength: 1, maxLength: 64 }), decision: DECISION }),
      body: s.object({ scope: s.optional(s.enum(['me', 'everyone'])) }),
      responses: { 200: { description: 'The entry as the caller now sees it.', schema: BOOK_ENTRY } },
      handler: async ({ principal, params, body }) => {
        const caller = callerOf(principal);
        const scope = body.scope ?? 'me';
        if (scope === 'everyone') authorize(caller, 'book.manage');
        const entry = await (await services()).book.decide(caller.userId, params.id, params.decision, scope);
        return { json: entryJson(entry) };
      },
    }),
  ];
}
