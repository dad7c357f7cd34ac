import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createLogger, redact } from '../src/index.ts';
import { LogCapture } from './support/harness.ts';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const RSA_PEM = generateKeyPairSync('rsa', { modulusLength: 1024 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();
const PEM_BODY = PEM.split('\n')[1]!;
const RSA_BODY = RSA_PEM.split('\n')[1]!;

const SECRETS = ['hunter2', 'swordfish', 'spk_live_AbC123xyz', 'sess-7f3a', 'p12-bytes', 'dbpass', PEM_BODY, RSA_BODY];

describe('structured logs', () => {
  it('writes one JSON object per line with time, level and msg first', () => {
    const sink = new LogCapture();
    const log = createLogger({ sink, level: 'info', now: () => new Date('2026-12-03T06:55:00.000Z') });
    log
      .child({ requestId: 'r1' })
      .info('request', { method: 'GET', path: '/healthz', status: 200, durationMs: 1.5, msg: 'ignored' });
    log.debug('hidden');
    assert.equal(sink.lines.length, 1);
    assert.equal(
      sink.lines[0],
      '{"time":"2026-12-03T06:55:00.000Z","level":"info","msg":"request","requestId":"r1","method":"GET","path":"/healthz","status":200,"durationMs":1.5}\n',
    );
  });

  it('never writes secrets, by key or by shape', () => {
    const sink = new LogCapture();
    const log = createLogger({ sink, level: 'debug' });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    log.info('login attempt', {
      password: 'hunter2',
      user: { newPassword: 'swordfish', apiToken: 'x', nested: [{ privateKey: PEM }] },
      headers: { Authorization: 'Bearer spk_live_AbC123xyz', Cookie: '__Host-sealpost_session=sess-7f3a' },
      pkcs12: 'p12-bytes',
      client_secret: 'x',
      note: `pasted a key: ${PEM} and ${RSA_PEM}`,
      error: new Error('token spk_live_AbC123xyz rejected for postgres://sealpost:dbpass@db.internal/x'),
      cyclic,
    });
    log.warn(`msg with spk_live_AbC123xyz`);
    const text = sink.text();
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret.slice(0, 20)} leaked`);
    assert.doesNotMatch(text, /BEGIN (EC |RSA )?PRIVATE KEY/);
    const [first, second] = sink.records();
    assert.equal(first!['password'], '[REDACTED]');
    assert.equal((first!['headers'] as Record<string, unknown>)['Authorization'], '[REDACTED]');
    assert.match(String(first!['note']), /^pasted a key: \[REDACTED PRIVATE KEY\]\n and \[REDACTED PRIVATE KEY\]\n$/);
    const error = first!['error'] as Record<string, unknown>;
    assert.equal(error['message'], 'token spk_[REDACTED] rejected for postgres://sealpost:[REDACTED]@db.internal/x');
    assert.equal(error['name'], 'Error');
    assert.equal((first!['cyclic'] as Record<string, unknown>)['self'], '[…]');
    assert.equal(second!['msg'], 'msg with spk_[REDACTED]');
  });

  it('redacts a truncated PEM key and keeps harmless values', () => {
    assert.equal(redact(`-----BEGIN ENCRYPTED PRIVATE KEY-----\n${PEM_BODY}`), '[REDACTED PRIVATE KEY]');
    assert.deepEqual(redact({ status: 200, ok: true, n: 10n, bytes: new Uint8Array(3), at: new Date(0) }), {
      status: 200,
      ok: true,
      n: '10',
      bytes: '[3 bytes]',
      at: '1970-01-01T00:00:00.000Z',
    });
  });
});
