import type { RateLimiter, RateLimitResult, TokenBucket } from './rate-limiter';
import { checkTokenBucket } from './token-bucket';

/** Every this many takes, buckets that have refilled to full are dropped (see `#prune`). */
const PRUNE_EVERY = 1024;

interface Bucket {
  tokens: number;
  /** When `tokens` was last refilled, in ms. */
  lastMs: number;
}

/**
 * Token buckets in this process's memory, one per key, each starting full. `take` is atomic
 * because it runs to completion without awaiting.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #bucket: TokenBucket;
  readonly #buckets = new Map<string, Bucket>();
  #takesSincePrune = 0;

  constructor(bucket: TokenBucket) {
    checkTokenBucket(bucket);
    this.#bucket = bucket;
  }

  /** Buckets held (full ones are dropped from time to time). */
  get size(): number {
    return this.#buckets.size;
  }

  async take(key: string, now: Date): Promise<RateLimitResult> {
    const nowMs = now.getTime();
    if (++this.#takesSincePrune >= PRUNE_EVERY) this.#prune(nowMs);
    const bucket = this.#buckets.get(key) ?? { tokens: this.#bucket.burst, lastMs: nowMs };
    this.#refill(bucket, nowMs);
    const ok = bucket.tokens >= 1;
    if (ok) bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    return { ok, remaining: Math.floor(bucket.tokens) };
  }

  async close(): Promise<void> {
    this.#buckets.clear();
  }

  /** Adds the tokens earned since the last refill, up to burst. A clock that went back earns nothing. */
  #refill(bucket: Bucket, nowMs: number): void {
    if (nowMs <= bucket.lastMs) return;
    bucket.tokens = Math.min(this.#bucket.burst, bucket.tokens + ((nowMs - bucket.lastMs) / 1000) * this.#bucket.ratePerSecond);
    bucket.lastMs = nowMs;
  }

  /**
   * Drops the buckets that are full again at `nowMs`: a new bucket starts full, so forgetting
   * them changes nothing, and memory stays bounded by the keys active lately. Running every
   * `PRUNE_EVERY` takes keeps the cost per take constant without a timer.
   */
  #prune(nowMs: number): void {
    this.#takesSincePrune = 0;
    for (const [key, bucket] of this.#buckets) {
      this.#refill(bucket, nowMs);
      if (bucket.tokens >= this.#bucket.burst) this.#buckets.delete(key);
    }
  }
}
