import { resolve } from 'node:path';
import fc from 'fast-check';
import '../../../src/policy/cedar';
import { checkParseContext } from '@cedar-policy/cedar-wasm/nodejs';
import { parseConfig, type McpToolCatalog } from '../../../src/config';
import type { McpUpstreamConfig } from '../../../src/config/gateway-config';
import type { ClientMessage } from '../../../src/mcp/json-rpc-message';
import { POLICY_METHODS, questionFor } from '../../../src/mcp/mcp-question';
import { PolicyError, PolicySet } from '../../../src/policy';
import { schemaToJson } from '../../../src/policy/cedar';
import { actionEntity } from '../../../src/policy/entities';
import { MCP_DECIDED_METHODS } from '../../../src/policy/mcp-schema';
import { generateSchema, SchemaGenerationError, type SchemaSource } from '../../../src/policy/schema-generator';

const FIXTURES = resolve(__dirname, '../../fixtures/config');
const NOTES = parseConfig(`policies: policies\nupstreams:\n  - { name: notes, mcp: { url: 'http://127.0.0.1:3000/mcp', tools: notes-tools.json } }\n`, FIXTURES, 'toolgate.yaml');
const SCHEMA = generateSchema(NOTES);
const PEER = { spiffeId: 'spiffe://example.org/agents/a', trustDomain: 'example.org', authn: 'x509-svid' };

function source(tools: McpToolCatalog['tools'], prompts: McpToolCatalog['prompts'] = []): SchemaSource {
  const upstream: McpUpstreamConfig = { name: 'u', url: 'http://127.0.0.1:1/mcp', tools: { file: '/c/u-tools.json', tools, prompts } };
  return { identities: [], metadata: { allow: [] }, upstreams: [], mcpUpstreams: [upstream] };
}

/** The problems strict validation finds in `policy` against `schema`; [] when it validates. */
function validationProblems(schema: string, policy: string): string[] {
  try {
    PolicySet.fromText({ 'p.cedar': policy }, schema);
    return [];
  } catch (err) {
    if (err instanceof PolicyError && err.code === 'ERR_POLICY_VALIDATION') return [...err.problems];
    throw err;
  }
}

/** Whether Cedar accepts `request` as `context.request` of `action` under `schema` (with the context every MCP decision has). */
function contextProblems(schema: string, action: string, request: unknown): string[] {
  const answer = checkParseContext({ context: { peer: PEER, metadata: {}, request } as never, schema, action: { type: 'Action', id: action } });
  return answer.type === 'success' ? [] : answer.errors.map((e) => e.message);
}

/** Each action the schema declares, with the groups it is a member of. */
function declaredActions(schema: string): Map<string, string[]> {
  const parsed = schemaToJson(schema);
  if (parsed.type === 'failure') throw new Error('schema does not parse');
  const actions = (parsed.json as Record<string, { actions: Record<string, { memberOf?: { id: string }[] }> }>)[''].actions;
  return new Map(Object.entries(actions).map(([id, a]) => [id, (a.memberOf ?? []).map((m) => m.id)]));
}

/** A request for `method` as an MCP client would send it, with params valid for the method. */
function message(method: string): ClientMessage {
  const params: Record<string, Record<string, unknown>> = {
    'tools/call': { name: 'read_note', arguments: { path: '/a' } },
    'prompts/get': { name: 'summarize', arguments: { topic: 'q3' } },
    'resources/read': { uri: 'note:///a' },
    'resources/subscribe': { uri: 'note:///a' },
    'resources/unsubscribe': { uri: 'note:///a' },
    'completion/complete': { ref: { type: 'ref/prompt', name: 'summarize' }, argument: { name: 'topic', value: 'q' }, context: {} },
    'logging/setLevel': { level: 'info' },
    'tasks/get': { taskId: 't1' },
    'tasks/result': { taskId: 't1' },
    'tasks/cancel': { taskId: 't1' },
  };
  return { kind: 'request', id: 1, method, params: { ...(params[method] ?? { cursor: 'c1' }), _meta: { progressToken: 1 } } } as unknown as ClientMessage;
}

