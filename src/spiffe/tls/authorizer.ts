import type { X509Certificate } from 'node:crypto';
import { AuthorizationError } from '../errors';
import { SpiffeId } from '../id/spiffe-id';
import { TrustDomain } from '../id/trust-domain';

/**
 * Decides whether an authenticated peer may connect. It runs after the peer's chain has
 * been verified against the bundle of the peer's own trust domain, and throws
 * `AuthorizationError` to refuse. Authorizers compose: each is a plain function.
 */
export type Authorizer = (id: SpiffeId, verifiedChain: readonly X509Certificate[]) => void;

/** Any verified SPIFFE ID. Use only where a later layer (policy) authorizes per call. */
export function authorizeAny(): Authorizer {
  return () => {};
}

/** Exactly this SPIFFE ID. */
export function authorizeId(expected: SpiffeId | string): Authorizer {
  return authorizeOneOf(expected);
}

/** One of these SPIFFE IDs. */
export function authorizeOneOf(...expected: Array<SpiffeId | string>): Authorizer {
  const allowed = new Set(expected.map((id) => (typeof id === 'string' ? SpiffeId.parse(id) : id).toString()));
  return (id) => {
    if (!allowed.has(id.toString())) throw new AuthorizationError(`unexpected ID "${id}"`);
  };
}

/** Any workload of one of these trust domains. */
export function authorizeMemberOf(...trustDomains: Array<TrustDomain | string>): Authorizer {
  const allowed = new Set(trustDomains.map((td) => TrustDomain.from(td).name));
  return (id) => {
    if (!allowed.has(id.trustDomain.name)) {
      throw new AuthorizationError(`unexpected trust domain "${id.trustDomain}"`);
    }
  };
}

/** A custom rule: a predicate on the ID, or a function that throws its own error. */
export function authorizeIf(predicate: (id: SpiffeId, verifiedChain: readonly X509Certificate[]) => boolean): Authorizer {
  return (id, chain) => {
    if (!predicate(id, chain)) throw new AuthorizationError(`unauthorized ID "${id}"`);
  };
}

/** Every authorizer must accept. */
export function authorizeAll(...authorizers: Authorizer[]): Authorizer {
  return (id, chain) => {
    for (const authorize of authorizers) authorize(id, chain);
  };
}
