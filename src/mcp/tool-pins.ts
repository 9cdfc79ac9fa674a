import { createHash } from 'node:crypto';

/**
 * The digest of a tool's definition as the agent's model reads it: its name, description
 * and input schema (`sha256:` and the hex of SHA-256 over sorted-key JSON of
 * `{ name, description, inputSchema }`, a missing description as null). A server that
 * changes what a tool says it does, or what it takes, after agents and policy authors
 * looked at it (a "rug pull") changes this digest.
 */
export function toolDigest(tool: { readonly name: unknown; readonly description?: unknown; readonly inputSchema?: unknown }): string {
  const text = sortedJson({ name: tool.name, description: tool.description ?? null, inputSchema: tool.inputSchema ?? null });
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** JSON with every object's keys sorted: one text per value, whatever order the server wrote. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface ToolChange {
  readonly tool: string;
  readonly pinned: string;
  readonly seen: string;
}

/** A tool listed by the server that its upstream's catalog does not hold. */
export interface UnlistedTool {
  readonly tool: string;
  readonly seen: string;
}

/** Why a tool is refused: its definition differs from its pin, or (with a catalog) it has no pin. */
export type ToolRefusal = 'changed' | 'not-in-catalog';

export interface ToolPinsOptions {
  /** Told once per new changed definition (the relay's owner logs it and counts a metric). */
  readonly onChange?: (change: ToolChange) => void;
  /** Told once per new definition of a listed tool the catalog does not hold. */
  readonly onUnlisted?: (tool: UnlistedTool) => void;
}

/**
 * The pinned definition of each tool of one upstream, and which tools are refused.
 *
 * Trust on first use (no catalog): a tool is pinned when the gateway first sees it in a
 * `tools/list` answer; a later answer with another definition makes the tool refused (hidden
 * from lists, its calls denied) until it is pinned again (`repin`), or until the server
 * serves the pinned definition again. A tool never listed is not pinned, and not refused.
 *
 * From a catalog (`upstreams[].mcp.tools`): the pins are the catalog's, and the catalog is the
 * allow-list of definitions: a tool it does not hold is refused, listed or not (the gateway
 * knows no definition of it that anyone approved), and one whose listed definition differs
 * is refused as above. `useCatalog` puts a new catalog in force (a reload): each tool's
 * refusal follows from its last seen definition and the new pins at once, with no new list.
 */
export class ToolPins {
  private pinned = new Map<string, string>();
  /** Whether the pins are a catalog's: then an unpinned tool is refused rather than pinned. */
  private catalog = false;
  /** The digest each tool was last listed with. */
  private readonly seen = new Map<string, string>();
  /** The refused definition last told to the owner, per tool: each new one is told once. */
  private readonly told = new Map<string, string>();
  private options: ToolPinsOptions;

  constructor(pins: Readonly<Record<string, string>> = {}, onChange: (change: ToolChange) => void = () => {}) {
    for (const [name, digest] of Object.entries(pins)) this.pinned.set(name, digest);
    this.options = { onChange };
  }

  /** Pins from a catalog's digests (tool name → `toolDigest`): the catalog is the allow-list. */
  static fromCatalog(pins: Readonly<Record<string, string>>, options: ToolPinsOptions = {}): ToolPins {
    const tools = new ToolPins();
    tools.options = options;
    tools.useCatalog(pins);
    return tools;
  }

  /**
   * Puts a catalog's pins in force, replacing every pin; `undefined` goes back to trust on
   * first use, keeping the pins held now (a restart would re-trust whatever is served).
   */
  useCatalog(pins: Readonly<Record<string, string>> | undefined): void {
    this.catalog = pins !== undefined;
    if (pins !== undefined) this.pinned = new Map(Object.entries(pins));
    // A tool no longer refused is forgotten by the teller: refused again later, it is told again.
    for (const tool of [...this.told.keys()]) if (this.refusal(tool) === undefined) this.told.delete(tool);
  }

  /** Compares a listed tool's definition with its pin, pinning it when first seen (without a catalog). */
  observe(tool: { readonly name: string; readonly description?: unknown; readonly inputSchema?: unknown }): 'pinned' | 'unchanged' | 'changed' | 'not-in-catalog' {
    const seen = toolDigest(tool);
    this.seen.set(tool.name, seen);
    const pin = this.pinned.get(tool.name);
    if (pin === undefined && !this.catalog) {
      this.pinned.set(tool.name, seen);
      return 'pinned';
    }
    if (pin === seen) {
      this.told.delete(tool.name);
      return 'unchanged';
    }
    if (this.told.get(tool.name) !== seen) {
      this.told.set(tool.name, seen);
      if (pin === undefined) this.options.onUnlisted?.({ tool: tool.name, seen });
      else this.options.onChange?.({ tool: tool.name, pinned: pin, seen });
    }
    return pin === undefined ? 'not-in-catalog' : 'changed';
  }

  /** Why calls to `tool` are refused now; undefined when they are decided by policy. */
  refusal(tool: string): ToolRefusal | undefined {
    const pin = this.pinned.get(tool);
    if (pin === undefined) return this.catalog ? 'not-in-catalog' : undefined;
    const seen = this.seen.get(tool);
    return seen !== undefined && seen !== pin ? 'changed' : undefined;
  }

  /** True while `tool` is refused: its last seen definition differs from its pin, or a catalog lacks it. */
  isRefused(tool: string): boolean {
    return this.refusal(tool) !== undefined;
  }

  /** Accepts the last seen definition of `tool` as its pin; false when the tool is not refused as changed. */
  repin(tool: string): boolean {
    const seen = this.seen.get(tool);
    if (this.refusal(tool) !== 'changed' || seen === undefined) return false;
    this.pinned.set(tool, seen);
    this.told.delete(tool);
    return true;
  }

  /** The pins, for config or `toolgate check` to write down. */
  get pins(): Readonly<Record<string, string>> {
    return Object.fromEntries(this.pinned);
  }
}
