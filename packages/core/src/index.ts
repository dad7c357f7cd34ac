/**
 * @sealpost/core — the S/MIME toolkit. Pure functions over bytes and streams: keys, times and
 * trust anchors are parameters; nothing here reads the disk, the network, the environment or the clock.
 */

export { OID, oidName } from './asn1/oids.ts';
export {
  type ContentCipherName,
  DEFAULT_CAPABILITIES,
  type SmimeCapability,
  selectContentCipher,
} from './cms/capabilities.ts';
export {
  type DecryptionKey,
  decryptContent,
  describeEnvelope,
  type EncryptRecipient,
  type EnvelopeInfo,
  encryptContent,
  type RecipientSummary,
} from './cms/enveloped-data.ts';
export {
  type DigestAlgorithm,
  parseSignedData,
  type SignedDataInfo,
  type Signer,
  type SignerVerification,
  signContent,
  verifySigners,
} from './cms/signed-data.ts';
export * from './errors.ts';
export { type DecryptResult, decryptMessage } from './smime/decrypt.ts';
export { chooseCipher, type EncryptMessageOptions, type EncryptResult, encryptMessage } from './smime/encrypt.ts';
export { type InspectedLayer, type Inspection, inspectMessage } from './smime/inspect.ts';
export type { CertificateSummary } from './smime/report.ts';
export { type SignMessageOptions, signMessage } from './smime/sign.ts';
export { decryptMessageStream, encryptMessageStream, signMessageStream, verifyMessageStream } from './smime/stream.ts';
export {
  type LayerReport,
  type MessageStatus,
  type SignerReport,
  type VerifyOptions,
  type VerifyReport,
  verifyMessage,
} from './smime/verify.ts';
export { keyMatchesCertificate, loadPrivateKey } from './util/keys.ts';
export { isPem, pemDecodeAll, pemEncode } from './util/pem.ts';
export { buildCertificate, type CertificateRequestSpec, type IssuerSpec } from './x509/builder.ts';
export { Certificate, type KeyUsageName, type SubjectAltNames } from './x509/certificate.ts';
export { type Name, nameToString } from './x509/name.ts';
export {
  basicValidator,
  type CertificatePurpose,
  type CertificateValidator,
  leafPurposeProblems,
  type ValidationInput,
  type ValidationProblem,
  type ValidationResult,
} from './x509/path.ts';
