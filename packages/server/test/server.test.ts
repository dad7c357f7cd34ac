import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { defineRoute } from '../src/index.ts';
import { BASE_URL, postgresSchema, Relay, request, startTestServer, tempDir } from './support/harness.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function dir(): Promise<string> {
  const d = await tempDir();
  dirs.push(d);
  return d;
}

describe('first start (SQLite)', () => {
  it('creates the data directory, a 0600 master key and the database, and reuses them later', async () => {
    const dataDir = join(await dir(), 'nested', 'data');
    const first = await startTestServer({ dataDir });
    try {
      assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
      assert.equal((await stat(join(dataDir, 'master.key'))).mode & 0o777, 0o600);
      assert.ok((await stat(join(dataDir, 'sealpost.db'))).isFile());
      const listening = first.logs.records().find((l) => String(l['msg']).startsWith('sealpost listening on '));
      assert.equal(listening?.['url'], first.url);
      assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await first.stop();
    }
    const key = await readFile(join(dataDir, 'master.key'), 'utf8');
    const second = await startTestServer({ dataDir });
    await second.stop();
    assert.equal(await readFile(join(dataDir, 'master.key'), 'utf8'), key);
    const ids = [first, second].map(
      (t) => t.logs.records().find((l) => l['msg'] === 'database ready')?.['masterKeyId'],
    );
    assert.equal(ids[0], ids[1]);
  });
});

describe('health, readiness and metrics', () => {
  it('answers /healthz and /readyz', async () => {
    const t = await startTestServer();
    try {
      const health = await request(`${t.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(health.json(), { status: 'ok' });
      const ready = await request(`${t.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.json(), { ready: true, draining: false, checks: { database: 'ok', masterKey: 'ok' } });
    } finally {
      await t.stop();
    }
  });

  it('exposes Prometheus metrics by route and status', async () => {
    const t = await startTestServer();
    try {
      await request(`${t.url}/healthz`);
      await request(`${t.url}/healthz`);
      await request(`${t.url}/nowhere/42`);
      const r = await request(`${t.url}/metrics`);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      const lines = r.text.trimEnd().split('\n');
      const sample =
        /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/;
      const declared = new Set<string>();
      for (const line of lines) {
        const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
        if (meta !== null) {
          if (meta[1] === 'TYPE') declared.add(meta[2]!);
          continue;
        }
        const m = sample.exec(line);
        assert.ok(m !== null, `not a sample line: ${line}`);
        const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
        assert.ok(declared.has(family) || declared.has(m[1]!), `no TYPE before ${line}`);
      }
      const value = (prefix: string) => Number(lines.find((l) => l.startsWith(`${prefix} `))?.split(' ')[1]);
      assert.equal(value('sealpost_http_requests_total{method="GET",route="/healthz",status="200"}'), 2);
      assert.equal(value('sealpost_http_requests_total{method="GET",route="(unmatched)",status="404"}'), 1);
      assert.equal(value('sealpost_http_request_duration_seconds_count{method="GET",route="/healthz"}'), 2);
      assert.equal(value('sealpost_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="+Inf"}'), 2);
      const buckets = lines
        .filter((l) => l.startsWith('sealpost_http_request_duration_seconds_bucket{method="GET",route="/healthz"'))
        .map((l) => Number(l.split(' ')[1]));
      assert.deepEqual(
        [...buckets].sort((a, b) => a - b),
        buckets,
        'cumulative buckets',
      );
      assert.equal(value('sealpost_database_ready'), 1);
      assert.equal(value('sealpost_http_requests_in_flight'), 1);
      assert.ok(value('sealpost_process_uptime_seconds') > 0);
    } finally {
      await t.stop();
    }
  });
});

describe('PostgreSQL', () => {
  it('serves on PostgreSQL, and /readyz reports 503 while the database is unreachable', async () => {
    const schema = await postgresSchema();
    const relay = new Relay(BASE_URL);
    await relay.start();
    const t = await startTestServer({ databaseUrl: schema.url(`127.0.0.1:${relay.port}`) });
    try {
      assert.equal(t.logs.records().find((l) => l['msg'] === 'database ready')?.['dialect'], 'postgres');
      assert.equal((await request(`${t.url}/readyz`)).status, 200);
      await relay.stop();
      const down = await request(`${t.url}/readyz`);
      assert.equal(down.status, 503);
      assert.deepEqual(down.json(), {
        ready: false,
        draining: false,
        checks: { database: 'unavailable', masterKey: 'ok' },
      });
      assert.match((await request(`${t.url}/metrics`)).text, /^sealpost_database_ready 0$/m);
      assert.equal((await request(`${t.url}/healthz`)).status, 200, 'still alive');
      await relay.start();
      assert.equal((await request(`${t.url}/readyz`)).status, 200);
    } finally {
      await t.stop();
      await relay.stop();
      await schema.dispose();
    }
  });
});

describe('shutdown', () => {
  it('drops requests still running at the deadline, then closes', async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const t = await startTestServer(
      { shutdownTimeoutMs: 100 },
      {
        routes: () => [
          defineRoute({
            method: 'GET',
            path: '/stuck',
            summary: 'Never answers.',
            tags: ['test'],
            auth: 'public',
            responses: { 200: { description: 'Never.' } },
            handler: () => {
              entered();
              return new Promise(() => {});
            },
          }),
        ],
      },
    );
    const stuck = request(`${t.url}/stuck`).then(
      () => 'answered',
      (e: Error) => e.message,
    );
    await inHandler;
    await t.stop();
    assert.equal(await stuck, 'socket hang up');
    assert.ok(t.logs.records().some((l) => String(l['msg']).startsWith('shutdown deadline passed')));
  });
});

