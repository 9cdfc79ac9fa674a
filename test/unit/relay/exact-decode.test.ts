import { resolve } from 'node:path';
import { encodeCanonical } from '../../../src/relay/canonical-encode';
import { decodeExact, MessageDecodeError } from '../../../src/relay/exact-decode';
import { requestContext } from '../../../src/relay/proto-json';
import { loadProtoRoot } from '../../../src/protos/proto-files';

const DIR = resolve(__dirname, '../../fixtures/proto/exact');
const request = loadProtoRoot([resolve(DIR, 'exact.proto')]).lookupType('exact.v1.Request');
const legacy = loadProtoRoot([resolve(DIR, 'closed.proto')]).lookupType('exact.v2.Legacy');

const hex = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');
const seen = (h: string) => requestContext(decodeExact(request, hex(h)));
const canonical = (h: string, type = request) => Buffer.from(encodeCanonical(decodeExact(type, hex(h)))).toString('hex');

describe('decodeExact: protobuf semantics, as a tool parses them', () => {
  it('keeps the last occurrence of a scalar field', () => {
    expect(seen('0a01 61 0a01 62').path).toBe('b');
  });

  it('merges a singular message that occurs twice, field by field', () => {
    // target { path: "/s" } then target { tags: "t" }: one target with both.
    expect(seen('4203 0a01 73 4203 1a01 74').target).toMatchObject({ path: 's', tags: ['t'] });
  });

  it('keeps only the last member of a oneof set', () => {
    const r = seen('6202 2f61 6a02 2f62');
    expect(r.otherPath).toBe('/b');
    expect(r).not.toHaveProperty('publicPath');
  });

  it('replaces a map entry whose key comes again, and fills a missing key or value with the default', () => {
    expect(seen('5206 0a01 6b12 0131 5206 0a01 6b12 0132').labels).toEqual([{ key: 'k', value: '2' }]);
    expect(seen('5203 1201 76').labels).toEqual([{ key: '', value: 'v' }]);
  });

  it('reads 32-bit integers and enums as the low 32 bits of the varint, and bool as any non-zero varint', () => {
    expect(seen('18 ffffffff0f').count).toBe(-1); // -1 in 5 bytes, as some encoders write it
    expect(seen('18 8180808010').count).toBe(1); // bit 32 set: dropped
    expect(seen('30 8080808010').force).toBe(true);
    expect(seen('38 8180808080 00').mode).toBe('MODE_READ'); // overlong, still 1
  });

  it('accepts repeated numbers packed and unpacked alike', () => {
    expect(seen('8201 02 0102 8001 03').ids).toEqual([1, 2, 3]);
  });

  it('keeps a leading byte-order mark in a string (a tool would)', () => {
    expect(seen('0a05 efbbbf2f61').path).toBe('\uFEFF/a');
  });

  it.each([
    ['an undeclared field', 'f801 01', 'field 31 is not declared in exact.v1.Request'],
    ['a tag wider than 32 bits', '8880808010 00', 'field tag wider than 32 bits'],
    ['a tag of 6 bytes', '8880808080 00 00', 'field tag wider than 32 bits'],
    ['field number 0', '00 00', 'field number 0'],
    ['a group', '0b 0c', 'unsupported wire type 3 in field 1'],
    ['a varint with bits past 64', '10 8080808080808080807f', 'varint in field 2 beyond 64 bits'],
    ['a length of 6 bytes', '0a 8180808080 00 61', 'length in field 1 longer than 5 bytes'],
    ['a length past the end', '0a05 61', 'field 1 runs past the end of the message'],
    ['a declared field of another wire type', '0a01 61 08 01', 'field path has wire type 0, not 2'],
    ['a map entry with a mistyped value', '5205 0a01 6b10 07', "map field labels's value has wire type 0, not 2"],
    ['a packed run of partial values', 'b201 03 0000 00', 'field 22 runs past the end of the message'],
    ['a string that is not UTF-8', '0a02 c080', 'field 1 is not valid UTF-8'],
  ])('refuses %s', (_name, h, problem) => {
    expect(() => decodeExact(request, hex(h))).toThrow(new MessageDecodeError(problem));
  });

  it('refuses messages nested beyond 64 levels', () => {
    let inner = Buffer.alloc(0);
    for (let i = 0; i < 70; i++) inner = Buffer.concat([Buffer.from([0x22]), varint(inner.length), inner]); // Target.child
    const message = Buffer.concat([Buffer.from([0x42]), varint(inner.length), inner]);
    expect(() => decodeExact(request, message)).toThrow('message nested more than 64 levels deep');
  });

  it('refuses a closed (proto2) enum number it does not declare, and a missing required field', () => {
    expect(() => decodeExact(legacy, hex('2a01 61 1009'))).toThrow('enum exact.v2.Level has no value 9');
    expect(() => decodeExact(legacy, hex('0a01 61'))).toThrow('required field id of exact.v2.Legacy is missing');
  });

  it("renders proto2 defaults: an explicit [default], and a closed enum's first value", () => {
    expect(requestContext(decodeExact(legacy, hex('2a01 61')))).toMatchObject({ limit: 10, level: 'LOW', grade: 'GRADE_NONE' });
  });
});

describe('encodeCanonical', () => {
  it('writes fields in number order, once, defaults of proto3 scalars left out, packed as declared', () => {
    expect(canonical('8001 01 8001 02 1800 0a01 62 0a01 61')).toBe('0a0161' + '820102' + '0102');
  });

  it('sign-extends a negative int32 to 10 bytes, as every encoder does', () => {
    expect(canonical('18 ffffffff0f')).toBe('18ffffffffffffffffff01');
  });

  it('writes a proto3 optional or oneof member even at its default', () => {
    expect(canonical('7a00 6200')).toBe('62007a00');
  });

  it("keeps a float's bits: a NaN payload and -0.0 survive", () => {
    const nan = 'a201 05 75 0100c07f'; // scalars { real32: a NaN with payload 1 }
    expect(canonical(nan)).toBe('a201057501' + '00c07f');
    expect(canonical('a201 05 75 00000080')).toBe('a20105750000' + '0080'); // -0.0f
    expect(canonical('a201 05 75 00000000')).toBe('a20100'); // +0.0f is the default
  });
});

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
