/**
 * Decrypting a message: peel signature layers that wrap the encryption (encrypted-then-signed,
 * the outer layer of triple wrapping), open every encryption layer, and return the inner entity
 * under the original transport headers — ready to read or to verify.
 */
import { type DecryptionKey, decryptContent, type EnvelopeInfo } from '../cms/enveloped-data.ts';
import { parseSignedData } from '../cms/signed-data.ts';
import { fail } from '../errors.ts';
import { assembleMessage, splitMessage, toCrlf } from '../mime/canonical.ts';
import { entityBytes, type MimeEntity, type MimeLimits, parseEntity } from '../mime/entity.ts';
import { type LayerKind, layerKind, MAX_LAYERS, pkcs7Der, signedParts } from './layers.ts';

export interface DecryptResult {
  /** Transport headers + the decrypted entity. */
  message: Buffer;
  /** Every layer removed, outermost first; signatures removed here were NOT verified. */
  removed: { kind: LayerKind; envelope?: EnvelopeInfo }[];
}

export function decryptMessage(message: Uint8Array, keys: DecryptionKey[], limits?: MimeLimits): DecryptResult {
  if (keys.length === 0) fail('INVALID_ARGUMENT', 'at least one key is needed to decrypt');
  const top = parseEntity(message, limits);
  const removed: DecryptResult['removed'] = [];
  let current: MimeEntity = top;
  let opened = false;
  for (let depth = 0; depth < MAX_LAYERS; depth++) {
    const kind = layerKind(current);
    if (kind === 'enveloped' || kind === 'auth-enveloped') {
      const { content, info } = decryptContent(pkcs7Der(current), keys);
      removed.push({ kind, envelope: info });
      current = parseEntity(content, limits);
      opened = true;
    } else if (!opened && kind === 'clear-signed') {
      removed.push({ kind });
      current = parseEntity(toCrlf(entityBytes(signedParts(current).content)), limits);
    } else if (!opened && kind === 'opaque-signed') {
      const { content } = parseSignedData(pkcs7Der(current));
      if (!content) fail('CMS_MALFORMED', 'the signed-data carries no content');
      removed.push({ kind });
      current = parseEntity(content, limits);
    } else {
      break;
    }
  }
  if (!opened) fail('NOT_SMIME', 'the message is not encrypted');
  const { transportHeaders } = splitMessage(message, limits);
  return { message: Buffer.from(assembleMessage(transportHeaders, entityBytes(current))), removed };
}
