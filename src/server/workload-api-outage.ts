import { status } from '@grpc/grpc-js';
import type { Logger } from '../observability/logger';
import { WorkloadApiError } from '../spiffe/errors';
import type { SvidExpiry } from './svid-expiry';

/** What is watched: an `X509Source`. */
export interface WatchedSource {
  readonly closed: boolean;
  on(event: 'update', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** How often the warning is repeated while the Workload API stays unreachable. */
export const OUTAGE_WARNING_EVERY_MS = 30_000;

/**
 * True for a source error that means the SVID stream failed for want of the Workload API
 * (unreachable, or failing). PermissionDenied is not one: the API answered, and took the SVID
 * back (logged as a withdrawal).
 */
export function isOutage(err: Error): boolean {
  return err instanceof WorkloadApiError && err.grpcCode !== status.PERMISSION_DENIED;
}

/**
 * Warns while the gateway cannot reach its Workload API: once when the SVID stream first
 * fails, then every 30 s while no SVID comes, each time with the time left on the gateway's
 * SVID (the time an operator has before the gateway fails closed); and once, at info, when an
 * SVID arrives again. The source retries on its own meanwhile, at first every 50 to 100 ms:
 * a line per attempt would bury the log, and would say nothing the first did not.
 */
export class WorkloadApiOutageLog {
  #since: number | undefined;
  #failures = 0;
  #lastError = '';
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: WatchedSource,
    private readonly svid: Pick<SvidExpiry, 'expiresAt' | 'secondsLeft'>,
    private readonly logger: Logger,
    private readonly everyMs = OUTAGE_WARNING_EVERY_MS,
  ) {
    source.on('error', (err) => this.#failed(err));
    source.on('update', () => this.#delivered());
  }

  /** True from the first failed stream until an SVID arrives again. */
  get down(): boolean {
    return this.#since !== undefined;
  }

  #failed(err: Error): void {
    if (!isOutage(err)) return;
    this.#failures++;
    this.#lastError = err.message;
    if (this.#since !== undefined) return;
    this.#since = Date.now();
    this.#warn('Workload API unreachable');
    this.#timer = setInterval(() => (this.source.closed ? this.#stop() : this.#warn('Workload API still unreachable')), this.everyMs);
    this.#timer.unref();
  }

  #delivered(): void {
    if (this.#since === undefined) return;
    this.logger.info(
      { downSeconds: seconds(Date.now() - this.#since), failedAttempts: this.#failures, svidExpiresAt: this.svid.expiresAt?.toISOString() },
      'Workload API reachable again',
    );
    this.#stop();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#since = undefined;
    this.#failures = 0;
  }

  #warn(message: string): void {
    const left = this.svid.secondsLeft();
    this.logger.warn(
      {
        err: this.#lastError,
        downSeconds: seconds(Date.now() - this.#since!),
        failedAttempts: this.#failures,
        svidExpiresAt: this.svid.expiresAt?.toISOString(),
        // Negative once it has expired: the gateway is then refusing every call.
        svidSecondsLeft: left === undefined ? undefined : Math.round(left * 10) / 10,
      },
      message,
    );
  }
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}
