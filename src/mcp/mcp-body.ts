import { readClientMessage, type ClientMessage } from './json-rpc-message';
import { McpMessageError } from './mcp-message-error';
import { allowsBatches, type ProtocolVersion } from './protocol-version';
import { parseStrictJson, type JsonValue, type StrictJsonLimits } from './strict-json';

/** Most messages in one batch; the TypeScript SDK's server refuses more than 100 too. */
export const MAX_BATCH_MESSAGES = 100;

/** One POST body, as decided and as relayed. */
export interface McpBody {
  /** The messages in order: one, or a batch's elements. */
  readonly messages: readonly ClientMessage[];
  /** The body was a JSON array (a 2025-03-26 batch), even of one element. */
  readonly batch: boolean;
  /** The parsed value: what policy sees, through `messages` and their params. */
  readonly value: JsonValue;
  /**
   * What the server receives: JSON.stringify of `value`, never the caller's bytes. Any
   * conformant JSON parser reads this text as `value` (a double's shortest round-trip form,
   * no duplicate keys, escapes only where JSON needs them), so the server parses exactly
   * what was decided, even where the caller's text had a spelling the strict parser let
   * through (`1.0`, `\u0041`, insignificant whitespace).
   */
  readonly canonical: string;
}

/**
 * Reads a client's POST body for `version`: strict JSON (strict-json.ts), then each message
 * strictly (json-rpc-message.ts). A batch is refused unless the version has batches, and
 * when it is empty, over MAX_BATCH_MESSAGES, holds an `initialize` (2025-03-26 lifecycle:
 * "MUST NOT be part of a JSON-RPC batch"), or repeats a request id (the answers could not be
 * told apart, and a denial for one could be read as the other's).
 */
export function parseMcpBody(bytes: Uint8Array, version: ProtocolVersion, limits: StrictJsonLimits = {}): McpBody {
  const value = parseStrictJson(bytes, limits);
  if (!Array.isArray(value)) {
    return { messages: [readClientMessage(value, '$')], batch: false, value, canonical: JSON.stringify(value) };
  }
  if (!allowsBatches(version)) {
    throw new McpMessageError('ERR_MCP_INVALID', `Invalid Request: a JSON-RPC batch, but protocol version ${version} has no batches (only 2025-03-26 does)`);
  }
  if (value.length === 0) throw new McpMessageError('ERR_MCP_INVALID', 'Invalid Request: an empty batch');
  if (value.length > MAX_BATCH_MESSAGES) {
    throw new McpMessageError('ERR_MCP_INVALID', `Invalid Request: a batch of ${value.length} messages, over the limit of ${MAX_BATCH_MESSAGES}`);
  }
  const messages = value.map((element, i) => readClientMessage(element, `$[${i}]`));
  const ids = new Set<string>();
  for (const [i, message] of messages.entries()) {
    if (message.kind !== 'response' && message.method === 'initialize') {
      throw new McpMessageError('ERR_MCP_INVALID', 'Invalid Request: initialize must not be part of a batch');
    }
    if (message.kind === 'notification') continue;
    const key = `${typeof message.id}:${message.id}`;
    if (ids.has(key)) throw new McpMessageError('ERR_MCP_INVALID', `Invalid Request: $[${i}].id repeats an id of the same batch`);
    ids.add(key);
  }
  return { messages, batch: true, value, canonical: JSON.stringify(value) };
}
