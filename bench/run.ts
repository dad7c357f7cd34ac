/**
 * `npm run bench`: Sealpost beside `openssl cms` on the same machine, in one run, with the raw
 * node:crypto ceiling measured alongside. The full run rewrites the generated part of
 * docs/benchmarks.md (between the `bench:begin` / `bench:end` markers; the analysis around it stays).
 *
 *   npm run bench                  all sizes (4 KiB, 1 MiB, 64 MiB, 1 GiB), writes docs/benchmarks.md
 *   npm run bench -- --quick       4 KiB, 1 MiB and 64 MiB, fewer repeats; prints only
 *   npm run bench -- --only certificates
 *                                  only path validation and the 100,000-entry CRL; rewrites only their
 *                                  part of the doc (the `bench-certificates:` markers and their Targets rows)
 *   npm run bench -- --only server  only the server (bench/server.ts): certificate issuance and API load;
 *                                  rewrites the `bench-server:` markers and its Targets rows
 *   npm run bench -- --only directory
 *                                  only the LDAP key server beside slapd and the resolve API
 *                                  (bench/directory.ts); rewrites the `bench-directory:` markers and
 *                                  its Targets rows
 *
 * Method: both tools run as command-line programs on the same files, interleaved (Sealpost, then
 * OpenSSL, repeat), so a load spike from other processes hits both. Wall time is measured here with
 * performance.now(); peak RSS comes from GNU time (`/usr/bin/time -f %M`). Scratch files live in a
 * fresh directory under the OS temp directory and are deleted at the end, also on failure or Ctrl-C.
 */
import { spawnSync } from 'node:child_process';
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign as rawSign,
  verify as rawVerify,
} from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  buildCertificate,
  Certificate,
  createRevocationChecker,
  decryptMessage,
  encryptMessage,
  issueCrl,
  keySigner,
  loadPrivateKey,
  OID,
  parseCrl,
  pathValidator,
  pemEncode,
  type RevocationReason,
  type RevokedEntry,
  randomSerial,
  signMessage,
  type ValidationInput,
  verifyMessage,
} from '@sealpost/core';
import { testPki } from '../packages/core/test/support/pki.ts';
import { DIRECTORY_TARGETS, measureDirectory } from './directory.ts';
import { measureServer, SERVER_TARGETS } from './server.ts';

const MiB = 1024 * 1024;
const root = new URL('..', import.meta.url).pathname;
const BIN = join(root, 'packages', 'cli', 'bin', 'sealpost.mjs');
const DOC = join(root, 'docs', 'benchmarks.md');
const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
if (onlyAt >= 0 && only !== 'certificates' && only !== 'server' && only !== 'directory') {
  process.stderr.write(
    `bench: --only takes "certificates", "server" or "directory", not ${JSON.stringify(only ?? '')}\n`,
  );
  process.exit(2);
}
const SIZES: [string, number][] = [
  ['4 KiB', 4 * 1024],
  ['1 MiB', MiB],
  ['64 MiB', 64 * MiB],
  ...(quick ? [] : ([['1 GiB', 1024 * MiB]] as [string, number][])),
];
/** Repeats per size (best time kept): small runs are mostly start-up and noisy. */
const repeatsFor = (size: number) => (size <= MiB ? (quick ? 3 : 7) : size <= 64 * MiB ? (quick ? 1 : 3) : 2);
const WHEN = new Date('2026-06-01T00:00:00Z');

const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);

const scratch = mkdtempSync(join(tmpdir(), 'sealpost-bench-'));
const cleanUp = () => rmSync(scratch, { recursive: true, force: true });
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}
const f = (name: string) => join(scratch, name);

