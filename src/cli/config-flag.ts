import { parseArgs } from 'node:util';
import { UsageError } from './command';

/** Parses `--config FILE` (required) and nothing else. */
export function parseConfigFlag(argv: string[], usage: string): { config: string; help: boolean } {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return { config: '', help: true };
  if (!values.config) throw new UsageError(`--config FILE is required\n\n${usage}`);
  return { config: values.config, help: false };
}
