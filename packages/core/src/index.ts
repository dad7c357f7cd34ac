export { OID, oidName } from './asn1/oids.ts';
export * from './errors.ts';
export { pemDecodeAll, pemEncode } from './util/pem.ts';
export { Certificate } from './x509/certificate.ts';
export { nameToString } from './x509/name.ts';
