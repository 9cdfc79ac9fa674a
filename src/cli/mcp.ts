import { commandGroup } from './command-group';
import { mcpToolsCommand } from './mcp-tools';

/** `toolgate mcp <tools>`: the operator's tools for MCP upstreams. */
export const mcpCommand = commandGroup({
  name: 'mcp',
  summary: "fetch, review and re-pin an MCP upstream's tool definitions",
  subcommands: [mcpToolsCommand],
});
