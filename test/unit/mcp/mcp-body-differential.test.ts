import { CallToolRequestSchema, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { parseMcpBody, type McpBody } from '../../../src/mcp/mcp-body';
import { McpMessageError } from '../../../src/mcp/mcp-message-error';
import { questionFor } from '../../../src/mcp/mcp-question';

/**
 * What the relay forwards (`canonical`) is what the server parses, and what the server
 * parses is what policy saw: checked against JSON.parse and against the SDK's own zod
 * schemas (what an SDK server runs on the text), for tools/call messages with arbitrary
 * arguments, each spelled in random legal ways (whitespace, escapes, number forms). And what
 * a lax parser would resolve one way or another (duplicate keys, lone surrogates, integers
 * past 2^53) is refused.
 */
const SEED = 1212;
const RUNS = 400;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A tiny deterministic PRNG, so that each spelling is reproducible from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `value` as JSON text, in one of the many spellings RFC 8259 allows for it. */
function spell(value: unknown, rand: () => number): string {
  const ws = (): string => ['', '', ' ', '\n', '\t', '\r\n  '][Math.floor(rand() * 6)]!;
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    const plain = JSON.stringify(value);
    if (Number.isInteger(value) && rand() < 0.5) return rand() < 0.5 ? `${plain}.0` : `${plain}e0`;
    return rand() < 0.3 ? plain.toUpperCase() : plain;
  }
  if (typeof value === 'string') {
    let out = '"';
    for (const ch of value) {
      const needs = ch === '"' || ch === '\\' || ch.charCodeAt(0) < 0x20;
      if (needs || rand() < 0.2) {
        out +=
          [...ch].length === 1 && ch.length === 2 ? `\\u${hex(ch.charCodeAt(0))}\\u${hex(ch.charCodeAt(1))}` : ch === '/' && rand() < 0.5 ? '\\/' : `\\u${hex(ch.charCodeAt(0))}`;
      } else out += ch;
    }
    return `${out}"`;
  }
  if (Array.isArray(value)) return `[${ws()}${value.map((v) => spell(v, rand)).join(`${ws()},${ws()}`)}${ws()}]`;
  const object = value as Record<string, unknown>;
  return `{${ws()}${Object.keys(object)
    .map((k) => `${spell(k, rand)}${ws()}:${ws()}${spell(object[k], rand)}`)
    .join(`${ws()},${ws()}`)}${ws()}}`;
}
const hex = (unit: number): string => unit.toString(16).padStart(4, '0');

/** A string with no lone surrogate (`\p{Cs}` matches only unpaired ones under the u flag). */
const isWellFormed = (text: string): boolean => !/\p{Cs}/u.test(text);

function wellFormed(value: unknown): boolean {
  if (typeof value === 'string') return isWellFormed(value);
  if (Array.isArray(value)) return value.every(wellFormed);
  if (typeof value === 'object' && value !== null) return Object.entries(value).every(([k, v]) => isWellFormed(k) && wellFormed(v));
  return true;
}

function hasUnsafeInteger(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (Array.isArray(value)) return value.some(hasUnsafeInteger);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasUnsafeInteger);
  return false;
}

const toolCall = fc.record({
  jsonrpc: fc.constant('2.0'),
  id: fc.oneof(fc.maxSafeInteger(), fc.string()),
  method: fc.constant('tools/call'),
  params: fc.record({
    // A name with "/" is refused (mcp-question.ts: its action would leave its group).
    name: fc.string({ minLength: 1, unit: 'grapheme' }).filter((name) => !name.includes('/')),
    arguments: fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), { maxKeys: 6 }),
  }),
});

function parseOrRefusal(bytes: Uint8Array): McpBody | McpMessageError {
  try {
    return parseMcpBody(bytes, '2025-06-18');
  } catch (err) {
    if (err instanceof McpMessageError) return err;
    throw err;
  }
}

/** JSON values every parser reads alike (no integer past 2^53, no lone surrogate). */
const exactJson = fc.jsonValue({ maxDepth: 1, stringUnit: 'binary' }).filter((v) => wellFormed(v) && !hasUnsafeInteger(v));

describe('what the MCP relay forwards is exactly what policy decided on', () => {
  it('for any tools/call, however it is spelled', () => {
    fc.assert(
      fc.property(toolCall.filter(wellFormed), fc.integer(), (message, seed) => {
        const text = spell(message, prng(seed));
        const body = parseOrRefusal(utf8(text));
        if (hasUnsafeInteger(message)) {
          // JSON.parse reads it; a 64-bit or big-integer parser reads another value: refused.
          expect(body).toBeInstanceOf(McpMessageError);
          return;
        }
        if (body instanceof McpMessageError) throw body;
        // The strict parser agrees with JSON.parse on every unambiguous input...
        expect(JSON.stringify(body.value)).toBe(JSON.stringify(JSON.parse(text)));
        // ...and every spelling is relayed as the one canonical text.
        expect(body.canonical).toBe(JSON.stringify(message));
        const decided = body.messages[0]!;
        if (decided.kind !== 'request') throw new Error('not a request');
        const question = questionFor('files', decided);
        if (question.kind !== 'policy') throw new Error(`not decided: ${question.kind}`);
        expect(question.action).toBe(`mcp:files/tools/call/${message.params.name}`);
        // What the server parses from the canonical text: the SDK's own schemas on JSON.parse.
        const onServer = CallToolRequestSchema.parse(JSONRPCMessageSchema.parse(JSON.parse(body.canonical)));
        expect(onServer.params.name).toBe(decided.params!.name);
        expect(JSON.stringify(onServer.params.arguments)).toBe(JSON.stringify(decided.params!.arguments));
        // Each scalar argument policy reads is the server's.
        for (const [key, value] of Object.entries(onServer.params.arguments ?? {})) {
          if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isInteger(value))) {
            expect(Object.getOwnPropertyDescriptor(question.request, key)?.value).toBe(value === 0 ? 0 : value);
          }
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('refuses a duplicate key wherever it is, which JSON.parse would resolve to its last value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }).filter(isWellFormed), exactJson, exactJson, fc.boolean(), (key, first, second, inArguments) => {
        const duplicated = `${JSON.stringify(key)}:${JSON.stringify(first)},${JSON.stringify(key)}:${JSON.stringify(second)}`;
        const text = inArguments
          ? `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{${duplicated}}}}`
          : `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{}},${duplicated}}`;
        expect(() => JSON.parse(text)).not.toThrow();
        const body = parseOrRefusal(utf8(text));
        expect(body).toBeInstanceOf(McpMessageError);
        expect((body as McpMessageError).message).toContain('duplicate key');
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('refuses a lone surrogate escape, and an integer past 2^53, both of which JSON.parse takes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0xd800, max: 0xdfff }), fc.string(), fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }), fc.boolean(), (unit, tail, big, negative) => {
        const lone = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"path":"\\u${hex(unit)}${JSON.stringify(tail)
          .slice(1, -1)
          .replace(/^\\u[dD][c-fC-F]/, '')}"}}}`;
        expect(() => JSON.parse(lone)).not.toThrow();
        expect(parseOrRefusal(utf8(lone))).toBeInstanceOf(McpMessageError);
        const number = `${negative ? '-' : ''}${big}`;
        const wide = `{"jsonrpc":"2.0","id":${number},"method":"tools/list"}`;
        expect(() => JSON.parse(wide)).not.toThrow();
        expect(parseOrRefusal(utf8(wide))).toBeInstanceOf(McpMessageError);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
