import type { JsonObject, JsonValue } from './strict-json';

/**
 * What an approval of a `tools/call` binds (docs/approvals.md, "MCP"): the message's `params`
 * exactly as the relay forwards them, in canonical JSON (RFC 8785: object keys sorted by
 * UTF-16 code units, no whitespace, JSON.stringify's strings and numbers), less
 * `_meta.progressToken` (and `_meta` when nothing else is in it). Not the JSON-RPC `id`, nor the progress
 * token, which the TypeScript SDK sets to that id: both change with every retry of the same call.
 * Key order is not kept either: a server reads `{"a":1,"b":2}` and `{"b":2,"a":1}` alike
 * (duplicate keys are refused before), so one call has one digest; any other change of the
 * params (an argument, the tool, any other `_meta` member) gives another.
 */
export function approvalBytes(params: JsonObject | undefined): Uint8Array {
  return Buffer.from(canonicalJson(withoutProgressToken(params ?? {})), 'utf8');
}

function withoutProgressToken(params: JsonObject): JsonObject {
  const meta = params._meta;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta) || !('progressToken' in meta)) return params;
  const rest: JsonObject = {};
  for (const key of Object.keys(meta)) if (key !== 'progressToken') rest[key] = meta[key]!;
  const out: JsonObject = {};
  for (const key of Object.keys(params)) if (key !== '_meta') out[key] = params[key]!;
  if (Object.keys(rest).length > 0) out._meta = rest;
  return out;
}

/** RFC 8785 (JCS) for the values the strict parser yields: finite numbers, well-formed strings, no duplicate keys. */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key]!)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
