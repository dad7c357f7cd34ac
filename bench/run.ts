/**
 * `npm run bench`: Sealpost beside `openssl cms` on the same machine, in one run, with the raw
 * node:crypto ceiling measured alongside. Writes docs/benchmarks.md.
 *
 *   npm run bench                  all sizes (4 KiB, 1 MiB, 64 MiB, 1 GiB)
 *   npm run bench -- --quick       4 KiB, 1 MiB and 64 MiB only
 */
import { spawnSync } from 'node:child_process';
import {
  constants,
  createCipheriv,
  createHash,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign as rawSign,
  verify as rawVerify,
} from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  Certificate,
  decryptMessage,
  encryptMessage,
  loadPrivateKey,
  signMessage,
  verifyMessage,
} from '@sealpost/core';
import { testPki } from '../packages/core/test/support/pki.ts';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'bench', 'out');
const BIN = join(root, 'packages', 'cli', 'bin', 'sealpost.mjs');
const quick = process.argv.includes('--quick');
const SIZES: [string, number][] = [
  ['4 KiB', 4 * 1024],
  ['1 MiB', 1024 * 1024],
  ['64 MiB', 64 * 1024 * 1024],
  ...(quick ? [] : ([['1 GiB', 1024 * 1024 * 1024]] as [string, number][])),
];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const pki = testPki();
const alice = pki.user('alice');
const bob = pki.user('bob');
// Ten RSA key-transport recipients (EC ones would measure ECDH instead).
const rsaRecipients = [alice, bob, pki.user('encrypter')];
const tenRecipients = Array.from({ length: 10 }, (_, i) => rsaRecipients[i % 3]!.certPath);

const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** A 7-bit text message of about `size` bytes with CRLF lines, written in 1 MiB pieces. */
function makeMessage(path: string, size: number): void {
  const fd = openSync(path, 'w');
  writeSync(fd, 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: bench\r\nContent-Type: text/plain\r\n\r\n');
  const line = `${randomBytes(36).toString('base64')}\r\n`;
  const block = Buffer.from(line.repeat(Math.ceil(Math.min(size, 1 << 20) / line.length)));
  for (let written = 0; written < size; written += block.length)
    writeSync(fd, block.subarray(0, Math.min(block.length, size - written)));
  closeSync(fd);
}

interface Run {
  seconds: number;
  rssMiB: number;
  ok: boolean;
}

/** Runs a command under GNU time for wall-clock seconds and peak RSS. */
function timed(cmd: string, args: string[]): Run {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { maxBuffer: 1 << 20 });
  const last = r.stderr.toString().trim().split('\n').pop() ?? '';
  const [secs, kib] = last.split(' ').map(Number);
  if (r.status !== 0) progress(`FAILED: ${cmd} ${args.join(' ')}\n${r.stderr.toString().slice(0, 500)}`);
  return { seconds: secs ?? Number.NaN, rssMiB: (kib ?? 0) / 1024, ok: r.status === 0 };
}

const node = process.execPath;
const sp = (args: string[]) => timed(node, [BIN, ...args]);
const ossl = (args: string[]) => timed('openssl', args);
const ATTIME = ['-attime', String(Date.parse('2026-06-01T00:00:00Z') / 1000)];
const AT = ['--at', '2026-06-01T00:00:00Z'];

interface Row {
  size: string;
  op: string;
  sealpost: Run;
  openssl: Run;
  bytes: number;
}

