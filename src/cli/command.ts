import { ToolgateError } from '../errors/toolgate-error';

/** What a `toolgate` subcommand gets from main: output lines and a stop signal. */
export interface CliContext {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Aborted on SIGINT/SIGTERM; long-running commands finish cleanly when it fires. */
  signal: AbortSignal;
}

export interface CliCommand {
  name: string;
  /** One line for `toolgate --help`. */
  summary: string;
  /** Full text for `toolgate <command> --help`. */
  usage: string;
  /** A command group (command-group.ts): it answers `--help` itself, for the group or one subcommand. */
  answersHelp?: boolean;
  /** Resolves to the exit code. Throws `UsageError` for bad arguments (exit 2). */
  run(argv: string[], context: CliContext): Promise<number>;
}

/** Bad command-line arguments; the message names the offending flag. */
export class UsageError extends ToolgateError<'ERR_USAGE'> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_USAGE', message, options);
  }
}
