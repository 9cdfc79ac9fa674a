import { schemaToJson } from './cedar';

/**
 * Whether two schemas in Cedar's human-readable syntax declare the same thing: compared as
 * Cedar's JSON form with keys sorted, so comments, layout and declaration order do not count.
 * Undefined when either does not parse.
 *
 * `toolgate policy validate` uses it to warn when the schema in the policy folder is not the
 * one generated from the config: policies validated against a stale schema can name actions
 * that no longer exist, or miss fields a new proto added.
 */
export function sameSchema(a: string, b: string): boolean | undefined {
  const left = schemaToJson(a);
  const right = schemaToJson(b);
  if (left.type === 'failure' || right.type === 'failure') return undefined;
  return canonical(left.json) === canonical(right.json);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}