describe('the Cedar schema of an MCP upstream (generateSchema with mcp.tools)', () => {
  it('declares, for every method the relay decides, the very action it asks about, in the group the engine sends, and accepts the request it renders', () => {
    expect([...MCP_DECIDED_METHODS].sort()).toEqual([...POLICY_METHODS].sort());
    const declared = declaredActions(SCHEMA);
    for (const method of POLICY_METHODS) {
      const question = questionFor('notes', message(method));
      if (question.kind !== 'policy') throw new Error(`${method} is not decided`);
      const group = (actionEntity(question.action)!.parents[0] as { id: string }).id;
      expect([method, declared.get(question.action)]).toEqual([method, [group]]);
      // The group is declared as an action of its own, so that `action in Action::"<group>"` validates.
      expect([method, declared.has(group)]).toEqual([method, true]);
      expect([method, contextProblems(SCHEMA, question.action, question.request)]).toEqual([method, []]);
    }
  });

  it('lists the MCP upstream in Tool, and one action per catalog tool and prompt', () => {
    expect(SCHEMA).toContain('entity Tool enum ["toolgate", "notes"];');
    const declared = declaredActions(SCHEMA);
    expect(declared.get('mcp:notes/tools/call/read_note')).toEqual(['mcp:notes/tools/call']);
    expect(declared.get('mcp:notes/tools/call/delete_all')).toEqual(['mcp:notes/tools/call']);
    expect(declared.get('mcp:notes/prompts/get/summarize')).toEqual(['mcp:notes/prompts/get']);
    expect(declared.has('mcp:notes/tools/call/write_note')).toBe(false);
  });

  it('lets strict validation refuse a tool the catalog does not hold and an argument its schema does not declare', () => {
    const ok = `permit (principal, action == Action::"mcp:notes/tools/call/read_note", resource == Tool::"notes") when { context.request.path like "/public/*" };
permit (principal, action in Action::"mcp:notes/tools/call", resource == Tool::"notes");
permit (principal, action == Action::"mcp:notes/prompts/get/summarize", resource) when { context.request.topic == "q3" && context.request has tone && context.request.tone == "dry" };
permit (principal, action == Action::"mcp:notes/resources/read", resource) when { context.request.uri like "note:///*" };`;
    expect(validationProblems(SCHEMA, ok)).toEqual([]);
    expect(validationProblems(SCHEMA, 'permit (principal, action == Action::"mcp:notes/tools/call/write_note", resource);').join('\n')).toMatch(
      /unrecognized action `Action::"mcp:notes\/tools\/call\/write_note"`/,
    );
    expect(validationProblems(SCHEMA, 'permit (principal, action == Action::"mcp:notes/tools/call/read_note", resource) when { context.request.mode == "x" };').join('\n')).toMatch(
      /mode/,
    );
    // The tool takes no arguments: nothing to read.
    expect(validationProblems(SCHEMA, 'permit (principal, action == Action::"mcp:notes/tools/call/delete_all", resource) when { context.request.all == true };')).not.toEqual([]);
  });

  it('types arguments from inputSchema: required members required, numbers, null and unclear types left out with the reason', () => {
    const schema = generateSchema(
      source([
        {
          name: 'search',
          inputSchema: {
            type: 'object',
            required: ['query', 'limit', 'ratio'],
            properties: {
              query: { type: 'string' },
              mode: { enum: ['fast', 'exact'] },
              limit: { type: 'integer' },
              exact: { type: 'boolean' },
              tags: { type: 'array', items: { type: 'string' } },
              filter: { type: 'object', properties: { owner: { type: 'string' }, 'created at': { type: 'integer' } }, required: ['owner'] },
              ratio: { type: 'number' },
              nothing: { type: 'null' },
              either: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
              ref: { $ref: '#/definitions/x' },
              nullable: { type: ['string', 'null'] },
              labels: { type: 'object', additionalProperties: { type: 'string' } },
              scores: { type: 'array', items: { type: 'number' } },
            },
          },
        },
      ]),
    );
    const action = schema.slice(schema.indexOf('action "mcp:u/tools/call/search"'));
    expect(action.slice(0, action.indexOf('};')).split('\n')).toEqual([
      'action "mcp:u/tools/call/search" in ["mcp:u/tools/call"] appliesTo {',
      '  principal: [Agent, Workload],',
      '  resource: [Tool],',
      '  context: {',
      '    peer: Peer,',
      '    metadata: Metadata,',
      '    task?: Task,',
      '    rate?: Rate,',
      '    onBehalfOf?: OnBehalfOf,',
      '    request: {',
      '      query: String,',
      '      mode?: String,',
      '      limit: Long,',
      '      exact?: Bool,',
      '      tags?: Set<String>,',
      '      filter?: {',
      '        owner: String,',
      '        "created at"?: Long,',
      '      },',
      '      // ratio: left out, a number may be fractional: a fraction has no Cedar type (left out at run time), a whole number arrives as a Long',
      '      // nothing: left out, null has no Cedar type',
      '      // either: left out, `anyOf` has no one clear Cedar type',
      '      // ref: left out, `$ref` has no one clear Cedar type',
      '      // nullable: left out, a list of types has no one Cedar type',
      '      // labels: left out, an object without `properties` (a map, or free-form: a Cedar record needs its attributes declared)',
      '      // scores: left out, an array whose items have no Cedar type (a number may be fractional: a fraction has no Cedar type (left out at run time), a whole number arrives as a Long)',
      '    },',
      '  },',
      '',
    ]);
  });

  it('refuses to generate for an MCP upstream without a catalog, naming the key', () => {
    const withoutCatalog = { ...source([]), mcpUpstreams: [{ name: 'u', url: 'http://127.0.0.1:1/mcp' }] };
    let error: unknown;
    try {
      generateSchema(withoutCatalog);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SchemaGenerationError);
    expect((error as SchemaGenerationError).problems).toEqual([
      'upstream "u" has no mcp.tools: its tools, and so its actions, cannot be known; fetch them with toolgate mcp tools',
    ]);
  });
});

