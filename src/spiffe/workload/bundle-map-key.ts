import { BundleError } from '../errors';
import { TrustDomain } from '../id/trust-domain';

/**
 * The trust domain a Workload API bundle map is keyed by. SPIRE writes `spiffe://td`,
 * go-spiffe's fake server a bare `td`; both are accepted, as go-spiffe's client does.
 * `where` names the map in the error.
 */
export function bundleMapTrustDomain(key: string, where: string): TrustDomain {
  try {
    return TrustDomain.parse(key);
  } catch (err) {
    throw new BundleError(`${where}: invalid trust domain key "${key}": ${(err as Error).message}`, { cause: err });
  }
}
