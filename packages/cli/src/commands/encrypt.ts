import {
  type ContentCipherName,
  chooseCipher,
  encryptMessage,
  encryptMessageStream,
  leafPurposeProblems,
} from '@sealpost/core';
import { COMMON_OPTION_HELP, type Command, IO_OPTIONS, str, strings } from '../command.ts';
import { inputChunks, loadCertificate, readInput, UsageError, writeOutput } from '../io.ts';

const CIPHERS: ContentCipherName[] = ['aes-256-cbc', 'aes-128-cbc', 'aes-128-gcm', 'aes-256-gcm'];

export const encrypt: Command = {
  name: 'encrypt',
  summary: 'encrypt a message to one or more recipients',
  usage:
    'sealpost encrypt --to CERT.pem [--to ...] [--cipher aes-256-cbc|aes-128-cbc|aes-128-gcm|aes-256-gcm] [--oaep] [--self CERT.pem]',
  options: {
    ...IO_OPTIONS,
    to: { type: 'string', multiple: true },
    self: { type: 'string' },
    cipher: { type: 'string' },
    oaep: { type: 'boolean' },
    'key-id': { type: 'boolean' },
  },
  help: `Options:
      --to FILE           a recipient's encryption certificate (repeatable)
      --self FILE         also encrypt to this certificate (yours), so the sent copy stays readable
      --cipher NAME       aes-256-cbc, aes-128-cbc, aes-128-gcm or aes-256-gcm. Default: AES-256-CBC,
                          which every client reads (Thunderbird/NSS, gpgsm 2.2 and Apple Mail cannot
                          read AES-GCM); GCM needs every recipient to announce it, so choose it explicitly
      --oaep              RSA-OAEP (SHA-256) key transport instead of RSA PKCS#1 v1.5
      --key-id            identify recipients by subjectKeyIdentifier instead of issuer and serial
${COMMON_OPTION_HELP}

Certificates that cannot encrypt (signing-only key usage, wrong extended key usage) are refused.

Example:
  sealpost encrypt --to bob.crt --self alice.crt --in signed.eml --out encrypted.eml`,
  async run(v, _p, io) {
    const paths = strings(v.to);
    const self = str(v.self);
    if (self) paths.push(self);
    if (paths.length === 0) throw new UsageError('give at least one --to certificate');
    const cipher = str(v.cipher);
    if (cipher !== undefined && !CIPHERS.includes(cipher as ContentCipherName)) {
      throw new UsageError(`--cipher must be one of ${CIPHERS.join(', ')}`);
    }
    const recipients = [];
    for (const p of paths) {
      const certificate = await loadCertificate(p, 'recipient certificate');
      const problems = leafPurposeProblems(certificate, 'encrypt');
      if (problems.length > 0)
        throw new UsageError(`cannot encrypt to "${p}": ${problems.map((x) => x.message).join('; ')}`);
      recipients.push({
        certificate,
        rsaPadding: v.oaep ? ('oaep' as const) : ('pkcs1' as const),
        identifier: v['key-id'] ? ('subjectKeyIdentifier' as const) : ('issuerAndSerialNumber' as const),
      });
    }
    const options = { recipients, ...(cipher ? { cipher: cipher as ContentCipherName } : {}) };
    const input = await readInput(str(v.in), io);
    if (input.kind === 'buffer') {
      await writeOutput(str(v.out), encryptMessage(input.data, options).message, io);
    } else {
      const { cipher: chosen } = chooseCipher(options);
      await writeOutput(str(v.out), encryptMessageStream(inputChunks(input), { ...options, cipher: chosen }), io);
    }
    return 0;
  },
};
