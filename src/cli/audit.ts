import { UsageError, type CliCommand } from './command';
import { wantsHelp } from './flags';
import { auditKeyCommand, auditVkeyCommand } from './audit-key';
import { auditVerifyCommand } from './audit-verify';

const SUBCOMMANDS: ReadonlyMap<string, CliCommand> = new Map([auditVerifyCommand, auditKeyCommand, auditVkeyCommand].map((c) => [c.name, c]));

const USAGE = `Usage: toolgate audit <subcommand> [options]

Subcommands:
${[...SUBCOMMANDS.values()].map((c) => `  ${c.name.padEnd(6)}  ${c.summary}`).join('\n')}

Run \`toolgate audit <subcommand> --help\` for its options.`;

/** `toolgate audit <verify|key|vkey>`: the decision log's tamper evidence, for auditors and operators. */
export const auditCommand: CliCommand = {
  name: 'audit',
  summary: 'verify decision logs; make and show checkpoint keys',
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
