/** Issued certificates: list, read, issue (CSR or server-generated key), revoke, renew. */
import { certificateBySerial, KEY_ALGORITHMS, listCertificates, REVOCATION_REASONS } from '@sealpost/services';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { actorOf, callerOf, type ServicesProvider } from '../services.ts';
import { CERTIFICATE, certificateJson, ISSUED, issuedJson } from './pki-shapes.ts';

const SERIAL = s.object({ serial: s.string({ pattern: '^[0-9A-Fa-f:]{1,64}$', description: 'Hex, colons allowed.' }) });

export function certificateRoutes(services: ServicesProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/certificates',
      summary: 'List certificates, oldest first, a page at a time.',
      tags: ['certificates'],
      auth: 'certificate.read',
      query: s.object({
        user: s.optional(s.string({ minLength: 1, maxLength: 320, description: 'A user id or e-mail address.' })),
        status: s.optional(s.enum(['valid', 'revoked', 'expired'])),
        cursor: s.optional(s.string({ maxLength: 1024 })),
        limit: s.optional(s.integer({ minimum: 1, maximum: 500 })),
      }),
      responses: {
        200: {
          description: 'One page; `next` is the cursor of the following one.',
          schema: s.object({ items: s.array(CERTIFICATE), next: s.optional(s.string()) }),
        },
      },
      handler: async ({ query }) => {
        const { db, clock, users } = await services();
        let userId = query.user;
        if (userId?.includes('@')) userId = (await users.findByEmail(userId))?.id ?? '(none)';
        const now = clock.now();
        const page = await listCertificates(db, now, {
          ...(userId === undefined ? {} : { userId }),
          ...(query.status === undefined ? {} : { status: query.status }),
          ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
          ...(query.limit === undefined ? {} : { limit: query.limit }),
        });
        const items = page.certificates.map((c) => certificateJson(c, now));
        return { json: page.nextCursor === undefined ? { items } : { items, next: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/certificates/{serial}',
      summary: 'One certificate by serial number.',
      tags: ['certificates'],
      auth: 'certificate.read',
      params: SERIAL,
      responses: { 200: { description: 'The certificate.', schema: CERTIFICATE } },
      handler: async ({ params }) => {
        const { db, clock } = await services();
        return { json: certificateJson(await certificateBySerial(db, params.serial), clock.now()) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/certificates',
      summary: 'Issue a certificate: for the key of a CSR, or for a key the server generates.',
      description:
        'Subject and subjectAltName come from the user record, everything else from the template. Without csrPem ' +
        'the response carries the key as PKCS#12 with its password, shown once and never stored (the key is escrowed ' +
        'if the template archives keys). 422 LINT_FAILED lists the S/MIME BR findings that blocked issuance.',
      tags: ['certificates'],
      auth: 'certificate.issue',
      body: s.object({
        userEmail: s.string({ minLength: 3, maxLength: 320 }),
        template: s.string({ minLength: 1, maxLength: 63 }),
        csrPem: s.optional(s.string({ minLength: 1, maxLength: 100_000 })),
        keyAlgorithm: s.optional(s.enum(KEY_ALGORITHMS)),
      }),
      responses: { 201: { description: 'Issued.', schema: ISSUED } },
      handler: async ({ body, principal }) => {
        const { ca, clock } = await services();
        const result = await ca.issue(actorOf(callerOf(principal)), body);
        return { status: 201, json: issuedJson(result, clock.now()) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/certificates/{serial}/revoke',
      summary: "Revoke a certificate; its CA's CRL is re-signed at once.",
      tags: ['certificates'],
      auth: 'certificate.revoke',
      params: SERIAL,
      body: s.object({ reason: s.enum([...REVOCATION_REASONS.keys()]) }),
      responses: {
        200: { description: 'The revoked certificate.', schema: CERTIFICATE },
        409: { description: 'Already revoked.' },
      },
      handler: async ({ params, body, principal }) => {
        const { ca, clock } = await services();
        return {
          json: certificateJson(await ca.revoke(actorOf(callerOf(principal)), params.serial, body.reason), clock.now()),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/certificates/{serial}/renew',
      summary: 'Issue the next certificate for the holder, under its template as it is now.',
      tags: ['certificates'],
      auth: 'certificate.issue',
      params: SERIAL,
      body: s.object({
        newKey: s.boolean({
          description: 'Generate a new key (returned as PKCS#12) rather than certify the same key.',
        }),
        keyAlgorithm: s.optional(s.enum(KEY_ALGORITHMS)),
      }),
      responses: { 201: { description: 'The new certificate.', schema: ISSUED } },
      handler: async ({ params, body, principal }) => {
        const { db, ca, clock } = await services();
        const old = await certificateBySerial(db, params.serial);
        const result = await ca.renew(actorOf(callerOf(principal)), old.id, body);
        return { status: 201, json: issuedJson(result, clock.now()) };
      },
    }),
  ];
}
