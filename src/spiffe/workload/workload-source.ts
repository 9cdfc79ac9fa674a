import { EventEmitter } from 'node:events';
import { SourceError, type WorkloadApiError } from '../errors';
import { DEFAULT_READY_TIMEOUT_MS, ReadyGate } from './ready-gate';
import type { StreamHandlers } from './stream-watcher';
import type { WireClient } from './wire-client';

/** The events every Workload API source emits. */
export interface WorkloadSourceEvents {
  update: [];
  error: [error: Error];
}

/** How long `create()` waits for the first good message, and what may cut the wait short. */
export interface ReadyOptions {
  /** Default 10 s; `Infinity` waits for ever. */
  timeoutMs?: number;
  /** Gives up waiting in `create()` (rejecting with `SourceError`), e.g. on shutdown. */
  signal?: AbortSignal;
}

/**
 * What `X509Source` and `JwtSource` share: one Workload API client watching one stream;
 * `create()` waits for the first good message; every message is the whole state, so it is
 * parsed whole and applied, or discarded whole and reported while the previous state stays;
 * `update` follows each applied message; `error` is emitted only while someone listens (an
 * unobserved one never crashes the process); `close()` stops it all.
 */
export abstract class WorkloadSource<E extends WorkloadSourceEvents & Record<keyof E, unknown[]>> extends EventEmitter<E> {
  protected readonly client: WireClient;
  readonly #name: string;
  readonly #ready: ReadyGate;
  #closed = false;

  /** `what` names the awaited first message in errors, e.g. "the first X.509-SVID". */
  protected constructor(name: string, what: string, client: WireClient, options: ReadyOptions) {
    super();
    this.#name = name;
    this.client = client;
    this.#ready = new ReadyGate(options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS, what, options.signal);
  }

  /**
   * Resolves with this source once its first good message has arrived. Rejects with
   * `SourceError` on timeout, on abort, or when the endpoint refuses for good
   * (InvalidArgument, Unimplemented), and closes the source then.
   */
  protected async whenReady(): Promise<this> {
    try {
      await this.#ready.promise;
    } catch (err) {
      this.close();
      throw err;
    }
    return this;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops the stream and closes the connection; getters throw afterwards. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.client.close();
    this.#ready.fail(`${this.#name} closed before ${this.#ready.what} arrived`);
  }

  /**
   * The watcher's handlers. `parse` reads a whole message into the new state, or throws to
   * have it discarded and reported; `commit` installs a parsed state. `onFailure` sees a
   * failed stream before it is reported.
   */
  protected handlers<M, S>(parse: (message: M) => S, commit: (state: S) => void, onFailure?: (error: WorkloadApiError) => void): StreamHandlers<M> {
    return {
      onMessage: (message) => {
        let state: S;
        try {
          state = parse(message);
        } catch (err) {
          this.#report(err as Error);
          return false;
        }
        commit(state);
        this.#ready.open();
        this.#events.emit('update');
        return true;
      },
      onError: (error, willRetry) => {
        if (!willRetry) this.#ready.failFatal(error);
        onFailure?.(error);
        this.#report(error);
      },
    };
  }

  protected assertOpen(): void {
    if (this.#closed) throw new SourceError(`${this.#name} is closed`);
  }

  #report(error: Error): void {
    if (!this.#ready.settled) this.#ready.note(error);
    if (this.#events.listenerCount('error') > 0) this.#events.emit('error', error);
  }

  /** This emitter typed with the shared events only, which a generic `E` cannot name. */
  get #events(): EventEmitter<WorkloadSourceEvents> {
    return this as unknown as EventEmitter<WorkloadSourceEvents>;
  }
}
