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

/**
 * The pinned definition of each tool of one upstream. A tool is pinned from config, or
 * when the gateway first sees it in a `tools/list` answer; a later answer with another
 * definition makes the tool refused (hidden from lists, its calls denied) until it is pinned
 * again (`repin`), or until the server serves the pinned definition again. `onChange` is
 * told once per new changed definition (the relay's owner logs it and counts a metric).
 */
export class ToolPins {
  private readonly pinned = new Map<string, string>();
  /** Tools whose last seen definition differs from the pin: name → the digest seen. */
  private readonly changed = new Map<string, string>();

  constructor(
    pins: Readonly<Record<string, string>> = {},
    private readonly onChange: (change: ToolChange) => void = () => {},
  ) {
    for (const [name, digest] of Object.entries(pins)) this.pinned.set(name, digest);
  }

  /** Compares a listed tool's definition with its pin, pinning it when first seen. */
  observe(tool: { readonly name: string; readonly description?: unknown; readonly inputSchema?: unknown }): 'pinned' | 'unchanged' | 'changed' {
    const seen = toolDigest(tool);
    const pin = this.pinned.get(tool.name);
    if (pin === undefined) {
      this.pinned.set(tool.name, seen);
      return 'pinned';
    }
    if (pin === seen) {
      this.changed.delete(tool.name);
      return 'unchanged';
    }
    if (this.changed.get(tool.name) !== seen) {
      this.changed.set(tool.name, seen);
      this.onChange({ tool: tool.name, pinned: pin, seen });
    }
    return 'changed';
  }

  /** True while `tool`'s last seen definition differs from its pin. */
  isRefused(tool: string): boolean {
    return this.changed.has(tool);
  }

  /** Accepts the last seen definition of `tool` as its pin; false when the tool is not refused. */
  repin(tool: string): boolean {
    const seen = this.changed.get(tool);
    if (seen === undefined) return false;
    this.pinned.set(tool, seen);
    this.changed.delete(tool);
    return true;
  }

  /** The pins, for config or `toolgate check` to write down. */
  get pins(): Readonly<Record<string, string>> {
    return Object.fromEntries(this.pinned);
  }
}
