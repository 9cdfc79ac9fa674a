import { canonicalJson, canonicalJsonOfParts } from '../../../src/observability/canonical-json';

describe('canonical JSON (RFC 8785)', () => {
  it('sorts members by UTF-16 code units, recursively, without whitespace, numbers and strings as ECMAScript writes them', () => {
    // RFC 8785 §3.2.3's sorting example.
    const sorting = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalJson(sorting)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    expect(canonicalJson({ b: [3, { z: true, a: null }], a: 1e21, c: 0.1, d: 'é\n"' })).toBe('{"a":1e+21,"b":[3,{"a":null,"z":true}],"c":0.1,"d":"é\\n\\""}');
    expect(canonicalJson({ gone: undefined, kept: 1 })).toBe('{"kept":1}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(RangeError);
  });

  it('of parts: the same as of the object they spread into, a later part winning a repeated key', () => {
    const parts = [{ time: 't', level: 'info' }, { decisionId: 'x-1', policies: ['p'], time: 'later', reason: undefined }, { seq: 2 }];
    expect(canonicalJsonOfParts(parts)).toBe(canonicalJson(Object.assign({}, ...parts)));
  });
});
