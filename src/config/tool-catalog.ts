import { readFileSync } from 'node:fs';
import { InvalidValueError } from '../errors/invalid-value-error';
import { errorMessage } from '../errors/unknown-error';

/** One tool of a catalog: an MCP `Tool` as `tools/list` gives it (its other members kept as they are). */
export interface McpToolDefinition {
  readonly name: string;
  readonly description?: unknown;
  /** A JSON Schema object (MCP requires `type: "object"`); absent for a tool that takes nothing. */
  readonly inputSchema?: Readonly<Record<string, unknown>>;
  readonly [member: string]: unknown;
}

/** One prompt of a catalog: an MCP `Prompt` as `prompts/list` gives it. */
export interface McpPromptDefinition {
  readonly name: string;
  readonly arguments: readonly { readonly name: string; readonly required: boolean }[];
}

/**
 * An MCP upstream's catalog file (`upstreams[].mcp.tools`): the tool definitions the gateway
 * pins (docs/mcp.md, "Tool pinning") and the tools and prompts the Cedar schema declares
 * actions for. The format is shared with `toolgate mcp tools`, which writes it.
 */
export interface McpToolCatalog {
  /** The absolute path it was read from. */
  readonly file: string;
  readonly tools: readonly McpToolDefinition[];
  readonly prompts: readonly McpPromptDefinition[];
}

/** Reads and checks the catalog at `file` (absolute); throws `InvalidValueError` naming every problem. */
export function readToolCatalog(file: string): McpToolCatalog {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidValueError(`cannot read ${file}: ${errorMessage(err)}`);
  }
  return parseToolCatalog(text, file);
}

/**
 * The catalog in `text` (JSON: `{ "tools": [...], "prompts": [...] }`), `name` naming it in
 * problems. `tools` must be an array of objects each with a string `name`, no name twice, and
 * an `inputSchema` that is an object when present; `prompts` is optional, each with a string
 * `name` and `arguments` (objects with a string `name`) when present. Other top-level members
 * (`upstream`, `fetchedAt`) are ignored. Throws `InvalidValueError` listing every problem.
 */
export function parseToolCatalog(text: string, name: string): McpToolCatalog {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidValueError(`${name} is not JSON: ${errorMessage(err)}`);
  }
  if (!isObject(value)) throw new InvalidValueError(`${name} is not a catalog: expected a JSON object with a "tools" array`);
  const problems: string[] = [];
  if (!Array.isArray(value.tools)) problems.push('"tools" must be an array (the tools of tools/list)');
  if (value.prompts !== undefined && !Array.isArray(value.prompts)) problems.push('"prompts" must be an array (the prompts of prompts/list) when present');
  const tools = named(value.tools, 'tools', problems).map(({ item, at }) => {
    if (item.inputSchema !== undefined && !isObject(item.inputSchema)) problems.push(`${at}.inputSchema must be an object (a JSON Schema) when present`);
    return item as McpToolDefinition;
  });
  const prompts = named(value.prompts, 'prompts', problems).map(({ item, at }): McpPromptDefinition => {
    if (item.arguments !== undefined && !Array.isArray(item.arguments)) problems.push(`${at}.arguments must be an array when present`);
    const args = (Array.isArray(item.arguments) ? item.arguments : []).flatMap((arg: unknown, k) => {
      if (isObject(arg) && typeof arg.name === 'string') return [{ name: arg.name, required: arg.required === true }];
      problems.push(`${at}.arguments[${k}] must be an object with a string "name"`);
      return [];
    });
    return { name: item.name as string, arguments: args };
  });
  if (problems.length > 0) throw new InvalidValueError(`${name}: ${problems.join('; ')}`);
  return { file: name, tools, prompts };
}

/**
 * Whether a tool or prompt name can be the last segment of its action. An action's group is
 * its name less its last `/` segment (policy/entities.ts), so a name with a `/` would put its
 * action in another group: tool `admin/reset` in `mcp:<u>/tools/call/admin`, outside every
 * policy and task written for `mcp:<u>/tools/call`. Such a name is refused, and not listed
 * (mcp/discovery-filter.ts), and a catalog naming one is refused
 * (it would declare the action in the wrong group). The MCP spec advises names without it.
 */
export function isActionSegment(name: string): boolean {
  return name.length > 0 && !name.includes('/');
}

/** The items of `list` that are objects with a string `name`, each name once; what is not is a problem. */
function named(list: unknown, member: string, problems: string[]): { item: Record<string, unknown>; at: string }[] {
  const seen = new Set<string>();
  return (Array.isArray(list) ? list : []).flatMap((item: unknown, i) => {
    const at = `${member}[${i}]`;
    if (!isObject(item) || typeof item.name !== 'string' || item.name === '') {
      problems.push(`${at} must be an object with a non-empty string "name"`);
      return [];
    }
    if (seen.has(item.name)) problems.push(`${at}: duplicate name ${JSON.stringify(item.name)}`);
    if (!isActionSegment(item.name)) {
      problems.push(`${at}: name ${JSON.stringify(item.name)} holds a "/": the gateway refuses its calls (its action would fall in another group); leave it out`);
    }
    seen.add(item.name);
    return [{ item, at }];
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
