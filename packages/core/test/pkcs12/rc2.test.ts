import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { rc2CbcDecrypt, rc2DecryptBlocks } from '../../src/pkcs12/rc2.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

test('RFC 2268 §5 test vectors decrypt to their plaintexts', () => {
  // [key, effective key bits, plaintext, ciphertext]
  const vectors: [string, number, string, string][] = [
    ['00000000 00000000', 63, '00000000 00000000', 'ebb773f9 93278eff'],
    ['ffffffff ffffffff', 64, 'ffffffff ffffffff', '278b27e4 2e2f0d49'],
    ['30000000 00000000', 64, '10000000 00000001', '30649edf 9be7d2c2'],
    ['88', 64, '00000000 00000000', '61a8a244 adacccf0'],
    ['88bca90e 90875a', 64, '00000000 00000000', '6ccf4308 974c267f'],
    ['88bca90e 90875a7f 0f79c384 627bafb2', 64, '00000000 00000000', '1a807d27 2bbe5db1'],
    ['88bca90e 90875a7f 0f79c384 627bafb2', 128, '00000000 00000000', '2269552a b0f85ca6'],
    [
      '88bca90e 90875a7f 0f79c384 627bafb2 16f80a6f 85920584 c42fceb0 be255daf 1e',
      129,
      '00000000 00000000',
      '5b78d3a4 3dfff1f1',
    ],
  ];
  for (const [key, bits, plain, cipher] of vectors) {
    assert.deepEqual(Buffer.from(rc2DecryptBlocks(hex(key), bits, hex(cipher))), hex(plain), `key ${key}/${bits}`);
  }
});

test('RC2-CBC decrypts what OpenSSL encrypts (40- and 128-bit keys, padding removed)', () => {
  for (const [cipher, keyLength] of [
    ['rc2-40-cbc', 5],
    ['rc2-cbc', 16],
  ] as const) {
    const key = randomBytes(keyLength);
    const iv = randomBytes(8);
    const plain = randomBytes(77);
    const r = spawnSync(
      'openssl',
      [
        'enc',
        `-${cipher}`,
        '-provider',
        'legacy',
        '-provider',
        'default',
        '-K',
        key.toString('hex'),
        '-iv',
        iv.toString('hex'),
      ],
      { input: plain },
    );
    assert.equal(r.status, 0, r.stderr.toString());
    const out = rc2CbcDecrypt(key, keyLength * 8, iv, r.stdout);
    assert.deepEqual(Buffer.from(out ?? []), plain, cipher);
  }
});

test('RC2-CBC reports bad padding and bad lengths as undefined, bad parameters as errors', () => {
  // Fixed values: with random ones the wrong key would give valid padding once in a few hundred runs.
  const key = hex('000102030405060708090a0b0c0d0e0f');
  const iv = hex('0001020304050607');
  const r = spawnSync(
    'openssl',
    [
      'enc',
      '-rc2-cbc',
      '-provider',
      'legacy',
      '-provider',
      'default',
      '-K',
      key.toString('hex'),
      '-iv',
      iv.toString('hex'),
    ],
    { input: Buffer.from('sixteen bytes!!!') },
  );
  assert.equal(r.status, 0);
  assert.equal(rc2CbcDecrypt(hex('ff0102030405060708090a0b0c0d0e0f'), 128, iv, r.stdout), undefined);
  assert.equal(rc2CbcDecrypt(key, 128, iv, Buffer.alloc(0)), undefined);
  assert.equal(rc2CbcDecrypt(key, 128, iv, Buffer.alloc(12)), undefined);
  assert.throws(() => rc2CbcDecrypt(key, 128, Buffer.alloc(7), Buffer.alloc(8)), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => rc2DecryptBlocks(Buffer.alloc(0), 64, Buffer.alloc(8)), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => rc2DecryptBlocks(key, 0, Buffer.alloc(8)), { code: 'INVALID_ARGUMENT' });
});
