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
export { buildCertsOnly, splitConcatenatedDer } from './cms/certs-only.ts';
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
export type { EncryptionInfo as Pkcs12EncryptionInfo } from './pkcs12/encryption.ts';
export type { MacInfo as Pkcs12MacInfo } from './pkcs12/mac.ts';
export { generatedPasswordBits, generatePkcs12Password } from './pkcs12/password.ts';
export {
  buildPkcs12,
  inspectPkcs12,
  PKCS12_PROFILES,
  type Pkcs12BagSummary,
  type Pkcs12CertificateSummary,
  type Pkcs12ContentSummary,
  type Pkcs12Contents,
  type Pkcs12ExportOptions,
  type Pkcs12Identity,
  type Pkcs12Inspection,
  type Pkcs12Profile,
  readPkcs12,
} from './pkcs12/pfx.ts';
export { createRevocationChecker, type RevocationData } from './revocation/checker.ts';
export {
  type Crl,
  type CrlEntry,
  crlCurrentAt,
  type IssuingDistributionPoint,
  parseCrl,
  serialContent,
  verifyCrlSignature,
} from './revocation/crl.ts';
export { type IssueCrlOptions, issueCrl, type RevokedEntry } from './revocation/crl-issue.ts';
export {
  type BasicOcspResponse,
  buildOcspRequest,
  type CertId,
  certIdFor,
  findSingleResponse,
  type OcspRequest,
  type OcspResponse,
  type OcspSingleResponse,
  ocspCurrentAt,
  ocspNonceMatches,
  parseOcspResponse,
  verifyOcspSigner,
} from './revocation/ocsp.ts';
export {
  buildOcspResponse,
  certIdIssuedBy,
  type OcspAnswer,
  type OcspCertStatus,
  type OcspErrorStatus,
  type OcspResponseOptions,
  ocspErrorResponse,
  type ParsedOcspRequest,
  parseOcspRequest,
  type RequestedCertId,
} from './revocation/ocsp-respond.ts';
export type {
  RevocationChecker,
  RevocationMode,
  RevocationPolicy,
  RevocationReason,
  RevocationStatus,
} from './revocation/types.ts';
export { type DecryptResult, decryptMessage } from './smime/decrypt.ts';
export { chooseCipher, type EncryptMessageOptions, type EncryptResult, encryptMessage } from './smime/encrypt.ts';
export { type InspectedLayer, type Inspection, inspectMessage } from './smime/inspect.ts';
export type { CertificateSummary } from './smime/report.ts';
export { type SignMessageOptions, signMessage } from './smime/sign.ts';
export { decryptMessageStream, encryptMessageStream, signMessageStream, verifyMessageStream } from './smime/stream.ts';
export {
  isSignatureLayer,
  type LayerReport,
  type MessageStatus,
  type SignerReport,
  type VerifyOptions,
  type VerifyReport,
  verifyMessage,
} from './smime/verify.ts';
export { keyMatchesCertificate, loadPrivateKey } from './util/keys.ts';
export { isPem, pemDecodeAll, pemEncode } from './util/pem.ts';
export {
  buildCertificate,
  type CertificateRequestSpec,
  defaultHash,
  encodeName,
  type IssuerSpec,
  issueCertificate,
  type KeySigner,
  keySigner,
  type NameAttributeSpec,
  type NameSpec,
  randomSerial,
  type SignerIssuer,
} from './x509/builder.ts';
export { Certificate, type KeyUsageName, type SubjectAltNames } from './x509/certificate.ts';
export {
  buildCsr,
  type CertificationRequest,
  type CsrAttribute,
  type CsrKeyKind,
  type CsrSpec,
  parseCsr,
  verifyCsr,
} from './x509/csr.ts';
export {
  authorityInfoAccess,
  crlDistributionPoints,
  type DistributionPoint,
  distributionPointUrls,
} from './x509/distribution.ts';
export { type Finding, type LintOptions, type LintProfile, type LintValidation, lintCertificate } from './x509/lint.ts';
export { type Name, nameToString } from './x509/name.ts';
export {
  basicValidator,
  type CertificatePurpose,
  type CertificateValidator,
  type LeafOptions,
  leafPurposeProblems,
  mailboxesMatch,
  pathValidator,
  type ValidationInput,
  type ValidationProblem,
  type ValidationResult,
} from './x509/path.ts';
export { parseCertificatePolicies } from './x509/policy.ts';
export {
  type CertificateChoice,
  type CertificateClassification,
  type CertificateUse,
  type ChooseOptions,
  type ChosenCertificate,
  chooseCertificates,
  classifyCertificate,
  type EnabledPurpose,
  type ImportChoice,
  type ImportDecision,
  importDecision,
  type Usability,
} from './x509/purpose.ts';
