import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './command';
import { errorMessage } from '../errors/unknown-error';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;

/**
 * A command's flags, parsed strictly (an unknown flag or a missing value is a
 * `UsageError`, exit 2). `--help` never gets here: the dispatcher answers it with the
 * command's usage.
 */
export function parseFlags<T extends Options>(argv: string[], options: T): Parsed<T> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(errorMessage(err), { cause: err });
  }
}

/** The value of a required flag, or a `UsageError` naming it. */
export function required<V>(value: V | undefined, flag: string, usage: string): V {
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required\n\n${usage}`);
  return value;
}

/** True when the arguments ask for help rather than for work. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export const CONFIG_FLAG = { config: { type: 'string', short: 'c' } } as const;
