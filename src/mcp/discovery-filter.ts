import type { CedarValue } from '../identity/cedar-value';
import { isActionSegment, mcpAction, normalUri } from './mcp-question';
import type { ToolPins } from './tool-pins';

/** The list methods whose answers are filtered, and the member of `result` each lists. */
export const LISTED_MEMBER: Readonly<Record<string, string>> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
};

/** Whether policy could permit some call of `action` on the upstream, with `request` known or (undefined) any. */
export type CouldPermitCall = (action: string, request: Readonly<Record<string, CedarValue>> | undefined) => boolean;

/**
 * What a caller may see of one list answer (docs/mcp.md, "Discovery"): an item is shown when
 * policy could permit the caller to use it, and hidden when Cedar can tell that every use
 * would be denied (could-permit.ts):
 *
 * - a tool when some `tools/call` of it could be permitted, whatever its arguments, and its
 *   definition matches its pin (tool-pins.ts: a changed tool, or one its catalog lacks, is hidden);
 * - a prompt when some `prompts/get` of it could be permitted;
 * - a resource when `resources/read` of its URI could be permitted (the URI is known);
 * - a resource template when `resources/read` of some URI could be permitted.
 *
 * A tool or prompt whose name has a `/`, and a resource whose URI is not its own normal
 * form, are hidden: their requests are refused (mcp-question.ts).
 * An item that is not an object with a string `name` (or `uri`) is dropped, and a `result`
 * whose list is not an array gets an empty one: what the gateway cannot read, it does not show.
 */
export function filterListResult(
  method: string,
  result: Record<string, unknown>,
  upstream: string,
  couldPermit: CouldPermitCall,
  pins: ToolPins | undefined,
): Record<string, unknown> {
  const member = LISTED_MEMBER[method];
  if (member === undefined) return result;
  const items = result[member];
  const shown = (Array.isArray(items) ? items : []).filter((item: unknown) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return false;
    const entry = item as Record<string, unknown>;
    switch (method) {
      case 'tools/list': {
        if (typeof entry.name !== 'string' || !isActionSegment(entry.name)) return false;
        if (pins !== undefined && !['pinned', 'unchanged'].includes(pins.observe(entry as { name: string }))) return false;
        return couldPermit(mcpAction(upstream, 'tools/call', entry.name), undefined);
      }
      case 'prompts/list':
        return typeof entry.name === 'string' && isActionSegment(entry.name) && couldPermit(mcpAction(upstream, 'prompts/get', entry.name), undefined);
      case 'resources/list':
        return typeof entry.uri === 'string' && normalUri(entry.uri) === entry.uri && couldPermit(mcpAction(upstream, 'resources/read'), { uri: entry.uri });
      default:
        return couldPermit(mcpAction(upstream, 'resources/read'), undefined);
    }
  });
  return { ...result, [member]: shown };
}

/**
 * The method name under which `rewriteWatchedResults` hands over an answer whose request the
 * relay did not see: a stream resumed with GET and `Last-Event-ID` replays earlier answers,
 * a tools/list one included, so each answer there is filtered by its shape (`filterListShaped`).
 */
export const REPLAYED_ANSWER = '(replayed)';

/** `result` with every list member it has (tools, prompts, resources, resource templates) filtered as its list method's answer would be. */
export function filterListShaped(result: Record<string, unknown>, upstream: string, couldPermit: CouldPermitCall, pins: ToolPins | undefined): Record<string, unknown> {
  let filtered = result;
  for (const [method, member] of Object.entries(LISTED_MEMBER)) {
    if (member in filtered) filtered = filterListResult(method, filtered, upstream, couldPermit, pins);
  }
  return filtered;
}

/**
 * Applies `filter` to every JSON-RPC result in `text` (one message or a batch) for which
 * `methodOf` names the method it answers (from its id: the watched requests), and returns
 * the new text; undefined when no result changed (relay it as it came: a filter that only
 * observes returns the same object). Throws on text that is not JSON.
 */
export function rewriteWatchedResults(
  text: string,
  methodOf: (id: unknown) => string | undefined,
  filter: (method: string, result: Record<string, unknown>) => Record<string, unknown>,
): string | undefined {
  const value: unknown = JSON.parse(text);
  let changed = false;
  const rewriteOne = (message: unknown): unknown => {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return message;
    const m = message as Record<string, unknown>;
    const method = methodOf(m.id);
    if (method === undefined || typeof m.result !== 'object' || m.result === null || Array.isArray(m.result)) return message;
    const result = filter(method, m.result as Record<string, unknown>);
    if (result === m.result) return message;
    changed = true;
    return { ...m, result };
  };
  const rewritten = Array.isArray(value) ? value.map(rewriteOne) : rewriteOne(value);
  return changed ? JSON.stringify(rewritten) : undefined;
}

/** One key per JSON-RPC id, telling the string "1" from the number 1. */
export function idKey(id: unknown): string {
  return `${typeof id}:${String(id)}`;
}
