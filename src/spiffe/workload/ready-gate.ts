import { SourceError } from '../errors';

/** How long a source's `create()` waits for its first update unless told otherwise. */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;

/**
 * The promise a source's `create()` waits on: it resolves when the first good update
 * arrives, and rejects with `SourceError` when the deadline passes first, when `signal`
 * aborts, when the stream fails for good, or when the source is closed meanwhile. Settles
 * once; later calls are no-ops.
 */
export class ReadyGate {
  readonly promise: Promise<void>;
  private settle: ((error?: SourceError) => void) | undefined;
  private lastError: Error | undefined;

  /** `timeoutMs` of `Infinity` waits for ever. `what` names the awaited update in messages. */
  constructor(
    timeoutMs: number,
    readonly what: string,
    signal?: AbortSignal,
  ) {
    this.promise = new Promise<void>((resolve, reject) => {
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => this.fail(`timed out after ${timeoutMs} ms waiting for ${what}`), timeoutMs) : undefined;
      const onAbort = (): void => this.fail(`aborted while waiting for ${what}`);
      this.settle = (error) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.settle = undefined;
        if (error) reject(error);
        else resolve();
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort);
    });
  }

  get settled(): boolean {
    return this.settle === undefined;
  }

  /** Remembers a non-fatal error, so that a timeout can say why nothing arrived. */
  note(error: Error): void {
    this.lastError = error;
  }

  open(): void {
    this.settle?.();
  }

  /** Rejects with `reason`; the cause is `cause` or the last noted error. */
  fail(reason: string, cause: Error | undefined = this.lastError): void {
    const detail = cause ? `: ${cause.message}` : '';
    this.settle?.(new SourceError(`${reason}${detail}`, { cause }));
  }

  /** Rejects because `error` stopped the watch for good. */
  failFatal(error: Error): void {
    this.fail(`cannot get ${this.what}`, error);
  }
}
