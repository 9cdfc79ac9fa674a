import { LRUCache } from 'lru-cache';
import type { SigningKeys } from '../tasks/signing-keys';
import { CALL_TOKEN_MAX_TTL_SECONDS, mintCallToken, mintedCallToken, type CallTokenClaims } from './call-token';

/** Distinct claim sets kept at once; past it the least recently used is dropped (and its next call signs anew). */
export const DEFAULT_CALL_TOKEN_CACHE_SIZE = 10_000;

interface Entry {
  readonly token: string;
  /** The clock's ms when it was minted. */
  readonly mintedAt: number;
  /** Its `exp`, in ms. */
  readonly expiresAt: number;
}

/**
 * The call tokens the gateway hands to upstreams, a signed token reused for `reuseSeconds`
 * after it was minted by every call with the same claims (issue 15: the ES256 signature
 * was a quarter of the gateway's CPU per call). Reuse changes no claim: a token names the
 * same gateway, caller, upstream, action, task, agent and on-behalf-of user as a fresh one
 * would, it is handed out only to a call that policy has just permitted, and its `exp`,
 * fixed at mint as min(iat + ttl, task end), is never past the task's end nor more than ttl
 * after any call it goes out with. What it gives up is one token per call: `jti` is then
 * per token, and the same token may reach the upstream on every such call in the window.
 *
 * The key is every claim but `iat`/`exp`/`jti`, plus the ttl and the `kid` of the ring's
 * current key, so a rotation never hands out a token signed with the key it retired.
 * `reuseSeconds` 0 keeps nothing: a fresh token, with its own `jti`, per call.
 *
 * Bounded (LRU, `maxEntries`); an entry lapses `reuseSeconds` after it was minted (on the
 * ring's clock; a clock that went back does not reuse either), and lapsed entries are
 * purged at most once a window, on a miss, which pays for a signature anyway.
 */
export class CallTokenCache {
  /** Undefined with `reuseSeconds` 0: nothing is kept. */
  private readonly entries: LRUCache<string, Entry> | undefined;
  private readonly reuseMs: number;
  private lastPurge = 0;
  private hitCount = 0;
  private missCount = 0;

  constructor(
    private readonly keys: SigningKeys,
    reuseSeconds: number,
    maxEntries: number = DEFAULT_CALL_TOKEN_CACHE_SIZE,
  ) {
    if (!(reuseSeconds >= 0 && reuseSeconds < CALL_TOKEN_MAX_TTL_SECONDS)) {
      throw new RangeError(`call token reuseSeconds must be >= 0 and < ${CALL_TOKEN_MAX_TTL_SECONDS}, not ${reuseSeconds}`);
    }
    if (!(Number.isInteger(maxEntries) && maxEntries >= 1)) throw new RangeError(`call token cache maxEntries must be an integer >= 1, not ${maxEntries}`);
    this.reuseMs = reuseSeconds * 1000;
    // ttlResolution 0: the ring's clock is read on every lookup, never cached behind a timer.
    this.entries = reuseSeconds > 0 ? new LRUCache({ max: maxEntries, ttl: this.reuseMs, ttlResolution: 0, perf: { now: keys.clock } }) : undefined;
  }

  /** A call token for `claims`: the one minted for the same claims within the last `reuseSeconds`, else a fresh one. */
  token(claims: CallTokenClaims): string {
    const entries = this.entries;
    if (entries === undefined) return mintCallToken(this.keys, claims);
    const now = this.keys.clock();
    // Read before minting (both synchronous): the kid that signs the token stored under this key.
    const key = cacheKey(this.keys.currentKid, claims);
    const hit = entries.get(key);
    if (hit !== undefined && now >= hit.mintedAt && now - hit.mintedAt < this.reuseMs && now < hit.expiresAt) {
      this.hitCount++;
      return hit.token;
    }
    this.missCount++;
    if (now - this.lastPurge >= this.reuseMs) {
      entries.purgeStale();
      this.lastPurge = now;
    }
    const minted = mintedCallToken(this.keys, claims, now);
    const expiresAt = minted.exp * 1000;
    // A token already expired (its task ended) is not kept; the caller should not relay then anyway.
    if (expiresAt > now) entries.set(key, { token: minted.token, mintedAt: now, expiresAt }, { start: now });
    return minted.token;
  }

  /** Hits, misses (tokens signed while reuse is on) and entries held (a lapsed one until purged, looked up or evicted). */
  get stats(): { size: number; hits: number; misses: number } {
    return { size: this.entries?.size ?? 0, hits: this.hitCount, misses: this.missCount };
  }
}

/** Every claim but iat/exp/jti, the ttl and the signing kid, unambiguously (JSON: a claim holding a separator cannot alias another). */
function cacheKey(kid: string, c: CallTokenClaims): string {
  return JSON.stringify([
    kid,
    c.issuer,
    c.subject,
    c.audience,
    c.scope,
    c.taskId ?? null,
    c.taskExpiresAt === undefined ? null : String(c.taskExpiresAt.getTime()),
    c.agent ?? null,
    c.onBehalfOf?.issuer ?? null,
    c.onBehalfOf?.subject ?? null,
    c.ttlSeconds ?? null,
  ]);
}
