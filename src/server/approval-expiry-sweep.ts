import type { ApprovalStore } from '../approvals/approval-store';
import { errorMessage } from '../errors/unknown-error';
import type { Logger } from '../observability/logger';
import type { ApprovalActions } from './approval-actions';

export interface ApprovalExpirySweepOptions {
  readonly store: ApprovalStore;
  readonly actions: ApprovalActions;
  readonly logger: Logger;
  /** How often expired requests are looked for. Default 1000 ms. */
  readonly intervalMs?: number;
  /** Wall clock, ms. Default `Date.now`. */
  readonly clock?: () => number;
}

/** Expiries claimed per store read: a backlog (after an outage) is recorded over a few sweeps rather than in one burst. */
const CLAIMS_PER_SWEEP = 100;

/**
 * Records each approval request's expiry when it happens, not only when a held call or a
 * retry meets it: every sweep claims the requests that expired unused (pending or approved)
 * and writes one `approval expired` event for each. Every replica sweeps; the claim is
 * atomic in the store (in Redis too), so each expiry is recorded once, by whichever replica
 * claims it first, even when the replica that made the request is gone.
 */
export class ApprovalExpirySweep {
  readonly #timer: NodeJS.Timeout;
  #sweeping: Promise<void> | undefined;
  /** Whether the last sweep failed: an outage is logged once, not every second. */
  #failing = false;

  constructor(private readonly options: ApprovalExpirySweepOptions) {
    this.#timer = setInterval(() => void this.sweep(), options.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** One sweep (at most one at a time); never rejects: a store that fails is tried again at the next. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#claim().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async #claim(): Promise<void> {
    const { store, actions, logger } = this.options;
    try {
      for (;;) {
        const expired = await store.claimExpired(new Date((this.options.clock ?? Date.now)()), CLAIMS_PER_SWEEP);
        for (const approval of expired) actions.expired(approval);
        if (expired.length < CLAIMS_PER_SWEEP) break;
      }
      if (this.#failing) logger.info('approval expiry sweep works again');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) logger.warn({ err: errorMessage(err) }, 'approval expiry sweep failed; retried each second, logged again once it works');
      this.#failing = true;
    }
  }

  /** Stops sweeping; resolves once a sweep under way has ended. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }
}
