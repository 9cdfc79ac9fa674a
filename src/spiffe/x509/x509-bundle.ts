import { X509Certificate } from 'node:crypto';
import { BundleError } from '../errors';
import { TrustDomain } from '../id/trust-domain';
import { certificateFacts } from './certificate-facts';
import { splitDer } from './der';

/**
 * The X.509 authorities (root CA certificates) of exactly one trust domain. Immutable.
 * An empty bundle is valid and trusts nothing: per the bundle spec, an empty key set
 * means every SVID of that trust domain must be rejected.
 */
export class X509Bundle {
  // ES private fields, so that neither util.inspect nor JSON shows the bookkeeping.
  #pem: string | undefined;
  /** base64 DER of every authority, for exact-match lookups. */
  readonly #ders: ReadonlySet<string>;

  private constructor(
    readonly trustDomain: TrustDomain,
    readonly authorities: readonly X509Certificate[],
    ders: ReadonlySet<string>,
  ) {
    this.#ders = ders;
  }

  /** Parses concatenated DER certificates, as the Workload API sends a bundle. */
  static parseDer(trustDomain: TrustDomain | string, der: Uint8Array): X509Bundle {
    let parts: Buffer[];
    try {
      parts = splitDer(der);
    } catch (err) {
      throw new BundleError(`x509bundle: cannot parse certificate: ${(err as Error).message}`, { cause: err });
    }
    return X509Bundle.fromAuthorities(trustDomain, parts);
  }

  /** A bundle of the given authorities; exact duplicates are kept once. */
  static fromAuthorities(trustDomain: TrustDomain | string, authorities: Iterable<X509Certificate | Uint8Array>): X509Bundle {
    const td = TrustDomain.from(trustDomain);
    const certs: X509Certificate[] = [];
    const ders = new Set<string>();
    for (const authority of authorities) {
      let cert: X509Certificate;
      try {
        // Parsing the facts up front rejects a certificate that verification could not use.
        cert = certificateFacts(authority).certificate;
      } catch (err) {
        throw new BundleError(`x509bundle: cannot parse certificate: ${(err as Error).message}`, { cause: err });
      }
      const key = cert.raw.toString('base64');
      if (ders.has(key)) continue;
      ders.add(key);
      // Keep the caller's object when it gave one, so identity comparisons still work for it.
      certs.push(authority instanceof X509Certificate ? authority : cert);
    }
    return new X509Bundle(td, Object.freeze(certs), ders);
  }

  /** True when exactly this certificate (byte for byte) is one of the authorities. */
  hasAuthority(cert: X509Certificate | Uint8Array): boolean {
    const der = cert instanceof X509Certificate ? cert.raw : Buffer.from(cert.buffer, cert.byteOffset, cert.byteLength);
    return this.#ders.has(der.toString('base64'));
  }

  /** Same trust domain and the same set of authorities, in any order. */
  equals(other: X509Bundle): boolean {
    if (!this.trustDomain.equals(other.trustDomain) || this.#ders.size !== other.#ders.size) return false;
    for (const der of this.#ders) if (!other.#ders.has(der)) return false;
    return true;
  }

  /** The authorities as concatenated PEM, for Node TLS's `ca` option; computed once. */
  authoritiesPem(): string {
    this.#pem ??= this.authorities.map((c) => c.toString()).join('');
    return this.#pem;
  }

  toJSON(): { trustDomain: string; authorities: string[] } {
    return { trustDomain: this.trustDomain.name, authorities: this.authorities.map((c) => c.fingerprint256) };
  }
}
