/** Certificate authorities and certificate templates (permission ca.manage to change, certificate.read to read). */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CA_KEY_ALGORITHMS, type CaService } from '@sealpost/services';
import { HttpError } from '../http/problem.ts';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { actorOf, callerOf, type ServicesProvider } from '../services.ts';
import { CA, caJson } from './pki-shapes.ts';

const SUBJECT = s.array(
  s.object({ type: s.string({ minLength: 1, maxLength: 64 }), value: s.string({ minLength: 1, maxLength: 256 }) }),
  {
    minItems: 1,
    maxItems: 16,
    description:
      'The distinguished name, most significant attribute first, e.g. [{"type":"CN","value":"Example Root"}].',
  },
);
const URL_FIELDS = {
  crlUrl: s.optional(s.string({ maxLength: 2048 })),
  ocspUrl: s.optional(s.string({ maxLength: 2048 })),
  caIssuersUrl: s.optional(s.string({ maxLength: 2048 })),
};
const NAME = s.string({ minLength: 1, maxLength: 100 });
const PEM = s.string({ minLength: 1, maxLength: 200_000 });
const TEMPLATE_NAME = s.object({ name: s.string({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }) });
const TEMPLATE_TYPES = ['application/json'];

/** Template bodies have nullable fields the schema language cannot express: the CA service validates them (TEMPLATE_INVALID names the field). */
function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new HttpError('MALFORMED_REQUEST', `The request body is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError('MALFORMED_REQUEST', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/** The ready-made templates arrive with the first CA, so that a fresh installation can issue at once. */
async function withDefaultTemplates(ca: CaService, actor: string): Promise<void> {
  if ((await ca.templates()).length === 0) await ca.installDefaultTemplates(actor);
}

/**
 * Where the client reached this server, as `http://host:port`: the address the request arrived on
 * (the listening address, with the port actually bound). A TLS-terminating proxy in front needs
 * `publicUrl` set instead.
 */
function localOrigin(req: IncomingMessage): string {
  // An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d.
  const host = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:(?=\d+\.)/, '');
  return `http://${host.includes(':') ? `[${host}]` : host}:${req.socket.localPort}`;
}

export interface CaRouteOptions {
  /** `publicUrl` of the server configuration; unset, the address each request arrived on. */
  readonly publicUrl?: string;
}

