import type { Redis } from 'ioredis';
import { closeRedis, connectRedis } from '../state/redis-client';
import { RedisScript, type RedisScriptRun } from '../state/redis-script';
import type { RateLimiter, RateLimitResult, TokenBucket } from './rate-limiter';
import { checkTokenBucket } from './token-bucket';

/** Kept past the time to refill to full, so that a key expiring can never be told from a full bucket too early. */
const EXPIRY_MARGIN_MS = 1000;

/**
 * The token bucket of `MemoryRateLimiter`, in one atomic step. KEYS[1] is a hash of `tokens`
 * and `last` (ms); ARGV is now (ms), rate per second, burst, margin (ms). A missing key is a
 * full bucket; a clock that went back earns nothing. The key expires once it would be full
 * again, so idle keys vanish. Returns {taken (0/1), whole tokens left}.
 */
const TAKE = new RedisScript(
  'toolgateTakeToken',
  `
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(state[1]) or burst
local last = tonumber(state[2]) or now
if now > last then
  tokens = math.min(burst, tokens + (now - last) / 1000 * rate)
  last = now
end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'last', string.format('%.17g', last))
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil((burst - tokens) / rate * 1000) + tonumber(ARGV[4])))
return {taken, math.floor(tokens)}
`,
);

export interface RedisRateLimiterOptions {
  readonly url: string;
  readonly bucket: TokenBucket;
  /** Prepended to every key. Default `toolgate:`. */
  readonly keyPrefix?: string;
}

/**
 * Token buckets in Redis, one per key (`<prefix>rate:<key>`), shared by every gateway
 * replica: a burst is a burst across all of them. Time is the caller's `now`, as in
 * `MemoryRateLimiter`, not Redis's clock.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #client: Redis;
  readonly #take: RedisScriptRun;
  readonly #bucket: TokenBucket;
  readonly #keyPrefix: string;

  /** Takes ownership of `client`: `close` quits it. */
  constructor(client: Redis, bucket: TokenBucket, keyPrefix = 'toolgate:') {
    checkTokenBucket(bucket);
    this.#client = client;
    this.#take = TAKE.on(client);
    this.#bucket = bucket;
    this.#keyPrefix = keyPrefix;
  }

  /** Connects (see `connectRedis`) after checking the bucket, so that a bad one opens nothing. */
  static async connect(options: RedisRateLimiterOptions): Promise<RedisRateLimiter> {
    checkTokenBucket(options.bucket);
    return new RedisRateLimiter(await connectRedis(options.url), options.bucket, options.keyPrefix);
  }

  async take(key: string, now: Date): Promise<RateLimitResult> {
    const { ratePerSecond, burst } = this.#bucket;
    const [taken, remaining] = (await this.#take([`${this.#keyPrefix}rate:${key}`], [now.getTime(), ratePerSecond, burst, EXPIRY_MARGIN_MS])) as [number, number];
    return { ok: taken === 1, remaining };
  }

  async close(): Promise<void> {
    await closeRedis(this.#client);
  }
}
