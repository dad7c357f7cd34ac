/** Trust anchors: the CA certificates whose users' mail Sealpost trusts. */
import { ServiceError } from '@sealpost/services';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { actorOf, callerOf, type ServicesProvider, withoutNulls } from '../services.ts';
import { TRUST_ANCHOR } from './shapes.ts';

export function trustRoutes(services: ServicesProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/trust',
      summary: 'List the trust anchors.',
      tags: ['trust'],
      auth: 'trust.read',
      responses: { 200: { description: 'The anchors.', schema: s.object({ items: s.array(TRUST_ANCHOR) }) } },
      handler: async () => ({ json: { items: (await (await services()).trust.list()).map(withoutNulls) } }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/trust',
      summary: 'Import CA certificates as trust anchors.',
      description:
        'The bundle travels in the JSON body: `pem` for PEM text (any number of CERTIFICATE or PKCS7 blocks), ' +
        'or `base64` for one DER certificate or a DER PKCS#7 certs-only bundle. Each certificate is imported or ' +
        'refused on its own (not a CA, expired, malformed…); `scope` limits the new anchors to one mail domain.',
      tags: ['trust'],
      auth: 'trust.manage',
      query: s.object({ scope: s.optional(s.string({ minLength: 1, maxLength: 253 })) }),
      body: s.object({
        pem: s.optional(s.string({ minLength: 1 })),
        base64: s.optional(s.string({ minLength: 1, pattern: '^[A-Za-z0-9+/_=\\s-]+$' })),
      }),
      responses: {
        200: {
          description: 'What was imported, what was there already, and what was refused and why.',
          schema: s.object({
            imported: s.array(TRUST_ANCHOR),
            duplicates: s.array(s.object({ sha256: s.string(), subject: s.string() })),
            refused: s.array(
              s.object({
                index: s.integer({ description: 'Position in the bundle, from 0.' }),
                subject: s.optional(s.string()),
                reason: s.enum(['malformed', 'unsupported', 'not-ca', 'expired', 'not-yet-valid']),
                message: s.string(),
              }),
            ),
          }),
        },
      },
      handler: async ({ principal, query, body }) => {
        if ((body.pem === undefined) === (body.base64 === undefined)) {
          throw new ServiceError('INVALID_ARGUMENT', 'Send the bundle as exactly one of `pem` or `base64`.');
        }
        const bundle = body.pem ?? Buffer.from(body.base64 ?? '', 'base64');
        const report = await (await services()).trust.import(
          actorOf(callerOf(principal)),
          bundle,
          query.scope === undefined ? {} : { scopeDomain: query.scope },
        );
        return {
          json: { imported: report.added.map(withoutNulls), duplicates: report.duplicates, refused: report.refused },
        };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/trust/{sha256}',
      summary: 'Remove a trust anchor, named by the SHA-256 of its certificate.',
      tags: ['trust'],
      auth: 'trust.manage',
      params: s.object({ sha256: s.string({ pattern: '^[0-9a-fA-F]{64}$' }) }),
      responses: { 204: { description: 'Removed.' }, 404: { description: 'No anchor has this fingerprint.' } },
      handler: async ({ principal, params }) => {
        const { trust } = await services();
        const fingerprint = params.sha256.toLowerCase();
        const anchor = (await trust.list()).find((a) => a.sha256 === fingerprint);
        if (anchor === undefined) throw new ServiceError('NOT_FOUND', `No trust anchor has SHA-256 ${fingerprint}.`);
        await trust.remove(actorOf(callerOf(principal)), anchor.id);
        return {};
      },
    }),
  ];
}
