import { OidcIssuer, type OidcIssuerConfig, type OidcIssuerOptions } from './oidc-issuer';
import { DEFAULT_TOKEN_CACHE_SIZE, VerifiedTokenCache } from './verified-token-cache';
import { WorkloadTokenError } from './workload-token-error';

/** The user an agent acts for: `context.onBehalfOf`. */
export interface OnBehalfOf {
  readonly issuer: string;
  readonly subject: string;
}

export interface OnBehalfOfTokenVerifierOptions extends OidcIssuerOptions {
  /** Verified tokens kept; default 10,000. */
  cacheSize?: number;
}

/**
 * Verifies on-behalf-of user tokens (`x-toolgate-on-behalf-of`) of the one configured OIDC
 * issuer, with the same rules as OIDC workload tokens, and caches them until their `exp`.
 * Throws `WorkloadTokenError`.
 */
export class OnBehalfOfTokenVerifier {
  private readonly issuer: OidcIssuer;
  private readonly cache: VerifiedTokenCache<OnBehalfOf>;

  constructor(config: OidcIssuerConfig, options: OnBehalfOfTokenVerifierOptions = {}) {
    this.issuer = new OidcIssuer(config, options);
    this.cache = new VerifiedTokenCache(options.cacheSize ?? DEFAULT_TOKEN_CACHE_SIZE, options.clock);
  }

  verify(token: string): Promise<OnBehalfOf> {
    if (typeof token !== 'string' || token === '') return Promise.reject(new WorkloadTokenError('ERR_TOKEN_MISSING', 'no on-behalf-of token'));
    return this.cache.get(token, async () => {
      const { issuer, subject, expiresAt } = await this.issuer.verify(token);
      return { value: Object.freeze({ issuer, subject }), expiresAt };
    });
  }

  /** Cache hits, misses (verifications) and size. */
  get cacheStats(): { size: number; hits: number; misses: number } {
    return this.cache.stats;
  }
}
