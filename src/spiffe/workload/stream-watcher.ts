import * as grpc from '@grpc/grpc-js';
import type { WorkloadApiError } from '../errors';
import type { Backoff, BackoffStrategy } from './backoff';
import { workloadApiError } from './status-error';

/** What a watcher tells its owner. */
export interface StreamHandlers<T> {
  /**
   * One stream message, always the complete current state. Return `false` when the message
   * was discarded: only a good message resets the backoff, so a server that keeps sending
   * garbage and hanging up is retried ever more slowly.
   */
  onMessage(message: T): boolean;
  /**
   * The stream failed. `willRetry` is false when the watcher has stopped for good
   * (`InvalidArgument` or `Unimplemented`); otherwise it re-opens the stream after a backoff.
   */
  onError(error: WorkloadApiError, willRetry: boolean): void;
}

/**
 * Status codes after which re-opening cannot help (Workload Endpoint spec §6: report, do not
 * retry): a rejected request stays rejected, and an unsupported RPC stays unsupported.
 */
const FATAL_CODES: ReadonlySet<number> = new Set([grpc.status.INVALID_ARGUMENT, grpc.status.UNIMPLEMENTED]);

/**
 * Keeps one server-streaming Workload API call open for as long as it is wanted, for any
 * RPC: `open` starts a fresh call each time. Every end of a stream, a failure or a normal
 * close alike, is followed by a new call after `backoff.next()` (never at once, so never a
 * tight loop); `PermissionDenied` is reported and retried too, since identities may still be
 * on their way. `stop()` cancels the call silently; a `Cancelled` status the watcher did not
 * cause itself (a server or proxy cancelling) is retried like any other failure.
 */
export class StreamWatcher<T> {
  private readonly backoff: Backoff;
  private stream: grpc.ClientReadableStream<T> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    /** The RPC name, for error messages. */
    private readonly method: string,
    private readonly open: () => grpc.ClientReadableStream<T>,
    backoff: BackoffStrategy,
    private readonly handlers: StreamHandlers<T>,
  ) {
    this.backoff = backoff.newBackoff();
    this.connect();
  }

  /** True once stopped, by `stop()` or by a status that must not be retried. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Cancels the open call or the pending reconnect; idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
  }

  private connect(): void {
    this.timer = undefined;
    const stream = this.open();
    this.stream = stream;
    // grpc-js may emit a call's status before the Readable has delivered its last buffered
    // messages, so messages are taken from any stream of this watcher until it is stopped.
    stream.on('data', (message: T) => {
      if (!this.stopped && this.handlers.onMessage(message)) this.backoff.reset();
    });
    // The 'status' event carries the same outcome; this listener only keeps an unhandled
    // 'error' event from being thrown.
    stream.on('error', () => undefined);
    stream.on('status', (status: grpc.StatusObject) => this.ended(stream, status));
  }

  private ended(stream: grpc.ClientReadableStream<T>, status: grpc.StatusObject): void {
    if (this.stopped || stream !== this.stream) return;
    this.stream = undefined;
    if (status.code !== grpc.status.OK) {
      const fatal = FATAL_CODES.has(status.code);
      if (fatal) this.stopped = true;
      this.handlers.onError(workloadApiError(this.method, status), !fatal);
    }
    // The owner may have stopped the watcher from inside onError.
    if (!this.stopped) this.timer = setTimeout(() => this.connect(), this.backoff.next());
  }
}
