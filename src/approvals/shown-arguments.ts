import type { CedarValue } from '../identity/cedar-value';

/** The longest arguments JSON kept with a request: a request is in every approver's list, and in Redis. */
export const SHOWN_ARGUMENTS_MAX_CHARS = 8192;

/** What an approval request keeps of a call's arguments for approvers to read. */
export interface ShownArguments {
  readonly arguments: string;
  readonly argumentsCut?: boolean;
}

/**
 * The decoded request as approvers see it (`approvals.console.redact`): each field a pattern
 * names becomes `null`, so that its value is never stored nor shown. A pattern without a dot
 * names a field at any depth (`password`); a dotted one a path from the top, `*` any one field
 * (`*.secret`, `card.number`). Lists are transparent (`items.secret` reaches each item's).
 * Names compare case-insensitively: `Password` is redacted by `password`.
 */
export function shownArguments(request: Readonly<Record<string, CedarValue>>, redact: readonly string[]): ShownArguments {
  const patterns = redact.map((p) => p.toLowerCase().split('.'));
  const json = JSON.stringify(redacted(request, [], patterns));
  return json.length <= SHOWN_ARGUMENTS_MAX_CHARS ? { arguments: json } : { arguments: json.slice(0, SHOWN_ARGUMENTS_MAX_CHARS), argumentsCut: true };
}

function redacted(value: CedarValue, path: readonly string[], patterns: readonly string[][]): unknown {
  if (Array.isArray(value)) return value.map((item: CedarValue) => redacted(item, path, patterns));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value as Record<string, CedarValue>)) {
    const at = [...path, key.toLowerCase()];
    out[key] = patterns.some((p) => matches(p, at)) ? null : redacted(field, at, patterns);
  }
  return out;
}

function matches(pattern: readonly string[], path: readonly string[]): boolean {
  if (pattern.length === 1) return pattern[0] === '*' ? path.length === 1 : path.at(-1) === pattern[0];
  return pattern.length === path.length && pattern.every((segment, i) => segment === '*' || segment === path[i]);
}
