import { ToolgateError } from '../errors/toolgate-error';
import { oneLine } from './printable';

/** Where `toolgate mcp tools` failed: what it was doing when it gave up. */
export type McpFetchStage = 'workload API' | 'connect' | 'initialize' | 'list tools' | 'list prompts';

/**
 * `toolgate mcp tools` could not fetch an MCP server's definitions. The message is one line,
 * `<stage>: <what failed>`; text the server sent is escaped and cut short (it may be aimed at
 * a terminal), and it never holds the SVID, a key or a token.
 */
export class McpFetchError extends ToolgateError<'ERR_MCP_FETCH'> {
  constructor(
    readonly stage: McpFetchStage,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super('ERR_MCP_FETCH', `${stage}: ${oneLine(detail)}`, options);
  }
}
