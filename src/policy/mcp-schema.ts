import { basename } from 'node:path';
import type { McpUpstreamConfig } from '../config/gateway-config';
import type { McpToolCatalog } from '../config/tool-catalog';
import { argumentsRecord } from './json-schema-types';
import { cedarString, named, record, renderType, STRING, type SchemaAttribute, type SchemaType } from './schema-text';

const optional = (name: string, type: SchemaType): SchemaAttribute => ({ name, type, required: false });
const required = (name: string, type: SchemaType): SchemaAttribute => ({ name, type, required: true });

const CURSOR = record([optional('cursor', STRING)]);
const TASK_ID = record([required('taskId', STRING)]);
const URI = record([required('uri', STRING)]);

/**
 * The MCP methods the relay decides by name (src/mcp/mcp-question.ts), each with
 * `context.request` as the relay renders it: the params less `_meta`, by the MCP spec's
 * shape. The action is `mcp:<upstream>/<method>`, a member of the action named by the method
 * less its last segment (policy/entities.ts gives an action exactly that one parent).
 */
const METHODS: readonly (readonly [method: string, request: SchemaType])[] = [
  ['tools/list', CURSOR],
  ['prompts/list', CURSOR],
  ['resources/list', CURSOR],
  ['resources/templates/list', CURSOR],
  ['resources/read', URI],
  ['resources/subscribe', URI],
  ['resources/unsubscribe', URI],
  [
    'completion/complete',
    record([
      required('ref', record([required('type', STRING), optional('name', STRING), optional('uri', STRING)])),
      required('argument', record([required('name', STRING), required('value', STRING)])),
      optional('context', record([], [{ name: 'arguments', reason: 'a map of argument names to values (a Cedar record needs its attributes declared)' }])),
    ]),
  ],
  ['logging/setLevel', record([required('level', STRING)])],
  ['tasks/list', CURSOR],
  ['tasks/get', TASK_ID],
  ['tasks/result', TASK_ID],
  ['tasks/cancel', TASK_ID],
];

/** The methods decided per tool or per prompt: one action each, in the method's own group. */
export const PER_NAME_METHODS = ['tools/call', 'prompts/get'] as const;

/** Every method the schema declares actions for, for tests to hold against the relay's question mapper. */
export const MCP_DECIDED_METHODS: readonly string[] = [...PER_NAME_METHODS, ...METHODS.map(([method]) => method)];

/** `mcp:<upstream>/<method>[/<name>]`, as the relay names its actions (mcp-question.ts `mcpAction`). */
export function mcpActionName(upstream: string, method: string, name?: string): string {
  return name === undefined ? `mcp:${upstream}/${method}` : `mcp:${upstream}/${method}/${name}`;
}

/** The group of an action: its name less its last `/` segment (policy/entities.ts). */
function groupOf(action: string): string {
  return action.slice(0, action.lastIndexOf('/'));
}

/** Every action the gateway can ask Cedar about for an MCP upstream with this catalog (groups are never asked about). */
export function mcpDecidedActions(upstream: string, catalog: Pick<McpToolCatalog, 'tools' | 'prompts'>): string[] {
  return [
    ...catalog.tools.map((t) => mcpActionName(upstream, 'tools/call', t.name)),
    ...catalog.prompts.map((p) => mcpActionName(upstream, 'prompts/get', p.name)),
    ...METHODS.map(([method]) => mcpActionName(upstream, method)),
  ];
}

/**
 * The action groups and actions of one MCP upstream (docs/mcp.md, "What is decided"): one
 * `tools/call` action per catalog tool, `context.request` typed from its `inputSchema`; one
 * `prompts/get` action per catalog prompt, its arguments as Strings; the methods decided by
 * name. `context` is the caller's `peer` and `metadata` (MCP requests carry no allowed
 * headers: always empty) and, when present, `task`, `rate` and `onBehalfOf`.
 */
export function mcpUpstreamActions(upstream: McpUpstreamConfig & { tools: McpToolCatalog }, optionalContext: readonly SchemaAttribute[]): string {
  const name = upstream.name;
  const actions: { action: string; request: SchemaType }[] = [
    ...upstream.tools.tools.map((tool) => ({ action: mcpActionName(name, 'tools/call', tool.name), request: argumentsRecord(tool.inputSchema) })),
    ...upstream.tools.prompts.map((prompt) => ({
      action: mcpActionName(name, 'prompts/get', prompt.name),
      request: record(prompt.arguments.map((a) => ({ name: a.name, type: STRING, required: a.required }))),
    })),
    ...METHODS.map(([method, request]) => ({ action: mcpActionName(name, method), request })),
  ];
  const groups = [...new Set([mcpActionName(name, 'tools/call'), mcpActionName(name, 'prompts/get'), ...actions.map((a) => groupOf(a.action))])];
  const blocks = [
    `// MCP upstream "${name}", its tools and prompts from ${basename(upstream.tools.file)} (mcp.tools): its action groups.\n${groups.map((g) => `action ${cedarString(g)};`).join('\n')}`,
  ];
  for (const { action, request } of actions) {
    const attributes: SchemaAttribute[] = [required('peer', named('Peer')), required('metadata', named('Metadata')), ...optionalContext, required('request', request)];
    blocks.push(
      [
        `action ${cedarString(action)} in [${cedarString(groupOf(action))}] appliesTo {`,
        '  principal: [Agent, Workload],',
        '  resource: [Tool],',
        `  context: ${renderType(record(attributes), '  ')},`,
        '};',
      ].join('\n'),
    );
  }
  return blocks.join('\n\n');
}
