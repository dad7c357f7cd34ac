/** fast-check generators for LDAP messages, filters and DNs, shared by the codec, filter and fuzz tests. */
import fc from 'fast-check';
import type { Dn } from '../../src/ldap/dn.ts';
import type {
  Control,
  Filter,
  LdapMessage,
  LdapResult,
  PartialAttribute,
  ProtocolOp,
} from '../../src/ldap/messages.ts';

const MAX_INT = 0x7fffffff;
/** fast-check 4 builds records with a null prototype, which deepEqual tells from decoded objects. */
const plain = { noNullPrototype: true } as const;

export const bytesArb = fc.uint8Array({ maxLength: 24 });
/** Any Unicode text, including the characters filters and DNs must escape. */
export const textArb = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({
    unit: fc.constantFrom('*', '(', ')', '\\', '\0', ' ', '#', ',', '+', '"', ';', '<', '>', '=', 'a', 'é'),
    maxLength: 8,
  }),
);
export const oidArb = fc
  .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.nat(), { maxLength: 6 }))
  .map(([a, b, rest]) => [a, b, ...rest].join('.'));
const descrArb = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/);
export const attributeArb = fc
  .tuple(fc.oneof(descrArb, oidArb), fc.array(fc.stringMatching(/^[A-Za-z0-9-]{1,6}$/), { maxLength: 2 }))
  .map(([base, options]) => [base, ...options].join(';'));

const avaType = fc.constantFrom('equality', 'greaterOrEqual', 'lessOrEqual', 'approx') as fc.Arbitrary<
  'equality' | 'greaterOrEqual' | 'lessOrEqual' | 'approx'
>;
const nonEmptyBytes = fc.uint8Array({ minLength: 1, maxLength: 16 });

const leafArb: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({ type: avaType, attribute: attributeArb, value: bytesArb }, plain),
  fc.record({ type: fc.constant('present' as const), attribute: attributeArb }, plain),
  // The string form cannot tell an empty initial or final from an absent one: generate only non-empty ones.
  fc
    .record(
      {
        type: fc.constant('substrings' as const),
        attribute: attributeArb,
        initial: nonEmptyBytes,
        any: fc.array(bytesArb, { maxLength: 3 }),
        final: nonEmptyBytes,
      },
      { requiredKeys: ['type', 'attribute', 'any'], noNullPrototype: true },
    )
    .filter((f) => f.initial !== undefined || f.any.length > 0 || f.final !== undefined),
  fc
    .record(
      {
        type: fc.constant('extensible' as const),
        matchingRule: fc.oneof(oidArb, descrArb),
        attribute: attributeArb,
        value: bytesArb,
        dnAttributes: fc.boolean(),
      },
      { requiredKeys: ['type', 'value', 'dnAttributes'], noNullPrototype: true },
    )
    // A matching rule named "dn" reads as the dnAttributes flag; one of rule and attribute is required.
    .filter(
      (f) => f.matchingRule?.toLowerCase() !== 'dn' && (f.matchingRule !== undefined || f.attribute !== undefined),
    ),
);

export const filterArb: fc.Arbitrary<Filter> = fc.letrec<{ filter: Filter }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.record(
      {
        type: fc.constantFrom('and', 'or') as fc.Arbitrary<'and' | 'or'>,
        filters: fc.array(tie('filter'), { maxLength: 4 }),
      },
      plain,
    ),
    fc.record({ type: fc.constant('not' as const), filter: tie('filter') }, plain),
  ),
})).filter;

const resultFields = {
  resultCode: fc.integer({ min: 0, max: MAX_INT }),
  matchedDN: textArb,
  diagnosticMessage: textArb,
  referral: fc.array(textArb, { minLength: 1, maxLength: 3 }),
};
const withResult = <T extends object>(extra: { [K in keyof T]: fc.Arbitrary<T[K]> }, required: string[]) =>
  fc.record(
    { ...resultFields, ...extra },
    { requiredKeys: ['resultCode', 'matchedDN', 'diagnosticMessage', ...required] as never[], noNullPrototype: true },
  ) as fc.Arbitrary<LdapResult & T>;

const partialAttributeArb: fc.Arbitrary<PartialAttribute> = fc.record(
  {
    type: attributeArb,
    values: fc.array(bytesArb, { maxLength: 4 }),
  },
  plain,
);

