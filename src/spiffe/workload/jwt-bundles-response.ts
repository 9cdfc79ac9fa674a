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
  if (Object.keys(message.bundles).length === 0) throw new BundleError('JWTBundlesResponse: bundles is empty');
  return parseJwtBundleMap(message.bundles);
}

/**
 * A Workload API JWT bundle map (`spiffe://td` or bare `td` → JWKS JSON bytes) as a set.
 * Throws `BundleError` for any bad key or bundle; an entry without a value is left out.
 */
export function parseJwtBundleMap(bundles: Readonly<Record<string, Uint8Array | undefined>>): JwtBundleSet {
  return new JwtBundleSet(
    Object.entries(bundles).flatMap(([key, jwks]) => (jwks === undefined ? [] : [JwtBundle.parse(bundleMapTrustDomain(key, 'JWTBundlesResponse bundles'), jwks)])),
  );
}
