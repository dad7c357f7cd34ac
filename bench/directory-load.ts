/**
 * The load generator of bench/directory.ts, in a process of its own so that it shares an event loop
 * with neither directory it measures. One run is one setting against one target:
 *
 *   node bench/directory-load.ts '<JSON LoadSpec>'
 *
 * prints `window start` when the measured window begins, `window end` once the load has stopped,
 * then one JSON LoadReport line.
 *
 * LDAP: `connections` sockets, each with one search outstanding, sending the next when the last one's
 * SearchResultDone arrives. The SearchRequests are encoded before the clock starts: (mail=user<n>@…)
 * for random users, or an OR of `addresses` such terms (the same sequence for every target), base =
 * the people DN, scope sub, attributes mail and userCertificate;binary. Every answer is checked:
 * exactly the entries asked for, each named after its address, with that mail value and one
 * certificate naming the address; every 64th certificate is fully parsed. Wrong answers count as
 * failures, never as lookups.
 *
 * Resolve: `connections` keep-alive HTTP clients POSTing /api/v1/recipients/resolve with
 * `addresses` distinct random addresses, one request outstanding each; an answer counts when every
 * address came back with a certificate.
 */

import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Certificate } from '@sealpost/core';
import {
  decodeLdapMessage,
  encodeLdapMessage,
  type LdapMessage,
  parseFilter,
  ResultCode,
  readLdapFrame,
} from '@sealpost/core/ldap';
import { emailOf, PEOPLE_DN } from './directory-users.ts';

export type LoadSpec =
  | {
      readonly kind: 'ldap';
      readonly host: string;
      readonly port: number;
      readonly users: number;
      /** Addresses per search: 1 is `(mail=…)`, more an OR of them. */
      readonly addresses: number;
      readonly connections: number;
      readonly warmMs: number;
      readonly ms: number;
      readonly seed: number;
    }
  | {
      readonly kind: 'resolve';
      readonly url: string;
      readonly token: string;
      readonly users: number;
      /** Addresses per request. */
      readonly addresses: number;
      readonly connections: number;
      readonly warmMs: number;
      readonly ms: number;
      readonly seed: number;
    };

export interface LoadReport {
  /** Correct answers in the measured window. */
  readonly answers: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Wrong or failed answers in the measured window, by reason. */
  readonly failures: Record<string, number>;
  /** Certificates fully parsed and checked (a sample). */
  readonly parsed: number;
  /** CPU time this generator used, as a share of one core over the measured window. */
  readonly generatorCpu: number;
}

