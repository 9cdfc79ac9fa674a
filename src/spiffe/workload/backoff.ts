/**
 * How long a Workload API watcher waits before it re-opens a failed or ended stream.
 * One `Backoff` serves one watcher: `next()` is asked before every reconnect, and
 * `reset()` is called after every good message, so a healthy stream that later breaks
 * starts again from the shortest delay (as go-spiffe and java-spiffe do).
 */
export interface Backoff {
  /** The delay in milliseconds before the next attempt; each call advances the sequence. */
  next(): number;
  /** Back to the first delay. */
  reset(): void;
}

/** Makes a fresh `Backoff` for each watcher (go-spiffe's `BackoffStrategy`). Inject one in tests. */
export interface BackoffStrategy {
  newBackoff(): Backoff;
}

export interface ExponentialBackoffOptions {
  /** The first delay's upper bound; default 100 ms. */
  initialMs?: number;
  /** The cap on any delay; default 30 s (go-spiffe's cap). */
  maxMs?: number;
  /** Growth per attempt; default 2. */
  multiplier?: number;
  /** A source of [0, 1) for the jitter; default `Math.random`. */
  random?: () => number;
}

/**
 * Exponential backoff with "equal jitter": attempt n waits a uniform time in [d/2, d], where
 * d = min(maxMs, initialMs · multiplier^n).
 *
 * Why these numbers: 100 ms lets a client come back quickly after a SPIRE agent restart,
 * where go-spiffe's linear 1 s, 2 s, … would leave the gateway without an SVID for seconds;
 * the 30 s cap matches go-spiffe. Why this jitter: it spreads many workloads' reconnects
 * apart (the agent is shared), yet the floor of d/2 keeps even the first delay ≥ 50 ms,
 * so a stream that a server keeps closing can never become a loop faster than 20 calls/s,
 * not even for a moment ("full" jitter could pick 0 ms).
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): BackoffStrategy {
  const { initialMs = 100, maxMs = 30_000, multiplier = 2, random = Math.random } = options;
  if (!(initialMs > 0) || !(maxMs >= initialMs) || !(multiplier >= 1)) {
    throw new RangeError('backoff needs initialMs > 0, maxMs >= initialMs and multiplier >= 1');
  }
  return {
    newBackoff(): Backoff {
      let ceiling = initialMs;
      return {
        next(): number {
          const delay = ceiling / 2 + (random() * ceiling) / 2;
          ceiling = Math.min(maxMs, ceiling * multiplier);
          return Math.round(delay);
        },
        reset(): void {
          ceiling = initialMs;
        },
      };
    },
  };
}

/** The default used by `X509Source` and `JwtSource`: `exponentialBackoff()` with its defaults. */
export const DEFAULT_BACKOFF: BackoffStrategy = exponentialBackoff();

/** With less than this left on its SVID, an `X509Source` reconnects urgently: 30 s, the default cap. */
export const URGENT_WINDOW_MS = 30_000;

/** The longest delay while urgent. */
export const URGENT_MAX_MS = 1_000;

/**
 * `strategy`, except that while `urgent()` holds no delay is longer than `maxMs`: a longer one
 * is replaced by one drawn, with the same equal jitter, in [maxMs/2, maxMs]. The sequence
 * underneath goes on, so a backoff that stops being urgent resumes where it was.
 *
 * `X509Source` is urgent while its SVID has less than `URGENT_WINDOW_MS` (30 s) left or has
 * expired. Why 30 s: with more left, even the longest default delay ends before the SVID
 * does. Why 1 s: an SVID that lapses while the agent is down is what takes a workload out of
 * service (the gateway then refuses every call), and it stays out until the next attempt
 * after the agent is back; the default sequence would by then be waiting up to 30 s (an
 * outage of 6 s already puts it at 3.2 to 6.4 s). With attempts at most 1 s apart, and
 * the channel re-dialling at most 0.6 s apart (workload-api-client.ts), a new SVID is in
 * hand at most about 1.6 s after the agent is back. The cost is one call a second to the
 * local agent, only while an SVID is that close to lapsing, which SPIRE (renewing at half
 * the SVID's life) never lets happen while it works. The floor of 500 ms keeps the jitter
 * and stays far from a tight loop.
 */
export function urgentBackoff(strategy: BackoffStrategy, urgent: () => boolean, maxMs = URGENT_MAX_MS, random: () => number = Math.random): BackoffStrategy {
  if (!(maxMs > 0)) throw new RangeError('urgentBackoff needs maxMs > 0');
  return {
    newBackoff(): Backoff {
      const inner = strategy.newBackoff();
      return {
        next(): number {
          const delay = inner.next();
          if (delay <= maxMs || !urgent()) return delay;
          return Math.round(maxMs / 2 + (random() * maxMs) / 2);
        },
        reset(): void {
          inner.reset();
        },
      };
    },
  };
}
