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
        huge: '18446744073709551615',
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
      }),
    );
    expect(decoded).toEqual({
      text: 'hi',
      small: 42, // a Long: exact in JavaScript
      huge: '18446744073709551615', // beyond 2^53: a string
      ratio: '0.25', // Cedar has no floats
      flag: true,
      blob: 'YWJj', // base64
      color: 'COLOR_RED', // enum name
      inner: { name: 'n', scores: [1, 2] },
      items: [
        { name: 'a', scores: [] },
        { name: 'b', scores: [3] },
      ],
      counts: { x: 1 },
      at: '2023-11-14T22:13:20.500Z',
      wrapped: 7,
      extra: { k: 'v', n: '1.5' },
      packed: [1, 2, 3],
    });
  });

  it('fills defaults for absent scalar fields and leaves absent messages out', () => {
    expect(decodeRequest(type, new Uint8Array())).toEqual({
      text: '', small: 0, huge: 0, ratio: '0', flag: false, blob: '', color: 'COLOR_UNSPECIFIED', items: [], counts: {}, packed: [],
    });
  });

  it.each([
    ['a length past the end', [0x0a, 0x05, 0x61], 'field 1 runs past the end of the message'],
    ['a scalar field with the wrong wire type', [0x12, 0x01, 0x01], 'field small has wire type 2, not 0'],
    ['a group', [0x0b], 'unsupported wire type 3 in field 1'],
    ['a truncated varint', [0x10, 0xff], 'truncated varint in field 2'],
  ])('refuses %s (protobufjs alone would not)', (_name, bytes, problem) => {
    expect(() => decodeRequest(type, Uint8Array.from(bytes))).toThrow(new MessageDecodeError(`cannot decode test.mapping.v1.Everything: ${problem}`));
  });

  it('refuses map keys that Cedar would read as an entity or extension', () => {
    expect(() => decodeRequest(type, encode({ counts: { __entity: 1 } }))).toThrow('a map key "__entity" cannot be given to Cedar');
  });

  it('needs every routed service to be in the protos', () => {
    expect(() => MethodCatalog.load('files', [PROTO], ['test.mapping.v1.Nope'])).toThrow(
      `upstream "files": service test.mapping.v1.Nope is not defined in its protos (${PROTO})`,
    );
  });
});
