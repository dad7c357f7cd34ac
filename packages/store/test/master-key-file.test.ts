import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { isServiceError } from '@sealpost/services';
import { loadMasterKey } from '../src/master-key-file.ts';

const moduleUrl = new URL('../src/master-key-file.ts', import.meta.url).href;

/**
 * A Node process that, for each path written to its stdin, calls `loadMasterKey({ path })` and prints
 * the key id. Two racers are released by the same write, many rounds over, so their creations overlap.
 */
class Racer {
  readonly #child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { createInterface } from 'node:readline';
const { loadMasterKey } = await import(${JSON.stringify(moduleUrl)});
process.stdout.write('ready\\n');
for await (const path of createInterface({ input: process.stdin })) {
  process.stdout.write((await loadMasterKey({ path })).id + '\\n');
}`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  readonly #lines = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();

  async next(): Promise<string> {
    const line = await this.#lines.next();
    if (line.done === true) throw new Error('the racer process ended early');
    return line.value;
  }
  send(path: string): void {
    this.#child.stdin.write(`${path}\n`);
  }
  end(): void {
    this.#child.stdin.end();
  }
}

const idOf = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 16);
const node = (code: string) => [process.execPath, '-e', code];

describe('loadMasterKey', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealpost-master-key-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('creates a 0600 key file on first start and reads the same key afterwards', async () => {
    const path = join(dir, 'first', 'master.key');
    await mkdir(join(dir, 'first'));
    const created = await loadMasterKey({ path });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const text = await readFile(path, 'utf8');
    assert.match(text, /^[A-Za-z0-9+/]{43}=\n$/);
    assert.equal(created.id, idOf(Buffer.from(text.trim(), 'base64')));
    const again = await loadMasterKey({ path });
    assert.equal(again.id, created.id);
    // Both objects are the same key: what one wraps the other unwraps.
    const dataKey = randomBytes(32);
    assert.deepEqual(Buffer.from(await again.unwrap(await created.wrap(dataKey))), dataKey);
    assert.deepEqual(await readdir(join(dir, 'first')), ['master.key'], 'no temporary file is left behind');
  });

  it('gives two processes starting together the same key', async () => {
    const racers = [new Racer(), new Racer()];
    try {
      for (const r of racers) assert.equal(await r.next(), 'ready');
      for (let round = 0; round < 30; round++) {
        const path = join(dir, `race-${round}.key`);
        for (const r of racers) r.send(path);
        const [a, b] = await Promise.all(racers.map((r) => r.next()));
        assert.match(a!, /^[0-9a-f]{16}$/);
        assert.equal(a, b, `round ${round}`);
        assert.equal((await loadMasterKey({ path })).id, a);
      }
    } finally {
      for (const r of racers) r.end();
    }
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  it('refuses a key file that group or others may read', async () => {
    const path = join(dir, 'shared.key');
    await writeFile(path, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    for (const mode of [0o644, 0o640, 0o604]) {
      await chmod(path, mode);
      await assert.rejects(
        loadMasterKey({ path }),
        (e) =>
          isServiceError(e, 'MASTER_KEY_INSECURE') &&
          e.message.includes(`mode 0${mode.toString(8)}`) &&
          e.message.includes(`chmod 600 ${path}`),
      );
    }
    await chmod(path, 0o400);
    assert.match((await loadMasterKey({ path })).id, /^[0-9a-f]{16}$/);
    await assert.rejects(loadMasterKey({ path: dir }), (e) => isServiceError(e, 'MASTER_KEY_INSECURE'));
  });

  it('reports a missing or malformed key file', async () => {
    const missing = join(dir, 'absent.key');
    await assert.rejects(loadMasterKey({ path: missing, create: false }), (e) =>
      isServiceError(e, 'MASTER_KEY_UNAVAILABLE'),
    );
    await assert.rejects(loadMasterKey({ path: join(dir, 'no-dir', 'm.key') }), (e) =>
      isServiceError(e, 'MASTER_KEY_UNAVAILABLE'),
    );
    const short = join(dir, 'short.key');
    await writeFile(short, randomBytes(16).toString('base64'), { mode: 0o600 });
    await assert.rejects(loadMasterKey({ path: short }), (e) => isServiceError(e, 'MASTER_KEY_INVALID'));
  });

  it('takes the key as base64, e.g. from SEALPOST_MASTER_KEY', async () => {
    const raw = randomBytes(32);
    assert.equal((await loadMasterKey({ base64: ` ${raw.toString('base64')}\n` })).id, idOf(raw));
    for (const bad of [
      '',
      'not base64 at all',
      randomBytes(31).toString('base64'),
      randomBytes(33).toString('base64'),
    ]) {
      await assert.rejects(
        loadMasterKey({ base64: bad }),
        (e) => isServiceError(e, 'MASTER_KEY_INVALID') && !e.message.includes(bad || '\0'),
      );
    }
  });

  it('takes the key from a command, KMS-style', async () => {
    const raw = randomBytes(32);
    const key = await loadMasterKey({
      command: node(`process.stdout.write(${JSON.stringify(`${raw.toString('base64')}\n`)})`),
    });
    assert.equal(key.id, idOf(raw));
    const failing = node('process.stderr.write("kms: access denied\\n"); process.exit(3)');
    await assert.rejects(
      loadMasterKey({ command: failing }),
      (e) => isServiceError(e, 'MASTER_KEY_UNAVAILABLE') && /exit status 3: kms: access denied/.test(e.message),
    );
    await assert.rejects(
      loadMasterKey({ command: node('setTimeout(() => {}, 60000)'), timeoutMs: 200 }),
      (e) => isServiceError(e, 'MASTER_KEY_UNAVAILABLE') && /no answer within 200 ms/.test(e.message),
    );
    await assert.rejects(loadMasterKey({ command: node('process.stdout.write("x".repeat(5000))') }), (e) =>
      isServiceError(e, 'MASTER_KEY_UNAVAILABLE'),
    );
    await assert.rejects(
      loadMasterKey({ command: [join(dir, 'no-such-program')] }),
      (e) => isServiceError(e, 'MASTER_KEY_UNAVAILABLE') && /no such program/.test(e.message),
    );
    await assert.rejects(loadMasterKey({ command: node('console.log("hello")') }), (e) =>
      isServiceError(e, 'MASTER_KEY_INVALID'),
    );
    await assert.rejects(loadMasterKey({ command: [] }), (e) => isServiceError(e, 'INVALID_ARGUMENT'));
  });
});