// ---- GNU time, for peak RSS
const GNU_TIME = '/usr/bin/time';
const gnuTime = (() => {
  if (!existsSync(GNU_TIME)) return false;
  const r = spawnSync(GNU_TIME, ['--version'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.includes('GNU');
})();
const NO_RSS_NOTE =
  'GNU time (/usr/bin/time, Debian/Ubuntu package "time") is not installed: peak RSS is NOT measured in this run';
if (!gnuTime) progress(`WARNING: ${NO_RSS_NOTE}`);

interface Run {
  seconds: number;
  rssMiB: number;
  ok: boolean;
}

const RSS_MARK = 'sealpost-bench-rss';

/** Runs a command once: wall-clock seconds measured here, peak RSS from GNU time when present. */
function timed(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Run {
  const [file, argv] = gnuTime ? [GNU_TIME, ['-f', `${RSS_MARK} %M`, cmd, ...args]] : [cmd, args];
  const start = performance.now();
  const r = spawnSync(file, argv, {
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 16 * MiB,
    env: env ?? process.env,
  });
  const seconds = (performance.now() - start) / 1000;
  const stderr = r.stderr?.toString() ?? '';
  const mark = stderr.split('\n').find((l) => l.startsWith(RSS_MARK));
  const rssMiB = mark ? Number(mark.slice(RSS_MARK.length + 1)) / 1024 : Number.NaN;
  const ok = r.status === 0;
  if (!ok) progress(`FAILED (${r.status ?? r.signal}): ${cmd} ${args.join(' ')}\n${stderr.slice(0, 600)}`);
  return { seconds, rssMiB, ok };
}

const node = process.execPath;
const sealpost = (args: string[]) => timed(node, [BIN, ...args]);
const openssl = (args: string[]) => timed('openssl', args);

// ---- inputs
const pki = testPki();
const alice = pki.user('alice');
const bob = pki.user('bob');
// Ten RSA key-transport recipients, Bob first (EC ones would measure ECDH instead).
const rsaRecipients = [bob, alice, pki.user('encrypter')];
const tenRecipients = Array.from({ length: 10 }, (_, i) => rsaRecipients[i % 3]!.certPath);
const HEAD = 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: bench\r\nContent-Type: text/plain\r\n\r\n';

/** One MiB of 7-bit text in 50-octet CRLF lines: what a large plain-text or pre-encoded body looks like. */
const textBlock = (() => {
  const line = `${randomBytes(36).toString('base64')}\r\n`;
  return Buffer.from(line.repeat(Math.ceil(MiB / line.length)));
})();

/** A message of exactly `size` bytes (header included), written in 1 MiB pieces. */
function makeMessage(path: string, size: number): void {
  const fd = openSync(path, 'w');
  writeSync(fd, HEAD);
  for (let written = HEAD.length; written < size; ) {
    written += writeSync(fd, textBlock, 0, Math.min(textBlock.length, size - written));
  }
  closeSync(fd);
}

// ---- whole commands
interface Row {
  size: string;
  bytes: number;
  op: Op;
  sealpost: Run;
  openssl: Run;
}

type Op = 'sign' | 'verify' | 'encrypt (1 recipient)' | 'encrypt (10 recipients)' | 'decrypt';

function commands(msg: string): [Op, () => Run, () => Run][] {
  const AT = ['--at', WHEN.toISOString()];
  const ATTIME = ['-attime', String(WHEN.getTime() / 1000)];
  const ENC = ['cms', '-encrypt', '-stream', '-binary', '-aes-256-cbc', '-in', msg];
  return [
    [
      'sign',
      () =>
        sealpost([
          'sign',
          ...['--cert', alice.certPath, '--key', alice.keyPath, '--chain', pki.intermediate.certPath],
          ...['--in', msg, '--out', f('sp-signed.eml')],
        ]),
      () =>
        openssl([
          ...['cms', '-sign', '-stream', '-binary'],
          ...['-signer', alice.certPath, '-inkey', alice.keyPath, '-certfile', pki.intermediate.certPath],
          ...['-in', msg, '-out', f('os-signed.eml')],
        ]),
    ],
    [
      'verify',
      () => sealpost(['verify', '--trust', pki.root.certPath, ...AT, '--in', f('sp-signed.eml')]),
      () =>
        openssl([
          ...['cms', '-verify', '-binary', '-CAfile', pki.root.certPath, ...ATTIME],
          ...['-in', f('os-signed.eml'), '-out', '/dev/null'],
        ]),
    ],
    [
      'encrypt (1 recipient)',
      () => sealpost(['encrypt', '--to', bob.certPath, '--in', msg, '--out', f('sp-enc.eml')]),
      () => openssl([...ENC, '-out', f('os-enc.eml'), bob.certPath]),
    ],
    [
      'encrypt (10 recipients)',
      () =>
        sealpost(['encrypt', ...tenRecipients.flatMap((c) => ['--to', c]), '--in', msg, '--out', f('sp-enc10.eml')]),
      () => openssl([...ENC, '-out', f('os-enc10.eml'), ...tenRecipients]),
    ],
    [
      'decrypt',
      () =>
        sealpost([
          ...['decrypt', '--cert', bob.certPath, '--key', bob.keyPath],
          ...['--in', f('sp-enc.eml'), '--out', f('sp-dec.eml')],
        ]),
      () =>
        openssl([
          ...['cms', '-decrypt', '-binary', '-recip', bob.certPath, '-inkey', bob.keyPath],
          ...['-in', f('os-enc.eml'), '-out', f('os-dec.eml')],
        ]),
    ],
  ];
}

/**
 * Best time of n interleaved runs of each tool; peak RSS is the highest seen. With `flush`, dirty
 * pages are written back before every run, so neither tool pays for the other's output.
 */
function interleaved(n: number, ours: () => Run, theirs: () => Run, flush = false): [Run, Run] {
  const a: Run[] = [];
  const b: Run[] = [];
  const settle = () => {
    if (flush) spawnSync('sync');
  };
  for (let i = 0; i < n; i++) {
    settle();
    a.push(ours());
    settle();
    b.push(theirs());
  }
  return [best(a), best(b)];
}

/** The best time of some runs of one command; peak RSS is the highest seen. */
function best(runs: Run[]): Run {
  return {
    seconds: Math.min(...runs.map((r) => r.seconds)),
    rssMiB: Math.max(...runs.map((r) => r.rssMiB)),
    ok: runs.every((r) => r.ok),
  };
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const rssCell = (r: Run) => (gnuTime ? `${fmt(r.rssMiB, 0)} MiB` : 'not measured');
const opensslVersion = spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout.trim();

/**
 * Operations per second of each function in alternating windows of `ms` after a warm-up, one list
 * of per-window rates per function: load from other processes drifts, and adjacent windows see
 * nearly the same load.
 */
function windowRates(fns: (() => void)[], ms = quick ? 250 : 400): number[][] {
  for (let i = 0; i < 50; i++) for (const fn of fns) fn();
  const window = (fn: () => void) => {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      fn();
      n++;
    }
    return n / ((performance.now() - start) / 1000);
  };
  const perFn = fns.map((): number[] => []);
  for (let w = 0; w < (quick ? 4 : 11); w++) {
    for (const [i, fn] of fns.entries()) perFn[i]!.push(window(fn));
  }
  return perFn;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `raw` and `ours` in alternating windows: median rates, and the median of the paired ratios. */
function rates(raw: () => void, ours: () => void): { raw: number; ours: number; share: number } {
  const [raws, ourss] = windowRates([raw, ours]) as [number[], number[]];
  return { raw: median(raws), ours: median(ourss), share: median(raws.map((r, i) => ourss[i]! / r)) };
}

/** The CMS part: whole commands, start-up, the raw ceiling and the in-process 4 KiB rates. */
function measureMessages(): { targets: string[]; body: string[] } {
  // ---- start-up (measured first and last; the lower of the two bests is used)
  const startupRuns = (): { sealpost: number; openssl: number } => {
    const [s, o] = interleaved(
      7,
      () => sealpost(['--version']),
      () => openssl(['version']),
    );
    return { sealpost: s.seconds, openssl: o.seconds };
  };
  progress('CLI start-up');
  const startupBefore = startupRuns();
  progress('raw ceilings (first measurement)');
  const ceilingBefore = measureCeilings();
  const loadBefore = loadavg();

  const rows: Row[] = [];
  for (const [label, size] of SIZES) {
    progress(`${label}: preparing`);
    const msg = f('msg.eml');
    makeMessage(msg, size);
    const repeat = repeatsFor(size);
    for (const [op, ours, theirs] of commands(msg)) {
      progress(`${label}: ${op} (${repeat}× each, interleaved)`);
      const [s, o] = interleaved(repeat, ours, theirs, size >= 64 * MiB);
      rows.push({ size: label, bytes: size, op, sealpost: s, openssl: o });
      // Outputs no later step reads are dropped at once: at 1 GiB they add up.
      if (op === 'verify') for (const n of ['sp-signed.eml', 'os-signed.eml']) rmSync(f(n), { force: true });
      if (op === 'encrypt (10 recipients)')
        for (const n of ['sp-enc10.eml', 'os-enc10.eml']) rmSync(f(n), { force: true });
    }
    for (const n of ['sp-enc.eml', 'os-enc.eml', 'sp-dec.eml', 'os-dec.eml']) rmSync(f(n), { force: true });
    rmSync(msg, { force: true });
  }
  const startupAfter = startupRuns();
  const startup = {
    sealpost: Math.min(startupBefore.sealpost, startupAfter.sealpost),
    openssl: Math.min(startupBefore.openssl, startupAfter.openssl),
  };
  // What Node's compile cache would save (a possible change to the CLI's launcher, measured, not used above).
  const compileCacheDir = f('node-compile-cache');
  timed(node, [BIN, '--version'], { ...process.env, NODE_COMPILE_CACHE: compileCacheDir });
  const startupCached = Math.min(
    ...Array.from(
      { length: 7 },
      () => timed(node, [BIN, '--version'], { ...process.env, NODE_COMPILE_CACHE: compileCacheDir }).seconds,
    ),
  );

  // ---- the ceiling: raw node:crypto over the same bytes (the first 64 MiB of the message, 1 MiB chunks)
  /**
   * The ceiling: raw node:crypto over the message's own bytes (its body is the same 1 MiB block
   * repeated, so 64 copies of that block are the first 64 MiB of every large message), in 1 MiB
   * chunks. Measured before the commands and again after them, best of 3 passes each time, and the
   * better of the two kept: a load spike from other processes must then hit both.
   */
  function measureCeilings() {
    const sample = Array.from({ length: 64 }, () => textBlock);
    const throughput = (fn: () => void): number => {
      let best = Number.POSITIVE_INFINITY;
      for (let pass = 0; pass < 3; pass++) {
        const start = performance.now();
        fn();
        best = Math.min(best, performance.now() - start);
      }
      return (sample.length * textBlock.length) / MiB / (best / 1000);
    };
    const aesKey = randomBytes(32);
    const aesIv = randomBytes(16);
    const cipherText = sample.map((c) => createCipheriv('aes-256-cbc', aesKey, aesIv).update(c));
    const base64Text = sample.map((c) => Buffer.from(c.toString('base64')));
    return {
      sha256: throughput(() => {
        const h = createHash('sha256');
        for (const c of sample) h.update(c);
        h.digest();
      }),
      aesEncrypt: throughput(() => {
        const c = createCipheriv('aes-256-cbc', aesKey, aesIv);
        for (const x of sample) c.update(x);
        c.final();
      }),
      aesDecrypt: throughput(() => {
        const d = createDecipheriv('aes-256-cbc', aesKey, aesIv);
        d.setAutoPadding(false);
        for (const x of cipherText) d.update(x);
      }),
      base64Encode: throughput(() => {
        for (const c of sample) c.toString('base64');
      }),
      base64Decode: throughput(() => {
        for (const t of base64Text) Buffer.from(t.toString('latin1'), 'base64');
      }),
    };
  }
  progress('raw ceilings (second measurement)');
  const ceilingAfter = measureCeilings();
  const ceiling = {
    sha256: Math.max(ceilingBefore.sha256, ceilingAfter.sha256),
    aesEncrypt: Math.max(ceilingBefore.aesEncrypt, ceilingAfter.aesEncrypt),
    aesDecrypt: Math.max(ceilingBefore.aesDecrypt, ceilingAfter.aesDecrypt),
    base64Encode: Math.max(ceilingBefore.base64Encode, ceilingAfter.base64Encode),
    base64Decode: Math.max(ceilingBefore.base64Decode, ceilingAfter.base64Decode),
  };

  // ---- in-process, 4 KiB: the library API against the raw asymmetric operation it cannot avoid
  progress('in-process 4 KiB rates');
  const aliceCert = Certificate.from(alice.cert);
  const aliceKey = loadPrivateKey(alice.key);
  const bobCert = Certificate.from(bob.cert);
  const bobKey = loadPrivateKey(bob.key);
  const trustAnchors = [Certificate.from(pki.root.cert)];
  const chain = [Certificate.from(pki.intermediate.cert)];
  const small = (() => {
    makeMessage(f('small.eml'), 4 * 1024);
    return readFileSync(f('small.eml'));
  })();
  const signers = [{ certificate: aliceCert, privateKey: aliceKey, chain }];
  const signed = signMessage(small, { signers, signingTime: WHEN });
  const encrypted = encryptMessage(small, { recipients: [{ certificate: bobCert }] }).message;
  // The raw operations take keys parsed once, as a long-running signer or decrypter holds them.
  const rawInputs = (() => {
    const digest = createHash('sha256').update(small).digest();
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    return {
      signature: rawSign('sha256', small, aliceKey),
      wrappedKey: publicEncrypt({ key: bobCert.publicKey, padding: constants.RSA_PKCS1_PADDING }, randomBytes(32)),
      digest,
      aliceSpki: spki(aliceCert.publicKey),
    };
  })();
  const signRates = rates(
    () => rawSign('sha256', small, aliceKey),
    () => signMessage(small, { signers, signingTime: WHEN }),
  );
  const verifyRates = rates(
    () => rawVerify('sha256', small, aliceCert.publicKey, rawInputs.signature),
    () => verifyMessage(signed, { trustAnchors, time: WHEN, sender: 'alice@example.org' }),
  );
  const encryptRates = rates(
    () => publicEncrypt({ key: bobCert.publicKey, padding: constants.RSA_PKCS1_PADDING }, rawInputs.digest),
    () => encryptMessage(small, { recipients: [{ certificate: bobCert }] }),
  );
  const decryptRates = rates(
    () => privateDecrypt({ key: bobKey, padding: constants.RSA_PKCS1_PADDING }, rawInputs.wrappedKey),
    () => decryptMessage(encrypted, [{ certificate: bobCert, privateKey: bobKey }]),
  );
  // For the analysis: turning a certificate's SubjectPublicKeyInfo into a key costs about as much as a verification.
  const spkiRates = rates(
    () => rawVerify('sha256', small, aliceCert.publicKey, rawInputs.signature),
    () => rawVerify('sha256', small, { key: rawInputs.aliceSpki, format: 'der', type: 'spki' }, rawInputs.signature),
  );
  const inproc = {
    signShare: signRates.share,
    verifyShare: verifyRates.share,
    encryptShare: encryptRates.share,
    decryptShare: decryptRates.share,
    rawSign: signRates.raw,
    rawVerify: verifyRates.raw,
    rawEncrypt: encryptRates.raw,
    rawDecrypt: decryptRates.raw,
    rawVerifyFromSpki: spkiRates.share * verifyRates.raw,
    sign: signRates.ours,
    verify: verifyRates.ours,
    encrypt: encryptRates.ours,
    decrypt: decryptRates.ours,
  };
  const verifyReport = verifyMessage(signed, { trustAnchors, time: WHEN, sender: 'alice@example.org' });
  if (verifyReport.status !== 'signed') progress(`WARNING: the in-process verify says ${verifyReport.status}`);

  // ---- the report
  const pct = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} %` : 'n/a');
  const mibs = (bytes: number, seconds: number) => bytes / MiB / seconds;
  /** Throughput with the tool's own start-up (measured separately) taken out. */
  const net = (bytes: number, r: Run, start: number) => mibs(bytes, Math.max(r.seconds - start, 1e-3));
  const ceilingFor = (op: Op) =>
    op === 'sign' || op === 'verify'
      ? { name: 'SHA-256', mibs: ceiling.sha256 }
      : op === 'decrypt'
        ? { name: 'AES-256-CBC decrypt', mibs: ceiling.aesDecrypt }
        : { name: 'AES-256-CBC encrypt', mibs: ceiling.aesEncrypt };
  const large = rows.filter((r) => r.bytes >= 64 * MiB);
  const yes = (b: boolean) => (b ? '**met**' : '**missed**');
  const cpu = cpus();

  const out: string[] = [];
  out.push(
    `Generated by \`npm run bench\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    '',
    `- Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${process.platform} ${process.arch}; load average (1/5/15 min) at the start ${loadBefore.map((l) => l.toFixed(2)).join(' / ')}, at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}.`,
    `- Sealpost: Node ${process.versions.node} with its bundled OpenSSL ${process.versions.openssl}; the CLI as shipped (\`${'node packages/cli/bin/sealpost.mjs'}\`, TypeScript type-stripped at every start).`,
    `- OpenSSL CLI: ${opensslVersion} (\`openssl cms\`). Note the two OpenSSL versions differ.`,
    `- Keys: RSA-2048 signer (SHA-256, PKCS#1 v1.5, chain of one intermediate included), RSA-3072 recipient (PKCS#1 v1.5 key transport); ten recipients are RSA-3072/2048 mixed; AES-256-CBC content encryption. Message: 7-bit text, 50-octet CRLF lines.`,
    `- Method: same files, both tools as command-line programs, runs interleaved (Sealpost, OpenSSL, repeat; best of ${repeatsFor(MiB)} at ≤ 1 MiB, ${repeatsFor(64 * MiB)} at 64 MiB, ${repeatsFor(1024 * MiB)} at 1 GiB; from 64 MiB on, \`sync\` before every run so neither tool pays for writing back the other's output). Wall time by performance.now() around the child process; ${gnuTime ? 'peak RSS by GNU time `%M`' : NO_RSS_NOTE}. Sealpost signs clear-signed (multipart/signed), OpenSSL \`-sign -stream -binary\`; both verify against the root only (the intermediate travels in the message).`,
    '- Load: the machine is shared (other jobs were running tests during the run). Interleaving keeps the ratios meaningful, absolute figures move by ±20 % between runs.',
    '',
    '### Whole commands',
    '',
    '"net" = throughput with each tool\'s own start-up (below) subtracted; "gross" includes it.',
    '',
    '| size | operation | Sealpost | openssl cms | Sealpost / OpenSSL (net) | (gross) | Sealpost peak RSS | OpenSSL peak RSS | share of the raw ceiling: Sealpost (OpenSSL) |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of rows) {
    const cell = (run: Run, start: number) => {
      if (!run.ok) return 'FAILED';
      if (r.bytes <= MiB) return `${fmt(run.seconds * 1000, 0)} ms (${fmt(1 / run.seconds, 1)} calls/s)`;
      return `${fmt(run.seconds, 2)} s (net ${fmt(net(r.bytes, run, start), 0)} MiB/s)`;
    };
    const ours = net(r.bytes, r.sealpost, startup.sealpost);
    const theirs = net(r.bytes, r.openssl, startup.openssl);
    const gross = mibs(r.bytes, r.sealpost.seconds) / mibs(r.bytes, r.openssl.seconds);
    const big = r.bytes >= 64 * MiB;
    out.push(
      `| ${r.size} | ${r.op} | ${cell(r.sealpost, startup.sealpost)} | ${cell(r.openssl, startup.openssl)} | ${big ? `${fmt(ours / theirs, 2)}×` : '—'} | ${fmt(gross, 2)}× | ${rssCell(r.sealpost)} | ${rssCell(r.openssl)} | ${big ? `${pct((100 * ours) / ceilingFor(r.op).mibs)} (${pct((100 * theirs) / ceilingFor(r.op).mibs)})` : '—'} |`,
    );
  }
  out.push(
    '',
    'At 4 KiB and 1 MiB a call is almost all process start-up, so those rows give calls per second; the in-process table gives the per-message cost.',
    '',
    '### Start-up',
    '',
    '| command | best of 14 |',
    '|---|---|',
    `| \`sealpost --version\` (as shipped) | ${fmt(startup.sealpost * 1000, 0)} ms |`,
    `| \`sealpost --version\` with \`NODE_COMPILE_CACHE\` set (not used above) | ${fmt(startupCached * 1000, 0)} ms |`,
    `| \`openssl version\` | ${fmt(startup.openssl * 1000, 0)} ms |`,
    '',
    '### Raw ceiling (node:crypto over the same message bytes, 1 MiB chunks, one thread; best of a measurement before and one after the commands)',
    '',
    '| primitive | throughput |',
    '|---|---|',
    `| SHA-256 (sign, verify) | ${fmt(ceiling.sha256, 0)} MiB/s |`,
    `| AES-256-CBC encrypt (encrypt) | ${fmt(ceiling.aesEncrypt, 0)} MiB/s |`,
    `| AES-256-CBC decrypt (decrypt) | ${fmt(ceiling.aesDecrypt, 0)} MiB/s |`,
    `| base64 encode (Buffer, for reference) | ${fmt(ceiling.base64Encode, 0)} MiB/s |`,
    `| base64 decode (Buffer, for reference) | ${fmt(ceiling.base64Decode, 0)} MiB/s |`,
    '',
    '### In-process, 4 KiB message (library API, keys and certificates loaded once; raw and Sealpost in 11 alternating 0.4 s windows: medians, and the median of the paired ratios)',
    '',
    '| operation | Sealpost ops/s | raw operation (node:crypto) | raw ops/s | share of raw | target |',
    '|---|---|---|---|---|---|',
    `| signMessage (clear-signed, chain included) | ${fmt(inproc.sign, 0)} | RSA-2048 sign | ${fmt(inproc.rawSign, 0)} | ${fmt(100 * inproc.signShare)} % | ≥ 80 % |`,
    `| decryptMessage | ${fmt(inproc.decrypt, 0)} | RSA-3072 PKCS#1 decrypt | ${fmt(inproc.rawDecrypt, 0)} | ${fmt(100 * inproc.decryptShare)} % | ≥ 80 % |`,
    `| verifyMessage (signature, 2-certificate chain to the root, sender) | ${fmt(inproc.verify, 0)} | RSA-2048 verify | ${fmt(inproc.rawVerify, 0)} | ${fmt(100 * inproc.verifyShare)} % | ≥ 20 % |`,
    `| encryptMessage (1 recipient) | ${fmt(inproc.encrypt, 0)} | RSA-3072 PKCS#1 encrypt | ${fmt(inproc.rawEncrypt, 0)} | ${fmt(100 * inproc.encryptShare)} % | ≥ 33 % |`,
    `| (reference) RSA-2048 verify with the key given as SubjectPublicKeyInfo DER | — | — | ${fmt(inproc.rawVerifyFromSpki, 0)} | — | — |`,
    '',
  );

  // ---- targets
  const targetLines: string[] = [];
  const opsOf = (op: Op) => large.filter((r) => r.op === op);
  for (const op of ['sign', 'verify', 'encrypt (1 recipient)', 'encrypt (10 recipients)', 'decrypt'] as Op[]) {
    const rs = opsOf(op);
    if (rs.length === 0) continue;
    const ratios = rs.map((r) => net(r.bytes, r.sealpost, startup.sealpost) / net(r.bytes, r.openssl, startup.openssl));
    const grossRatios = rs.map((r) => r.openssl.seconds / r.sealpost.seconds);
    targetLines.push(
      `| ${op} ≥ 64 MiB: throughput ≥ openssl cms | ${rs.map((r, i) => `${r.size}: ${fmt(ratios[i]!, 2)}× net, ${fmt(grossRatios[i]!, 2)}× gross`).join('; ')} | ${yes(ratios.every((x) => x >= 1) && rs.every((r) => r.sealpost.ok))} |`,
    );
    const shares = rs.map((r) => (100 * net(r.bytes, r.sealpost, startup.sealpost)) / ceilingFor(op).mibs);
    const theirShares = rs.map((r) => (100 * net(r.bytes, r.openssl, startup.openssl)) / ceilingFor(op).mibs);
    targetLines.push(
      `| ${op} ≥ 64 MiB: ≥ 70 % of the raw ${ceilingFor(op).name} ceiling | ${rs.map((r, i) => `${r.size}: ${pct(shares[i]!)} (OpenSSL ${pct(theirShares[i]!)})`).join('; ')} | ${yes(shares.every((x) => x >= 70))} |`,
    );
  }
  for (const [name, ratio, goal] of [
    ['sign 4 KiB in-process ≥ 80 % of RSA sign', inproc.signShare, 80],
    ['decrypt 4 KiB in-process ≥ 80 % of RSA decrypt', inproc.decryptShare, 80],
    ['verify 4 KiB in-process ≥ 20 % of RSA verify', inproc.verifyShare, 20],
    ['encrypt 4 KiB in-process ≥ 33 % of RSA encrypt', inproc.encryptShare, 33],
  ] as [string, number, number][]) {
    targetLines.push(`| ${name} | ${fmt(100 * ratio)} % | ${yes(100 * ratio >= goal)} |`);
  }
  const gib = rows.filter((r) => r.bytes >= 1024 * MiB);
  if (gib.length > 0) {
    const worst = Math.max(...gib.map((r) => r.sealpost.rssMiB));
    targetLines.push(
      `| peak RSS < 128 MiB at 1 GiB | ${gnuTime ? gib.map((r) => `${r.op} ${fmt(r.sealpost.rssMiB, 0)} MiB`).join('; ') : NO_RSS_NOTE} | ${gnuTime ? yes(worst < 128) : 'not measured'} |`,
    );
  }
  targetLines.push(
    `| CLI start-up reported separately | ${fmt(startup.sealpost * 1000, 0)} ms (OpenSSL ${fmt(startup.openssl * 1000, 0)} ms) | reported |`,
  );
  return { targets: targetLines, body: out };
}

// ---- certificates: path validation and a 100,000-entry CRL, beside `openssl verify` / `openssl crl`
const CRL_ENTRIES = 100_000;
/** Leaves in the one-call `openssl verify` runs and in Sealpost's rotations; some more are revoked. */
const LEAVES = quick ? 200 : 1000;
const REVOKED_LEAVES = quick ? 20 : 100;
const CERT_TARGETS = ['| certificate path validation', '| 100,000-entry CRL'];

interface CertificateResults {
  targets: string[];
  section: string[];
}

const bestOf = (n: number, run: () => Run): Run => best(Array.from({ length: n }, run));

async function measureCertificates(): Promise<CertificateResults> {
  progress('certificates: building the chain, the leaves and the CRL');
  const dir = f('certificates');
  mkdirSync(dir);
  const notBefore = new Date('2025-01-01T00:00:00Z');
  const notAfter = new Date('2035-01-01T00:00:00Z');
  const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const [rootKey, interKey, leafKey] = [rsa(), rsa(), rsa()];
  const org = { type: 'O', value: 'Sealpost bench' };
  const anchor = buildCertificate(
    {
      subject: [org, { type: 'CN', value: 'Bench Root' }],
      ...{ publicKey: rootKey, notBefore, notAfter, ca: true, keyUsage: ['keyCertSign', 'cRLSign'] },
    },
    { privateKey: rootKey },
  );
  const inter = buildCertificate(
    {
      subject: [org, { type: 'CN', value: 'Bench Intermediate' }],
      ...{ publicKey: interKey, notBefore, notAfter, ca: true, pathLen: 0, keyUsage: ['keyCertSign', 'cRLSign'] },
    },
    { certificate: anchor, privateKey: rootKey },
  );
  // All leaves share one key: only the signatures over them differ, as between two users' certificates.
  const leaf = (i: number) =>
    buildCertificate(
      {
        subject: [org, { type: 'CN', value: `Bench User ${i}` }],
        emails: [`user${i}@example.org`],
        ...{ publicKey: leafKey, notBefore, notAfter, keyUsage: ['digitalSignature', 'keyEncipherment'] },
        extKeyUsage: [OID.emailProtection],
      },
      { certificate: inter, privateKey: interKey },
    );
  const leaves = Array.from({ length: LEAVES }, (_, i) => leaf(i));
  const revoked = Array.from({ length: REVOKED_LEAVES }, (_, i) => leaf(LEAVES + i));
  const pem = (name: string, c: Certificate) => {
    const path = join(dir, name);
    writeFileSync(path, pemEncode('CERTIFICATE', c.der));
    return path;
  };
  const rootPath = pem('root.pem', anchor);
  const interPath = pem('intermediate.pem', inter);
  const leafPaths = leaves.map((c, i) => pem(`leaf-${i}.pem`, c));

  // The revoked leaves' serials are spread through the list; the rest are random, with assorted reasons.
  const reasons: RevocationReason[] = ['keyCompromise', 'superseded', 'cessationOfOperation', 'unspecified'];
  const revokedAt = new Date('2026-03-01T00:00:00Z');
  const spacing = Math.floor(CRL_ENTRIES / REVOKED_LEAVES);
  const entries: RevokedEntry[] = Array.from({ length: CRL_ENTRIES }, (_, i) => ({
    serial: i % spacing === 0 && i / spacing < REVOKED_LEAVES ? revoked[i / spacing]!.serialNumber : randomSerial(),
    revokedAt,
    reason: reasons[i % reasons.length]!,
  }));
  const crlDer = await issueCrl({
    issuer: inter,
    signer: keySigner(interKey),
    thisUpdate: new Date('2026-05-01T00:00:00Z'),
    nextUpdate: new Date('2026-07-01T00:00:00Z'),
    crlNumber: 1,
    entries,
  });
  const crlDerPath = join(dir, 'crl.der');
  const crlPemPath = join(dir, 'crl.pem');
  writeFileSync(crlDerPath, crlDer);
  writeFileSync(crlPemPath, pemEncode('X509 CRL', crlDer));

  // ---- Sealpost, in-process
  const ders = { root: anchor.der, inter: inter.der, leaves: leaves.map((c) => c.der) };
  const input = (leafCert: Certificate, interCert: Certificate, rootCert: Certificate): ValidationInput => ({
    leaf: leafCert,
    candidates: [interCert],
    trustAnchors: [rootCert],
    time: WHEN,
    purpose: 'sign',
  });
  const check = pathValidator.validate(input(Certificate.fromDer(ders.leaves[0]!), inter, anchor));
  if (!check.valid)
    progress(`WARNING: the chain does not validate: ${check.problems.map((p) => p.message).join('; ')}`);
  let next = 0;
  const nextLeaf = () => {
    next = (next + 1) % LEAVES;
    return next;
  };
  const parsedRoot = Certificate.fromDer(ders.root);
  const parsedInter = Certificate.fromDer(ders.inter);
  const parsedLeaves = ders.leaves.map((d) => Certificate.fromDer(d));
  progress('certificates: Sealpost CRL parse and memory');
  const parseTimes = Array.from({ length: quick ? 3 : 7 }, () => {
    const start = performance.now();
    parseCrl(crlDer);
    return performance.now() - start;
  });
  const memoryRun = spawnSync(node, ['--expose-gc', join(root, 'bench', 'crl-memory.ts'), crlDerPath], {
    encoding: 'utf8',
  });
  if (memoryRun.status !== 0) progress(`FAILED: bench/crl-memory.ts\n${memoryRun.stderr.slice(0, 600)}`);
  const memory = JSON.parse(memoryRun.stdout || '{}') as {
    entries?: number;
    parseMs?: number;
    rssGrowthMiB?: number;
    rssKeptMiB?: number;
    heapKeptMiB?: number;
  };
  const checkerStart = performance.now();
  const checker = createRevocationChecker({ crls: [crlDer] });
  const checkerMs = performance.now() - checkerStart;
  const revokedParsed = revoked.map((c) => Certificate.fromDer(c.der));
  const statusOf = (c: Certificate) => checker(c, parsedInter, WHEN).status;
  if (statusOf(parsedLeaves[0]!) !== 'good' || statusOf(revokedParsed[0]!) !== 'revoked') {
    progress(`WARNING: CRL lookups say ${statusOf(parsedLeaves[0]!)} / ${statusOf(revokedParsed[0]!)}`);
  }
  let nextRevoked = 0;
  const revocation = { mode: 'soft-fail' as const, check: checker };
  // One group of alternating windows, so that all six see the same load.
  progress('certificates: Sealpost validation and lookups');
  const [fresh, freshLeaf, reused, lookupGood, lookupRevoked, validateWithCrl] = windowRates([
    () => {
      const i = nextLeaf();
      pathValidator.validate(
        input(Certificate.fromDer(ders.leaves[i]!), Certificate.fromDer(ders.inter), Certificate.fromDer(ders.root)),
      );
    },
    () => {
      pathValidator.validate(input(Certificate.fromDer(ders.leaves[nextLeaf()]!), parsedInter, parsedRoot));
    },
    () => {
      pathValidator.validate(input(parsedLeaves[nextLeaf()]!, parsedInter, parsedRoot));
    },
    () => checker(parsedLeaves[nextLeaf()]!, parsedInter, WHEN),
    () => {
      nextRevoked = (nextRevoked + 1) % REVOKED_LEAVES;
      checker(revokedParsed[nextRevoked]!, parsedInter, WHEN);
    },
    () => {
      pathValidator.validate({ ...input(parsedLeaves[nextLeaf()]!, parsedInter, parsedRoot), revocation });
    },
  ]).map(median) as [number, number, number, number, number, number];

  // ---- OpenSSL, as command-line programs
  progress('certificates: openssl verify and openssl crl');
  const attime = ['-attime', String(WHEN.getTime() / 1000)];
  const verify = ['verify', ...attime, '-purpose', 'smimesign', '-CAfile', rootPath, '-untrusted', interPath];
  const withCrl = [...verify, '-crl_check', '-CRLfile', crlPemPath];
  const n = quick ? 3 : 7;
  const startupOpenssl = bestOf(n, () => openssl(['version'])).seconds;
  const verifyOne = bestOf(n, () => openssl([...verify, leafPaths[0]!]));
  const verifyMany = bestOf(quick ? 2 : 3, () => openssl([...verify, ...leafPaths]));
  const crlVerifyOne = bestOf(n, () => openssl([...withCrl, leafPaths[0]!]));
  const crlVerifyMany = bestOf(quick ? 2 : 3, () => openssl([...withCrl, ...leafPaths]));
  const crlParse = bestOf(n, () => openssl(['crl', '-in', crlDerPath, '-inform', 'DER', '-noout']));
  /** Seconds per extra leaf in one call over all the leaves: start-up and loading the CA files drop out. */
  const perLeaf = (one: Run, many: Run) => (many.seconds - one.seconds) / (LEAVES - 1);
  const opensslRate = 1 / perLeaf(verifyOne, verifyMany);
  const opensslCrlPerLeaf = perLeaf(crlVerifyOne, crlVerifyMany);
  const opensslLookup = opensslCrlPerLeaf - perLeaf(verifyOne, verifyMany);
  const opensslCrlParseMs = (crlParse.seconds - startupOpenssl) * 1000;
  const sealpostParseMs = median(parseTimes);

  // ---- the report
  const ms = (s: number) => `${fmt(s * 1000, 1)} ms`;
  const us = (perSecond: number) => `${fmt(1e6 / perSecond, 1)} µs`;
  const ratio = (x: number) => (Number.isFinite(x) && x > 0 ? `${fmt(x, 2)}×` : 'n/a');
  const okOr = (r: Run, text: string) => (r.ok ? text : 'FAILED');
  const crlMiB = crlDer.length / MiB;
  const section = [
    '### Certificates: path validation and a 100,000-entry CRL',
    '',
    `Generated by \`npm run bench${only ? ' -- --only certificates' : ''}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${quick ? ' (quick run)' : ''}; load average (1/5/15 min) at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}. OpenSSL CLI: ${opensslVersion}.`,
    '',
    `- Chain: RSA-2048 root → intermediate (pathLen 0) → leaf (digitalSignature, keyEncipherment, emailProtection), SHA-256 with RSA, built in this run with \`buildCertificate\`; ${LEAVES} leaves under one intermediate. Both tools validate at the same time (\`-attime\`) for S/MIME signing (\`purpose: 'sign'\`, \`-purpose smimesign\`).`,
    `- Sealpost runs in-process (${quick ? 4 : 11} alternating windows of ${quick ? 0.25 : 0.4} s, medians, rotating through the leaves). OpenSSL's in-process rate cannot be had from the CLI, so it is given twice: one \`openssl verify\` call per chain (start-up included), and the cost of one more leaf when all ${LEAVES} leaf files are passed to one call ((time of the ${LEAVES}-leaf call − time of the 1-leaf call) / ${LEAVES - 1}, best of ${quick ? 2 : 3}): start-up and loading the root and the intermediate drop out, reading and parsing each leaf file stays in.`,
    `- CRL: ${CRL_ENTRIES.toLocaleString('en-US')} entries (random 16-octet serials, ${REVOKED_LEAVES} of them the serials of revoked leaves; reason codes on three entries in four), signed by the intermediate with \`issueCrl\`: ${fmt(crlMiB, 2)} MiB DER. Sealpost parses it once into a Map keyed by serial number (\`parseCrl\`; \`createRevocationChecker\` parses once and keeps the Map, and verifies the CRL's signature once).`,
    '',
    '| path validation | Sealpost | OpenSSL (`openssl verify`) | Sealpost / OpenSSL |',
    '|---|---|---|---|',
    `| all three certificates parsed from DER, then validated | ${fmt(fresh, 0)} ops/s (${us(fresh)}) | ${okOr(verifyMany, `${fmt(opensslRate, 0)} ops/s (${us(opensslRate)}) per extra leaf in one call`)} | ${ratio(fresh / opensslRate)} |`,
    `| leaf parsed from DER, root and intermediate parsed once (what the one-call OpenSSL figure does) | ${fmt(freshLeaf, 0)} ops/s (${us(freshLeaf)}) | same | ${ratio(freshLeaf / opensslRate)} |`,
    `| re-validation of already parsed certificates | ${fmt(reused, 0)} ops/s (${us(reused)}) | no equivalent | ${ratio(reused / opensslRate)} |`,
    `| one command per chain | — | ${okOr(verifyOne, `${ms(verifyOne.seconds)} per call (\`openssl version\`: ${ms(startupOpenssl)}), peak RSS ${rssCell(verifyOne)}`)} | — |`,
    '',
    '| 100,000-entry CRL | Sealpost | OpenSSL | Sealpost / OpenSSL (speed) |',
    '|---|---|---|---|',
    `| parse | \`parseCrl\` ${fmt(sealpostParseMs, 1)} ms (median of ${parseTimes.length}; first parse in a fresh process ${fmt(memory.parseMs ?? Number.NaN, 1)} ms; \`createRevocationChecker\` ${fmt(checkerMs, 1)} ms) | ${okOr(crlParse, `\`openssl crl -inform DER -noout\` ${ms(crlParse.seconds)} per call, ${fmt(opensslCrlParseMs, 1)} ms without start-up`)} | ${ratio(opensslCrlParseMs / sealpostParseMs)} |`,
    `| memory | parsed CRL keeps ${fmt(memory.heapKeptMiB ?? Number.NaN, 1)} MiB of heap and Buffers after GC; RSS +${fmt(memory.rssGrowthMiB ?? Number.NaN, 1)} MiB during the parse, +${fmt(memory.rssKeptMiB ?? Number.NaN, 1)} MiB after GC | peak RSS: \`openssl crl\` ${rssCell(crlParse)}, \`openssl verify -crl_check\` ${rssCell(crlVerifyOne)} (whole process; \`openssl verify\` without the CRL ${rssCell(verifyOne)}) | — |`,
    `| status lookup per certificate (checker built once) | not revoked ${us(lookupGood)}, revoked ${us(lookupRevoked)} | extra time per leaf that \`-crl_check\` adds in one call over ${LEAVES} leaves: ${okOr(crlVerifyMany, `${fmt(opensslLookup * 1e6, 1)} µs`)} | ${ratio(lookupGood * opensslLookup)} |`,
    `| path validation with the CRL check (parsed certificates; Sealpost soft-fail, which also asks about the intermediate) | ${fmt(validateWithCrl, 0)} ops/s (${us(validateWithCrl)}) | ${okOr(crlVerifyMany, `${fmt(1 / opensslCrlPerLeaf, 0)} ops/s (${fmt(opensslCrlPerLeaf * 1e6, 1)} µs) per extra leaf in one call`)} | ${ratio(validateWithCrl * opensslCrlPerLeaf)} |`,
    `| one command per chain with \`-crl_check\` | — | ${okOr(crlVerifyOne, `${ms(crlVerifyOne.seconds)} per call`)} | — |`,
    '',
  ];
  const targets = [
    `${CERT_TARGETS[0]} (3 certificates, RSA-2048) beside \`openssl verify\` | Sealpost ${fmt(fresh, 0)} ops/s parsing all three, ${fmt(reused, 0)} ops/s re-validating; OpenSSL ${fmt(opensslRate, 0)} ops/s per extra leaf in one call (${ratio(fresh / opensslRate)} / ${ratio(reused / opensslRate)}), ${ms(verifyOne.seconds)} per call | reported |`,
    `${CERT_TARGETS[1]}: parsed once, looked up by serial | parse ${fmt(sealpostParseMs, 0)} ms (OpenSSL ${fmt(opensslCrlParseMs, 0)} ms net), ${fmt(memory.heapKeptMiB ?? Number.NaN, 0)} MiB kept; lookup in a Map keyed by serial ${us(lookupGood)} per certificate | reported |`,
  ];
  rmSync(dir, { recursive: true, force: true });
  return { targets, section };
}