const rows: Row[] = [];
for (const [label, size] of SIZES) {
  progress(`${label}: preparing`);
  const msg = join(out, 'msg.eml');
  makeMessage(msg, size);
  const f = (n: string) => join(out, n);
  const runs: [string, () => Run, () => Run][] = [
    [
      'sign',
      () => sp(['sign', '--cert', alice.certPath, '--key', alice.keyPath, '--in', msg, '--out', f('sp-signed.eml')]),
      () =>
        ossl([
          'cms',
          '-sign',
          '-stream',
          '-binary',
          '-signer',
          alice.certPath,
          '-inkey',
          alice.keyPath,
          '-in',
          msg,
          '-out',
          f('os-signed.eml'),
        ]),
    ],
    [
      'verify',
      () =>
        sp([
          'verify',
          '--trust',
          pki.root.certPath,
          '--intermediates',
          pki.intermediate.certPath,
          ...AT,
          '--in',
          f('sp-signed.eml'),
        ]),
      () =>
        ossl([
          'cms',
          '-verify',
          '-binary',
          '-CAfile',
          pki.root.certPath,
          '-certfile',
          pki.intermediate.certPath,
          ...ATTIME,
          '-in',
          f('os-signed.eml'),
          '-out',
          '/dev/null',
        ]),
    ],
    [
      'encrypt (1 recipient)',
      () => sp(['encrypt', '--to', bob.certPath, '--in', msg, '--out', f('sp-enc.eml')]),
      () =>
        ossl([
          'cms',
          '-encrypt',
          '-stream',
          '-binary',
          '-aes-256-cbc',
          '-in',
          msg,
          '-out',
          f('os-enc.eml'),
          bob.certPath,
        ]),
    ],
    [
      'encrypt (10 recipients)',
      () => sp(['encrypt', ...tenRecipients.flatMap((c) => ['--to', c]), '--in', msg, '--out', f('sp-enc10.eml')]),
      () =>
        ossl([
          'cms',
          '-encrypt',
          '-stream',
          '-binary',
          '-aes-256-cbc',
          '-in',
          msg,
          '-out',
          f('os-enc10.eml'),
          ...tenRecipients,
        ]),
    ],
    [
      'decrypt',
      () =>
        sp([
          'decrypt',
          '--cert',
          bob.certPath,
          '--key',
          bob.keyPath,
          '--in',
          f('sp-enc.eml'),
          '--out',
          f('sp-dec.eml'),
        ]),
      () =>
        ossl([
          'cms',
          '-decrypt',
          '-binary',
          '-recip',
          bob.certPath,
          '-inkey',
          bob.keyPath,
          '-in',
          f('os-enc.eml'),
          '-out',
          f('os-dec.eml'),
        ]),
    ],
  ];
  const repeat = size <= 1 << 20 ? 5 : 1;
  for (const [op, ours, theirs] of runs) {
    progress(`${label}: ${op}`);
    const best = (fn: () => Run) => {
      const all = Array.from({ length: repeat }, fn);
      return all.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    };
    rows.push({ size: label, op, sealpost: best(ours), openssl: best(theirs), bytes: statSync(msg).size });
  }
  for (const n of [
    'sp-signed.eml',
    'os-signed.eml',
    'sp-enc.eml',
    'os-enc.eml',
    'sp-enc10.eml',
    'os-enc10.eml',
    'sp-dec.eml',
    'os-dec.eml',
    'msg.eml',
  ]) {
    rmSync(f(n), { force: true });
  }
}

