import { SpiffeIdError } from '../errors';
import { ERR, isTrustDomainChar } from './chars';
import { SpiffeId } from './spiffe-id';

/**
 * A SPIFFE trust domain, e.g. `example.org`. Immutable; two trust domains are the same
 * when their names are equal (names are never case-folded: uppercase is invalid).
 */
export class TrustDomain {
  private constructor(readonly name: string) {}

  /**
   * Parses a trust domain name. Like go-spiffe's `TrustDomainFromString`, a full SPIFFE ID
   * (anything containing `:/`) is accepted too and yields its trust domain.
   */
  static parse(s: string): TrustDomain {
    if (s === '') throw new SpiffeIdError(ERR.tdMissing);
    if (s.includes(':/')) return SpiffeId.parse(s).trustDomain;
    for (let i = 0; i < s.length; i++) {
      if (!isTrustDomainChar(s.charCodeAt(i))) throw new SpiffeIdError(ERR.tdChars);
    }
    return new TrustDomain(s);
  }

  /** `td` itself, or the trust domain a string names (parsed as by `parse`). */
  static from(td: TrustDomain | string): TrustDomain {
    return typeof td === 'string' ? TrustDomain.parse(td) : td;
  }

  /** For callers that have already validated the name byte by byte. */
  static unchecked(name: string): TrustDomain {
    return new TrustDomain(name);
  }

  /** The trust domain's own SPIFFE ID, `spiffe://<name>`, as SPIRE keys bundles. */
  idString(): string {
    return `spiffe://${this.name}`;
  }

  equals(other: TrustDomain): boolean {
    return this.name === other.name;
  }

  toString(): string {
    return this.name;
  }

  toJSON(): string {
    return this.name;
  }
}
