/** PEM (RFC 7468) reading and writing. */
import { fail } from '../errors.ts';

export interface PemBlock {
  label: string;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 #]+)-----([\s\S]*?)-----END \1-----/g;

/** All PEM blocks in a text, in order; explanatory text between blocks is ignored (RFC 7468 §2). */
export function pemDecodeAll(text: string | Uint8Array): PemBlock[] {
  const s = typeof text === 'string' ? text : Buffer.from(text).toString('latin1');
  const out: PemBlock[] = [];
  for (const m of s.matchAll(BLOCK)) {
    const body = m[2]!.replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
      fail('PEM_MALFORMED', `the PEM block "${m[1]}" has invalid base64`);
    }
    out.push({ label: m[1]!, der: Buffer.from(body, 'base64') });
  }
  return out;
}

export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** True when the bytes look like PEM rather than DER. */
export function isPem(data: Uint8Array): boolean {
  return Buffer.from(data.subarray(0, 4096)).toString('latin1').includes('-----BEGIN ');
}
