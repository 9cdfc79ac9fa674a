import { UsageError, type CliCommand } from './command';
import { wantsHelp } from './flags';
import { policyExplainCommand } from './policy-explain';
import { policySchemaCommand } from './policy-schema';
import { policyTestCommand } from './policy-test';
import { policyValidateCommand } from './policy-validate';

const SUBCOMMANDS: ReadonlyMap<string, CliCommand> = new Map([policyValidateCommand, policySchemaCommand, policyTestCommand, policyExplainCommand].map((c) => [c.name, c]));

const USAGE = `Usage: toolgate policy <subcommand> [options]

Subcommands:
${[...SUBCOMMANDS.values()].map((c) => `  ${c.name.padEnd(8)}  ${c.summary}`).join('\n')}

Run \`toolgate policy <subcommand> --help\` for its options.`;

/** `toolgate policy <validate|schema|test|explain>`: the tools for writing and checking policies. */
export const policyCommand: CliCommand = {
  name: 'policy',
  summary: 'validate, test and explain Cedar policies; generate their schema',
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
