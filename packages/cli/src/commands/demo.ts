import { generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  buildCertificate,
  decryptMessage,
  encryptMessage,
  OID,
  pemEncode,
  signMessage,
  verifyMessage,
} from '@sealpost/core';
import { type Command, str } from '../command.ts';
import { printJson } from '../report.ts';

export const demo: Command = {
  name: 'demo',
  summary: 'make a throwaway CA, Alice and Bob; sign, encrypt, decrypt and verify a message',
  usage: 'sealpost demo [--dir DIR] [--json]',
  options: { dir: { type: 'string' }, json: { type: 'boolean' } },
  help: `Options:
      --dir DIR           where to write the files (default: ./sealpost-demo)
      --json              print the steps and files as JSON

Every file it writes is an ordinary PEM or RFC 5322 file: try "sealpost inspect --in DIR/encrypted.eml"
or the same steps with openssl cms. The keys are throwaway test keys, unencrypted: never use them for mail.

Example:
  sealpost demo --dir /tmp/demo`,
  async run(v, _p, io) {
    const dir = str(v.dir) ?? 'sealpost-demo';
    await mkdir(dir, { recursive: true });
    const steps: { step: string; files: string[] }[] = [];
    const say = (step: string, ...files: string[]) => {
      steps.push({ step, files });
      if (!v.json)
        io.stderr.write(
          `• ${step}${files.length ? `\n    ${files.map((f) => relative('.', f)).join('\n    ')}` : ''}\n`,
        );
    };
    const write = async (name: string, data: string | Uint8Array) => {
      const path = join(dir, name);
      await writeFile(path, data, { mode: name.endsWith('.key') ? 0o600 : 0o644 });
      return path;
    };
    const now = new Date();
    const inYears = (n: number) => new Date(now.getTime() + n * 365 * 86_400_000);
    const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });

    const caKeys = rsa();
    const ca = buildCertificate(
      {
        commonName: 'Sealpost Demo CA',
        publicKey: caKeys.publicKey,
        notBefore: now,
        notAfter: inYears(5),
        ca: true,
        pathLen: 0,
        keyUsage: ['keyCertSign', 'cRLSign'],
      },
      { privateKey: caKeys.privateKey },
    );
    say(
      'created a throwaway CA',
      await write('ca.crt', pemEncode('CERTIFICATE', ca.der)),
      await write('ca.key', caKeys.privateKey.export({ type: 'pkcs8', format: 'pem' })),
    );

    const person = async (name: string, email: string) => {
      const keys = rsa();
      const cert = buildCertificate(
        {
          commonName: name,
          emails: [email],
          publicKey: keys.publicKey,
          notBefore: now,
          notAfter: inYears(1),
          keyUsage: ['digitalSignature', 'nonRepudiation', 'keyEncipherment'],
          extKeyUsage: [OID.emailProtection],
        },
        { certificate: ca, privateKey: caKeys.privateKey },
      );
      const base = name.toLowerCase();
      say(
        `issued ${name}'s dual-use S/MIME certificate (${email})`,
        await write(`${base}.crt`, pemEncode('CERTIFICATE', cert.der)),
        await write(`${base}.key`, keys.privateKey.export({ type: 'pkcs8', format: 'pem' })),
      );
      return { cert, key: keys.privateKey };
    };
    const alice = await person('Alice', 'alice@example.org');
    const bob = await person('Bob', 'bob@example.org');

    const message = Buffer.from(
      [
        'From: Alice <alice@example.org>',
        'To: Bob <bob@example.org>',
        'Subject: Quarterly numbers',
        `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
        'Message-ID: <demo@example.org>',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        'Hi Bob — here are the numbers, signed and encrypted.',
        '',
      ].join('\r\n'),
    );
    say('wrote a message from Alice to Bob', await write('message.eml', message));

    const signed = signMessage(message, {
      signers: [{ certificate: alice.cert, privateKey: alice.key, chain: [ca] }],
      signingTime: now,
    });
    say('Alice signed it (clear-signed, RSA PKCS#1 v1.5 with SHA-256)', await write('signed.eml', signed));

    const encrypted = encryptMessage(signed, { recipients: [{ certificate: bob.cert }, { certificate: alice.cert }] });
    say(
      `encrypted it to Bob and to Alice's own copy (${encrypted.cipher}: ${encrypted.reason})`,
      await write('encrypted.eml', encrypted.message),
    );

    const decrypted = decryptMessage(encrypted.message, [{ certificate: bob.cert, privateKey: bob.key }]);
    say('Bob decrypted it with his key', await write('decrypted.eml', decrypted.message));

    const report = verifyMessage(decrypted.message, { trustAnchors: [ca], time: now });
    say(`Bob verified it: ${report.status} — ${report.reason}`);
    if (v.json) printJson(io, { status: report.status, dir, steps });
    return report.status === 'signed' ? 0 : 1;
  },
};
