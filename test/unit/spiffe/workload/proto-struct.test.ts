import type { Struct } from '../../../../src/spiffe/workload/proto';
import { objectToStruct, structToObject } from '../../../../src/spiffe/workload/proto-struct';

describe('structToObject', () => {
  it('turns a decoded google.protobuf.Struct into the plain object it stands for', () => {
    expect(
      structToObject({
        fields: {
          sub: { kind: 'stringValue', stringValue: 'spiffe://example.org/a' },
          exp: { kind: 'numberValue', numberValue: 1700000000 },
          admin: { kind: 'boolValue', boolValue: false },
          nothing: { kind: 'nullValue', nullValue: 0 },
          aud: {
            kind: 'listValue',
            listValue: {
              values: [
                { kind: 'stringValue', stringValue: 'x' },
                { kind: 'numberValue', numberValue: 2 },
              ],
            },
          },
          nested: { kind: 'structValue', structValue: { fields: { deep: { kind: 'listValue', listValue: { values: [] } } } } },
        },
      }),
    ).toEqual({ sub: 'spiffe://example.org/a', exp: 1700000000, admin: false, nothing: null, aud: ['x', 2], nested: { deep: [] } });
  });

  it('reads a missing Struct as an empty object', () => {
    expect(structToObject(null)).toEqual({});
    expect(structToObject(undefined)).toEqual({});
  });
});

describe('objectToStruct', () => {
  it('turns a JSON object into the tagged Struct proto-loader sends', () => {
    expect(objectToStruct({ sub: 'spiffe://example.org/a', exp: 1700000000, ok: true, none: null, aud: ['x'], nested: { n: 1 } })).toEqual({
      fields: {
        sub: { kind: 'stringValue', stringValue: 'spiffe://example.org/a' },
        exp: { kind: 'numberValue', numberValue: 1700000000 },
        ok: { kind: 'boolValue', boolValue: true },
        none: { kind: 'nullValue', nullValue: 'NULL_VALUE' },
        aud: { kind: 'listValue', listValue: { values: [{ kind: 'stringValue', stringValue: 'x' }] } },
        nested: { kind: 'structValue', structValue: { fields: { n: { kind: 'numberValue', numberValue: 1 } } } },
      },
    });
  });

  it('leaves out undefined members and writes undefined list members as null, as JSON does', () => {
    expect(objectToStruct({ gone: undefined, list: [undefined] })).toEqual({
      fields: { list: { kind: 'listValue', listValue: { values: [{ kind: 'nullValue', nullValue: 'NULL_VALUE' }] } } },
    });
  });

  it('round-trips JSON claims through structToObject', () => {
    const claims = { sub: 'spiffe://example.org/a', aud: ['a', 'b'], exp: 1700000000, extra: { deep: [1, 'two', false, null] } };
    // What objectToStruct builds is a complete Struct as decoding would give it.
    expect(structToObject(objectToStruct(claims) as Struct)).toEqual(claims);
  });
});
