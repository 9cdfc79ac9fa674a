import type { CedarValue } from '../identity/cedar-value';
import { McpMessageError } from './mcp-message-error';
import type { JsonObject, JsonValue } from './strict-json';

/**
 * A JSON-RPC params object as `context.request` for Cedar, in the same shapes the gRPC side
 * renders a decoded message (policies.md, "Payload-aware decisions"): strings, booleans and
 * integers as themselves (the strict parser has already refused integers beyond ±(2^53 − 1),
 * so each is exact as a Cedar `Long`); arrays as sets; objects as records. A fraction and
 * `null` have no Cedar type and are left out, as floats are for gRPC: a policy cannot read
 * them (`context.request has ratio` is false), and the server still receives them.
 *
 * Leaving out is safe only because the server receives the same value policy was given the
 * rest of: the relay forwards the canonical form of the whole parsed message (mcp-body.ts).
 */
export function cedarRecord(object: JsonObject): Record<string, CedarValue> {
  // The strict parser refuses "__proto__", so assigning each key makes an ordinary member.
  const record: Record<string, CedarValue> = {};
  for (const key of Object.keys(object)) {
    const value = cedarValue(object[key] as JsonValue);
    if (value !== undefined) record[key] = value;
  }
  return record;
}

function cedarValue(value: JsonValue): CedarValue | undefined {
  if (value === null) return undefined;
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(cedarValue).filter((v): v is CedarValue => v !== undefined);
  if (isCedarEscape(value)) {
    throw new McpMessageError(
      'ERR_MCP_INVALID',
      `Invalid Request: an argument is an object whose only key is ${Object.keys(value)[0]}, Cedar's escape for an entity or extension value; policy cannot read it as data`,
    );
  }
  return cedarRecord(value);
}

/**
 * A record whose only key is `__entity`, `__extn` or `__expr` is Cedar's JSON escape for an
 * entity reference or an extension value: an argument spelled that way would reach policy
 * as an entity (`{"__entity":{"type":"Agent","id":"admin"}}`) rather than as data. Refused:
 * left out, it would hide a string-typed field from a `forbid` guarded by `has`.
 */
function isCedarEscape(object: JsonObject): boolean {
  const keys = Object.keys(object);
  return keys.length === 1 && (keys[0] === '__entity' || keys[0] === '__extn' || keys[0] === '__expr');
}
