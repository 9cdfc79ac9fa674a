import { closeSync, openSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { errorCode, errorMessage } from '../errors/unknown-error';
import { ToolgateError } from '../errors/toolgate-error';

export type { Logger } from 'pino';

/** A log destination file that cannot be opened for appending; the message names the path. */
export class LogDestinationError extends ToolgateError<'ERR_LOG_DESTINATION'> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_LOG_DESTINATION', message, options);
  }
}

export interface LoggerOptions {
  /** `stdout` (default), `stderr`, or a file path, appended to. */
  destination?: string;
  level?: string;
  /** Written on every line, e.g. `{ service: 'toolgate' }`. */
  base?: Record<string, unknown>;
}

/** Lines wait at most this long in memory before they are written. */
const FLUSH_INTERVAL_MS = 100;
/**
 * Bytes gathered before a write, so that a busy gateway makes one write per batch of lines.
 * Each write hands a batch to libuv's thread pool (a wake-up of another thread, paid on a
 * 2-core machine in context switches); at ~2 500 records a second of ~550 bytes, 32 KiB is a
 * write every ~25 ms instead of every ~3 ms with 4 KiB. The 100 ms bound above is unchanged.
 */
const BATCH_BYTES = 32 * 1024;

/**
 * A pino logger writing asynchronously and in batches: the decision log is on every
 * call's path, and a write per line cost ~30 µs of CPU per call (measured in bench/).
 * Lines are written once 32 KiB have gathered or after 100 ms, whichever comes first, so
 * a crash can lose at most the last 100 ms. Call `flush()` before a clean exit.
 *
 * pino exits the process when it cannot open a file destination, so the file is opened
 * here first, and a failure is thrown as an error that names the path.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = openDestination(options.destination ?? 'stdout', 'utf8');
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

/** Where lines go: written asynchronously, in batches; `reopen()` follows a renamed (rotated) file. */
export interface LineDestination {
  write(line: string): unknown;
  flush(): void;
  /** Opens the file again by its path (after a rotation renamed it); nothing for stdout and stderr. */
  reopen(): void;
}

/**
 * The decision log's destination (it writes its own lines): `stdout`, `stderr` or a file path,
 * appended to, batched and asynchronous as `createLogger`'s, but each line is handed over as a
 * Buffer (sonic-boom's buffer mode). In its string mode, sonic-boom reads the UTF-8 length of
 * its whole pending batch again at every line, and each batch is converted from a string on
 * the event loop when it is written: `writeString` took 18.5 µs of the gateway's CPU a call
 * in the relay bench's profile, the buffer writes 6.9 µs (same machine, ~1 core of other
 * load both times: read them as a direction); a line's own Buffer costs one encode.
 */
export function createRecordDestination(destination: string): LineDestination {
  const stream = openDestination(destination, 'buffer');
  // sonic-boom's types know only its string mode; in buffer mode `write` takes a Buffer.
  const writeBuffer = stream.write.bind(stream) as unknown as (data: Buffer) => boolean;
  return { write: (line) => writeBuffer(Buffer.from(line)), flush: () => stream.flush(), reopen: () => stream.reopen() };
}

/** The batching asynchronous destination of both: `stdout`, `stderr` or a file path, appended to. */
function openDestination(destination: string, contentMode: 'utf8' | 'buffer'): LineDestination & ReturnType<typeof pino.destination> {
  const fd = STANDARD_STREAMS[destination];
  if (fd === undefined) assertWritable(destination);
  // maxWrite above BATCH_BYTES: sonic-boom requires minLength < maxWrite.
  const stream = pino.destination({ dest: fd ?? destination, sync: false, minLength: BATCH_BYTES, maxWrite: 2 * BATCH_BYTES, contentMode });
  setInterval(() => {
    try {
      stream.flush();
    } catch {
      // not open yet: the next tick of the interval writes
    }
  }, FLUSH_INTERVAL_MS).unref();
  const reopen = stream.reopen.bind(stream);
  // A standard stream has no path to open again.
  return Object.assign(stream, { reopen: () => (fd === undefined ? reopen() : undefined) });
}

const STANDARD_STREAMS: Record<string, number | undefined> = { stdout: 1, stderr: 2 };

function assertWritable(path: string): void {
  try {
    closeSync(openSync(path, 'a'));
  } catch (err) {
    throw new LogDestinationError(`cannot open log destination "${path}": ${errorCode(err) ?? errorMessage(err)}`);
  }
}
