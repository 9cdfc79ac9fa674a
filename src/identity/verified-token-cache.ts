import { LruCache } from '../policy/lru-cache';

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
  expiresAtMs: number;
  stillValid: (() => boolean) | undefined;
}

export const DEFAULT_TOKEN_CACHE_SIZE = 10_000;

/**
 * Verified bearer tokens by token string, bounded (LRU), so that a caller repeating its
 * token costs a map lookup. An entry never outlives the token's `exp` (without the clock
 * tolerance verification allows). Concurrent first uses of one token share one verification.
 * Failures are not cached.
 */
export class VerifiedTokenCache<V> {
  private readonly entries: LruCache<Entry<V>>;
  private readonly pending = new Map<string, Promise<V>>();
  private hitCount = 0;
  private missCount = 0;

  constructor(
    capacity: number = DEFAULT_TOKEN_CACHE_SIZE,
    private readonly clock: () => number = Date.now,
  ) {
    this.entries = new LruCache(capacity);
  }

  /** The cached value for `token`, or the result of `verify` (cached when it succeeds). */
  get(token: string, verify: () => Promise<Verified<V>>): Promise<V> {
    const entry = this.entries.get(token);
    if (entry !== undefined && this.clock() < entry.expiresAtMs && (entry.stillValid?.() ?? true)) {
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
        const expiresAtMs = expiresAt.getTime();
        if (this.clock() < expiresAtMs) this.entries.set(token, { value, expiresAtMs, stillValid });
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

  /** Hits and misses (verifications started) so far, and the entries held (expired ones included until evicted). */
  get stats(): { size: number; hits: number; misses: number } {
    return { size: this.entries.size, hits: this.hitCount, misses: this.missCount };
  }
}
