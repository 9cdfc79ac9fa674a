import { McpMessageError } from '../../../src/mcp/mcp-message-error';
import { parseStrictJson } from '../../../src/mcp/strict-json';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const parse = (text: string) => parseStrictJson(utf8(text));

function refusal(input: Uint8Array | string): McpMessageError {
  try {
    parseStrictJson(typeof input === 'string' ? utf8(input) : input);
  } catch (err) {
    if (err instanceof McpMessageError) return err;
    throw err;
  }
  throw new Error(`accepted: ${String(input)}`);
}

describe('parseStrictJson', () => {
  it('reads what JSON.parse reads, for ordinary JSON', () => {
    const text = '{"a":[1,-2.5,3e2,true,false,null,"x\\n\\u00e9\\ud83d\\ude00"],"b":{"c":{}} , "d":[] }';
    expect(parse(text)).toEqual(JSON.parse(text));
  });

  it('refuses a __proto__ key, which JavaScript readers disagree on, and reads nothing from Object.prototype', () => {
    expect(refusal('{"a":{"__proto__":{"path":"/secrets/k"}}}').message).toContain('a key "__proto__" in $.a');
    expect(refusal('{"\\u005f_proto__":1}').message).toContain('"__proto__"');
    const value = parse('{"constructor":1}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBeNull();
    expect(Object.keys(value)).toEqual(['constructor']);
  });

  it.each([
    ['{"path":"/public","path":"/secrets"}', 'duplicate key "path" in $'],
    ['{"params":{"arguments":{"a":1,"a":1}}}', 'duplicate key "a" in $.params.arguments'],
    ['{"a":1,"\\u0061":2}', 'duplicate key "a" in $'],
  ])('refuses a duplicate key, even one spelled with escapes: %s', (text, message) => {
    const err = refusal(text);
    expect(err.code).toBe('ERR_MCP_PARSE');
    expect(err.message).toContain(message);
  });

  it.each([
    ['"\\ud800"', 'lone surrogate'],
    ['"\\udc00"', 'lone surrogate'],
    ['"\\ud800\\u0041"', 'lone surrogate'],
    ['"\\ud800x"', 'lone surrogate'],
    ['9007199254740992', 'beyond ±(2^53 − 1)'],
    ['-9007199254740993', 'beyond ±(2^53 − 1)'],
    ['{"id":1e300}', 'beyond ±(2^53 − 1)'],
    ['1e400', 'out of range'],
    ['{} x', 'unexpected data after the JSON value'],
    ['{}{}', 'unexpected data after the JSON value'],
    ['[1,]', 'unexpected character'],
    ['{"a":1,}', 'expected a string key'],
    ['NaN', 'unexpected character'],
    ['01', 'unexpected data'],
    ['"a\tb"', 'control character'],
    ['"\\x41"', 'invalid escape'],
    ['\u00a0{}', 'unexpected character'],
    ['{"a":1 /* c */}', "expected ',' or '}'"],
    ['', 'unexpected end of the body'],
  ])('refuses %j', (text, message) => {
    const err = refusal(text);
    expect(err.code).toBe('ERR_MCP_PARSE');
    expect(err.message).toContain(message);
  });

  it('accepts the largest exact integers and any finite fraction', () => {
    expect(parse('[9007199254740991,-9007199254740991,0.1,1.5e-400,-0]')).toEqual([9007199254740991, -9007199254740991, 0.1, 0, -0]);
  });

  it('refuses bytes that are not UTF-8, and a byte order mark', () => {
    expect(refusal(Uint8Array.from([0x22, 0xff, 0x22])).message).toContain('not valid UTF-8');
    // A surrogate encoded in UTF-8 (CESU-8): not UTF-8.
    expect(refusal(Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22])).message).toContain('not valid UTF-8');
    // An overlong encoding of '"'.
    expect(refusal(Uint8Array.from([0x22, 0xc0, 0xa2, 0x22])).message).toContain('not valid UTF-8');
    expect(refusal(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])).message).toContain('byte order mark');
  });

  it('bounds nesting', () => {
    expect(() => parseStrictJson(utf8(`${'['.repeat(64)}${']'.repeat(64)}`))).not.toThrow();
    expect(refusal(`${'['.repeat(65)}${']'.repeat(65)}`).message).toContain('nests deeper than 64 levels');
    expect(refusal(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`).message).toContain('nests deeper');
  });
});
