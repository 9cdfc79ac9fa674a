import { resolve } from 'node:path';
import { MethodCatalog } from '../../../src/relay/method-catalog';
import { decodeRequest, MessageDecodeError } from '../../../src/relay/proto-json';

const PROTO = resolve(__dirname, '../../fixtures/proto/mapping.proto');
const catalog = MethodCatalog.load('mapping', [PROTO], ['test.mapping.v1.Mapping']);
const type = catalog.get('test.mapping.v1.Mapping/Do')!.requestType;

function encode(value: Record<string, unknown>): Uint8Array {
  return type.encode(type.fromObject(value)).finish();
}

describe('decodeRequest: the proto3 JSON mapping, as Cedar values', () => {
  it('maps every kind of field', () => {
    const decoded = decodeRequest(
      type,
      encode({
        text: 'hi',
        small: 42,
        huge: '9007199254740991',
        ratio: 0.25,
        flag: true,
        blob: Buffer.from('abc'),
        color: 'COLOR_RED',
        inner: { name: 'n', scores: [1, 2] },
        items: [{ name: 'a' }, { name: 'b', scores: [3] }],
        counts: { x: 1 },
        at: { seconds: 1700000000, nanos: 500_000_000 },
        wrapped: { value: 7 },
        extra: { fields: { k: { stringValue: 'v' }, n: { numberValue: 1.5 } } },
        packed: [1, 2, 3],
        foo_1bar: 'x',
        renamed: 'y',
      }),
    );
    expect(decoded).toEqual({
      text: 'hi',
      small: 42, // a Long
      huge: 9007199254740991, // the largest integer Cedar receives exactly
      // ratio: left out, Cedar has no floats
      flag: true,
      blob: 'YWJj', // base64
      color: 'COLOR_RED', // enum name
      inner: { name: 'n', scores: [1, 2] },
      items: [
        { name: 'a', scores: [] },
        { name: 'b', scores: [3] },
      ],
      counts: [{ key: 'x', value: 1 }], // a map: a set of { key, value }
      at: '2023-11-14T22:13:20.500Z',
      wrapped: 7,
      // extra: left out, free-form JSON has no Cedar type
      packed: [1, 2, 3],
      foo1bar: 'x', // protoc's JSON name, not protobufjs's foo_1bar
      otherName: 'y', // json_name option
    });
  });

  it('fills defaults for absent scalar fields and leaves absent messages out', () => {
    expect(decodeRequest(type, new Uint8Array())).toEqual({
      text: '',
      small: 0,
      huge: 0,
      flag: false,
      blob: '',
      color: 'COLOR_UNSPECIFIED',
      items: [],
      counts: [],
      packed: [],
      foo1bar: '',
      otherName: '',
    });
  });

  it('refuses a 64-bit value Cedar cannot receive exactly, rather than let a policy compare a string', () => {
    expect(() => decodeRequest(type, encode({ huge: '9007199254740992' }))).toThrow('field huge: 9007199254740992 is beyond the integers Cedar receives exactly (±(2^53 - 1))');
  });

  it('renders an enum number the proto does not know as its digits', () => {
    expect(decodeRequest(type, Uint8Array.from([0x38, 0x07])).color).toBe('7');
  });

  it.each([
    ['a length past the end', [0x0a, 0x05, 0x61], 'field 1 runs past the end of the message'],
    ['a scalar field with the wrong wire type', [0x12, 0x01, 0x01], 'field small has wire type 2, not 0'],
    ['a group', [0x0b], 'unsupported wire type 3 in field 1'],
    ['a truncated varint', [0x10, 0xff], 'truncated varint in field 2'],
  ])('refuses %s (protobufjs alone would not)', (_name, bytes, problem) => {
    expect(() => decodeRequest(type, Uint8Array.from(bytes))).toThrow(new MessageDecodeError(`cannot decode test.mapping.v1.Everything: ${problem}`));
  });

  it('keeps map keys as data: a key named like a Cedar escape is just a string', () => {
    expect(decodeRequest(type, encode({ counts: { __entity: 1 } })).counts).toEqual([{ key: '__entity', value: 1 }]);
  });

  it('needs every routed service to be in the protos', () => {
    expect(() => MethodCatalog.load('files', [PROTO], ['test.mapping.v1.Nope'])).toThrow(`upstream "files": service test.mapping.v1.Nope is not defined in its protos (${PROTO})`);
  });
});
