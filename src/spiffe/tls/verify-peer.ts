import type { X509Certificate } from 'node:crypto';
import type { SpiffeId } from '../id/spiffe-id';
import type { X509BundleSource } from '../sources';
import { verifyX509Svid } from '../x509/verify';
import type { Authorizer } from './authorizer';

export interface VerifiedPeer {
  id: SpiffeId;
  chain: X509Certificate[];
}

/**
 * Authenticates a TLS peer the SPIFFE way, then authorizes it: the chain must verify
 * against the bundle of the peer's *own* trust domain only (OpenSSL, given every trust
 * domain's roots as `ca`, would accept one trust domain's CA vouching for another's IDs).
 */
export function verifyPeer(chain: ReadonlyArray<Uint8Array | X509Certificate>, bundles: X509BundleSource, authorize: Authorizer): VerifiedPeer {
  const verified = verifyX509Svid(chain, bundles);
  authorize(verified.id, verified.chain);
  return verified;
}
