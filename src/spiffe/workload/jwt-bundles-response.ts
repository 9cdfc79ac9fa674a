import { BundleError } from '../errors';
import { JwtBundle } from '../jwt/jwt-bundle';
import { JwtBundleSet } from '../jwt/jwt-bundle-set';
import { bundleMapTrustDomain } from './bundle-map-key';
import type { JWTBundlesResponse } from './proto';

/**
 * Parses a whole `JWTBundlesResponse` into the complete current set, or throws
 * `BundleError` so that the caller discards the message and keeps its previous set: one
 * unparsable bundle rejects them all, since applying the rest would silently drop that
 * trust domain. An empty map is an empty mandatory field (the endpoint must send at least
 * its own trust domain), so it is rejected too rather than read as "trust nobody".
 */
export function parseJwtBundlesResponse(message: JWTBundlesResponse): JwtBundleSet {
  const entries = Object.entries(message.bundles);
  if (entries.length === 0) throw new BundleError('JWTBundlesResponse: bundles is empty');
  return new JwtBundleSet(entries.map(([key, jwks]) => JwtBundle.parse(bundleMapTrustDomain(key, 'JWTBundlesResponse bundles'), jwks)));
}