export function caRoutes(services: ServicesProvider, options: CaRouteOptions = {}): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/cas',
      summary: 'List the certificate authorities, pending intermediates included.',
      tags: ['ca'],
      auth: 'certificate.read',
      responses: { 200: { description: 'The CAs by name.', schema: s.object({ items: s.array(CA) }) } },
      handler: async () => ({ json: { items: (await (await services()).ca.list()).map(caJson) } }),
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/cas',
      summary: 'Create a self-signed root CA.',
      description:
        'URLs not given point at this server: crlUrl `<publicUrl>/pki/crl/<caId>.crl`, ocspUrl `<publicUrl>/pki/ocsp`, ' +
        'caIssuersUrl `<publicUrl>/pki/ca/<caId>.crt` (publicUrl: the server configuration, else the address the request arrived on).',
      tags: ['ca'],
      auth: 'ca.manage',
      body: s.object({
        name: NAME,
        subject: SUBJECT,
        keyAlgorithm: s.enum(CA_KEY_ALGORITHMS),
        validityDays: s.integer({ minimum: 1, maximum: 9131 }),
        ...URL_FIELDS,
      }),
      responses: { 201: { description: 'The new root CA.', schema: CA }, 409: { description: 'The name is taken.' } },
      handler: async ({ body, principal, req }) => {
        const { ca: service } = await services();
        const actor = actorOf(callerOf(principal));
        // The id is chosen here so that the default URLs can name it.
        const id = randomUUID();
        const base = options.publicUrl ?? localOrigin(req);
        const ca = await service.createRoot(actor, {
          ...body,
          id,
          crlUrl: body.crlUrl ?? `${base}/pki/crl/${id}.crl`,
          ocspUrl: body.ocspUrl ?? `${base}/pki/ocsp`,
          caIssuersUrl: body.caIssuersUrl ?? `${base}/pki/ca/${id}.crt`,
        });
        await withDefaultTemplates(service, actor);
        return { status: 201, json: caJson(ca) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/cas/requests',
      summary: 'Start an intermediate CA: a new key and the PKCS#10 request for an external root.',
      tags: ['ca'],
      auth: 'ca.manage',
      body: s.object({ name: NAME, subject: SUBJECT, keyAlgorithm: s.enum(CA_KEY_ALGORITHMS), ...URL_FIELDS }),
      responses: {
        201: {
          description: 'The pending CA and its request.',
          schema: s.object({ caId: s.string(), csrPem: s.string(), ca: CA }),
        },
      },
      handler: async ({ body, principal }) => {
        const ca = await (await services()).ca.createIntermediateRequest(actorOf(callerOf(principal)), body);
        return { status: 201, json: { caId: ca.id, csrPem: ca.csrPem, ca: caJson(ca) } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/cas/{id}/certificate',
      summary: 'Complete a pending intermediate CA with the certificate its root issued.',
      tags: ['ca'],
      auth: 'ca.manage',
      params: s.object({ id: s.string({ minLength: 1, maxLength: 64 }) }),
      body: s.object({ certificatePem: PEM }),
      responses: { 200: { description: 'The now active CA.', schema: CA } },
      handler: async ({ params, body, principal }) => {
        const { ca: service } = await services();
        const actor = actorOf(callerOf(principal));
        const ca = await service.importSignedIntermediate(actor, params.id, body.certificatePem);
        await withDefaultTemplates(service, actor);
        return { json: caJson(ca) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/cas/import',
      summary: 'Import an existing CA: its certificate (with the issuers above it) and its private key.',
      tags: ['ca'],
      auth: 'ca.manage',
      body: s.object({
        name: NAME,
        certificatePem: PEM,
        keyPem: PEM,
        keyPassword: s.optional(s.string({ maxLength: 1024 })),
        ...URL_FIELDS,
      }),
      responses: { 201: { description: 'The imported CA.', schema: CA } },
      handler: async ({ body, principal }) => {
        const { ca: service } = await services();
        const actor = actorOf(callerOf(principal));
        const ca = await service.importCa(actor, body);
        await withDefaultTemplates(service, actor);
        return { status: 201, json: caJson(ca) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/cas/{id}',
      summary: 'One certificate authority.',
      tags: ['ca'],
      auth: 'certificate.read',
      params: s.object({ id: s.string({ minLength: 1, maxLength: 64 }) }),
      responses: { 200: { description: 'The CA.', schema: CA } },
      handler: async ({ params }) => ({ json: caJson(await (await services()).ca.get(params.id)) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/templates',
      summary: 'List the certificate templates.',
      tags: ['templates'],
      auth: 'certificate.read',
      responses: { 200: { description: 'The templates by name.', contentType: 'application/json' } },
      handler: async () => ({ json: { items: await (await services()).ca.templates() } }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/templates/{name}',
      summary: 'One certificate template.',
      tags: ['templates'],
      auth: 'certificate.read',
      params: TEMPLATE_NAME,
      responses: { 200: { description: 'The template.', contentType: 'application/json' } },
      handler: async ({ params }) => ({ json: await (await services()).ca.template(params.name) }),
    }),
    defineRoute({
      method: 'PUT',
      path: '/api/v1/templates/{name}',
      summary: 'Create a certificate template, or change the fields given of an existing one.',
      description:
        'The body is the template (purpose, caId, validityDays, renewalWindowDays, archiveKeys, exportable, mailboxInSubject, keys, ' +
        'defaultKeyAlgorithm); a new template needs every field. The result is validated as a whole: ' +
        '422 TEMPLATE_INVALID names the field (errors[0].pointer).',
      tags: ['templates'],
      auth: 'ca.manage',
      params: TEMPLATE_NAME,
      rawBody: { types: TEMPLATE_TYPES, limit: 64 * 1024 },
      responses: {
        200: { description: 'The template as stored.', contentType: 'application/json' },
        201: { description: 'The template was created.', contentType: 'application/json' },
      },
      handler: async ({ params, rawBody, principal }) => {
        const { ca } = await services();
        const body = parseJsonObject(rawBody!.bytes);
        const exists = (await ca.templates()).some((t) => t.name === params.name);
        if (exists) return { json: await ca.updateTemplate(actorOf(callerOf(principal)), params.name, body) };
        // createTemplate validates the whole body: a missing or bad field is TEMPLATE_INVALID.
        const created = await ca.createTemplate(actorOf(callerOf(principal)), {
          ...body,
          name: params.name,
        } as Parameters<typeof ca.createTemplate>[1]);
        return { status: 201, json: created };
      },
    }),
  ];
}
