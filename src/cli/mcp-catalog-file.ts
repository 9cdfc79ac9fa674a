import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseToolCatalog } from '../config/tool-catalog';
import { errorCode, errorMessage } from '../errors/unknown-error';
import { ToolgateError } from '../errors/toolgate-error';

/** One tool or prompt as the server listed it: any JSON object with a string `name`. */
export type CatalogItem = { readonly name: string } & Readonly<Record<string, unknown>>;

/**
 * An MCP tool catalog (the `upstreams[].mcp.tools` file, docs/mcp.md "Re-pinning"): the
 * `tools` of every `tools/list` page and, when the server has prompts, the `prompts` of every
 * `prompts/list` page, each sorted by name. `upstream` names where it was fetched, for the reader.
 */
export interface McpCatalog {
  readonly upstream?: string;
  readonly tools: readonly CatalogItem[];
  readonly prompts?: readonly CatalogItem[];
}

/** A catalog file that cannot be read as one. The message names the file, and the member at fault. */
export class CatalogFileError extends ToolgateError<'ERR_MCP_CATALOG_FILE'> {
  constructor(
    readonly file: string,
    problem: string,
    options: { cause?: unknown } = {},
  ) {
    super('ERR_MCP_CATALOG_FILE', `catalog file ${file}: ${problem}`, options);
  }
}

/**
 * The file's text: `JSON.stringify(…, null, 2)` and a newline, items sorted by name, each
 * item's `name` first and every other key sorted at every depth. Key order carries no meaning
 * in JSON (nor in the pin, `toolDigest`), so an unchanged server gives the same bytes however
 * it orders its keys, and a diff in review shows only what changed.
 */
export function catalogText(catalog: McpCatalog): string {
  const value = {
    ...(catalog.upstream !== undefined && { upstream: catalog.upstream }),
    tools: sortedItems(catalog.tools),
    ...(catalog.prompts !== undefined && { prompts: sortedItems(catalog.prompts) }),
  };
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Items by name (code unit order, as `Array.prototype.sort`: the same in every locale), in canonical form. */
export function sortedItems(items: readonly CatalogItem[]): CatalogItem[] {
  return items.map(canonicalItem).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function canonicalItem(item: CatalogItem): CatalogItem {
  const { name, ...rest } = item;
  return { name, ...(sortedKeys(rest) as Record<string, unknown>) };
}

/** The same JSON value with every object's keys sorted (defined as own data properties: a `__proto__` key stays a key). */
export function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => [k, sortedKeys(record[k])]),
  );
}

/** Writes `text` to `file` whole or not at all (a temp file renamed over it): a gateway reloading the file never reads half of it. */
export function writeCatalogFile(file: string, text: string): void {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(temp, text);
  renameSync(temp, file);
}

/** Reads a catalog file (the pinned one `--diff` compares with): `tools` an array of objects with a string `name`, `prompts` likewise when present. */
export function readCatalogFile(file: string): McpCatalog {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CatalogFileError(file, `cannot be read (${errorCode(err) ?? 'error'})`, { cause: err });
  }
  // One rule for what a catalog is: the gateway's own (config/tool-catalog.ts), so that a
  // file this command accepts for --diff is one the gateway would load, and the reverse.
  try {
    parseToolCatalog(text, file);
  } catch (err) {
    throw new CatalogFileError(file, errorMessage(err).replace(`${file}: `, '').replace(`${file} `, ''), { cause: err });
  }
  // Checked above: an object whose `tools` (and `prompts`, when present) are arrays of named objects. Kept whole for the diff.
  const record = JSON.parse(text) as { upstream?: unknown; tools: CatalogItem[]; prompts?: CatalogItem[] };
  return {
    ...(typeof record.upstream === 'string' && { upstream: record.upstream }),
    tools: record.tools,
    ...(record.prompts !== undefined && { prompts: record.prompts }),
  };
}
