import type { TrustDomain } from './id/trust-domain';
import type { JwtBundle } from './jwt/jwt-bundle';
import type { X509Bundle } from './x509/x509-bundle';
import type { X509Svid } from './x509/x509-svid';

/**
 * One-method source interfaces, as in go-spiffe. A source hides where its material comes
 * from and how it rotates: a caller asks at the moment of use and always gets the current
 * value. The getters throw (never return a stale or empty value) when there is none.
 */
export interface X509SvidSource {
  /** The current default X.509-SVID; throws `SourceError` when there is none. */
  getX509Svid(): X509Svid;
}

export interface X509BundleSource {
  /** The X.509 bundle of exactly this trust domain; throws `BundleError` when there is none. */
  getX509BundleForTrustDomain(td: TrustDomain | string): X509Bundle;
}

export interface JwtBundleSource {
  /** The JWT bundle of exactly this trust domain; throws `BundleError` when there is none. */
  getJwtBundleForTrustDomain(td: TrustDomain | string): JwtBundle;
}
