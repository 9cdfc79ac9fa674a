import { isActionSegment } from '../config/tool-catalog';
import type { CedarValue } from '../identity/cedar-value';
import { cedarRecord } from './cedar-arguments';
import type { ClientMessage } from './json-rpc-message';
import { isJsonObject } from './json-rpc-message';
import type { JsonObject } from './strict-json';

/** JSON-RPC error codes the relay answers with (JSON-RPC 2.0 §5.1). */
export const JSONRPC_PARSE_ERROR = -32700;
export const JSONRPC_INVALID_REQUEST = -32600;
export const JSONRPC_METHOD_NOT_FOUND = -32601;
export const JSONRPC_INVALID_PARAMS = -32602;

/**
 * What the gateway must ask before relaying one client→server message (docs/mcp.md,
 * "What is decided"):
 *
 * - `plumbing`: the protocol's own lifecycle (initialize, ping, notifications/initialized,
 *   cancelled, progress, roots/list_changed) and the client's answers to server requests.
 *   Relayed for any mapped caller without a policy per method: nothing in them reaches a
 *   tool, and a client cannot work without them. An unmapped caller never gets here (the
 *   listener refuses it first), so it gets nothing from the server.
 * - `policy`: one Cedar decision, `action` on `Tool::"<upstream>"` with `request` as
 *   `context.request`.
 * - `refused`: nothing to decide: a method MCP does not define (the server's reading of it is
 *   unknown), or params the method cannot have. Answered with `code` and `message`.
 */
export type McpQuestion =
  | { readonly kind: 'plumbing'; readonly method: string }
  | {
      readonly kind: 'policy';
      readonly method: string;
      /** `mcp:<upstream>/<method>`, `mcp:<upstream>/tools/call/<tool>`, `mcp:<upstream>/prompts/get/<prompt>`. */
      readonly action: string;
      /** The upstream's name: Cedar `Tool::"<upstream>"`. */
      readonly resource: string;
      readonly request: Readonly<Record<string, CedarValue>>;
      /** The tool of a tools/call (for pinning), the prompt of a prompts/get, the URI of a resource method. */
      readonly name?: string;
    }
  | { readonly kind: 'refused'; readonly method: string; readonly code: number; readonly message: string };

const PLUMBING_REQUESTS = new Set(['initialize', 'ping']);
const PLUMBING_NOTIFICATIONS = new Set(['notifications/initialized', 'notifications/cancelled', 'notifications/progress', 'notifications/roots/list_changed']);

/** Client→server requests MCP defines (2024-11-05 to 2025-11-25) that are decided on their name, with their params (less `_meta`) as `context.request`. */
const DECIDED_BY_NAME = new Set([
  'tools/list',
  'resources/list',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'completion/complete',
  'logging/setLevel',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
]);

/** Every method decided by policy (a `policy` question): the schema generator declares an action for each (policy/mcp-schema.ts). */
export const POLICY_METHODS: readonly string[] = ['tools/call', 'prompts/get', 'resources/read', ...DECIDED_BY_NAME];

export { isActionSegment };

/**
 * `uri` as a server reads it: the WHATWG URL serialization, which the TypeScript SDK's
 * server (`new URL(uri)`) and servers on the Rust `url` crate look resources up by. It
 * resolves dot segments (`%2e%2e` too), lowercases the scheme, drops a file URL's
 * `localhost` and fixes backslashes and stray spaces, so a URI that differs from its normal
 * form would be decided as one resource and read as another (`file:///public/../secrets/k`
 * passing a forbid on `file:///secrets/*`). Undefined when it is no absolute URI.
 */
export function normalUri(uri: string): string | undefined {
  try {
    return new URL(uri).href;
  } catch {
    return undefined;
  }
}

const SLASH_REFUSED = 'params.name may not contain "/" (its Cedar action would fall outside its group: docs/mcp.md, "What is decided")';

/** The Cedar action for `method` on `upstream`; `name` for the methods with an action per tool or prompt. */
export function mcpAction(upstream: string, method: string, name?: string): string {
  return name === undefined ? `mcp:${upstream}/${method}` : `mcp:${upstream}/${method}/${name}`;
}

/**
 * The authorization question for one message sent to `upstream`. Pure: the same message
 * always gives the same question, so `policy explain` and the relay cannot disagree.
 */
export function questionFor(upstream: string, message: ClientMessage): McpQuestion {
  if (message.kind === 'response') return { kind: 'plumbing', method: '(response)' };
  const { method } = message;
  if (message.kind === 'notification') {
    if (PLUMBING_NOTIFICATIONS.has(method)) return { kind: 'plumbing', method };
    return { kind: 'refused', method, code: JSONRPC_METHOD_NOT_FOUND, message: `Method not found: ${clip(method)} is not a client notification MCP defines` };
  }
  if (PLUMBING_REQUESTS.has(method)) return { kind: 'plumbing', method };
  const params: JsonObject = message.params ?? {};
  const decided = (action: string, request: Record<string, CedarValue>, name?: string): McpQuestion =>
    name === undefined ? { kind: 'policy', method, action, resource: upstream, request } : { kind: 'policy', method, action, resource: upstream, request, name };
  const invalidParams = (what: string): McpQuestion => ({ kind: 'refused', method, code: JSONRPC_INVALID_PARAMS, message: `Invalid params: ${method} ${what}` });

  switch (method) {
    case 'tools/call': {
      const { name, arguments: args } = params;
      if (typeof name !== 'string' || name.length === 0) return invalidParams('needs params.name, a non-empty string');
      if (!isActionSegment(name)) return invalidParams(SLASH_REFUSED);
      if (args !== undefined && !isJsonObject(args)) return invalidParams('params.arguments must be an object');
      return decided(mcpAction(upstream, method, name), cedarRecord(args ?? {}), name);
    }
    case 'prompts/get': {
      const { name, arguments: args } = params;
      if (typeof name !== 'string' || name.length === 0) return invalidParams('needs params.name, a non-empty string');
      if (!isActionSegment(name)) return invalidParams(SLASH_REFUSED);
      if (args !== undefined && !isJsonObject(args)) return invalidParams('params.arguments must be an object');
      return decided(mcpAction(upstream, method, name), cedarRecord(args ?? {}), name);
    }
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe': {
      if (typeof params.uri !== 'string') return invalidParams('needs params.uri, a string');
      const normal = normalUri(params.uri);
      if (normal === undefined) return invalidParams('needs params.uri, an absolute URI');
      if (normal !== params.uri) return invalidParams(`params.uri must be in its normal form (WHATWG URL), which the server reads: ${clip(normal)}`);
      return decided(mcpAction(upstream, method), cedarRecord(withoutMeta(params)), params.uri);
    }
    default:
      if (DECIDED_BY_NAME.has(method)) return decided(mcpAction(upstream, method), cedarRecord(withoutMeta(params)));
      return { kind: 'refused', method, code: JSONRPC_METHOD_NOT_FOUND, message: `Method not found: ${clip(method)} is not a client request MCP defines` };
  }
}

/** `_meta` is protocol metadata (progress tokens, related task), not the request's content. */
function withoutMeta(params: JsonObject): JsonObject {
  if (!('_meta' in params)) return params;
  const rest = Object.create(null) as JsonObject;
  for (const key of Object.keys(params)) if (key !== '_meta') rest[key] = params[key]!;
  return rest;
}

const clip = (method: string): string => JSON.stringify(method.length > 60 ? `${method.slice(0, 60)}…` : method);