const CERT_BEGIN = '<!-- bench-certificates:begin (generated by npm run bench; edit outside these markers) -->';
const CERT_END = '<!-- bench-certificates:end -->';
const BEGIN = '<!-- bench:begin (generated by npm run bench; edit outside these markers) -->';
const END = '<!-- bench:end -->';
const TARGETS_HEAD = ['### Targets', '', '| target | result | status |', '|---|---|---|'];

/** `doc` with the text between `begin` and `end` (markers kept) replaced, or undefined without the markers. */
function replaceBetween(doc: string, begin: string, end: string, body: string): string | undefined {
  const a = doc.indexOf(begin);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) return undefined;
  return `${doc.slice(0, a)}${begin}\n${body}\n${end}${doc.slice(b + end.length)}`;
}

/** The Targets table's rows starting with one of `prefixes` replaced (or, the first time, appended to the table). */
function replaceTargets(doc: string, prefixes: readonly string[], rows: string[]): string {
  const lines = doc.split('\n');
  const at = lines.indexOf(TARGETS_HEAD[0]!);
  if (at < 0) return doc;
  const first = at + TARGETS_HEAD.length;
  let end = first;
  while (lines[end]?.startsWith('|')) end++;
  const kept = lines.slice(first, end).filter((l) => !prefixes.some((p) => l.startsWith(p)));
  lines.splice(first, end - first, ...kept, ...rows);
  return lines.join('\n');
}

