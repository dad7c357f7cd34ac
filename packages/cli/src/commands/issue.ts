/** `sealpost issue`: a certificate for a user from a template; with a server-generated key, its PKCS#12. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pemEncode } from '@sealpost/core';
import { CLIENT_HELP, CLIENT_OPTIONS, clientFor, emit, writeSecretFile } from '../api-client.ts';
import { type Command, str } from '../command.ts';
import { IoError, readFileOrFail, UsageError, writeOutput } from '../io.ts';

interface Issued {
  serial: string;
  certificatePem: string;
  /** The issuing CA and those above it, nearest first. */
  chainPem?: string[];
  pkcs12Base64?: string;
  pkcs12Password?: string;
}

export const issue: Command = {
  name: 'issue',
  summary: 'issue a certificate to a user from a template (server key as PKCS#12, or your CSR)',
  usage: 'sealpost issue --user ADDRESS --template NAME [--csr FILE] [--out-dir DIR]',
  help: `Options:
      --user ADDRESS        the user's e-mail address (the user must exist: sealpost user add)
      --template NAME       the template (sealpost template list)
      --csr FILE            a PKCS#10 request (PEM or DER): only its key is used, the key stays yours.
                            Without it the server generates the key (when the template allows) and
                            hands it out once as a PKCS#12 file
      --out-dir DIR         where to write SERIAL.crt (PEM, with the chain) and SERIAL.p12 (mode 0600) (default: .)
${CLIENT_HELP}

The PKCS#12 password is printed once, on standard error; the server keeps no copy of it.

Example:
  sealpost issue --user alice@example.org --template dual-use --out-dir ./alice`,
  options: {
    ...CLIENT_OPTIONS,
    user: { type: 'string' },
    template: { type: 'string' },
    csr: { type: 'string' },
    'out-dir': { type: 'string' },
  },
  async run(v, _positionals, io) {
    const userEmail = str(v['user']);
    const template = str(v['template']);
    if (userEmail === undefined || template === undefined) throw new UsageError('--user and --template are required');
    const csrFile = str(v['csr']);
    let csrPem: string | undefined;
    if (csrFile !== undefined) {
      const data = await readFileOrFail(csrFile, 'certificate request');
      const text = data.toString('latin1');
      csrPem = text.includes('-----BEGIN') ? text : pemEncode('CERTIFICATE REQUEST', data);
    }
    const outDir = str(v['out-dir']) ?? '.';
    const issued = await (await clientFor(v, io)).json<Issued>('POST', '/api/v1/certificates', {
      json: { userEmail, template, ...(csrPem === undefined ? {} : { csrPem }) },
    });
    try {
      await mkdir(outDir, { recursive: true });
    } catch (e) {
      throw new IoError(`cannot create "${outDir}": ${(e as NodeJS.ErrnoException).code}`);
    }
    const certPath = join(outDir, `${issued.serial}.crt`);
    // The certificate first, then its chain: what mail clients and `openssl x509` expect.
    const pem = [issued.certificatePem, ...(issued.chainPem ?? [])].map((p) => p.trimEnd()).join('\n');
    await writeOutput(certPath, Buffer.from(`${pem}\n`, 'utf8'), io);
    let p12Path: string | undefined;
    if (issued.pkcs12Base64 !== undefined) {
      p12Path = join(outDir, `${issued.serial}.p12`);
      await writeSecretFile(p12Path, Buffer.from(issued.pkcs12Base64, 'base64'));
      io.stderr.write(`PKCS#12 password (shown once, keep it safe): ${issued.pkcs12Password}\n`);
    }
    const { pkcs12Base64: _p12, pkcs12Password: _password, ...shown } = issued;
    emit(
      io,
      v,
      { ...shown, certificateFile: certPath, ...(p12Path === undefined ? {} : { pkcs12File: p12Path }) },
      `issued ${issued.serial} to ${userEmail}: ${certPath}${p12Path === undefined ? '' : `, ${p12Path}`}`,
    );
    return 0;
  },
};
