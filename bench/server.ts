/**
 * The server part of `npm run bench` (`--only server` runs it alone): how many certificates the CA
 * service issues per second, beside the raw signing rate of the CA key, and what the REST API
 * answers under concurrent load, on one node and on two nodes sharing one PostgreSQL schema.
 *
 * Issuance runs in this process through `CaService.issue`, one certificate at a time, on SQLite
 * (in a fresh data directory) and on PostgreSQL (in a fresh schema, dropped at the end). The load
 * test starts each node as a child process (bench/server-node.ts, the production wiring) so that
 * the load generator here does not share an event loop with the server it measures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildCsr, pemEncode } from '@sealpost/core';
import { createLogger, createServices, type Services } from '@sealpost/server';
import { type CaKeyAlgorithm, caKeyAad, type Row, systemClock } from '@sealpost/services';
import { loadMasterKey, openDatabase, type StoreDatabase } from '@sealpost/store';
import { BASE_URL, postgresSchema } from '../packages/server/test/support/harness.ts';

export interface ServerBenchOptions {
  readonly quick: boolean;
  readonly progress: (line: string) => void;
}

export interface ServerBench {
  /** Rows of the Targets table, each starting with one of SERVER_TARGETS. */
  readonly targets: string[];
  /** The section between the `bench-server:` markers. */
  readonly section: string[];
}

/** How the server's Targets rows start: a partial run replaces exactly these. */
export const SERVER_TARGETS = ['| CSR issuance ≥ 50 % of the raw CA signing rate'];

type Dialect = 'sqlite' | 'postgres';
const DIALECT_NAME: Record<Dialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
const CA_ALGORITHMS: readonly CaKeyAlgorithm[] = ['rsa-3072', 'p-256'];
const CA_NAME: Record<string, string> = { 'rsa-3072': 'RSA-3072', 'p-256': 'P-256' };
const TEMPLATE = 'signing-only';
const HOLDER = 'bench@example.org';
/** CSRs per key type, used in turn: parsing and checking the CSR is part of every issuance. */
const CSRS = 16;
/** Bytes the raw ceiling signs: about the size of the TBSCertificate of an issued certificate. */
const TBS_BYTES = 900;

const silent = { write: () => {} };

/** A database with the bench's CAs, template, holder and an API token, and the handles to undo it. */
interface Deployment {
  readonly dialect: Dialect;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly masterKeyBase64: string;
  readonly db: StoreDatabase;
  readonly services: Services;
  readonly caIds: ReadonlyMap<CaKeyAlgorithm, string>;
  /** Each CA's own private key, opened from the vault: the raw ceiling signs with it. */
  readonly caKeys: ReadonlyMap<CaKeyAlgorithm, KeyObject>;
  /** A bearer token of the first administrator, scoped to what the load test calls. */
  readonly token: string;
  dispose(): Promise<void>;
}

