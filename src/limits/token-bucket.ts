import type { TokenBucket } from './rate-limiter';
import { InvalidValueError } from '../errors/invalid-value-error';

/**
 * Throws unless `bucket` can ever let a call through: a positive finite rate and a whole
 * burst of at least one token. Both rate limiters check the same way, at construction.
 */
export function checkTokenBucket(bucket: TokenBucket): void {
  if (!Number.isFinite(bucket.ratePerSecond) || bucket.ratePerSecond <= 0) {
    throw new InvalidValueError(`rate limit ratePerSecond must be a number > 0, not ${bucket.ratePerSecond}`);
  }
  if (!Number.isSafeInteger(bucket.burst) || bucket.burst < 1) {
    throw new InvalidValueError(`rate limit burst must be a whole number >= 1, not ${bucket.burst}`);
  }
}
