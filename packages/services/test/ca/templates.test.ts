import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TemplateError } from '../../src/ca/errors.ts';
import { algorithmShape, KEY_ALGORITHMS } from '../../src/ca/keys.ts';
import { keyUsageFor, normalizeSerial } from '../../src/ca/records.ts';
import { DEFAULT_TEMPLATES, keyProblem, validateTemplateBody } from '../../src/ca/templates.ts';

function bodyOf(name: string): Record<string, unknown> {
  const { name: _, ...body } = DEFAULT_TEMPLATES.find((t) => t.name === name)!;
  return { ...body };
}

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TemplateError, String(e));
    assert.equal(e.code, 'TEMPLATE_INVALID');
    return e.field;
  }
  assert.fail('no TemplateError');
}

describe('certificate templates', () => {
  it('ships three valid defaults: 365 days, 42-day renewal window, escrow for encryption only', () => {
    for (const t of DEFAULT_TEMPLATES) {
      const { name: _, ...body } = t;
      assert.deepEqual(validateTemplateBody(body), body);
      assert.equal(t.validityDays, 365);
      assert.equal(t.renewalWindowDays, 42);
      assert.equal(t.archiveKeys, t.purpose === 'encryption');
      assert.equal(t.keys.rsaMinBits, 2048);
      assert.equal(t.keys.ed25519, t.purpose === 'signing');
    }
  });

  it('names the field that is wrong', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...bodyOf('dual-use'), validityDays: 826 }, 'validityDays'],
      [{ ...bodyOf('dual-use'), validityDays: 30.5 }, 'validityDays'],
      [{ ...bodyOf('dual-use'), renewalWindowDays: 365 }, 'renewalWindowDays'],
      [{ ...bodyOf('dual-use'), purpose: 'anything' }, 'purpose'],
      [{ ...bodyOf('dual-use'), exportable: 'yes' }, 'exportable'],
      [{ ...bodyOf('dual-use'), colour: 'blue' }, 'colour'],
      [{ ...bodyOf('encryption-only'), exportable: false }, 'archiveKeys'],
      [{ ...bodyOf('signing-only'), archiveKeys: true }, 'archiveKeys'],
      [{ ...bodyOf('dual-use'), keys: { rsaMinBits: 2050, ecCurves: [], ed25519: false } }, 'keys.rsaMinBits'],
      [{ ...bodyOf('dual-use'), keys: { rsaMinBits: 2048, ecCurves: ['P-521'], ed25519: false } }, 'keys.ecCurves'],
      [{ ...bodyOf('dual-use'), keys: { rsaMinBits: null, ecCurves: [], ed25519: false } }, 'keys'],
      [{ ...bodyOf('dual-use'), keys: { rsaMinBits: 2048, ecCurves: [], ed25519: false, dsa: true } }, 'keys.dsa'],
      [{ ...bodyOf('dual-use'), defaultKeyAlgorithm: 'ed25519' }, 'defaultKeyAlgorithm'],
      [{ ...bodyOf('dual-use'), defaultKeyAlgorithm: 'rsa-1024' }, 'defaultKeyAlgorithm'],
    ];
    for (const [body, field] of cases)
      assert.equal(
        fieldOf(() => validateTemplateBody(body)),
        field,
        field,
      );
    const { caId: _, ...missing } = bodyOf('dual-use');
    assert.equal(
      fieldOf(() => validateTemplateBody(missing)),
      'caId',
    );
  });

  it('checks keys against the policy', () => {
    const { name: _, ...signing } = DEFAULT_TEMPLATES[0]!;
    const accepted = KEY_ALGORITHMS.filter((a) => keyProblem(signing, algorithmShape(a)) === undefined);
    assert.deepEqual(accepted, ['rsa-2048', 'rsa-3072', 'rsa-4096', 'p-256', 'p-384', 'ed25519']);
    assert.match(keyProblem(signing, { kind: 'rsa', bits: 1024 })!, /2048 bits or more/);
    assert.match(keyProblem(signing, { kind: 'ec', curve: undefined })!, /accepts P-256 and P-384/);
    assert.match(keyProblem(signing, { kind: 'other', type: 'x25519' })!, /only RSA/);
  });
});

describe('CA records', () => {
  it('chooses keyUsage by purpose and key type (BR strict)', () => {
    assert.deepEqual(keyUsageFor('signing', { kind: 'ec', curve: 'P-256' }), ['digitalSignature']);
    assert.deepEqual(keyUsageFor('encryption', { kind: 'ec', curve: 'P-256' }), ['keyAgreement']);
    assert.deepEqual(keyUsageFor('encryption', { kind: 'rsa', bits: 2048 }), ['keyEncipherment']);
    assert.deepEqual(keyUsageFor('dual-use', { kind: 'rsa', bits: 2048 }), ['digitalSignature', 'keyEncipherment']);
  });

  it('normalizes serial numbers given in hex', () => {
    assert.equal(normalizeSerial('00:AB:cd 01'), 'abcd01');
    assert.equal(normalizeSerial('abc'), '0abc');
    for (const bad of ['', 'xyz', '0x12', 'a'.repeat(43)]) {
      assert.throws(
        () => normalizeSerial(bad),
        (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT',
      );
    }
  });
});
