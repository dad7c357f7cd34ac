import { decryptMessage, decryptMessageStream } from '@sealpost/core';
import { COMMON_OPTION_HELP, type Command, IO_OPTIONS, PASSWORD_HELP, PASSWORD_OPTIONS, str } from '../command.ts';
import { EXIT_HELP } from '../exit-codes.ts';
import { inputChunks, readInput, UsageError, writeOutput } from '../io.ts';
import { printJson } from '../report.ts';
import { decryptionKeys, KEY_PAIR_HELP } from './keys.ts';

export const decrypt: Command = {
  name: 'decrypt',
  summary: 'decrypt a message with your current or archived keys',
  usage: 'sealpost decrypt --cert CERT.pem --key KEY.pem [--cert OLDER.pem --key OLDER-KEY.pem ...]',
  options: {
    ...IO_OPTIONS,
    ...PASSWORD_OPTIONS,
    cert: { type: 'string', multiple: true },
    key: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  },
  help: `Options:
${KEY_PAIR_HELP}
      --json              print what was removed (layers, cipher, matched recipient) as JSON on stderr
${COMMON_OPTION_HELP}
${PASSWORD_HELP}

The output is the decrypted message: the original transport headers with the inner MIME entity,
ready to read or to check with "sealpost verify" when it is signed inside. Signatures wrapped
around the encryption are removed without being verified: run "sealpost verify" first for those.
Nothing is written unless decryption fully succeeds (for AES-GCM, the tag is checked first).

${EXIT_HELP}

Example:
  sealpost decrypt --cert bob.crt --key bob.key --cert bob-2024.crt --key bob-2024.key \\
    --password-file pass.txt --in encrypted.eml --out decrypted.eml`,
  async run(v, _p, io) {
    const keys = await decryptionKeys(v, io);
    if (keys.length === 0) throw new UsageError('give at least one --cert/--key pair');
    const input = await readInput(str(v.in), io);
    if (input.kind === 'buffer') {
      const result = decryptMessage(input.data, keys);
      if (v.json) printJson({ ...io, stdout: io.stderr }, { removed: result.removed });
      await writeOutput(str(v.out), result.message, io);
    } else {
      const { message } = await decryptMessageStream(inputChunks(input), keys);
      await writeOutput(str(v.out), message, io);
    }
    return 0;
  },
};
