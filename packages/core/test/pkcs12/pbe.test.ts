import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { LIMITS, WorkBudget } from '../../src/pkcs12/limits.ts';
import { bmpPassword, pkcs12Kdf } from '../../src/pkcs12/pbe.ts';

/** OpenSSL's PKCS12KDF takes the already BMP-encoded password. */
function opensslKdf(digest: string, password: Buffer, salt: Buffer, iterations: number, id: number, n: number): Buffer {
  const r = spawnSync('openssl', [
    'kdf',
    '-keylen',
    String(n),
    '-kdfopt',
    `digest:${digest}`,
    '-kdfopt',
    `hexpass:${password.toString('hex')}`,
    '-kdfopt',
    `hexsalt:${salt.toString('hex')}`,
    '-kdfopt',
    `iter:${iterations}`,
    '-kdfopt',
    `id:${id}`,
    'PKCS12KDF',
  ]);
  assert.equal(r.status, 0, r.stderr.toString());
  return Buffer.from(r.stdout.toString().trim().replaceAll(':', ''), 'hex');
}

test('the password is a BMPString with two trailing zero bytes; the absent password is empty', () => {
  assert.deepEqual(bmpPassword('pä'), Buffer.from('0070' + '00e4' + '0000', 'hex'));
  assert.deepEqual(bmpPassword(''), Buffer.from('0000', 'hex'));
  assert.deepEqual(bmpPassword(null), Buffer.alloc(0));
  // Outside the BMP: UTF-16 surrogates, as OpenSSL encodes them.
  assert.deepEqual(bmpPassword('😀'), Buffer.from('d83dde000000', 'hex'));
});

test('the PKCS#12 KDF (RFC 7292 Appendix B.2) agrees with OpenSSL', () => {
  const longSalt = Buffer.alloc(70, 0xa5);
  const cases: [string, Buffer, Buffer, number, number, number][] = [
    ['SHA1', bmpPassword('pässword'), Buffer.from('0102030405060708', 'hex'), 2048, 1, 24],
    ['SHA1', bmpPassword('pässword'), Buffer.from('0102030405060708', 'hex'), 2048, 2, 8],
    ['SHA1', bmpPassword('smeg'), Buffer.from('0a58cf64530d823f', 'hex'), 1, 3, 20],
    ['SHA1', bmpPassword(''), Buffer.from('0102', 'hex'), 3, 1, 5],
    ['SHA1', bmpPassword(null), Buffer.from('0102', 'hex'), 3, 1, 16],
    ['SHA256', bmpPassword('a password longer than one 64-byte block of the hash'), longSalt, 7, 3, 32],
    ['SHA256', bmpPassword('x'), longSalt, 2, 1, 100],
    ['SHA512', bmpPassword('😀 emoji'), Buffer.from('00', 'hex'), 5, 3, 64],
    ['SHA384', bmpPassword('p'), Buffer.alloc(16, 1), 9, 3, 48],
  ];
  for (const [digest, password, salt, iterations, id, n] of cases) {
    assert.deepEqual(
      pkcs12Kdf(digest.toLowerCase(), password, salt, iterations, id, n),
      opensslKdf(digest, password, salt, iterations, id, n),
      `${digest} id ${id} n ${n}`,
    );
  }
  assert.throws(() => pkcs12Kdf('md4', Buffer.alloc(2), Buffer.alloc(8), 1, 1, 8), { code: 'UNSUPPORTED_ALGORITHM' });
});

test('the work budget refuses absurd iteration counts before doing any work', () => {
  const b = new WorkBudget();
  b.charge(2048, 3, 'x');
  assert.throws(() => b.charge(LIMITS.maxIterations + 1, 1, 'MAC'), {
    code: 'PKCS12_MALFORMED',
    message: /MAC: refusing 10,000,001 iterations \(the limit is 10,000,000\)/,
  });
  assert.throws(() => b.charge(0, 1, 'x'), { code: 'PKCS12_MALFORMED' });
  const total = new WorkBudget();
  total.charge(LIMITS.maxIterations, 1, 'x');
  assert.throws(() => total.charge(LIMITS.maxIterations, 2, 'x'), { code: 'PKCS12_MALFORMED', message: /in total/ });
});
