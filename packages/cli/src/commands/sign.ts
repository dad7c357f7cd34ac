import { type DigestAlgorithm, signMessage, signMessageStream } from '@sealpost/core';
import {
  COMMON_OPTION_HELP,
  type Command,
  IO_OPTIONS,
  PASSWORD_HELP,
  PASSWORD_OPTIONS,
  str,
  strings,
} from '../command.ts';
import { inputChunks, loadCertificate, loadCertificates, loadKey, readInput, UsageError, writeOutput } from '../io.ts';

const DIGESTS = ['sha256', 'sha384', 'sha512'];

export const sign: Command = {
  name: 'sign',
  summary: 'sign a message (clear-signed multipart/signed, or opaque with --opaque)',
  usage:
    'sealpost sign --cert CERT.pem --key KEY.pem [--chain PEM]... [--opaque] [--digest sha256|sha384|sha512] [--pss]',
  options: {
    ...IO_OPTIONS,
    ...PASSWORD_OPTIONS,
    cert: { type: 'string' },
    key: { type: 'string' },
    chain: { type: 'string', multiple: true },
    'encryption-cert': { type: 'string' },
    opaque: { type: 'boolean' },
    digest: { type: 'string' },
    pss: { type: 'boolean' },
  },
  help: `Options:
      --cert FILE         the signer's certificate (PEM or DER)
      --key FILE          the signer's private key (PEM: PKCS#8 or traditional, may be encrypted)
      --chain FILE        intermediate CA certificates to include (repeatable)
      --encryption-cert FILE  the signer's separate encryption certificate, announced with
                          SMIMEEncryptionKeyPreference so correspondents encrypt to it
      --opaque            application/pkcs7-mime signed-data instead of multipart/signed
      --digest NAME       sha256 (default), sha384 or sha512 (Ed25519 always uses sha512)
      --pss               RSA-PSS instead of RSA PKCS#1 v1.5
${COMMON_OPTION_HELP}
${PASSWORD_HELP}

The message is a whole RFC 5322 message; From, To, Subject and the other transport headers stay
outside the signature, the MIME entity (Content-* headers and body) is signed.

Example:
  sealpost sign --cert alice.crt --key alice.key --chain ca.crt --in message.eml --out signed.eml`,
  async run(v, _p, io) {
    const certPath = str(v.cert);
    const keyPath = str(v.key);
    if (!certPath || !keyPath) throw new UsageError('--cert and --key are required');
    const digest = str(v.digest) ?? 'sha256';
    if (!DIGESTS.includes(digest)) throw new UsageError(`--digest must be one of ${DIGESTS.join(', ')}`);
    const certificate = await loadCertificate(certPath, 'certificate');
    const encPath = str(v['encryption-cert']);
    const signer = {
      certificate,
      privateKey: await loadKey(keyPath, v as never, io),
      chain: await loadCertificates(strings(v.chain), 'chain'),
      digest: digest as DigestAlgorithm,
      rsaPadding: v.pss ? ('pss' as const) : ('pkcs1' as const),
      ...(encPath ? { encryptionCertificate: await loadCertificate(encPath, 'encryption certificate') } : {}),
    };
    const options = {
      signers: [signer],
      signingTime: new Date(),
      mode: v.opaque ? ('opaque' as const) : ('clear' as const),
    };
    const input = await readInput(str(v.in), io);
    const out =
      input.kind === 'buffer' ? signMessage(input.data, options) : signMessageStream(inputChunks(input), options);
    await writeOutput(str(v.out), out, io);
    return 0;
  },
};