// ---- the ceiling: raw node:crypto over the same bytes, and the raw asymmetric operations
function rate(fn: () => void, ms = 1500): number {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

progress('raw ceilings');
const chunk = randomBytes(1 << 20);
const mib = 256;
const through = (fn: (c: Buffer) => void) => {
  const start = performance.now();
  for (let i = 0; i < mib; i++) fn(chunk);
  return mib / ((performance.now() - start) / 1000);
};
const sha256MiBs = through(
  (() => {
    const h = createHash('sha256');
    return (c: Buffer) => h.update(c);
  })(),
);
const aesMiBs = through(
  (() => {
    const c = createCipheriv('aes-256-cbc', randomBytes(32), randomBytes(16));
    return (b: Buffer) => c.update(b);
  })(),
);
const base64MiBs = through((c) => c.toString('base64'));

const aliceCert = Certificate.from(alice.cert);
const aliceKey = loadPrivateKey(alice.key);
const bobCert = Certificate.from(bob.cert);
const bobKey = loadPrivateKey(bob.key);
const ca = [Certificate.from(pki.root.cert)];
const inter = [Certificate.from(pki.intermediate.cert)];
const small = Buffer.from(
  `From: alice@example.org\r\nTo: bob@example.org\r\nContent-Type: text/plain\r\n\r\n${'x'.repeat(70)}\r\n`.padEnd(
    4096,
    'y',
  ),
);
const digest = createHash('sha256').update(small).digest();
const rawSig = rawSign('sha256', small, aliceKey);
const when = new Date('2026-06-01T00:00:00Z');
const signed = signMessage(small, { signers: [{ certificate: aliceCert, privateKey: aliceKey }], signingTime: when });
const encrypted = encryptMessage(small, { recipients: [{ certificate: bobCert }] }).message;
const ek = publicEncrypt({ key: bobCert.publicKey, padding: constants.RSA_PKCS1_PADDING }, digest);

progress('in-process 4 KiB rates');
const inproc = {
  rawPrivateSign: rate(() => rawSign('sha256', small, aliceKey)),
  rawPublicVerify: rate(() => rawVerify('sha256', small, aliceCert.publicKey, rawSig)),
  rawPublicEncrypt: rate(() => publicEncrypt({ key: bobCert.publicKey, padding: constants.RSA_PKCS1_PADDING }, digest)),
  rawPrivateDecrypt: rate(() => privateDecrypt({ key: bobKey, padding: constants.RSA_PKCS1_PADDING }, ek)),
  sign: rate(() =>
    signMessage(small, { signers: [{ certificate: aliceCert, privateKey: aliceKey }], signingTime: when }),
  ),
  verify: rate(() =>
    verifyMessage(signed, { trustAnchors: ca, intermediates: inter, time: when, sender: 'alice@example.org' }),
  ),
  encrypt: rate(() => encryptMessage(small, { recipients: [{ certificate: bobCert }] })),
  decrypt: rate(() => decryptMessage(encrypted, [{ certificate: bobCert, privateKey: bobKey }])),
};
progress('CLI start-up');
const startup = Math.min(...Array.from({ length: 5 }, () => timed(node, [BIN, '--version']).seconds));
const opensslStartup = Math.min(...Array.from({ length: 5 }, () => timed('openssl', ['version']).seconds));

// ---- the report
const ceilingFor = (op: string) => (op === 'sign' || op === 'verify' ? sha256MiBs : aesMiBs);
const mibs = (r: Run, bytes: number) => bytes / (1 << 20) / Math.max(r.seconds, 0.005);
const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const lines: string[] = [];
lines.push('# Benchmarks', '');
lines.push(
  `Generated by \`npm run bench\`${quick ? ' -- --quick' : ''} on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node} (OpenSSL ${process.versions.openssl}), \`openssl\` ${spawnSync('openssl', ['version']).stdout.toString().trim()}.`,
);
lines.push(
  'Both tools run as command-line programs on the same files in the same run; RSA-2048 signer (Alice), RSA-3072 recipient (Bob), AES-256-CBC, SHA-256. Times are wall-clock (best of 5 below 64 MiB), peak RSS from GNU time.',
  '',
);
lines.push('## Whole commands', '');
lines.push(
  '| size | operation | Sealpost | openssl cms | ratio (Sealpost / OpenSSL throughput) | Sealpost peak RSS | OpenSSL peak RSS | Sealpost / raw ceiling |',
);
lines.push('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const ours = mibs(r.sealpost, r.bytes);
  const theirs = mibs(r.openssl, r.bytes);
  const large = r.bytes >= 64 << 20;
  lines.push(
    `| ${r.size} | ${r.op} | ${r.sealpost.ok ? `${fmt(r.sealpost.seconds, 3)} s (${fmt(ours)} MiB/s)` : 'FAILED'} | ${r.openssl.ok ? `${fmt(r.openssl.seconds, 3)} s (${fmt(theirs)} MiB/s)` : 'FAILED'} | ${fmt(ours / theirs, 2)}× | ${fmt(r.sealpost.rssMiB, 0)} MiB | ${fmt(r.openssl.rssMiB, 0)} MiB | ${large ? `${fmt((100 * ours) / ceilingFor(r.op), 0)} %` : '—'} |`,
  );
}
lines.push(
  '',
  'Below 64 MiB the times are dominated by process start-up; the in-process table shows the per-message cost.',
  '',
);
lines.push('## Raw ceiling (node:crypto, 1 MiB chunks, same machine)', '');
lines.push('| primitive | throughput |', '|---|---|');
lines.push(
  `| SHA-256 | ${fmt(sha256MiBs)} MiB/s |`,
  `| AES-256-CBC encrypt | ${fmt(aesMiBs)} MiB/s |`,
  `| base64 encode | ${fmt(base64MiBs)} MiB/s |`,
  '',
);
lines.push('## In-process, 4 KiB message (library API)', '');
lines.push(
  '| operation | Sealpost ops/s | raw operation | raw ops/s | share of raw | target |',
  '|---|---|---|---|---|---|',
);
const share = (a: number, b: number) => `${fmt((100 * a) / b, 0)} %`;
lines.push(
  `| sign (RSA-2048, clear-signed) | ${fmt(inproc.sign, 0)} | RSA-2048 private-key sign | ${fmt(inproc.rawPrivateSign, 0)} | ${share(inproc.sign, inproc.rawPrivateSign)} | ≥ 80 % |`,
);
lines.push(
  `| decrypt (RSA-3072 key transport) | ${fmt(inproc.decrypt, 0)} | RSA-3072 private-key decrypt | ${fmt(inproc.rawPrivateDecrypt, 0)} | ${share(inproc.decrypt, inproc.rawPrivateDecrypt)} | ≥ 80 % |`,
);
lines.push(
  `| verify (signature + 2-certificate chain + sender) | ${fmt(inproc.verify, 0)} | RSA-2048 public-key verify | ${fmt(inproc.rawPublicVerify, 0)} | ${share(inproc.verify, inproc.rawPublicVerify)} | ≥ 20 % |`,
);
lines.push(
  `| encrypt (1 RSA-3072 recipient) | ${fmt(inproc.encrypt, 0)} | RSA-3072 public-key encrypt | ${fmt(inproc.rawPublicEncrypt, 0)} | ${share(inproc.encrypt, inproc.rawPublicEncrypt)} | ≥ 33 % |`,
);
lines.push('', '## Start-up', '');
lines.push(
  `\`sealpost --version\`: ${fmt(startup * 1000, 0)} ms; \`openssl version\`: ${fmt(opensslStartup * 1000, 0)} ms (best of 5). This is the fixed cost in every per-call figure above.`,
  '',
);
writeFileSync(join(root, 'docs', 'benchmarks.md'), `${lines.join('\n')}\n`);
rmSync(out, { recursive: true, force: true });
progress('wrote docs/benchmarks.md');
process.stdout.write(`${lines.join('\n')}\n`);