/** xorshift32: the same user sequence for every target and run with the same seed. */
function random(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const PARSE_EVERY = 64;

/** When the measured window starts and ends (performance.now()), and the CPU used inside it. */
class Window {
  readonly from: number;
  readonly end: number;
  #cpuAtStart: NodeJS.CpuUsage | undefined;
  #cpu: NodeJS.CpuUsage | undefined;
  constructor(warmMs: number, ms: number) {
    this.from = performance.now() + warmMs;
    this.end = this.from + ms;
    // The parent samples the servers' CPU time at these two lines.
    setTimeout(() => {
      this.#cpuAtStart = process.cpuUsage();
      process.stdout.write('window start\n');
    }, warmMs).unref();
  }
  /** Called once the load has stopped. */
  stop(): void {
    this.#cpu = process.cpuUsage(this.#cpuAtStart);
    process.stdout.write('window end\n');
  }
  /** CPU time over the window as a share of one core. */
  cpuShare(): number {
    const c = this.#cpu;
    return c === undefined ? Number.NaN : (c.user + c.system) / 1000 / (this.end - this.from);
  }
}

class Tally {
  readonly latencies: number[] = [];
  readonly failures: Record<string, number> = {};
  parsed = 0;
  count = 0;
  /** Answers checked so far: every PARSE_EVERY-th has its certificates parsed. */
  checked = 0;
  fail(reason: string): void {
    this.failures[reason] = (this.failures[reason] ?? 0) + 1;
  }
}

/** Why one LDAP answer is not exactly the entries of `emails`, each with its certificate; undefined when it is. */
function checkAnswer(tally: Tally, emails: readonly string[], messages: LdapMessage[]): string | undefined {
  const done = messages.at(-1)!.op;
  if (done.type !== 'searchResultDone') return 'no SearchResultDone';
  if (done.resultCode !== ResultCode.success) return `resultCode ${done.resultCode}`;
  if (messages.length - 1 !== emails.length) return `${messages.length - 1} entries for ${emails.length} addresses`;
  const missing = new Set(emails);
  const parse = tally.checked++ % PARSE_EVERY === 0;
  for (const m of messages.slice(0, -1)) {
    const entry = m.op;
    if (entry.type !== 'searchResultEntry') return `a ${entry.type} among the entries`;
    let mail: string | undefined;
    let certificate: Uint8Array | undefined;
    for (const a of entry.attributes) {
      const type = a.type.toLowerCase();
      if (type === 'mail' && a.values.length === 1) mail = Buffer.from(a.values[0]!).toString('utf8');
      else if (type === 'usercertificate;binary' || type === 'usercertificate') {
        if (a.values.length !== 1) return `${a.values.length} certificates`;
        certificate = a.values[0];
      }
    }
    if (mail === undefined || !missing.delete(mail)) return 'an entry not asked for';
    if (entry.objectName.toLowerCase() !== `mail=${mail},${PEOPLE_DN}`) return 'wrong DN';
    if (certificate === undefined) return 'no certificate';
    if (certificate[0] !== 0x30 || Buffer.from(certificate).indexOf(mail) < 0) return 'certificate of someone else';
    if (parse) {
      const parsed = Certificate.fromDer(certificate);
      if (!parsed.subjectAltNames.rfc822Names.includes(mail)) return 'certificate without the address';
      tally.parsed++;
    }
  }
  return undefined;
}

/** `n` distinct users. */
function distinctUsers(next: () => number, users: number, n: number): string[] {
  const picked = new Set<string>();
  while (picked.size < n) picked.add(emailOf(Math.floor(next() * users)));
  return [...picked];
}

async function ldapLoad(spec: Extract<LoadSpec, { kind: 'ldap' }>): Promise<{ tally: Tally; window: Window }> {
  // Enough distinct requests that no connection repeats one within the window at any plausible rate.
  const pool = Math.min(200_000, Math.max(20_000, spec.users));
  const next = random(spec.seed);
  const emails: string[][] = [];
  const encoded: Uint8Array[] = [];
  for (let id = 1; id <= pool; id++) {
    const asked = distinctUsers(next, spec.users, spec.addresses);
    emails.push(asked);
    const filter = asked.length === 1 ? `(mail=${asked[0]})` : `(|${asked.map((a) => `(mail=${a})`).join('')})`;
    encoded.push(
      encodeLdapMessage({
        id,
        op: {
          type: 'searchRequest',
          baseObject: PEOPLE_DN,
          scope: 'sub',
          derefAliases: 0,
          sizeLimit: 0,
          timeLimit: 0,
          typesOnly: false,
          filter: parseFilter(filter),
          attributes: ['mail', 'userCertificate;binary'],
        },
        controls: [],
      }),
    );
  }
  const tally = new Tally();
  const window = new Window(spec.warmMs, spec.ms);
  const { from: measureFrom, end } = window;
  const connection = (c: number) =>
    new Promise<void>((resolve, reject) => {
      const socket: Socket = connect({ host: spec.host, port: spec.port });
      socket.setNoDelay(true);
      let slot = Math.floor((c * pool) / spec.connections);
      let input: Buffer = Buffer.alloc(0);
      let messages: LdapMessage[] = [];
      let sentAt = 0;
      const send = () => {
        sentAt = performance.now();
        socket.write(encoded[slot]!);
      };
      socket.once('connect', send);
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        input = input.length === 0 ? chunk : Buffer.concat([input, chunk]);
        for (;;) {
          const length = readLdapFrame(input, { maxMessageBytes: 1 << 20 });
          if (length === null) break;
          const message = decodeLdapMessage(input.subarray(0, length), { maxMessageBytes: 1 << 20 });
          input = input.subarray(length);
          if (message.id !== slot + 1) {
            tally.fail('unexpected message id');
            continue;
          }
          messages.push(message);
          if (message.op.type !== 'searchResultDone') continue;
          const now = performance.now();
          if (sentAt >= measureFrom && now <= end) {
            const problem = checkAnswer(tally, emails[slot]!, messages);
            if (problem === undefined) {
              tally.latencies.push(now - sentAt);
              tally.count++;
            } else tally.fail(problem);
          }
          messages = [];
          if (now >= end) {
            socket.end();
            resolve();
            return;
          }
          slot = (slot + 1) % pool;
          send();
        }
      });
    });
  await Promise.all(Array.from({ length: spec.connections }, (_, c) => connection(c)));
  window.stop();
  return { tally, window };
}

/** The answer of the resolve API, as far as this check reads it. */
interface ResolveAnswer {
  readonly canEncrypt?: boolean;
  readonly recipients?: readonly {
    readonly address?: string;
    readonly status?: string;
    readonly certificates?: readonly unknown[];
  }[];
}

async function resolveLoad(spec: Extract<LoadSpec, { kind: 'resolve' }>): Promise<{ tally: Tally; window: Window }> {
  const next = random(spec.seed);
  const tally = new Tally();
  const window = new Window(spec.warmMs, spec.ms);
  const { from: measureFrom, end } = window;
  const post = (agent: Agent, body: string) =>
    new Promise<{ status: number; text: string }>((resolve) => {
      const req = request(
        `${spec.url}/api/v1/recipients/resolve`,
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${spec.token}`,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', () => resolve({ status: 0, text: '' }));
        },
      );
      req.on('error', () => resolve({ status: 0, text: '' }));
      req.end(body);
    });
  const client = async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let t0 = performance.now(); t0 < end; t0 = performance.now()) {
        const addresses = distinctUsers(next, spec.users, spec.addresses);
        const { status, text } = await post(agent, JSON.stringify({ addresses }));
        const t1 = performance.now();
        if (t0 < measureFrom || t1 > end) continue;
        if (status !== 200) {
          tally.fail(status === 0 ? 'connection error' : `HTTP ${status}`);
          continue;
        }
        const answer = JSON.parse(text) as ResolveAnswer;
        const complete =
          answer.canEncrypt === true &&
          addresses.every((a) =>
            answer.recipients?.some((r) => r.address === a && r.status === 'ok' && r.certificates?.length === 1),
          );
        if (!complete) {
          tally.fail('an address without its certificate');
          continue;
        }
        tally.latencies.push(t1 - t0);
        tally.count++;
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, () => client()));
  window.stop();
  return { tally, window };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const { tally, window } = spec.kind === 'ldap' ? await ldapLoad(spec) : await resolveLoad(spec);
const sorted = tally.latencies.sort((a, b) => a - b);
const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const report: LoadReport = {
  answers: tally.count,
  perSecond: tally.count / (spec.ms / 1000),
  p50: at(0.5),
  p99: at(0.99),
  max: sorted.at(-1) ?? Number.NaN,
  failures: tally.failures,
  parsed: tally.parsed,
  generatorCpu: window.cpuShare(),
};
process.stdout.write(`${JSON.stringify(report)}\n`);
