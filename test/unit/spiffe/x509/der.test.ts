import { X509Certificate } from 'node:crypto';
import { DevCa } from '../../../../src/spiffe/dev/ca';
import { DerError } from '../../../../src/spiffe/errors';
import { readDerElement, splitDer } from '../../../../src/spiffe/x509/der';
import { thrown } from '../thrown';

describe('splitDer', () => {
  let chain: Buffer[];

  beforeAll(async () => {
    const root = await DevCa.create('example.org');
    const intermediate = await root.createIntermediate();
    chain = [...(await intermediate.issue('spiffe://example.org/a')).certificates, root.bundle()];
  });

  it('splits concatenated DER certificates into exact copies, in order', () => {
    const joined = Buffer.concat(chain);
    const parts = splitDer(joined);
    expect(parts).toHaveLength(3);
    parts.forEach((part, i) => expect(part.equals(chain[i])).toBe(true));
    // Copies, not views: changing the input does not change what was returned.
    joined.fill(0);
    expect(new X509Certificate(parts[0]).subject).toBe('O=SPIFFE');
  });

  it('accepts a plain Uint8Array and a view with a non-zero offset', () => {
    const joined = Buffer.concat([Buffer.from([9, 9, 9]), ...chain]);
    const view = new Uint8Array(joined.buffer, joined.byteOffset + 3, joined.length - 3);
    expect(splitDer(view).map((p) => p.length)).toEqual(chain.map((c) => c.length));
  });

  it('returns [] for empty input', () => {
    expect(splitDer(new Uint8Array(0))).toEqual([]);
  });

  it.each([
    ['a truncated certificate', () => Buffer.concat(chain).subarray(0, chain[0].length + 10), /^truncated DER element at offset \d+/],
    ['a certificate followed by one stray byte', () => Buffer.concat([chain[0], Buffer.from([0x30])]), /^truncated DER header at offset \d+$/],
    ['text', () => Buffer.from('-----BEGIN CERTIFICATE-----'), /^expected a DER SEQUENCE at offset 0, found tag 0x2d$/],
    ['a non-SEQUENCE element', () => Buffer.from([0x04, 0x01, 0x00]), /^expected a DER SEQUENCE at offset 0, found tag 0x04$/],
    ['an indefinite length', () => Buffer.from([0x30, 0x80, 0x00, 0x00]), /^indefinite DER length at offset 0$/],
    ['a non-minimal long-form length', () => Buffer.from([0x30, 0x81, 0x01, 0x00]), /^non-minimal DER length at offset 0$/],
    ['a long-form length with a leading zero', () => Buffer.from([0x30, 0x82, 0x00, 0x81, ...new Array(0x81).fill(0)]), /^non-minimal DER length at offset 0$/],
    ['a truncated long-form length', () => Buffer.from([0x30, 0x82, 0x01]), /^truncated DER length at offset 0$/],
    ['a length wider than four bytes', () => Buffer.from([0x30, 0x85, 1, 0, 0, 0, 0]), /^DER length too large at offset 0$/],
  ])('rejects %s with DerError', (_name, input, message) => {
    expect(thrown(DerError, 'ERR_DER', () => splitDer(input())).message).toMatch(message);
  });

  it('reads short- and long-form headers', () => {
    expect(readDerElement(Buffer.from([0x30, 0x01, 0x05]), 0)).toEqual({ tag: 0x30, start: 0, contentStart: 2, end: 3 });
    const long = Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), Buffer.alloc(256)]);
    expect(readDerElement(long, 0)).toEqual({ tag: 0x30, start: 0, contentStart: 4, end: 260 });
    expect(() => readDerElement(long, 0, 100)).toThrow('truncated DER element at offset 0: needs 260 bytes, has 100');
  });
});
