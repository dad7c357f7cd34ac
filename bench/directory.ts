/**
 * The directory part of `npm run bench` (`--only directory` runs it alone): Sealpost's LDAP key
 * server beside OpenLDAP slapd, both holding the same users with certificates (1,000,000; 10,000
 * with `--quick`), and the recipients resolve API.
 *
 * Seeding: the CA, an administrator and an API token go through the services; the users, their
 * directory profiles and their certificates are written straight into SQLite in large transactions
 * (one by one through the services would take hours). The certificates are real and distinct,
 * issued by the CA with the project's builder on worker threads (bench/directory-certs.ts); all
 * users share one subject key. The same entries are written as LDIF and bulk-loaded into slapd
 * (`slapadd -q`, through the test harness packages/ldap/test/support/slapd.ts).
 *
 * Measuring: Sealpost is `sealpost serve` as shipped, a child process; the load generator
 * (bench/directory-load.ts) is a third process, the same for both directories, which run one after
 * the other (order alternating) at each setting. Scratch files live in a fresh directory under the
 * OS temp directory (about 6 GB at a million users) and are deleted at the end, also on failure or
 * Ctrl-C. With SEALPOST_BENCH_CPU_PROFILE=<dir>, `sealpost serve` runs under `node --cpu-prof` and
 * leaves its profile of the whole run there.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { Certificate } from '@sealpost/core';
import { createLogger, createServices } from '@sealpost/server';
import { caKeyAad, type Row, type SqlValue, systemClock } from '@sealpost/services';
import { loadMasterKey, openDatabase } from '@sealpost/store';
import { RawClient, searchMessage } from '../packages/ldap/test/support/raw-client.ts';
import { Slapd } from '../packages/ldap/test/support/slapd.ts';
import { searchKeys } from '../packages/services/src/directory/entries.ts';
import type { LoadReport, LoadSpec } from './directory-load.ts';
import { PEOPLE_DN, userOf } from './directory-users.ts';

export interface DirectoryBenchOptions {
  readonly quick: boolean;
  readonly progress: (line: string) => void;
}

export interface DirectoryBench {
  /** Rows of the Targets table, each starting with one of DIRECTORY_TARGETS. */
  readonly targets: string[];
  /** The section between the `bench-directory:` markers. */
  readonly section: string[];
}

/** How the directory's Targets rows start: a partial run replaces exactly these. */
export const DIRECTORY_TARGETS = [
  '| LDAP `(mail=…)` lookup: throughput ≥ slapd',
  '| LDAP `(mail=…)` lookup: p99 < 5 ms',
  '| recipients resolve API, 10 addresses',
];

const root = new URL('..', import.meta.url).pathname;
const BIN = join(root, 'packages', 'cli', 'bin', 'sealpost.mjs');
const CERTS_WORKER = new URL('./directory-certs.ts', import.meta.url);
const LOAD_SCRIPT = new URL('./directory-load.ts', import.meta.url).pathname;
const MiB = 1024 * 1024;
const DAY_MS = 86_400_000;
/** Users per worker task and per seeding transaction. */
const CHUNK = 2000;
/** Rows per INSERT statement (10 columns at most: well under SQLite's 32,766 parameters). */
const ROWS_PER_INSERT = 200;
const silent = { write: () => {} };

// ---------------------------------------------------------------- seeding

interface Seeded {
  readonly users: number;
  readonly dataDir: string;
  readonly masterKeyBase64: string;
  /** A bearer token of the administrator, scoped to recipients.resolve. */
  readonly token: string;
  readonly ldif: string;
  readonly seconds: number;
  readonly databaseBytes: number;
  readonly ldifBytes: number;
  readonly certificateBytes: number;
}

/** Bytes a file takes on disk: mdb's file is sparse, its apparent size the map's ceiling. */
function diskBytes(path: string): number {
  return statSync(path).blocks * 512;
}