/** One part's block replaced, or the first time put at the end of the generated section; then its Targets rows. */
function replacePart(
  doc: string,
  begin: string,
  end: string,
  prefixes: readonly string[],
  part: { targets: string[]; section: string[] },
): string | undefined {
  const block = [begin, ...part.section, end].join('\n');
  const replaced =
    replaceBetween(doc, begin, end, part.section.join('\n')) ??
    (doc.includes(END) ? doc.replace(END, `${block}\n${END}`) : undefined);
  return replaced === undefined ? undefined : replaceTargets(replaced, prefixes, part.targets);
}

const SERVER_BEGIN = '<!-- bench-server:begin (generated by npm run bench; edit outside these markers) -->';
const SERVER_END = '<!-- bench-server:end -->';

const DIRECTORY_BEGIN = '<!-- bench-directory:begin (generated by npm run bench; edit outside these markers) -->';
const DIRECTORY_END = '<!-- bench-directory:end -->';

const runs = (part: string) => only === undefined || only === part;
const messages = only === undefined ? measureMessages() : undefined;
const certificates = runs('certificates') ? await measureCertificates() : undefined;
const server = runs('server') ? await measureServer({ quick, progress }) : undefined;
const directory = runs('directory') ? await measureDirectory({ quick, progress }) : undefined;
const certificateBlock = certificates ? [CERT_BEGIN, ...certificates.section, CERT_END].join('\n') : undefined;
const serverBlock = server ? [SERVER_BEGIN, ...server.section, SERVER_END].join('\n') : undefined;
const directoryBlock = directory ? [DIRECTORY_BEGIN, ...directory.section, DIRECTORY_END].join('\n') : undefined;
const partTargets = [...(certificates?.targets ?? []), ...(server?.targets ?? []), ...(directory?.targets ?? [])];
const blocks = [certificateBlock, serverBlock, directoryBlock].filter((b) => b !== undefined);
const generated = messages
  ? [...TARGETS_HEAD, ...messages.targets, ...partTargets, '', ...messages.body, ...blocks].join('\n')
  : [...partTargets, '', ...blocks].join('\n');
process.stdout.write(`${generated}\n`);
if (quick) {
  progress('quick run: docs/benchmarks.md left as it is');
} else {
  const previous = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '';
  let doc: string | undefined;
  if (messages) {
    doc = replaceBetween(previous, BEGIN, END, generated) ?? `# Benchmarks\n\n${BEGIN}\n${generated}\n${END}\n`;
  } else {
    // A partial run rewrites only its own part: its block and its Targets rows.
    doc = previous;
    if (certificates) doc = replacePart(doc, CERT_BEGIN, CERT_END, CERT_TARGETS, certificates);
    if (server && doc !== undefined) doc = replacePart(doc, SERVER_BEGIN, SERVER_END, SERVER_TARGETS, server);
    if (directory && doc !== undefined)
      doc = replacePart(doc, DIRECTORY_BEGIN, DIRECTORY_END, DIRECTORY_TARGETS, directory);
  }
  if (doc === undefined) {
    progress(`${DOC} has no bench markers: run the full benchmark first; nothing written`);
    process.exitCode = 1;
  } else {
    writeFileSync(DOC, doc);
    progress(`wrote ${DOC}`);
  }
}