/** A JSON Schema, arguments valid for it, and what of them the generated schema types (the rest is left out). */
interface Case {
  readonly schema: Record<string, unknown>;
  readonly value: fc.Arbitrary<unknown>;
  /** The part of a valid value that the Cedar schema declares; undefined: none of it (the member is left out). */
  readonly typed: ((value: unknown) => unknown) | undefined;
}

const NAME = fc.string({ minLength: 1, maxLength: 8 }).filter((n) => !n.startsWith('__'));
const SAFE = { min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
const identity = (v: unknown): unknown => v;

const leaf: fc.Arbitrary<Case> = fc.oneof(
  fc.constant<Case>({ schema: { type: 'string' }, value: fc.string(), typed: identity }),
  fc.constant<Case>({ schema: { type: 'string', enum: ['a', 'b'] }, value: fc.constantFrom('a', 'b'), typed: identity }),
  fc.constant<Case>({ schema: { enum: ['x', 'y'] }, value: fc.constantFrom('x', 'y'), typed: identity }),
  fc.constant<Case>({ schema: { type: 'integer' }, value: fc.integer(SAFE).map((n) => n), typed: identity }),
  fc.constant<Case>({ schema: { type: 'integer' }, value: fc.maxSafeInteger(), typed: identity }),
  fc.constant<Case>({ schema: { type: 'boolean' }, value: fc.boolean(), typed: identity }),
  fc.constant<Case>({ schema: { type: 'number' }, value: fc.double({ noNaN: true, noDefaultInfinity: true }), typed: undefined }),
  fc.constant<Case>({ schema: { type: 'null' }, value: fc.constant(null), typed: undefined }),
  fc.constant<Case>({ schema: { anyOf: [{ type: 'string' }, { type: 'integer' }] }, value: fc.oneof(fc.string(), fc.integer()), typed: undefined }),
  fc.constant<Case>({ schema: { type: ['string', 'null'] }, value: fc.option(fc.string(), { nil: null }), typed: undefined }),
  fc.constant<Case>({ schema: { type: 'object', additionalProperties: { type: 'string' } }, value: fc.dictionary(NAME, fc.string(), { maxKeys: 3 }), typed: undefined }),
);

const cases: fc.Arbitrary<Case> = fc.letrec<{ node: Case }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, arrayCase(tie('node')), objectCase(tie('node'))),
})).node;

function arrayCase(items: fc.Arbitrary<Case>): fc.Arbitrary<Case> {
  return items.map((item) => ({
    schema: { type: 'array', items: item.schema },
    value: fc.array(item.value, { maxLength: 3 }),
    typed: item.typed && ((v: unknown) => (v as unknown[]).map(item.typed!)),
  }));
}

function objectCase(members: fc.Arbitrary<Case>): fc.Arbitrary<Case> {
  return fc.uniqueArray(fc.tuple(NAME, members, fc.boolean()), { maxLength: 4, selector: ([name]) => name }).map((entries) => ({
    schema: { type: 'object', properties: Object.fromEntries(entries.map(([n, c]) => [n, c.schema])), required: entries.filter(([, , r]) => r).map(([n]) => n) },
    value: fc
      .tuple(
        ...entries.map(([name, c, isRequired]) =>
          isRequired
            ? c.value.map((v) => [name, v] as const)
            : fc.option(
                c.value.map((v) => [name, v] as const),
                { nil: undefined },
              ),
        ),
      )
      .map((pairs) => Object.fromEntries(pairs.filter((p) => p !== undefined))),
    typed: (v: unknown) => {
      const object = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [name, c] of entries) if (c.typed !== undefined && name in object) out[name] = c.typed(object[name]);
      return out;
    },
  }));
}

describe('the generated tool schema agrees with how the relay renders arguments (src/mcp/cedar-arguments.ts)', () => {
  it('any arguments valid for an inputSchema render, through the relay, to a context.request Cedar accepts under the generated schema', () => {
    const tool = objectCase(cases).chain((c) => c.value.map((args) => ({ c, args })));
    fc.assert(
      fc.property(tool, ({ c, args }) => {
        const schema = generateSchema(source([{ name: 't', inputSchema: c.schema }]));
        const question = questionFor('u', { kind: 'request', id: 1, method: 'tools/call', params: { name: 't', arguments: args } } as unknown as ClientMessage);
        if (question.kind !== 'policy') throw new Error('not decided');
        // What the relay renders, less what the schema leaves out (a policy cannot read it, so strict validation never lets one try).
        const request = c.typed!(question.request);
        expect(contextProblems(schema, question.action, request)).toEqual([]);
        // And what is typed is rendered exactly: the relay left out only what the schema leaves out.
        expect(request).toEqual(c.typed!(args));
      }),
      { numRuns: 100 },
    );
    // Each run generates and parses a whole schema: generous for a loaded machine.
  }, 120_000);
});
