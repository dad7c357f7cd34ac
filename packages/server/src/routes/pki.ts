/**
 * The public PKI endpoints relying parties fetch without credentials: CRLs, CA certificates and OCSP
 * (RFC 6960 Appendix A: POST with the DER request as body, or GET with it base64-encoded, then
 * URL-encoded, as the last path segment).
 */
import { HttpError } from '../http/problem.ts';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import type { ServicesProvider } from '../services.ts';

const OCSP_REQUEST = 'application/ocsp-request';
const OCSP_RESPONSE = 'application/ocsp-response';
/** Requests for a handful of certificates are a few hundred bytes; nothing legitimate comes near this. */
const OCSP_REQUEST_LIMIT = 16 * 1024;
const caFile = (ext: 'crl' | 'crt') => s.object({ file: s.string({ pattern: `^[A-Za-z0-9-]{1,64}\\.${ext}$` }) });

/** The CA id of `<id>.<ext>` (the pattern has checked the extension). */
const caIdOf = (file: string, ext: 'crl' | 'crt') => file.slice(0, -ext.length - 1);

/** RFC 6960 A.1: base64 (or base64url, which some clients send), the router having undone the %-escapes. */
function decodeGetRequest(text: string): Uint8Array {
  const normalized = text.replaceAll('-', '+').replaceAll('_', '/').replace(/\s/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(normalized)) {
    throw new HttpError('MALFORMED_REQUEST', 'The OCSP request in the path is not base64.');
  }
  return Buffer.from(normalized, 'base64');
}

export function pkiRoutes(services: ServicesProvider): Route[] {
  const ocspReply = async (der: Uint8Array) => ({
    bytes: await (await services()).ca.ocspRespond(der),
    contentType: OCSP_RESPONSE,
  });
  return [
    defineRoute({
      method: 'GET',
      path: '/pki/crl/{file}',
      summary: "A CA's current CRL, DER (`/pki/crl/<caId>.crl`).",
      tags: ['pki'],
      auth: 'public',
      params: caFile('crl'),
      responses: { 200: { description: 'The CRL.', contentType: 'application/pkix-crl' } },
      handler: async ({ params }) => {
        const der = await (await services()).ca.currentCrl(caIdOf(params.file, 'crl'));
        return { bytes: der, contentType: 'application/pkix-crl' };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/pki/ca/{file}',
      summary: 'A CA certificate, DER (`/pki/ca/<caId>.crt`).',
      tags: ['pki'],
      auth: 'public',
      params: caFile('crt'),
      responses: { 200: { description: 'The CA certificate.', contentType: 'application/pkix-cert' } },
      handler: async ({ params }) => {
        const ca = await (await services()).ca.get(caIdOf(params.file, 'crt'));
        if (ca.certificate === null) throw new HttpError('ROUTE_NOT_FOUND', `CA ${ca.id} has no certificate yet.`);
        return { bytes: ca.certificate.der, contentType: 'application/pkix-cert' };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/pki/ocsp',
      summary: 'OCSP (RFC 6960 A.1.1, POST).',
      tags: ['pki'],
      auth: 'public',
      rawBody: { types: [OCSP_REQUEST], limit: OCSP_REQUEST_LIMIT },
      responses: {
        200: { description: 'The OCSP response (errors are OCSP responses too).', contentType: OCSP_RESPONSE },
      },
      handler: async ({ rawBody }) => ocspReply(rawBody!.bytes),
    }),
    defineRoute({
      method: 'GET',
      path: '/pki/ocsp/{request}',
      summary: 'OCSP (RFC 6960 A.1.1, GET): the DER request base64-encoded and URL-encoded.',
      tags: ['pki'],
      auth: 'public',
      params: s.object({ request: s.string({ minLength: 1, maxLength: OCSP_REQUEST_LIMIT }) }),
      responses: { 200: { description: 'The OCSP response.', contentType: OCSP_RESPONSE } },
      handler: async ({ params }) => ocspReply(decodeGetRequest(params.request)),
    }),
  ];
}
