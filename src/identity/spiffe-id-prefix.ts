import { SpiffeId, type TrustDomain } from '../spiffe/id';
import { InvalidValueError } from '../errors/invalid-value-error';

/**
 * Validates a `spiffeIdPrefix`: a SPIFFE ID followed by `/`, such as
 * `spiffe://example.org/agents/ci/` or `spiffe://example.org/` (the whole trust domain).
 * The trailing slash is required so that a prefix matches whole path segments only:
 * `.../agents/ci/` must not match `.../agents/cia`. Returns the prefix's trust domain;
 * throws `SpiffeIdError` (or `InvalidValueError`) with the reason.
 */
export function parseSpiffeIdPrefix(prefix: string): TrustDomain {
  if (!prefix.endsWith('/')) throw new InvalidValueError('must end with "/" so that it matches whole path segments');
  // Valid exactly when an ID one segment below it is: go-spiffe's checks, go-spiffe's messages.
  return SpiffeId.parse(`${prefix}x`).trustDomain;
}
