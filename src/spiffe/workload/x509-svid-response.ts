import { BundleError, X509SvidError } from '../errors';
import { X509Bundle } from '../x509/x509-bundle';
import { X509BundleSet } from '../x509/x509-bundle-set';
import { X509Svid } from '../x509/x509-svid';
import { bundleMapTrustDomain } from './bundle-map-key';
import type { X509SVIDResponse } from './proto';

/** What one `X509SVIDResponse` says, checked and parsed: the complete current state. */
export interface X509Context {
  /** In server order (svids[0] is the default identity); duplicate hints removed. */
  svids: X509Svid[];
  /** Each SVID's own bundle and every federated bundle, per trust domain. */
  bundles: X509BundleSet;
}

/**
 * Parses a whole `X509SVIDResponse`, or throws (`X509SvidError` / `BundleError`) so that
 * the caller discards the whole message and keeps its previous state (Workload API spec
 * §4: a message with an empty mandatory field must not be applied in part).
 *
 * - Every SVID is parsed with `X509Svid.parseRaw`, and its `spiffe_id` must equal the
 *   leaf's URI SAN: a mismatch means a confused server, and trusting either is a guess.
 * - Each SVID's `bundle` is filed under that SVID's trust domain; `federated_bundles` keys
 *   may be `spiffe://td` (SPIRE) or a bare `td` (go-spiffe's fake).
 * - Two different bundles for one trust domain (say, a federated entry for the own trust
 *   domain that differs from the own bundle) are ambiguous: the message is rejected.
 * - A non-empty hint seen twice: the first SVID wins and later ones are left out, as the
 *   spec tells clients to do, so a lookup by hint can never pick the wrong one.
 */
export function parseX509SvidResponse(message: X509SVIDResponse): X509Context {
  if (message.svids.length === 0) throw new X509SvidError('X509SVIDResponse: svids is empty');

  const svids: X509Svid[] = [];
  const bundles: X509Bundle[] = [];
  const hints = new Set<string>();
  message.svids.forEach((raw, i) => {
    const at = `X509SVIDResponse svids[${i}]`;
    if (raw.spiffe_id === '') throw new X509SvidError(`${at}: spiffe_id is empty`);
    if (raw.x509_svid.length === 0) throw new X509SvidError(`${at}: x509_svid is empty`);
    if (raw.x509_svid_key.length === 0) throw new X509SvidError(`${at}: x509_svid_key is empty`);
    if (raw.bundle.length === 0) throw new BundleError(`${at}: bundle is empty`);

    const svid = X509Svid.parseRaw(raw.x509_svid, raw.x509_svid_key, raw.hint);
    if (svid.id.toString() !== raw.spiffe_id) {
      throw new X509SvidError(`${at}: spiffe_id "${raw.spiffe_id}" does not match the certificate's URI SAN "${svid.id}"`);
    }
    bundles.push(X509Bundle.parseDer(svid.id.trustDomain, raw.bundle));
    if (raw.hint !== '') {
      if (hints.has(raw.hint)) return;
      hints.add(raw.hint);
    }
    svids.push(svid);
  });

  for (const [key, der] of Object.entries(message.federated_bundles)) {
    bundles.push(X509Bundle.parseDer(bundleMapTrustDomain(key, 'X509SVIDResponse federated_bundles'), der));
  }
  return { svids, bundles: new X509BundleSet(bundles) };
}
