import { McpMessageError } from './mcp-message-error';

/**
 * A JSON value as the gateway holds it after a strict parse. Objects have a null prototype:
 * no member is ever read from Object.prototype (`toString`, `constructor`), and `__proto__`
 * is refused outright (see parseStrictJson).
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface StrictJsonLimits {
  /** Most nested arrays and objects; deeper input is refused. Default 64. */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 64;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses an MCP request body as RFC 8259 JSON, refusing every input that two conformant
 * parsers could read as different values, so that what policy decides on is what the
 * server acts on (docs/mcp.md, "Exact parsing"):
 *
 * - bytes that are not UTF-8 (a decoder would replace them, another refuse them), and a
 *   byte order mark (RFC 8259 §8.1: must not be added; some parsers skip it, others fail);
 * - a duplicate key in an object: JSON.parse keeps the last, Go's encoding/json merges, some
 *   parsers keep the first or refuse. Refused rather than resolved, whatever the values;
 * - a `\u` escape that leaves a lone surrogate: Go and Rust replace it with U+FFFD or refuse,
 *   JavaScript and Python keep it, so the string compared by policy is not the server's;
 * - a number that is not finite once read as a double (`1e400`), or an integer of magnitude
 *   beyond 2^53 − 1: a double cannot hold it exactly, so JavaScript and a 64-bit or big-integer
 *   parser (Python, Go's json.Number, Java's BigInteger) read different values;
 * - a key `__proto__`: JSON.parse keeps it as an ordinary member, the MCP TypeScript SDK's
 *   zod schemas drop it, and a server that copies arguments key by key sets the copy's
 *   prototype from it, so `{"__proto__":{"path":"/secrets/k"}}` has no `path` for policy and
 *   one for such a server;
 * - nesting deeper than `maxDepth` (bounded recursion; parsers' own limits differ);
 * - anything after the value but whitespace, and anything JSON.parse's grammar does not take
 *   (no comments, no trailing commas, no NaN, only the four RFC whitespace characters).
 *
 * The value returned is then re-serialized with JSON.stringify for the server: what it
 * parses is the canonical text of exactly this value (mcp-body.ts).
 */
export function parseStrictJson(bytes: Uint8Array, limits: StrictJsonLimits = {}): JsonValue {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw parseError('the body starts with a byte order mark (U+FEFF); send JSON without one');
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (err) {
    throw parseError('the body is not valid UTF-8', err);
  }
  return new StrictJsonParser(text, limits.maxDepth ?? DEFAULT_MAX_DEPTH).parseDocument();
}

function parseError(message: string, cause?: unknown): McpMessageError {
  return new McpMessageError('ERR_MCP_PARSE', `Parse error: ${message}`, cause === undefined ? {} : { cause });
}

/** At most this much of a key is quoted back in an error. */
const MAX_QUOTED = 40;
const quote = (key: string): string => JSON.stringify(key.length > MAX_QUOTED ? `${key.slice(0, MAX_QUOTED)}…` : key);

/** `$.params.arguments`, `$[2].id`: where in the document a problem is. */
const memberPath = (path: string, key: string): string => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${quote(key)}]`);

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class StrictJsonParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  parseDocument(): JsonValue {
    this.skipWhitespace();
    const value = this.parseValue('$', 0);
    this.skipWhitespace();
    if (this.pos !== this.text.length) throw this.error('unexpected data after the JSON value');
    return value;
  }

  private parseValue(path: string, depth: number): JsonValue {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.parseObject(path, depth + 1);
      case 0x5b /* [ */:
        return this.parseArray(path, depth + 1);
      case 0x22 /* " */:
        return this.parseString(path);
      case 0x74 /* t */:
        return this.literal('true', true);
      case 0x66 /* f */:
        return this.literal('false', false);
      case 0x6e /* n */:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber(path);
        throw this.error(Number.isNaN(c) ? 'unexpected end of the body' : 'unexpected character');
    }
  }

  private parseObject(path: string, depth: number): JsonObject {
    this.checkDepth(path, depth);
    this.pos++;
    const object = Object.create(null) as JsonObject;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return object;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) throw this.error('expected a string key');
      const key = this.parseString(path);
      if (key === '__proto__') {
        throw parseError(
          `a key "__proto__" in ${path}: JavaScript readers disagree on it (JSON.parse keeps it as a member, the MCP SDK's schemas drop it, a naive merge sets a prototype from it), so it is refused`,
        );
      }
      if (Object.prototype.hasOwnProperty.call(object, key)) {
        throw parseError(`duplicate key ${quote(key)} in ${path}: parsers disagree on which value counts, so it is refused`);
      }
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) throw this.error("expected ':' after a key");
      this.pos++;
      this.skipWhitespace();
      object[key] = this.parseValue(memberPath(path, key), depth);
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x7d) return object;
      if (c !== 0x2c) throw this.error("expected ',' or '}'", this.pos - 1);
    }
  }

  private parseArray(path: string, depth: number): JsonValue[] {
    this.checkDepth(path, depth);
    this.pos++;
    const array: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return array;
    }
    for (;;) {
      this.skipWhitespace();
      array.push(this.parseValue(`${path}[${array.length}]`, depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x5d) return array;
      if (c !== 0x2c) throw this.error("expected ',' or ']'", this.pos - 1);
    }
  }

  private parseString(path: string): string {
    const start = ++this.pos;
    let out = '';
    let chunkStart = start;
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (Number.isNaN(c)) throw this.error('unterminated string');
      if (c === 0x22) {
        out += this.text.slice(chunkStart, this.pos++);
        return out;
      }
      if (c < 0x20) throw this.error('a control character in a string must be escaped');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += this.text.slice(chunkStart, this.pos);
      out += this.parseEscape(path);
      chunkStart = this.pos;
    }
  }

  /** One escape after its backslash; a `\u` high surrogate must be followed by a `\u` low one. */
  private parseEscape(path: string): string {
    const e = this.text[this.pos + 1];
    this.pos += 2;
    switch (e) {
      case '"':
        return '"';
      case '\\':
        return '\\';
      case '/':
        return '/';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'u': {
        const unit = this.hex4();
        if (unit >= 0xdc00 && unit <= 0xdfff) throw this.loneSurrogate(path);
        if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
        if (this.text[this.pos] !== '\\' || this.text[this.pos + 1] !== 'u') throw this.loneSurrogate(path);
        this.pos += 2;
        const low = this.hex4();
        if (low < 0xdc00 || low > 0xdfff) throw this.loneSurrogate(path);
        return String.fromCharCode(unit, low);
      }
      default:
        throw this.error('invalid escape in a string', this.pos - 2);
    }
  }

  private hex4(): number {
    const digits = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9A-Fa-f]{4}$/.test(digits)) throw this.error('invalid \\u escape');
    this.pos += 4;
    return parseInt(digits, 16);
  }

  private loneSurrogate(path: string): McpMessageError {
    return parseError(`a \\u escape in a string at ${path} leaves a lone surrogate (not a Unicode character; parsers keep, replace or refuse it)`);
  }

  private parseNumber(path: string): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) throw this.error('invalid number');
    this.pos += match[0].length;
    const value = Number(match[0]);
    if (!Number.isFinite(value)) throw parseError(`the number at ${path} is out of range`);
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw parseError(`the number at ${path} is an integer beyond ±(2^53 − 1): parsers read it as different values`);
    }
    return value;
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) throw this.error('unexpected character');
    this.pos += word.length;
    return value;
  }

  private skipWhitespace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  private checkDepth(path: string, depth: number): void {
    if (depth > this.maxDepth) throw parseError(`${path} nests deeper than ${this.maxDepth} levels`);
  }

  private error(what: string, at = this.pos): McpMessageError {
    if (at >= this.text.length) return parseError(what === 'unexpected end of the body' ? what : `unexpected end of the body (${what})`);
    return parseError(`${what} at character ${at}`);
  }
}