/** `rows` as one multi-row INSERT: `INSERT INTO t (a, b) VALUES (?, ?), (?, ?)…`. */
function insertSql(head: string, columns: number, rows: number): string {
  const one = `(${Array.from({ length: columns }, () => '?').join(', ')})`;
  return `${head} VALUES ${Array.from({ length: rows }, () => one).join(', ')}`;
}

async function seed(scratch: string, users: number, o: DirectoryBenchOptions): Promise<Seeded> {
  const started = performance.now();
  const dataDir = join(scratch, 'sealpost');
  const masterKeyBase64 = randomBytes(32).toString('base64');
  const db = await openDatabase({ dataDir });
  try {
    const masterKey = await loadMasterKey({ base64: masterKeyBase64 });
    const services = await createServices({
      db,
      masterKey,
      clock: systemClock,
      log: createLogger({ sink: silent, level: 'error' }),
    });
    const admin = await services.accounts.createAdmin('admin@example.org', 'correct horse battery staple', 'Admin');
    const { token } = await services.accounts.createToken('system', admin.userId, 'bench', ['recipients.resolve']);
    await services.ca.installDefaultTemplates('system');
    const ca = await services.ca.createRoot('system', {
      name: 'Bench Directory Root',
      subject: [
        { type: 'O', value: 'Sealpost Bench' },
        { type: 'CN', value: 'Bench Directory Root' },
      ],
      keyAlgorithm: 'p-256',
      validityDays: 3650,
      crlUrl: 'http://crl.example.test/directory.crl',
      ocspUrl: 'http://ocsp.example.test/',
    });
    const caRow = await db.get<{ key_secret_id: string; certificate: Uint8Array } & Row>(
      'SELECT key_secret_id, certificate FROM cas WHERE id = ?',
      [ca.id],
    );
    const caPkcs8 = await services.vault.open(db, caRow!.key_secret_id, caKeyAad(ca.id));
    const subject = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const now = Date.now();
    // Whole seconds, as CaService issues; valid from yesterday for a year.
    const notBefore = new Date(Math.floor((now - DAY_MS) / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + 365 * DAY_MS);
    const workers = Array.from(
      { length: availableParallelism() },
      () =>
        new Worker(CERTS_WORKER, {
          workerData: {
            caPkcs8,
            caCertificate: caRow!.certificate,
            subjectSpki: subject.publicKey.export({ type: 'spki', format: 'der' }),
            notBefore: notBefore.toISOString(),
            notAfter: notAfter.toISOString(),
            crlUrl: 'http://crl.example.test/directory.crl',
            ocspUrl: 'http://ocsp.example.test/',
          },
        }),
    );
    caPkcs8.fill(0);

    const ldif = join(scratch, 'people.ldif');
    const ldifFd = openSync(ldif, 'w');
    let ldifBytes = 0;
    let certificateBytes = 0;
    const createdAt = new Date(now).toISOString();
    const store = async (from: number, ders: Uint8Array[], serials: string[]) => {
      const userRows: SqlValue[][] = [];
      const profileRows: SqlValue[][] = [];
      const certificateRows: SqlValue[][] = [];
      const text: string[] = [];
      for (let k = 0; k < ders.length; k++) {
        const u = userOf(from + k);
        const id = randomUUID();
        const keys = searchKeys({ ...u });
        userRows.push([id, u.email, u.displayName, 'active', createdAt]);
        profileRows.push([
          id,
          u.givenName,
          u.surname,
          u.uid,
          keys.mail_key,
          keys.cn_key,
          keys.sn_key,
          keys.given_name_key,
          keys.uid_key,
        ]);
        certificateRows.push([
          randomUUID(),
          serials[k]!,
          ca.id,
          id,
          'dual-use',
          ders[k]!,
          notBefore.toISOString(),
          notAfter.toISOString(),
          'valid',
          createdAt,
        ]);
        certificateBytes += ders[k]!.length;
        text.push(
          `dn: mail=${u.email},${PEOPLE_DN}\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n` +
            `objectClass: inetOrgPerson\nmail: ${u.email}\ncn: ${u.displayName}\nsn: ${u.surname}\n` +
            `givenName: ${u.givenName}\nuid: ${u.uid}\nuserCertificate;binary:: ${Buffer.from(ders[k]!).toString('base64')}\n\n`,
        );
      }
      await db.transaction(async (tx) => {
        const put = async (head: string, columns: number, rows: SqlValue[][]) => {
          for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
            const part = rows.slice(i, i + ROWS_PER_INSERT);
            await tx.run(insertSql(head, columns, part.length), part.flat());
          }
        };
        await put('INSERT INTO users (id, email, display_name, status, created_at)', 5, userRows);
        await put(
          `INSERT INTO user_profiles (user_id, given_name, surname, uid, mail_key, cn_key, sn_key, given_name_key, uid_key)`,
          9,
          profileRows,
        );
        await put(
          `INSERT INTO certificates (id, serial, ca_id, user_id, template, der, not_before, not_after, status, created_at)`,
          10,
          certificateRows,
        );
      });
      ldifBytes += writeSync(ldifFd, text.join(''));
    };

    let stored = 0;
    let nextFrom = 0;
    let lastReport = performance.now();
    try {
      await new Promise<void>((resolve, reject) => {
        let writing = Promise.resolve();
        const give = (w: Worker) => {
          if (nextFrom >= users) return;
          const to = Math.min(users, nextFrom + CHUNK);
          w.postMessage({ from: nextFrom, to });
          nextFrom = to;
        };
        for (const w of workers) {
          w.on('error', reject);
          w.on('message', (m: { from: number; ders: Uint8Array[]; serials: string[] }) => {
            give(w);
            writing = writing
              .then(() => store(m.from, m.ders, m.serials))
              .then(() => {
                stored += m.ders.length;
                if (performance.now() - lastReport > 10_000 || stored === users) {
                  lastReport = performance.now();
                  const s = (performance.now() - started) / 1000;
                  o.progress(
                    `directory: seeded ${stored.toLocaleString('en-US')} of ${users.toLocaleString('en-US')} users (${s.toFixed(0)} s)`,
                  );
                }
                if (stored === users) resolve();
              }, reject);
          });
          // Two tasks each, so a worker never waits for the next one.
          give(w);
          give(w);
        }
      });
    } finally {
      closeSync(ldifFd);
      await Promise.all(workers.map((w) => w.terminate()));
    }
    await db.run('PRAGMA wal_checkpoint(TRUNCATE)');
    return {
      users,
      dataDir,
      masterKeyBase64,
      token,
      ldif,
      seconds: (performance.now() - started) / 1000,
      databaseBytes: diskBytes(join(dataDir, 'sealpost.db')),
      ldifBytes,
      certificateBytes,
    };
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------- the two directories

/** A directory server under test: where it listens and which process to account CPU and memory to. */
interface Target {
  readonly name: 'slapd' | 'Sealpost';
  readonly host: string;
  readonly port: number;
  readonly pid: number;
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds a process (all its threads) has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Resident memory of a process in MiB (file-backed pages included: slapd's mdb maps its database). */
function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

interface Sealpost {
  readonly target: Target;
  readonly httpUrl: string;
  readonly ldapUrl: string;
  /** Log bytes written while running (one JSON line per event at the default level). */
  readonly logBytes: () => number;
  stop(): Promise<void>;
}

/**
 * `sealpost serve` as shipped, on free loopback ports, its LDAP key server holding PEOPLE_DN.
 * `cpuProfileDir` runs it under `node --cpu-prof` (the profile is written when it stops).
 */
async function startSealpost(s: Seeded, scratch: string, cpuProfileDir: string | undefined): Promise<Sealpost> {
  const config = join(scratch, 'sealpost.json');
  writeFileSync(config, JSON.stringify({ ldap: { baseDn: PEOPLE_DN } }));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`]),
      BIN,
      'serve',
      ...['--config', config, '--http', '127.0.0.1:0', '--ldap', '127.0.0.1:0', '--data', s.dataDir],
    ],
    { env: { ...process.env, SEALPOST_MASTER_KEY: s.masterKeyBase64 }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  let logBytes = 0;
  const urls = await new Promise<{ http: string; ldap: string }>((resolve, reject) => {
    let http: string | undefined;
    let ldap: string | undefined;
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      logBytes += line.length + 1;
      http ??= /sealpost listening on (http:\/\/[^\s"]+)/.exec(line)?.[1];
      ldap ??= /sealpost ldap listening on (ldap:\/\/[^\s"]+)/.exec(line)?.[1];
      if (http !== undefined && ldap !== undefined) resolve({ http, ldap });
    });
    child.once('exit', (code) => reject(new Error(`sealpost serve exited (${code}) before listening:\n${stderr}`)));
  });
  const ldap = new URL(urls.ldap);
  return {
    target: { name: 'Sealpost', host: ldap.hostname, port: Number(ldap.port), pid: child.pid! },
    httpUrl: urls.http,
    ldapUrl: urls.ldap,
    logBytes: () => logBytes,
    stop: async () => {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
      children.delete(child);
    },
  };
}

/** Child processes to kill if the benchmark dies before stopping them (they would hold ports and files). */
const children = new Set<ChildProcess>();

// ---------------------------------------------------------------- load

interface Measured extends LoadReport {
  /** CPU the directory server used over the measured window, in cores. */
  readonly serverCpu: number;
}

/** One run of the load generator (its own process); the server's CPU is sampled at its window marks. */
async function runLoad(spec: LoadSpec, serverPid: number): Promise<Measured> {
  const child = spawn(process.execPath, [LOAD_SCRIPT, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  let start: { cpu: number; at: number } | undefined;
  let end: { cpu: number; at: number } | undefined;
  let report: LoadReport | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const sample = { cpu: cpuSeconds(serverPid), at: performance.now() };
    if (line === 'window start') start = sample;
    else if (line === 'window end') end = sample;
    else report = JSON.parse(line) as LoadReport;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  children.delete(child);
  if (code !== 0 || report === undefined) throw new Error(`bench/directory-load.ts failed (${code}):\n${stderr}`);
  const serverCpu = start && end ? (end.cpu - start.cpu) / ((end.at - start.at) / 1000) : Number.NaN;
  return { ...report, serverCpu };
}

/**
 * For how many of `n` random users both directories answer the same certificate (DER compared byte
 * for byte), one naming the user's address; before any load.
 */
async function crossCheck(targets: readonly Target[], users: number, n: number): Promise<number> {
  const clients = await Promise.all(targets.map((t) => RawClient.connect(t.port, t.host)));
  try {
    let same = 0;
    for (let k = 1; k <= n; k++) {
      const email = userOf(Math.floor(Math.random() * users)).email;
      const certificates: Buffer[] = [];
      for (const client of clients) {
        client.send(
          searchMessage(k, {
            baseObject: PEOPLE_DN,
            filter: `(mail=${email})`,
            attributes: ['userCertificate;binary'],
          }),
        );
        const [entry] = await client.untilDone(k);
        const op = entry?.op;
        const value = op?.type === 'searchResultEntry' ? op.attributes[0]?.values[0] : undefined;
        if (value === undefined) throw new Error(`no certificate for ${email}`);
        certificates.push(Buffer.from(value));
      }
      const named = Certificate.fromDer(certificates[0]!).subjectAltNames.rfc822Names.includes(email);
      if (named && certificates.every((c) => c.equals(certificates[0]!))) same++;
    }
    return same;
  } finally {
    for (const c of clients) c.close();
  }
}

// ---------------------------------------------------------------- the run

const CONNECTIONS = [4, 16, 64];
/** Concurrency of the 10-address searches and of the resolve API. */
const MULTI_CONNECTIONS = 16;
const RECIPIENTS = 10;
const P99_TARGET_MS = 5;

const OU_LDIF = `dn: ${PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people\n`;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Rounds of one setting: median rate, p50, p99 and CPU, all failures, and the worst generator load. */
interface Setting {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly serverCpu: number;
  readonly generatorCpu: number;
  readonly failures: Record<string, number>;
  readonly parsed: number;
  readonly rounds: Measured[];
}

function summarize(rounds: Measured[]): Setting {
  const failures: Record<string, number> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  return {
    perSecond: median(rounds.map((r) => r.perSecond)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    serverCpu: median(rounds.map((r) => r.serverCpu)),
    generatorCpu: Math.max(...rounds.map((r) => r.generatorCpu)),
    failures,
    parsed: rounds.reduce((n, r) => n + r.parsed, 0),
    rounds,
  };
}

export async function measureDirectory(o: DirectoryBenchOptions): Promise<DirectoryBench> {
  const users = o.quick ? 10_000 : 1_000_000;
  const rounds = o.quick ? 1 : 3;
  const warmMs = o.quick ? 500 : 1000;
  const ms = o.quick ? 2000 : 5000;
  const cpuProfileDir = process.env['SEALPOST_BENCH_CPU_PROFILE'];
  const scratch = mkdtempSync(join(tmpdir(), 'sealpost-bench-directory-'));
  let slapd: Slapd | undefined;
  let sealpost: Sealpost | undefined;
  // On Ctrl-C or a crash (run.ts exits on SIGINT), nothing may stay behind: processes, ports, gigabytes.
  const emergency = () => {
    for (const c of children) c.kill('SIGKILL');
    if (slapd !== undefined) {
      try {
        process.kill(Number(readFileSync(join(slapd.dir, 'slapd.pid'), 'utf8').trim()), 'SIGKILL');
      } catch {}
      rmSync(slapd.dir, { recursive: true, force: true });
    }
    rmSync(scratch, { recursive: true, force: true });
  };
  process.on('exit', emergency);
  try {
    const loadBefore = loadavg();
    o.progress(`directory: seeding ${users.toLocaleString('en-US')} users with certificates (SQLite, LDIF)`);
    const s = await seed(scratch, users, o);
    o.progress(`directory: slapadd -q of ${users.toLocaleString('en-US')} entries`);
    const slapdStarted = performance.now();
    slapd = await Slapd.start({ load: [OU_LDIF, { file: s.ldif }] });
    const slapdSeconds = (performance.now() - slapdStarted) / 1000;
    rmSync(s.ldif);
    const slapdUrl = new URL(slapd.url);
    const slapdTarget: Target = {
      name: 'slapd',
      host: slapdUrl.hostname,
      port: Number(slapdUrl.port),
      pid: Number(readFileSync(join(slapd.dir, 'slapd.pid'), 'utf8').trim()),
    };
    o.progress('directory: starting sealpost serve');
    const sealpostStarted = performance.now();
    sealpost = await startSealpost(s, scratch, cpuProfileDir);
    const checked = await crossCheck([sealpost.target, slapdTarget], users, o.quick ? 50 : 200);
    const sealpostReadySeconds = (performance.now() - sealpostStarted) / 1000;
    const targets = [slapdTarget, sealpost.target];

    /** Every round runs both targets, the order alternating between rounds. */
    const compare = async (spec: (t: Target, seed: number) => LoadSpec, label: string) => {
      const byTarget = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
      for (let r = 0; r < rounds; r++) {
        for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
          o.progress(`directory: ${label}, ${t.name}, round ${r + 1} of ${rounds}`);
          byTarget.get(t.name)!.push(await runLoad(spec(t, 1000 + r), t.pid));
        }
      }
      return new Map([...byTarget].map(([name, list]) => [name, summarize(list)]));
    };
    const ldap = (connections: number, addresses: number) => (t: Target, seed: number) =>
      ({ kind: 'ldap', host: t.host, port: t.port, users, addresses, connections, warmMs, ms, seed }) as const;
    const single = new Map<number, Map<string, Setting>>();
    for (const c of CONNECTIONS) single.set(c, await compare(ldap(c, 1), `(mail=…), ${c} connections`));
    const multi = await compare(ldap(MULTI_CONNECTIONS, RECIPIENTS), `OR of ${RECIPIENTS} addresses`);
    const resolveRounds: Measured[] = [];
    for (let r = 0; r < rounds; r++) {
      o.progress(`directory: resolve API, ${RECIPIENTS} addresses, round ${r + 1} of ${rounds}`);
      resolveRounds.push(
        await runLoad(
          {
            kind: 'resolve',
            url: sealpost.httpUrl,
            token: s.token,
            users,
            addresses: RECIPIENTS,
            connections: MULTI_CONNECTIONS,
            warmMs,
            ms,
            seed: 2000 + r,
          },
          sealpost.target.pid,
        ),
      );
    }
    const resolve = summarize(resolveRounds);
    const memory = { slapd: rssMiB(slapdTarget.pid), sealpost: rssMiB(sealpost.target.pid) };
    const logBytes = sealpost.logBytes();
    const slapdDbBytes = diskBytes(join(slapd.dir, 'db', 'data.mdb'));
    await sealpost.stop();
    sealpost = undefined;
    if (cpuProfileDir !== undefined) o.progress(`directory: CPU profile of sealpost serve written to ${cpuProfileDir}`);
    return report({
      o,
      users,
      rounds,
      warmMs,
      ms,
      seeded: s,
      slapdSeconds,
      sealpostReadySeconds,
      checked,
      single,
      multi,
      resolve,
      memory,
      logBytes,
      slapdDbBytes,
      loadAverages: [loadBefore, loadavg()],
    });
  } finally {
    await sealpost?.stop();
    await slapd?.stop();
    rmSync(scratch, { recursive: true, force: true });
    process.off('exit', emergency);
  }
}

// ---------------------------------------------------------------- the report

interface Results {
  readonly o: DirectoryBenchOptions;
  readonly users: number;
  readonly rounds: number;
  readonly warmMs: number;
  readonly ms: number;
  readonly seeded: Seeded;
  readonly slapdSeconds: number;
  readonly sealpostReadySeconds: number;
  readonly checked: number;
  readonly single: ReadonlyMap<number, ReadonlyMap<string, Setting>>;
  readonly multi: ReadonlyMap<string, Setting>;
  readonly resolve: Setting;
  readonly memory: { readonly slapd: number; readonly sealpost: number };
  readonly logBytes: number;
  readonly slapdDbBytes: number;
  /** 1/5/15-minute load averages at the start and at the end. */
  readonly loadAverages: readonly [number[], number[]];
}

function report(r: Results): DirectoryBench {
  const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
  const count = (n: number) => n.toLocaleString('en-US');
  const mib = (bytes: number) => `${fmt(bytes / MiB)} MiB`;
  const lat = (x: Setting) => `${fmt(x.p50, 2)} / ${fmt(x.p99, 2)} ms`;
  const failed = (...xs: Setting[]) => {
    const all: Record<string, number> = {};
    for (const x of xs) for (const [k, v] of Object.entries(x.failures)) all[k] = (all[k] ?? 0) + v;
    const list = Object.entries(all);
    return list.length === 0 ? '0' : list.map(([k, v]) => `${v} × ${k}`).join(', ');
  };
  const ratioOf = (pair: ReadonlyMap<string, Setting>) => {
    const a = pair.get('slapd')!.rounds;
    const b = pair.get('Sealpost')!.rounds;
    return median(a.map((x, i) => b[i]!.perSecond / x.perSecond));
  };
  const slapdVersion =
    /slapd ([^\s]+)/.exec(spawnSync('/usr/sbin/slapd', ['-VV'], { encoding: 'utf8' }).stderr)?.[1] ?? 'unknown';
  const rows = [...r.single].map(([c, pair]) => {
    const slapd = pair.get('slapd')!;
    const ours = pair.get('Sealpost')!;
    return `| \`(mail=…)\` | ${c} | ${fmt(slapd.perSecond)} | ${fmt(ours.perSecond)} | ${fmt(ratioOf(pair), 2)}× | ${lat(slapd)} | ${lat(ours)} | ${fmt(slapd.serverCpu, 2)} | ${fmt(ours.serverCpu, 2)} | ${failed(slapd, ours)} |`;
  });
  const mSlapd = r.multi.get('slapd')!;
  const mOurs = r.multi.get('Sealpost')!;
  rows.push(
    `| OR of ${RECIPIENTS} \`(mail=…)\` (${RECIPIENTS} entries per search) | ${MULTI_CONNECTIONS} | ${fmt(mSlapd.perSecond)} | ${fmt(mOurs.perSecond)} | ${fmt(ratioOf(r.multi), 2)}× | ${lat(mSlapd)} | ${lat(mOurs)} | ${fmt(mSlapd.serverCpu, 2)} | ${fmt(mOurs.serverCpu, 2)} | ${failed(mSlapd, mOurs)} |`,
  );
  const generatorCpu = Math.max(
    ...[...r.single.values()].flatMap((p) => [...p.values()].map((x) => x.generatorCpu)),
    ...[...r.multi.values()].map((x) => x.generatorCpu),
    r.resolve.generatorCpu,
  );
  const parsed =
    [...r.single.values()].flatMap((p) => [...p.values()]).reduce((n, x) => n + x.parsed, 0) +
    [...r.multi.values()].reduce((n, x) => n + x.parsed, 0);
  const s = r.seeded;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${fmt(totalmem() / 1024 ** 3)} GiB RAM`;
  const section = [
    `### Directory: the LDAP key server beside OpenLDAP slapd, ${count(r.users)} users`,
    '',
    `Generated by \`npm run bench${r.o.quick ? ' -- --quick' : ''}\` (\`--only directory\` runs this part alone) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${r.o.quick ? ' (quick run)' : ''}. Machine: ${machine}; load average (1/5/15 min) at the start ${r.loadAverages[0].map((l) => l.toFixed(2)).join(' / ')}, at the end ${r.loadAverages[1].map((l) => l.toFixed(2)).join(' / ')}. OpenLDAP slapd ${slapdVersion}.`,
    '',
    `- Data: ${count(r.users)} users (inetOrgPerson: mail, cn, sn, givenName, uid), each with one currently valid certificate (P-256 subject key shared by all, ${fmt(s.certificateBytes / r.users)} octets DER on average, distinct serial, subject and signature) issued by a P-256 root CA created through \`CaService\`. Sealpost's SQLite database was written directly (users, user_profiles with their search keys, certificates; ${count(CHUNK)} users per transaction, certificates issued with \`issueCertificate\` on ${availableParallelism()} worker threads): ${fmt(s.seconds)} s, ${fmt(r.users / s.seconds)} users/s, ${mib(s.databaseBytes)}. The same entries as LDIF (${mib(s.ldifBytes)}) were bulk-loaded with \`slapadd -q\` and slapd started in ${fmt(r.slapdSeconds)} s (mdb, ${mib(r.slapdDbBytes)}).`,
    `- Sealpost: \`sealpost serve\` as shipped (SQLite, default settings, log level info: ${mib(r.logBytes)} of log lines over the run), first answer ${fmt(r.sealpostReadySeconds, 1)} s after the start. slapd: back_mdb, equality index on mail and objectClass, default threads and cache, started by the test harness (packages/ldap/test/support/slapd.ts). Both hold the people under \`${PEOPLE_DN}\` and were searched anonymously over ldap:// on loopback.`,
    `- Correctness: before the load, ${r.checked} of ${r.o.quick ? 50 : 200} random addresses got byte-identical certificates from both servers. During the load every answer was checked (exactly the entries asked for, each with its mail value and one certificate naming the address; ${count(parsed)} certificates fully parsed); a wrong answer counts as failed, never as a lookup.`,
    `- Load: one generator process (bench/directory-load.ts, on Node), N connections each with one search outstanding and the next sent when its SearchResultDone arrives; searches pre-encoded for random users (base \`${PEOPLE_DN}\`, scope sub, attributes mail and userCertificate;binary), the same sequence for both servers. ${r.warmMs / 1000} s warm-up, ${r.ms / 1000} s measured, ${r.rounds} round${r.rounds === 1 ? '' : 's'} per setting with slapd and Sealpost in alternating order; medians of the rounds (the ratio is the median of the per-round ratios). Latency is per search, from the write of the request to the arrival of its SearchResultDone. CPU is each server's (all threads, from /proc) over the measured window, in cores. The machine's ${cpus().length} cores are shared by the server under test, the generator (up to ${fmt(100 * generatorCpu)} % of a core) and whatever else runs.`,
    '',
    '| search | connections | slapd searches/s | Sealpost searches/s | Sealpost / slapd | slapd p50 / p99 | Sealpost p50 / p99 | slapd CPU | Sealpost CPU | failed |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `- Resolve API: \`POST /api/v1/recipients/resolve\` with ${RECIPIENTS} distinct random addresses, ${MULTI_CONNECTIONS} concurrent keep-alive clients (node:http, one request outstanding each), bearer API token scoped to \`recipients.resolve\`; an answer counts when all ${RECIPIENTS} addresses came back with a certificate. Same warm-up, window and rounds.`,
    '',
    '| endpoint | clients | requests/s | addresses/s | p50 | p99 | Sealpost CPU | failed |',
    '|---|---|---|---|---|---|---|---|',
    `| POST /api/v1/recipients/resolve (${RECIPIENTS} addresses) | ${MULTI_CONNECTIONS} | ${fmt(r.resolve.perSecond)} | ${fmt(r.resolve.perSecond * RECIPIENTS)} | ${fmt(r.resolve.p50, 2)} ms | ${fmt(r.resolve.p99, 2)} ms | ${fmt(r.resolve.serverCpu, 2)} | ${failed(r.resolve)} |`,
    '',
    `Resident memory after the load: slapd ${fmt(r.memory.slapd)} MiB (including the pages of its memory-mapped database), Sealpost ${fmt(r.memory.sealpost)} MiB.`,
    '',
  ];
  const perConnections = (f: (pair: ReadonlyMap<string, Setting>) => string) =>
    [...r.single].map(([c, pair]) => `${c} connections ${f(pair)}`).join('; ');
  const throughputMet = [...r.single.values()].every((pair) => ratioOf(pair) >= 1);
  const latencyMet = [...r.single.values()].every((pair) => pair.get('Sealpost')!.p99 < P99_TARGET_MS);
  const targets = [
    `${DIRECTORY_TARGETS[0]} (${count(r.users)} users) | ${perConnections((p) => `${fmt(p.get('Sealpost')!.perSecond)}/s vs ${fmt(p.get('slapd')!.perSecond)}/s (${fmt(ratioOf(p), 2)}×)`)} | ${throughputMet ? '**met**' : '**missed**'} |`,
    `${DIRECTORY_TARGETS[1]} | Sealpost ${perConnections((p) => `${fmt(p.get('Sealpost')!.p99, 2)} ms`)} (slapd ${[...r.single.values()].map((p) => `${fmt(p.get('slapd')!.p99, 2)}`).join(' / ')} ms) | ${latencyMet ? '**met**' : '**missed**'} |`,
    `${DIRECTORY_TARGETS[2]} | ${fmt(r.resolve.perSecond)} requests/s (${fmt(r.resolve.perSecond * RECIPIENTS)} addresses/s), p50 ${fmt(r.resolve.p50, 2)} ms, p99 ${fmt(r.resolve.p99, 2)} ms at ${MULTI_CONNECTIONS} clients; the same ${RECIPIENTS} addresses as one LDAP OR search: Sealpost ${fmt(mOurs.perSecond)}/s, slapd ${fmt(mSlapd.perSecond)}/s | reported |`,
  ];
  return { targets, section };
}
