/** A token bucket: `ratePerSecond` tokens are added each second, up to `burst`; each call takes one. */
export interface TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
}

export interface RateLimitResult {
  /** True when a token was taken: the call may proceed. */
  readonly ok: boolean;
  /** Whole tokens left in the bucket after this call (0 when refused); visible to policies. */
  readonly remaining: number;
}

/**
 * A per-key (per-agent) token-bucket rate limiter. In memory by default; in Redis when
 * several gateway replicas must share one budget per agent. `now` comes from the caller so
 * that every implementation agrees on time with the task store and tests control it.
 */
export interface RateLimiter {
  /** Atomically refills `key`'s bucket to `now` and takes one token if there is one. */
  take(key: string, now: Date): Promise<RateLimitResult>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
