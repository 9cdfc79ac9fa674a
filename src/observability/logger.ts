import { closeSync, openSync } from 'node:fs';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export class LogDestinationError extends Error {
  readonly code = 'ERR_LOG_DESTINATION';
}

export interface LoggerOptions {
  /** `stdout` (default), `stderr`, or a file path, appended to. */
  destination?: string;
  level?: string;
  /** Written on every line, e.g. `{ service: 'toolgate' }`. */
  base?: Record<string, unknown>;
}

/**
 * A pino logger writing asynchronously (the decision log is on every call's path; a
 * synchronous write per line would put a syscall there). Call `flush()` before exit.
 *
 * pino exits the process when it cannot open a file destination, so the file is opened
 * here first, and a failure is thrown as an error that names the path.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const dest = options.destination ?? 'stdout';
  const fd = STANDARD_STREAMS[dest];
  if (fd === undefined) assertWritable(dest);
  const stream = pino.destination({ dest: fd ?? dest, sync: false });
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

const STANDARD_STREAMS: Record<string, number | undefined> = { stdout: 1, stderr: 2 };

function assertWritable(path: string): void {
  try {
    closeSync(openSync(path, 'a'));
  } catch (err) {
    throw new LogDestinationError(`cannot open log destination "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