/** The child's stdout, as parsed log records, with a way to wait for one. */
class ChildLog {
  readonly records: Record<string, unknown>[] = [];
  readonly #waiters: {
    test: (r: Record<string, unknown>) => boolean;
    resolve: (r: Record<string, unknown>) => void;
  }[] = [];
  constructor(child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      this.records.push(record);
      for (const w of this.#waiters.filter((w) => w.test(record))) w.resolve(record);
    });
  }
  waitFor(test: (r: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.records.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }
}

function serve(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; log: ChildLog; stderr: () => string } {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'support', 'serve-child.ts'), ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return { child, log: new ChildLog(child), stderr: () => stderr };
}

describe('sealpost serve (child process)', () => {
  it('finishes the request in flight on SIGTERM, refuses new connections, and exits 0', async () => {
    const dataDir = await dir();
    const { child, log } = serve(['--http', '127.0.0.1:0', '--data', dataDir], { SEALPOST_LOG_LEVEL: 'debug' });
    const exited = once(child, 'exit');
    const listening = await log.waitFor((r) => String(r['msg']).startsWith('sealpost listening on '));
    const url = new URL(String(listening['url']));
    const body = JSON.stringify({ text: 'still here' });
    const response = new Promise<{ status: number; connection: string | undefined; text: string }>(
      (resolve, reject) => {
        const req = httpRequest(
          `${url.origin}/test/echo`,
          {
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => {
              text += c.toString();
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers['connection'], text }));
          },
        );
        req.on('error', reject);
        req.write(body.slice(0, 5));
        log
          .waitFor((r) => r['msg'] === 'shutting down: no new connections; waiting for requests in flight')
          .then(async () => {
            // New connections are refused while the old request is still open…
            const refused = await new Promise<string>((done) => {
              const socket = connect(Number(url.port), url.hostname);
              socket.on('connect', () => {
                socket.destroy();
                done('connected');
              });
              socket.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'));
            });
            assert.equal(refused, 'ECONNREFUSED');
            // …which now completes.
            req.end(body.slice(5));
          })
          .catch(reject);
      },
    );
    await log.waitFor((r) => r['msg'] === 'request started' && r['path'] === '/test/echo');
    child.kill('SIGTERM');
    const answered = await response;
    assert.equal(answered.status, 200);
    assert.deepEqual(JSON.parse(answered.text), { text: 'still here' });
    assert.equal(answered.connection, 'close');
    const [code] = await exited;
    assert.equal(code, 0);
    assert.ok(log.records.some((r) => r['msg'] === 'stopped'));
    assert.ok(log.records.some((r) => r['msg'] === 'signal received' && r['signal'] === 'SIGTERM'));
  });

  it('takes the master key from SEALPOST_MASTER_KEY without writing a key file, and stops on SIGINT', async () => {
    const dataDir = await dir();
    const key = Buffer.alloc(32, 7).toString('base64');
    const { child, log } = serve(['--http', '127.0.0.1:0'], { SEALPOST_DATA: dataDir, SEALPOST_MASTER_KEY: key });
    const exited = once(child, 'exit');
    const listening = await log.waitFor((r) => String(r['msg']).startsWith('sealpost listening on '));
    assert.equal((await request(`${String(listening['url'])}/readyz`)).status, 200);
    child.kill('SIGINT');
    assert.deepEqual(await exited, [0, null]);
    await assert.rejects(stat(join(dataDir, 'master.key')), { code: 'ENOENT' });
    assert.ok((await stat(join(dataDir, 'sealpost.db'))).isFile());
  });

  it('exits 2 on a bad configuration and 1 when it cannot start', async () => {
    const dataDir = await dir();
    const config = join(dataDir, 'sealpost.json');
    await writeFile(config, JSON.stringify({ http: 'localhost', logLevel: 'loud', extra: 1 }));
    const bad = serve(['--config', config]);
    assert.deepEqual(await once(bad.child, 'exit'), [2, null]);
    assert.match(bad.stderr(), /http: must be HOST:PORT/);
    assert.match(bad.stderr(), /logLevel: must be one of "debug", "info", "warn", "error"/);
    assert.match(bad.stderr(), /extra: is not allowed/);

    const keyDir = join(dataDir, 'data');
    await mkdir(keyDir, { mode: 0o700 });
    await writeFile(join(keyDir, 'master.key'), `${Buffer.alloc(32, 1).toString('base64')}\n`, { mode: 0o644 });
    const insecure = serve(['--http', '127.0.0.1:0', '--data', keyDir]);
    assert.deepEqual(await once(insecure.child, 'exit'), [1, null]);
    assert.match(insecure.stderr(), /cannot start: The master key file .* has mode 0644/);
  });
});
