import { structToObject } from '../../../../src/spiffe/workload/proto-struct';

describe('structToObject', () => {
  it('turns a decoded google.protobuf.Struct into the plain object it stands for', () => {
    expect(
      structToObject({
        fields: {
          sub: { kind: 'stringValue', stringValue: 'spiffe://example.org/a' },
          exp: { kind: 'numberValue', numberValue: 1700000000 },
          admin: { kind: 'boolValue', boolValue: false },
          nothing: { kind: 'nullValue', nullValue: 0 },
          aud: { kind: 'listValue', listValue: { values: [{ kind: 'stringValue', stringValue: 'x' }, { kind: 'numberValue', numberValue: 2 }] } },
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
