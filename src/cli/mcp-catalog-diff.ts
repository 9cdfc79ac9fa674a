import { toolDigest } from '../mcp/tool-pins';
import { lineDiff } from './line-diff';
import type { CatalogItem, McpCatalog } from './mcp-catalog-file';
import { sortedKeys } from './mcp-catalog-file';
import { printable } from './printable';

/** Most diff lines shown per changed member: enough to review a rewritten description, bounded for a hostile one. */
const MAX_DIFF_LINES = 40;
/** Longest line shown in a diff; longer ones are cut (the digests still tell them apart). */
const MAX_LINE = 200;

export interface CatalogDiff {
  /** What differs, one item a block of lines; empty when the catalogs hold the same definitions. */
  readonly lines: string[];
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
}

/**
 * What differs between a pinned catalog and a live one, tool by tool and prompt by prompt,
 * matched by name: `added`, `removed`, `changed`. A tool's line gives its pin (`toolDigest`),
 * pinned and live; a changed item names the members that changed, and a short diff of each
 * (a description line by line, anything else as pretty-printed JSON with sorted keys). A
 * tool whose pin is the same but whose other members changed (`title`, `annotations`) is
 * `changed` too, marked "pin unchanged": the gateway would not refuse it, but the file differs.
 * Everything the server wrote is printed escaped (printable.ts).
 */
export function diffCatalogs(pinned: McpCatalog, live: McpCatalog): CatalogDiff {
  const lines: string[] = [];
  const counts = { added: 0, removed: 0, changed: 0 };
  for (const kind of ['tool', 'prompt'] as const) {
    const before = byName(kind === 'tool' ? pinned.tools : (pinned.prompts ?? []));
    const after = byName(kind === 'tool' ? live.tools : (live.prompts ?? []));
    const names = [...new Set([...before.keys(), ...after.keys()])].sort();
    for (const name of names) {
      const [p, l] = [before.get(name), after.get(name)];
      const label = `${kind} ${printable(name)}`;
      const digest = (item: CatalogItem): string => (kind === 'tool' ? `  ${toolDigest(item)}` : '');
      if (p === undefined) {
        counts.added++;
        lines.push(`added    ${label}${digest(l!)}`);
      } else if (l === undefined) {
        counts.removed++;
        lines.push(`removed  ${label}${digest(p)}`);
      } else {
        const members = changedMembers(p, l);
        if (members.length === 0) continue;
        counts.changed++;
        const pins = kind === 'tool' ? (toolDigest(p) === toolDigest(l) ? `  ${toolDigest(p)} (pin unchanged)` : `  ${toolDigest(p)} -> ${toolDigest(l)}`) : '';
        lines.push(`changed  ${label}${pins}  (${members.join(', ')})`);
        for (const member of members) lines.push(...memberDiff(member, p[member], l[member]));
      }
    }
  }
  return { lines, ...counts };
}

function byName(items: readonly CatalogItem[]): Map<string, CatalogItem> {
  return new Map(items.map((item) => [item.name, item]));
}

/** The members whose values differ (as JSON values: key order does not count), sorted; the pinned ones first for a tool. */
function changedMembers(pinned: CatalogItem, live: CatalogItem): string[] {
  const keys = [...new Set([...Object.keys(pinned), ...Object.keys(live)])];
  const differ = keys.filter((k) => JSON.stringify(sortedKeys(pinned[k])) !== JSON.stringify(sortedKeys(live[k])));
  const pinnedFirst = (k: string): number => ['name', 'description', 'inputSchema'].indexOf(k);
  return differ.sort((a, b) => (pinnedFirst(a) === -1 ? 99 : pinnedFirst(a)) - (pinnedFirst(b) === -1 ? 99 : pinnedFirst(b)) || (a < b ? -1 : a > b ? 1 : 0));
}

/** A diff block for one member, indented under its item's line. */
function memberDiff(member: string, pinned: unknown, live: unknown): string[] {
  const header = [`    --- pinned ${printable(member)}`, `    +++ live ${printable(member)}`];
  const body = lineDiff(textLines(member, pinned), textLines(member, live), { maxLines: MAX_DIFF_LINES });
  return [...header, ...body.map((line) => `    ${line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line}`)];
}

/** The lines a member is reviewed as, escaped: a string description as its text, anything else as pretty JSON (cut only when shown, so a change past the cut still counts). */
function textLines(member: string, value: unknown): string[] {
  if (value === undefined) return [];
  const lines = member === 'description' && typeof value === 'string' ? value.split('\n') : JSON.stringify(sortedKeys(value), null, 2).split('\n');
  return lines.map(printable);
}
