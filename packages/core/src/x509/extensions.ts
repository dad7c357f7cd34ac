/**
 * The extension lists of CRLs, CRL entries (RFC 5280 §5.1) and OCSP responses (RFC 6960 §4.2.1),
 * read strictly:
 *
 *   Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
 *   Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE,
 *       extnValue OCTET STRING }
 */
import { type Asn1, readBoolean, readOctetString, readOid } from '../asn1/der.ts';

export interface RawExtension {
  oid: string;
  critical: boolean;
  /** The extnValue's content: the DER of the extension's own value. */
  value: Uint8Array;
}

/** Parses an Extensions list; `bad` throws the caller's error. Each extension may appear once (§4.2). */
export function parseExtensionList(list: Asn1, bad: (what: string) => never): RawExtension[] {
  if (!list.is(0x30) || list.children.length === 0) bad('malformed Extensions');
  const seen = new Set<string>();
  return list.children.map((ext) => {
    if (!ext.is(0x30) || ext.children.length < 2 || ext.children.length > 3) bad('malformed Extension');
    const oid = readOid(ext.child(0));
    if (seen.has(oid)) bad(`extension ${oid} appears twice`);
    seen.add(oid);
    let critical = false;
    if (ext.children.length === 3) {
      critical = readBoolean(ext.child(1));
      // DER: a DEFAULT value is never encoded (X.690 §11.5).
      if (!critical) bad('critical FALSE must be omitted in DER');
    }
    return { oid, critical, value: readOctetString(ext.child(ext.children.length - 1)) };
  });
}
