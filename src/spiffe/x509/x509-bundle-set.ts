import { BundleError } from '../errors';
import { TrustDomain } from '../id/trust-domain';
import type { X509BundleSource } from '../sources';
import type { X509Bundle } from './x509-bundle';

/**
 * X.509 bundles keyed by trust domain: the own one and the federated ones side by side.
 * Immutable (build a new set per update, so a verifier never sees half an update), and
 * never pooled: a lookup returns the bundle of exactly the asked trust domain, which is
 * what stops one trust domain's CA from vouching for another's IDs.
 */
export class X509BundleSet implements X509BundleSource {
  readonly #byName: ReadonlyMap<string, X509Bundle>;

  /**
   * Two different bundles for one trust domain are ambiguous (which roots to trust?) and
   * throw `BundleError`; an identical repeat, e.g. keyed once by name and once by
   * `spiffe://` ID, is kept once.
   */
  constructor(bundles: Iterable<X509Bundle> = []) {
    const byName = new Map<string, X509Bundle>();
    for (const bundle of bundles) {
      const name = bundle.trustDomain.name;
      const existing = byName.get(name);
      if (existing !== undefined && !existing.equals(bundle)) {
        throw new BundleError(`conflicting X.509 bundles for trust domain: "${name}"`);
      }
      byName.set(name, bundle);
    }
    this.#byName = byName;
  }

  /** The bundle of `td` (a name or a `spiffe://` ID), if any. */
  get(td: TrustDomain | string): X509Bundle | undefined {
    return this.#byName.get(TrustDomain.from(td).name);
  }

  has(td: TrustDomain | string): boolean {
    return this.#byName.has(TrustDomain.from(td).name);
  }

  getX509BundleForTrustDomain(td: TrustDomain | string): X509Bundle {
    const name = TrustDomain.from(td).name;
    const bundle = this.#byName.get(name);
    if (bundle === undefined) throw new BundleError(`no X.509 bundle found for trust domain: "${name}"`);
    return bundle;
  }

  trustDomains(): TrustDomain[] {
    return [...this.#byName.values()].map((b) => b.trustDomain);
  }

  bundles(): X509Bundle[] {
    return [...this.#byName.values()];
  }

  get size(): number {
    return this.#byName.size;
  }

  toJSON(): X509Bundle[] {
    return this.bundles();
  }
}