async function deploy(dialect: Dialect): Promise<Deployment> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sealpost-bench-server-'));
  const schema = dialect === 'postgres' ? await postgresSchema() : undefined;
  const databaseUrl = schema?.url();
  const masterKeyBase64 = randomBytes(32).toString('base64');
  const undo = async () => {
    try {
      await schema?.dispose();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
  let db: StoreDatabase | undefined;
  try {
    db = await openDatabase(databaseUrl === undefined ? { dataDir } : { url: databaseUrl });
    const masterKey = await loadMasterKey({ base64: masterKeyBase64 });
    const log = createLogger({ sink: silent, level: 'error' });
    const services = await createServices({ db, masterKey, clock: systemClock, log });
    const admin = await services.accounts.createAdmin('admin@example.org', 'correct horse battery staple', 'Admin');
    const { token } = await services.accounts.createToken('system', admin.userId, 'bench', ['certificate.issue']);
    await services.users.create('system', { email: HOLDER, displayName: 'Bench Holder' });
    await services.ca.installDefaultTemplates('system');
    const caIds = new Map<CaKeyAlgorithm, string>();
    const caKeys = new Map<CaKeyAlgorithm, KeyObject>();
    for (const keyAlgorithm of CA_ALGORITHMS) {
      const ca = await services.ca.createRoot('system', {
        name: `Bench ${CA_NAME[keyAlgorithm]} Root`,
        subject: [
          { type: 'O', value: 'Sealpost Bench' },
          { type: 'CN', value: `Bench ${CA_NAME[keyAlgorithm]} Root` },
        ],
        keyAlgorithm,
        validityDays: 3650,
        // The S/MIME BR lint wants both in every issued certificate.
        crlUrl: `http://crl.example.test/${keyAlgorithm}.crl`,
        ocspUrl: 'http://ocsp.example.test/',
      });
      caIds.set(keyAlgorithm, ca.id);
      const row = await db.get<{ key_secret_id: string } & Row>('SELECT key_secret_id FROM cas WHERE id = ?', [ca.id]);
      const pkcs8 = await services.vault.open(db, row!.key_secret_id, caKeyAad(ca.id));
      caKeys.set(keyAlgorithm, createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }));
      pkcs8.fill(0);
    }
    const opened = db;
    return {
      dialect,
      dataDir,
      databaseUrl,
      masterKeyBase64,
      db: opened,
      services,
      caIds,
      caKeys,
      token,
      dispose: async () => {
        try {
          await opened.close();
        } finally {
          await undo();
        }
      },
    };
  } catch (e) {
    await db?.close();
    await undo();
    throw e;
  }
}

/** Points the bench template at one CA (P-256 server keys allowed, as by default). */
async function useCa(d: Deployment, ca: CaKeyAlgorithm): Promise<void> {
  await d.services.ca.updateTemplate('system', TEMPLATE, { caId: d.caIds.get(ca)! });
}

