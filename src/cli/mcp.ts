import { UsageError, type CliCommand } from './command';
import { wantsHelp } from './flags';
import { mcpToolsCommand } from './mcp-tools';

const SUBCOMMANDS: ReadonlyMap<string, CliCommand> = new Map([mcpToolsCommand].map((c) => [c.name, c]));

const USAGE = `Usage: toolgate mcp <subcommand> [options]

Subcommands:
${[...SUBCOMMANDS.values()].map((c) => `  ${c.name.padEnd(8)}  ${c.summary}`).join('\n')}

Run \`toolgate mcp <subcommand> --help\` for its options.`;

/** `toolgate mcp <tools>`: the operator's tools for MCP upstreams. */
export const mcpCommand: CliCommand = {
  name: 'mcp',
  summary: "fetch, review and re-pin an MCP upstream's tool definitions",
  usage: USAGE,
  async run(argv, context) {
    const [name, ...rest] = argv;
    if (name === '--help' || name === '-h' || name === 'help') {
      context.stdout(USAGE);
      return 0;
    }
    const sub = name === undefined ? undefined : SUBCOMMANDS.get(name);
    if (sub === undefined) throw new UsageError(`${name === undefined ? 'a subcommand is required' : `unknown subcommand "${name}"`}\n\n${USAGE}`);
    if (wantsHelp(rest)) {
      context.stdout(sub.usage);
      return 0;
    }
    return sub.run(rest, context);
  },
};
