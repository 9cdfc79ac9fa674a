import { LRUCache } from 'lru-cache';

/** What a verification yields: the value to hand out, until when, and an optional recheck. */
export interface Verified<V> {
  value: V;
  /** The token's `exp`: the entry is never used at or after it. */
  expiresAt: Date;
  /** Run on every hit (cheap checks only); false drops to a fresh verification. */
  stillValid?: () => boolean;
}

interface Entry<V> {
  value: V;
  stillValid: (() => boolean) | undefined;
}

export const DEFAULT_TOKEN_CACHE_SIZE = 10_000;

/**
 * Verified bearer tokens by token string, bounded (LRU), so that a caller repeating its
 * token costs a map lookup. An entry never outlives the token's `exp` (without the clock
 * tolerance verification allows). Concurrent first uses of one token share one verification.
 * Failures are not cached.
 *
 * The store is lru-cache with a TTL per entry, read on the injected clock. lru-cache counts
 * an entry stale once its age *exceeds* the TTL, so the TTL is one millisecond short of the
 * token's remaining life: on a millisecond clock the entry lapses exactly at `exp`, on a
 * finer one up to 1 ms before it, never after. The single flight stays our own map rather
 * than lru-cache's `fetch`: a verification in flight must not count against (or be evicted
 * from) the bound, and a value whose `exp` passed while it was verified must not be stored.
 */
export class VerifiedTokenCache<V> {
  /** Undefined for a capacity of 0: nothing is kept. */
  private readonly entries: LRUCache<string, Entry<V>> | undefined;
  private readonly pending = new Map<string, Promise<V>>();
  private hitCount = 0;
  private missCount = 0;

  constructor(
    capacity: number = DEFAULT_TOKEN_CACHE_SIZE,
    private readonly clock: () => number = Date.now,
  ) {
    // ttlResolution 0: the clock is read on every lookup, never cached behind a timer.
    this.entries = capacity > 0 ? new LRUCache({ max: capacity, ttlResolution: 0, perf: { now: clock } }) : undefined;
  }

  /** The cached value for `token`, or the result of `verify` (cached when it succeeds). */
  get(token: string, verify: () => Promise<Verified<V>>): Promise<V> {
    const entry = this.entries?.get(token);
    if (entry !== undefined && (entry.stillValid?.() ?? true)) {
      this.hitCount++;
      return Promise.resolve(entry.value);
    }
    const inFlight = this.pending.get(token);
    if (inFlight !== undefined) return inFlight;
    this.missCount++;
    let verifying: Promise<Verified<V>>;
    try {
      verifying = verify();
    } catch (err) {
      verifying = Promise.reject(err);
    }
    const result = verifying.then(
      ({ value, expiresAt, stillValid }) => {
        this.pending.delete(token);
        // A TTL of 0 would mean "never expires" to lru-cache: a token with 1 ms or less left is not kept.
        const now = this.clock();
        const ttl = expiresAt.getTime() - now - 1;
        if (ttl > 0) this.entries?.set(token, { value, stillValid }, { ttl, start: now });
        return value;
      },
      (err: unknown) => {
        this.pending.delete(token);
        throw err;
      },
    );
    this.pending.set(token, result);
    return result;
  }

  /** Hits and misses (verifications started) so far, and the entries held (an expired one until it is looked up or evicted). */
  get stats(): { size: number; hits: number; misses: number } {
    return { size: this.entries?.size ?? 0, hits: this.hitCount, misses: this.missCount };
  }
}
