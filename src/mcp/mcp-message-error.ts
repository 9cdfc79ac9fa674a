import { ToolgateError } from '../errors/toolgate-error';

/**
 * Why the gateway refuses an MCP request body before any decision: it does not parse as
 * exactly one JSON-RPC value, or it could be read otherwise by the MCP server than by the
 * gateway (docs/mcp.md, "What is refused and why").
 *
 * - `ERR_MCP_PARSE`: not strict JSON (bad UTF-8, a BOM, a duplicate key, a lone surrogate,
 *   a number no parser reads alike, too deep, trailing bytes). JSON-RPC -32700.
 * - `ERR_MCP_INVALID`: JSON, but not a JSON-RPC 2.0 message the gateway can decide on
 *   (wrong `jsonrpc`, unknown members, a batch where the protocol has none). JSON-RPC -32600.
 * - `ERR_MCP_UPSTREAM`: an answer of the MCP server the gateway must inspect (a list to
 *   filter) that it cannot read: not UTF-8, not JSON, over its size limit. The answer is not
 *   relayed (HTTP 502, or the stream ends).
 *
 * The message names what is wrong and where (a JSON path, a key), never more than a short
 * excerpt of the caller's data: it is sent back to the caller and logged.
 */
export type McpMessageErrorCode = 'ERR_MCP_PARSE' | 'ERR_MCP_INVALID' | 'ERR_MCP_UPSTREAM';

export class McpMessageError extends ToolgateError<McpMessageErrorCode> {
  constructor(code: McpMessageErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
