import { UsageError, type CliCommand } from './command';
import { wantsHelp } from './flags';

export interface CommandGroupSpec {
  readonly name: string;
  readonly summary: string;
  readonly subcommands: readonly CliCommand[];
}

/**
 * `toolgate <group> <subcommand> [options]` (policy, mcp, audit): dispatches to the
 * subcommand, and answers `--help` itself, for the group (its subcommands listed) or for one
 * subcommand (its usage). A usage error names the subcommands.
 */
export function commandGroup(spec: CommandGroupSpec): CliCommand {
  const subcommands = new Map(spec.subcommands.map((c) => [c.name, c]));
  const width = Math.max(8, ...spec.subcommands.map((c) => c.name.length));
  const usage = `Usage: toolgate ${spec.name} <subcommand> [options]

Subcommands:
${spec.subcommands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run \`toolgate ${spec.name} <subcommand> --help\` for its options.`;
  return {
    name: spec.name,
    summary: spec.summary,
    usage,
    answersHelp: true,
    async run(argv, context) {
      const [name, ...rest] = argv;
      if (name === '--help' || name === '-h' || name === 'help') {
        context.stdout(usage);
        return 0;
      }
      const sub = name === undefined ? undefined : subcommands.get(name);
      if (sub === undefined) throw new UsageError(`${name === undefined ? 'a subcommand is required' : `unknown subcommand "${name}"`}\n\n${usage}`);
      if (wantsHelp(rest)) {
        context.stdout(sub.usage);
        return 0;
      }
      return sub.run(rest, context);
    },
  };
}
