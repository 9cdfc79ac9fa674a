import { BundleError } from '../errors';
import { TrustDomain } from '../id/trust-domain';
import type { JwtBundleSource } from '../sources';
import type { JwtBundle } from './jwt-bundle';

/**
 * The JWT bundles of several trust domains, each kept apart (bundles of different trust
 * domains are never merged). Immutable: a new set replaces the old one on rotation.
 */
export class JwtBundleSet implements JwtBundleSource {
  readonly #bundles: ReadonlyMap<string, JwtBundle>;

  /** Two bundles for one trust domain are ambiguous and rejected (go-spiffe keeps the last). */
  constructor(bundles: Iterable<JwtBundle> = []) {
    const byName = new Map<string, JwtBundle>();
    for (const bundle of bundles) {
      const name = bundle.trustDomain.name;
      if (byName.has(name)) throw new BundleError(`jwtbundle: more than one bundle for trust domain ${JSON.stringify(name)}`);
      byName.set(name, bundle);
    }
    this.#bundles = byName;
  }

  get size(): number {
    return this.#bundles.size;
  }

  /** The bundle of exactly this trust domain, or `undefined`. A string is parsed as a trust domain. */
  get(td: TrustDomain | string): JwtBundle | undefined {
    return this.#bundles.get(TrustDomain.from(td).name);
  }

  /** Throws `BundleError` (go-spiffe's message) when the set has no bundle for the trust domain. */
  getJwtBundleForTrustDomain(td: TrustDomain | string): JwtBundle {
    const name = TrustDomain.from(td).name;
    const bundle = this.#bundles.get(name);
    if (bundle === undefined) throw new BundleError(`jwtbundle: no JWT bundle for trust domain ${JSON.stringify(name)}`);
    return bundle;
  }

  trustDomains(): TrustDomain[] {
    return this.bundles().map((b) => b.trustDomain);
  }

  bundles(): JwtBundle[] {
    return [...this.#bundles.values()];
  }
}