function csrs(type: 'rsa' | 'ec'): string[] {
  return Array.from({ length: CSRS }, (_, i) => {
    const { privateKey } =
      type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return pemEncode(
      'CERTIFICATE REQUEST',
      buildCsr({ subject: [{ type: 'CN', value: `bench ${i}` }], key: privateKey }),
    );
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function syncRate(fn: () => void, ms: number): number {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

async function asyncRate(fn: () => Promise<unknown>, ms: number): Promise<number> {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

/**
 * The raw signature and an issuance in alternating windows (load from other processes drifts, and
 * adjacent windows see nearly the same): median rates and the median of the paired shares.
 */
async function paired(
  raw: () => void,
  issue: () => Promise<unknown>,
  windows: number,
  ms: number,
): Promise<{ raw: number[]; ours: number; share: number }> {
  syncRate(raw, 200);
  await asyncRate(issue, 300);
  const raws: number[] = [];
  const ours: number[] = [];
  for (let w = 0; w < windows; w++) {
    raws.push(syncRate(raw, ms));
    ours.push(await asyncRate(issue, ms));
  }
  return { raw: raws, ours: median(ours), share: median(ours.map((o, i) => o / raws[i]!)) };
}

interface IssueRates {
  readonly csrRsa: number;
  readonly csrEc: number;
  readonly genRsa: number;
  readonly genEc: number;
  readonly shareRsa: number;
  readonly shareEc: number;
  /** Per-window raw rates of the CA key, from both CSR runs. */
  readonly raw: number[];
}

async function issueRates(
  d: Deployment,
  ca: CaKeyAlgorithm,
  requests: { rsa: string[]; ec: string[] },
  o: ServerBenchOptions,
): Promise<IssueRates> {
  await useCa(d, ca);
  const key = d.caKeys.get(ca)!;
  const tbs = randomBytes(TBS_BYTES);
  // SHA-256 with either key: what the CA signs certificates with (S/MIME BR §7.1.3.2).
  const raw = () => {
    sign('sha256', tbs, key);
  };
  const windows = o.quick ? 3 : 6;
  const ms = o.quick ? 300 : 500;
  const viaCsr = (list: string[]) => {
    let next = 0;
    return () => {
      next = (next + 1) % list.length;
      return d.services.ca.issue('system', { userEmail: HOLDER, template: TEMPLATE, csrPem: list[next]! });
    };
  };
  const generated = (keyAlgorithm: 'rsa-2048' | 'p-256') => () =>
    d.services.ca.issue('system', { userEmail: HOLDER, template: TEMPLATE, keyAlgorithm });
  const where = `${DIALECT_NAME[d.dialect]}, ${CA_NAME[ca]} CA`;
  o.progress(`server: ${where}: CSR issuance beside the raw signature`);
  const rsa = await paired(raw, viaCsr(requests.rsa), windows, ms);
  const ec = await paired(raw, viaCsr(requests.ec), windows, ms);
  o.progress(`server: ${where}: server-side key generation`);
  // RSA generation time varies a lot from key to key (prime search): a longer window.
  const genRsa = await asyncRate(generated('rsa-2048'), o.quick ? 1500 : 3000);
  const genEc = await asyncRate(generated('p-256'), o.quick ? 750 : 1500);
  return {
    csrRsa: rsa.ours,
    csrEc: ec.ours,
    genRsa,
    genEc,
    shareRsa: rsa.share,
    shareEc: ec.share,
    raw: [...rsa.raw, ...ec.raw],
  };
}

// ---------------------------------------------------------------- load

interface Node {
  readonly url: string;
  stop(): Promise<void>;
}

const NODE_SCRIPT = new URL('./server-node.ts', import.meta.url).pathname;

async function startNode(d: Deployment): Promise<Node> {
  const child: ChildProcess = spawn(process.execPath, [NODE_SCRIPT, d.dataDir, d.databaseUrl ?? ''], {
    env: { ...process.env, SEALPOST_BENCH_MASTER_KEY: d.masterKeyBase64 },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve(line.trim()));
    child.once('exit', (code) => reject(new Error(`bench/server-node.ts exited (${code}) before listening`)));
  });
  return {
    url,
    stop: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}

interface Call {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** A new body for every request (the write endpoint rotates through its CSRs). */
  readonly body?: () => string;
}

interface LoadResult {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** Answers other than 2xx, by status (0: the connection failed). */
  readonly failed: ReadonlyMap<number, number>;
  readonly requests: number;
}

/** One request on a keep-alive agent: its status, or 0 when the connection failed. */
function send(agent: Agent, base: string, token: string, call: Call): Promise<number> {
  const body = call.body?.();
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve) => {
    const req = request(`${base}${call.path}`, { method: call.method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/**
 * `clients` concurrent keep-alive clients, client i on node i mod n, each sending its next request
 * when the last one is answered, for `warmMs` (not counted) and then `ms`. Latency is per request,
 * from send to the end of the response.
 */
async function load(
  urls: readonly string[],
  token: string,
  call: Call,
  clients: number,
  warmMs: number,
  ms: number,
): Promise<LoadResult> {
  const start = performance.now();
  const measureFrom = start + warmMs;
  const end = measureFrom + ms;
  const latencies: number[] = [];
  const failed = new Map<number, number>();
  const client = async (i: number) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const base = urls[i % urls.length]!;
    try {
      for (let t0 = performance.now(); t0 < end; t0 = performance.now()) {
        const status = await send(agent, base, token, call);
        if (t0 < measureFrom) continue;
        if (status >= 200 && status < 300) latencies.push(performance.now() - t0);
        else failed.set(status, (failed.get(status) ?? 0) + 1);
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { perSecond: latencies.length / (ms / 1000), p50: at(0.5), p99: at(0.99), failed, requests: latencies.length };
}

interface LoadRow {
  readonly deployment: string;
  readonly endpoint: string;
  readonly nodes: number;
  readonly result: LoadResult;
}

async function loadRows(d: Deployment, ecCsrs: string[], o: ServerBenchOptions): Promise<LoadRow[]> {
  await useCa(d, 'p-256');
  let next = 0;
  const calls: [string, Call][] = [
    ['GET /api/v1/whoami', { method: 'GET', path: '/api/v1/whoami' }],
    [
      'POST /api/v1/certificates (P-256 CSR)',
      {
        method: 'POST',
        path: '/api/v1/certificates',
        body: () => {
          next = (next + 1) % ecCsrs.length;
          return JSON.stringify({ userEmail: HOLDER, template: TEMPLATE, csrPem: ecCsrs[next] });
        },
      },
    ],
  ];
  const run = async (urls: string[], deployment: string): Promise<LoadRow[]> => {
    const rows: LoadRow[] = [];
    for (const [endpoint, call] of calls) {
      o.progress(`server: load, ${deployment}: ${endpoint}`);
      const result = await load(urls, d.token, call, CLIENTS, o.quick ? 500 : 1000, o.quick ? 2000 : 5000);
      rows.push({ deployment, endpoint, nodes: urls.length, result });
    }
    return rows;
  };
  const name = DIALECT_NAME[d.dialect];
  const first = await startNode(d);
  const nodes = [first];
  try {
    const rows = await run([first.url], `1 node, ${name}`);
    if (d.dialect === 'postgres') {
      nodes.push(await startNode(d));
      rows.push(...(await run([first.url, nodes[1]!.url], `2 nodes, one ${name} schema`)));
    }
    return rows;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

/** Concurrent clients of the load test, split evenly over the nodes. */
const CLIENTS = 16;

// ---------------------------------------------------------------- the report

export async function measureServer(o: ServerBenchOptions): Promise<ServerBench> {
  o.progress('server: generating CSRs');
  const requests = { rsa: csrs('rsa'), ec: csrs('ec') };
  const issuance = new Map<string, IssueRates>();
  const loads: LoadRow[] = [];
  for (const dialect of ['sqlite', 'postgres'] as const) {
    o.progress(`server: setting up ${DIALECT_NAME[dialect]}`);
    const d = await deploy(dialect);
    try {
      for (const ca of CA_ALGORITHMS) issuance.set(`${dialect} ${ca}`, await issueRates(d, ca, requests, o));
      loads.push(...(await loadRows(d, requests.ec, o)));
    } finally {
      await d.dispose();
    }
  }

  const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
  const pct = (x: number) => `${fmt(100 * x, 1)} %`;
  const ceilingOf = (ca: CaKeyAlgorithm) =>
    median(['sqlite', 'postgres'].flatMap((dl) => issuance.get(`${dl} ${ca}`)!.raw));
  const issueTable = [
    '| CA key | database | CSR, RSA-2048 key | CSR, P-256 key | server-generated RSA-2048 key | server-generated P-256 key | raw CA signature (node:crypto, this run) | CSR issuance / raw signature (RSA-2048 CSR, P-256 CSR) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const ca of CA_ALGORITHMS) {
    for (const dialect of ['sqlite', 'postgres'] as const) {
      const r = issuance.get(`${dialect} ${ca}`)!;
      issueTable.push(
        `| ${CA_NAME[ca]} | ${DIALECT_NAME[dialect]} | ${fmt(r.csrRsa)}/s | ${fmt(r.csrEc)}/s | ${fmt(r.genRsa)}/s | ${fmt(r.genEc)}/s | ${fmt(median(r.raw))}/s | ${pct(r.shareRsa)}, ${pct(r.shareEc)} |`,
      );
    }
  }
  const perCertMs = (rate: number) => 1000 / rate;
  const targets = CA_ALGORITHMS.map((ca) => {
    const shares = (['sqlite', 'postgres'] as const).flatMap((dl) => {
      const r = issuance.get(`${dl} ${ca}`)!;
      return [r.shareRsa, r.shareEc];
    });
    const met = shares.every((s) => s >= 0.5);
    const sqlite = issuance.get(`sqlite ${ca}`)!;
    const postgres = issuance.get(`postgres ${ca}`)!;
    const overhead = (r: IssueRates) =>
      fmt(perCertMs(Math.max(r.csrRsa, r.csrEc)) - perCertMs(median(r.raw)), 1) +
      '–' +
      fmt(perCertMs(Math.min(r.csrRsa, r.csrEc)) - perCertMs(median(r.raw)), 1);
    return `${SERVER_TARGETS[0]} (${CA_NAME[ca]} CA) | raw ${fmt(ceilingOf(ca))} signatures/s; SQLite ${pct(sqlite.shareRsa)} (RSA-2048 CSR) / ${pct(sqlite.shareEc)} (P-256 CSR), PostgreSQL ${pct(postgres.shareRsa)} / ${pct(postgres.shareEc)}${met ? '' : `; beyond the signature each certificate costs ${overhead(sqlite)} ms more on SQLite, ${overhead(postgres)} ms on PostgreSQL`} | ${met ? '**met**' : '**missed**'} |`;
  });

  const failedCell = (failed: ReadonlyMap<number, number>) =>
    failed.size === 0
      ? '0'
      : [...failed].map(([status, n]) => `${n} × ${status === 0 ? 'connection error' : `HTTP ${status}`}`).join(', ');
  const loadTable = [
    '| deployment | endpoint | requests/s | p50 | p99 | failed |',
    '|---|---|---|---|---|---|',
    ...loads.map(
      (l) =>
        `| ${l.deployment} | ${l.endpoint} | ${fmt(l.result.perSecond)} | ${fmt(l.result.p50, 1)} ms | ${fmt(l.result.p99, 1)} ms | ${failedCell(l.result.failed)} |`,
    ),
  ];
  const scaling = (endpoint: string) => {
    const one = loads.find((l) => l.endpoint === endpoint && l.nodes === 1 && l.deployment.includes('PostgreSQL'));
    const two = loads.find((l) => l.endpoint === endpoint && l.nodes === 2);
    return one && two ? `${fmt(two.result.perSecond / one.result.perSecond, 2)}×` : 'n/a';
  };
  const endpoints = [...new Set(loads.map((l) => l.endpoint))];
  const warm = o.quick ? 0.5 : 1;
  const measured = o.quick ? 2 : 5;
  const section = [
    '### Server: certificate issuance and API latency',
    '',
    `Generated by \`npm run bench${o.quick ? ' -- --quick' : ''}\` (\`--only server\` runs this part alone) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${o.quick ? ' (quick run)' : ''}. PostgreSQL: ${new URL(BASE_URL).host}, a fresh schema per run, dropped at the end; SQLite: \`node:sqlite\` in a fresh data directory.`,
    '',
    `- Issuance: \`CaService.issue\` in-process, one certificate at a time, under the default \`${TEMPLATE}\` template (365 days, S/MIME BR strict lint before storing) for one user: CSR-based with ${CSRS} pre-generated CSRs per key type used in turn, and with a key the server generates (returned as PKCS#12, not escrowed). Each certificate is a database transaction (CA key opened from the vault, certificate row, audit entry). Two root CAs, created by \`createRoot\`: RSA-3072 (SHA-256, PKCS#1 v1.5) and P-256 (ECDSA with SHA-256).`,
    `- Ceiling: the raw signing rate of the same CA key (opened from the vault once) with \`crypto.sign('sha256', …)\` over ${TBS_BYTES} bytes, about one TBSCertificate, in ${o.quick ? 3 : 6} windows of ${o.quick ? 0.3 : 0.5} s alternating with the CSR issuance windows; the share is the median of the paired ratios.`,
    '',
    ...issueTable,
    '',
    `- Load: ${CLIENTS} concurrent clients on loopback, each a node:http keep-alive Agent with one socket, sending its next request when the last is answered; ${warm} s warm-up, then ${measured} s measured; requests/s counts 2xx answers. Bearer API token (\`Authorization: Bearer spk_…\`, scoped to \`certificate.issue\`). The write endpoint issues for rotating P-256 CSRs under the P-256 CA. Each node is the production wiring (\`startServer\` with \`wiring\`, scheduled jobs included) in its own Node process (log lines formatted and dropped); the load generator is this process. Two nodes share one PostgreSQL schema, the clients split evenly between them. The machine's cores are shared by the nodes, PostgreSQL and the load generator.`,
    '',
    ...loadTable,
    '',
    `Two nodes / one node on PostgreSQL (requests/s): ${endpoints.map((e) => `${e} ${scaling(e)}`).join('; ')}.`,
    '',
  ];
  return { targets, section };
}
