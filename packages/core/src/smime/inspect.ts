/** What a message is — its layers, signers, recipients and algorithms — without any key. */

import { oidName } from '../asn1/oids.ts';
import { describeEnvelope, type RecipientSummary } from '../cms/enveloped-data.ts';
import { parseSignedData } from '../cms/signed-data.ts';
import { toCrlf } from '../mime/canonical.ts';
import { entityBytes, type MimeEntity, type MimeLimits, parseEntity } from '../mime/entity.ts';
import { getHeader } from '../mime/headers.ts';
import { nameToString } from '../x509/name.ts';
import { type LayerKind, layerKind, MAX_LAYERS, pkcs7Der, signedParts } from './layers.ts';
import { type CertificateSummary, summarizeCertificate } from './report.ts';

export interface InspectedSigner {
  signer: string;
  digestAlgorithm: string;
  signatureAlgorithm: string;
  signingTime?: string;
  certificate?: CertificateSummary;
}

export type InspectedLayer =
  | {
      kind: Extract<LayerKind, 'clear-signed' | 'opaque-signed'>;
      signers: InspectedSigner[];
      certificates: CertificateSummary[];
    }
  | { kind: Extract<LayerKind, 'enveloped' | 'auth-enveloped'>; contentCipher: string; recipients: RecipientSummary[] }
  | { kind: 'content'; contentType: string; bytes: number };

export interface Inspection {
  from?: string;
  to?: string;
  subject?: string;
  layers: InspectedLayer[];
}

export function inspectMessage(message: Uint8Array, limits?: MimeLimits): Inspection {
  const top = parseEntity(message, limits);
  const layers: InspectedLayer[] = [];
  let current: MimeEntity | undefined = top;
  for (let depth = 0; current && depth < MAX_LAYERS; depth++) {
    const kind = layerKind(current);
    if (kind === 'enveloped' || kind === 'auth-enveloped') {
      const info = describeEnvelope(pkcs7Der(current));
      layers.push({ kind, contentCipher: info.contentCipher, recipients: info.recipients });
      current = undefined; // the rest is ciphertext
    } else if (kind === 'clear-signed' || kind === 'opaque-signed') {
      const parts: ReturnType<typeof signedParts> | undefined =
        kind === 'clear-signed' ? signedParts(current) : undefined;
      const info = parseSignedData(pkcs7Der(parts ? parts.signature : current));
      layers.push({
        kind,
        certificates: info.certificates.map(summarizeCertificate),
        signers: info.signerInfos.map((si) => {
          const cert = info.certificates.find((c) =>
            si.sid.subjectKeyIdentifier
              ? Buffer.compare(c.subjectKeyIdentifier ?? Buffer.alloc(0), si.sid.subjectKeyIdentifier) === 0
              : si.sid.serialNumber !== undefined && Buffer.compare(c.serialNumber, si.sid.serialNumber) === 0,
          );
          const signer = si.sid.subjectKeyIdentifier
            ? `subjectKeyIdentifier ${Buffer.from(si.sid.subjectKeyIdentifier).toString('hex')}`
            : `issuer ${si.sid.issuer ? nameToString(si.sid.issuer) : '?'}, serial ${Buffer.from(si.sid.serialNumber ?? []).toString('hex')}`;
          return {
            signer,
            digestAlgorithm: oidName(si.digestAlgorithm.oid),
            signatureAlgorithm: oidName(si.signatureAlgorithm.oid),
            ...(cert ? { certificate: summarizeCertificate(cert) } : {}),
          };
        }),
      });
      const inner: Uint8Array | undefined = parts ? toCrlf(entityBytes(parts.content)) : info.content;
      current = inner ? parseEntity(inner, limits) : undefined;
    } else {
      layers.push({ kind: 'content', contentType: current.contentType.mediaType, bytes: current.end - current.start });
      current = undefined;
    }
  }
  const header = (name: string) => getHeader(top.headers, name);
  const from = header('From');
  const to = header('To');
  const subject = header('Subject');
  return { ...(from ? { from } : {}), ...(to ? { to } : {}), ...(subject ? { subject } : {}), layers };
}
