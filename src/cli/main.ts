#!/usr/bin/env node
import { auditCommand } from './audit';
import { UsageError, type CliCommand, type CliContext } from './command';
import { checkCommand } from './check';
import { demoCommand } from './demo';
import { devIdentityCommand } from './dev-identity';
import { wantsHelp } from './flags';
import { mcpCommand } from './mcp';
import { policyCommand } from './policy';
import { runCommand } from './run';
import { signingKeyCommand } from './signing-key';
import { errorMessage } from '../errors/unknown-error';

/** Every `toolgate <command>`. */
const COMMANDS: ReadonlyMap<string, CliCommand> = new Map(
  [runCommand, checkCommand, policyCommand, mcpCommand, auditCommand, demoCommand, devIdentityCommand, signingKeyCommand].map((c) => [c.name, c]),
);

function overview(): string {
  const width = Math.max(...[...COMMANDS.keys()].map((n) => n.length));
  const lines = [...COMMANDS.values()].map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return ['Usage: toolgate <command> [options]', '', 'Commands:', ...lines, '', 'Run `toolgate <command> --help` for its options.'].join('\n');
}

/** Dispatches to a subcommand; resolves to the process exit code (2 for usage errors). */
export async function main(argv: string[], context: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    context.stdout(overview());
    return 0;
  }
  const command = name === undefined ? undefined : COMMANDS.get(name);
  if (command === undefined) {
    context.stderr(name === undefined ? overview() : `toolgate: unknown command "${name}"\n\n${overview()}`);
    return 2;
  }
  if (command.answersHelp !== true && wantsHelp(rest)) {
    context.stdout(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, context);
  } catch (err) {
    if (err instanceof UsageError) {
      context.stderr(`toolgate ${command.name}: ${err.message}\nRun \`toolgate ${command.name} --help\` for usage.`);
      return 2;
    }
    context.stderr(`toolgate ${command.name}: ${errorMessage(err)}`);
    return 1;
  }
}

if (require.main === module) {
  const controller = new AbortController();
  const onSignal = (): void => {
    // A second signal means the clean shutdown is stuck: leave at once.
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const context: CliContext = {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    signal: controller.signal,
  };
  void main(process.argv.slice(2), context).then((code) => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.exitCode = code;
  });
}