export const opArb: fc.Arbitrary<ProtocolOp> = fc.oneof(
  fc.record(
    {
      type: fc.constant('bindRequest' as const),
      version: fc.integer({ min: 1, max: 127 }),
      name: textArb,
      auth: fc.oneof(
        fc.record({ kind: fc.constant('simple' as const), password: bytesArb }, plain),
        fc.record(
          { kind: fc.constant('sasl' as const), mechanism: textArb, credentials: bytesArb },
          { requiredKeys: ['kind', 'mechanism'], noNullPrototype: true },
        ),
      ),
    },
    plain,
  ),
  withResult({ type: fc.constant('bindResponse' as const), serverSaslCreds: bytesArb }, ['type']),
  fc.constant({ type: 'unbindRequest' as const }),
  fc.record(
    {
      type: fc.constant('searchRequest' as const),
      baseObject: textArb,
      scope: fc.constantFrom('base', 'one', 'sub') as fc.Arbitrary<'base' | 'one' | 'sub'>,
      derefAliases: fc.integer({ min: 0, max: 3 }),
      sizeLimit: fc.integer({ min: 0, max: MAX_INT }),
      timeLimit: fc.integer({ min: 0, max: MAX_INT }),
      typesOnly: fc.boolean(),
      filter: filterArb,
      attributes: fc.array(textArb, { maxLength: 4 }),
    },
    plain,
  ),
  fc.record(
    {
      type: fc.constant('searchResultEntry' as const),
      objectName: textArb,
      attributes: fc.array(partialAttributeArb, { maxLength: 4 }),
    },
    plain,
  ),
  ...(
    ['searchResultDone', 'modifyResponse', 'addResponse', 'delResponse', 'modifyDnResponse', 'compareResponse'] as const
  ).map((type) => withResult({ type: fc.constant(type) }, ['type'])),
  fc.record(
    { type: fc.constant('searchResultReference' as const), uris: fc.array(textArb, { minLength: 1, maxLength: 3 }) },
    plain,
  ),
  fc.record(
    {
      type: fc.constant('modifyRequest' as const),
      object: textArb,
      changes: fc.array(
        fc.record(
          {
            operation: fc.constantFrom('add', 'delete', 'replace') as fc.Arbitrary<'add' | 'delete' | 'replace'>,
            modification: partialAttributeArb,
          },
          plain,
        ),
        { maxLength: 3 },
      ),
    },
    plain,
  ),
  fc.record(
    {
      type: fc.constant('addRequest' as const),
      entry: textArb,
      attributes: fc.array(partialAttributeArb, { maxLength: 3 }),
    },
    plain,
  ),
  fc.record({ type: fc.constant('delRequest' as const), dn: textArb }, plain),
  fc.record(
    {
      type: fc.constant('modifyDnRequest' as const),
      entry: textArb,
      newRdn: textArb,
      deleteOldRdn: fc.boolean(),
      newSuperior: textArb,
    },
    { requiredKeys: ['type', 'entry', 'newRdn', 'deleteOldRdn'], noNullPrototype: true },
  ),
  fc.record(
    { type: fc.constant('compareRequest' as const), entry: textArb, attribute: attributeArb, value: bytesArb },
    plain,
  ),
  fc.record({ type: fc.constant('abandonRequest' as const), idToAbandon: fc.integer({ min: 0, max: MAX_INT }) }, plain),
  fc.record(
    { type: fc.constant('extendedRequest' as const), name: oidArb, value: bytesArb },
    { requiredKeys: ['type', 'name'], noNullPrototype: true },
  ),
  withResult({ type: fc.constant('extendedResponse' as const), name: oidArb, value: bytesArb }, ['type']),
  fc.record(
    { type: fc.constant('intermediateResponse' as const), name: oidArb, value: bytesArb },
    { requiredKeys: ['type'], noNullPrototype: true },
  ),
);

const controlArb: fc.Arbitrary<Control> = fc.record(
  { oid: oidArb, critical: fc.boolean(), value: bytesArb },
  { requiredKeys: ['oid', 'critical'], noNullPrototype: true },
);

export const messageArb: fc.Arbitrary<LdapMessage> = fc.record(
  {
    id: fc.integer({ min: 0, max: MAX_INT }),
    op: opArb,
    controls: fc.array(controlArb, { maxLength: 3 }),
  },
  plain,
);

const dnTypeArb = fc.oneof(descrArb, oidArb);
export const dnArb: fc.Arbitrary<Dn> = fc.array(
  fc.array(fc.record({ type: dnTypeArb, value: textArb }, plain), { minLength: 1, maxLength: 3 }),
  { maxLength: 5 },
);
