import { JwtSvidError, SpiffeIdError } from '../spiffe/errors';
import { SpiffeId } from '../spiffe/id/spiffe-id';
import type { TrustDomain } from '../spiffe/id/trust-domain';
import type { JwtBundle } from '../spiffe/jwt/jwt-bundle';
import { validateJwtSvid } from '../spiffe/jwt/validate-jwt-svid';
import type { JwtBundleSource } from '../spiffe/sources';
import { OidcIssuer, peekClaims, type OidcIssuerConfig } from './oidc-issuer';
import { DEFAULT_TOKEN_CACHE_SIZE, VerifiedTokenCache, type Verified } from './verified-token-cache';
import { WorkloadTokenError, type WorkloadTokenErrorCode } from './workload-token-error';
import { InvalidValueError } from '../errors/invalid-value-error';

/** An OIDC issuer of workload tokens: `sub` becomes `spiffe://<trustDomain>/<sub, ':' as '/'>`. */
export interface OidcWorkloadIssuerConfig extends OidcIssuerConfig {
  trustDomain: TrustDomain;
}

export interface WorkloadTokenAuthenticatorOptions {
  /** Accept JWT-SVIDs: verified with these bundles (e.g. a `JwtSource`), audience = the gateway's own SPIFFE ID, asked per token (the SVID rotates). */
  jwtSvid?: { bundles: JwtBundleSource; audience: () => string };
  /** Accept OIDC workload tokens of these issuers (distinct `issuer`s). */
  oidc?: readonly OidcWorkloadIssuerConfig[];
  /** Whether callers of this trust domain are accepted; asked on every call, cached or not. */
  acceptTrustDomain: (td: TrustDomain) => boolean;
  /** Verified tokens kept; default 10,000. */
  cacheSize?: number;
  /** Milliseconds since the epoch; default `Date.now`. */
  clock?: () => number;
  /** Timeout of a JWKS fetch; default 5 s. */
  jwksTimeoutMs?: number;
}

export type WorkloadTokenAuthn = 'jwt-svid' | 'oidc';

/**
 * A caller authenticated by a workload token. It has the shape of the pipeline's `Caller`
 * (`id` and `peer`), so it can be handed to the pipeline as is; the same frozen object is
 * returned for every call with the same token while it is cached.
 */
export interface WorkloadIdentity {
  readonly id: SpiffeId;
  readonly authn: WorkloadTokenAuthn;
  /** The token's `exp`. */
  readonly expiresAt: Date;
  /** `context.peer`. */
  readonly peer: { readonly spiffeId: string; readonly trustDomain: string; readonly authn: WorkloadTokenAuthn };
  /** For an OIDC token, `<iss>#<sub>`: what MCP sessions are bound to (a JWT-SVID's is its SPIFFE ID, `peer.spiffeId`). */
  readonly key?: string;
}

/** A `sub` maps to a SPIFFE ID path only when the mapping is injective: no '/', no empty segment. */
const SUBJECT = /^[A-Za-z0-9._-]+(?::[A-Za-z0-9._-]+)*$/;

/**
 * Authenticates callers that cannot present an X.509-SVID by a bearer token: a JWT-SVID
 * (validated against the Workload API's JWT bundles, audience = the gateway's SPIFFE ID)
 * or an OIDC workload token of a configured issuer (picked by exact `iss`). Either way the
 * caller's trust domain must be accepted. Verified tokens are cached until their `exp`.
 * Throws `WorkloadTokenError`.
 */
export class WorkloadTokenAuthenticator {
  private readonly issuers = new Map<string, { verifier: OidcIssuer; trustDomain: TrustDomain }>();
  private readonly cache: VerifiedTokenCache<WorkloadIdentity>;
  private readonly clock: () => number;

  constructor(private readonly options: WorkloadTokenAuthenticatorOptions) {
    this.clock = options.clock ?? Date.now;
    this.cache = new VerifiedTokenCache(options.cacheSize ?? DEFAULT_TOKEN_CACHE_SIZE, this.clock);
    for (const config of options.oidc ?? []) {
      if (this.issuers.has(config.issuer)) throw new InvalidValueError(`OIDC issuer ${config.issuer} is configured twice`);
      const verifier = new OidcIssuer(config, { clock: this.clock, jwksTimeoutMs: options.jwksTimeoutMs });
      this.issuers.set(config.issuer, { verifier, trustDomain: config.trustDomain });
    }
  }

  /** The caller a token proves; throws `WorkloadTokenError`. */
  authenticate(token: string): Promise<WorkloadIdentity> {
    if (typeof token !== 'string' || token === '') return Promise.reject(new WorkloadTokenError('ERR_TOKEN_MISSING', 'no token'));
    return this.cache.get(token, () => this.verify(token));
  }

  /** Cache hits, misses (verifications) and size. */
  get cacheStats(): { size: number; hits: number; misses: number } {
    return this.cache.stats;
  }

  private async verify(token: string): Promise<Verified<WorkloadIdentity>> {
    const { iss, sub } = peekClaims(token);
    const issuer = iss === undefined ? undefined : this.issuers.get(iss);
    if (issuer !== undefined) return this.verifyOidc(token, issuer.verifier, issuer.trustDomain);
    if (this.options.jwtSvid !== undefined && sub?.startsWith('spiffe://')) return this.verifyJwtSvid(token, this.options.jwtSvid);
    const what = iss === undefined ? 'no "iss"' : `"iss" ${JSON.stringify(iss.slice(0, 200))}`;
    throw new WorkloadTokenError(
      'ERR_TOKEN_ISSUER',
      this.options.jwtSvid ? `token has ${what} of no configured issuer, and is not a JWT-SVID` : `token has ${what} of no configured issuer`,
    );
  }

  private async verifyJwtSvid(token: string, { bundles, audience }: { bundles: JwtBundleSource; audience: () => string }): Promise<Verified<WorkloadIdentity>> {
    const expected = audience();
    // The bundle the token was verified with: a later bundle update re-verifies the token.
    let used: JwtBundle | undefined;
    const recording: JwtBundleSource = { getJwtBundleForTrustDomain: (td) => (used = bundles.getJwtBundleForTrustDomain(td)) };
    let svid;
    try {
      svid = await validateJwtSvid(token, expected, recording, { now: new Date(this.clock()) });
    } catch (err) {
      if (err instanceof JwtSvidError) throw new WorkloadTokenError(jwtSvidCode(err.message), `JWT-SVID refused: ${err.message}`);
      throw err;
    }
    // A root ID names a trust domain, not a workload: no X.509-SVID may carry one (the mTLS
    // listener refuses it), and a JWT-SVID's `sub` is the workload it was issued to. go-spiffe's
    // validation, which validateJwtSvid follows, does not check it. Admitted, a root ID would be
    // an unmapped Workload::"spiffe://td" that prefix rules and policies never expected.
    if (!svid.id.isWorkload) throw new WorkloadTokenError('ERR_TOKEN_SUBJECT', `JWT-SVID refused: subject ${svid.id.toString()} is a trust domain, not a workload`);
    const td = svid.id.trustDomain;
    this.checkTrustDomain(td);
    const stillValid = () => {
      try {
        return audience() === expected && bundles.getJwtBundleForTrustDomain(td) === used && this.options.acceptTrustDomain(td);
      } catch {
        return false;
      }
    };
    return { value: identity(svid.id, 'jwt-svid', svid.expiresAt), expiresAt: svid.expiresAt, stillValid };
  }

  private async verifyOidc(token: string, issuer: OidcIssuer, td: TrustDomain): Promise<Verified<WorkloadIdentity>> {
    const { subject, expiresAt } = await issuer.verify(token);
    const id = spiffeIdFromSubject(td, subject);
    this.checkTrustDomain(td);
    return { value: identity(id, 'oidc', expiresAt, `${issuer.issuer}#${subject}`), expiresAt, stillValid: () => this.options.acceptTrustDomain(td) };
  }

  private checkTrustDomain(td: TrustDomain): void {
    if (!this.options.acceptTrustDomain(td)) throw new WorkloadTokenError('ERR_TOKEN_TRUST_DOMAIN', `trust domain ${td.name} is not accepted`);
  }
}

/**
 * `spiffe://<td>/<sub with ':' as '/'>`, e.g. `system:serviceaccount:tools:agent` →
 * `spiffe://k8s.example/system/serviceaccount/tools/agent`. Refuses (ERR_TOKEN_SUBJECT) a
 * `sub` with '/', an empty segment, a character outside [A-Za-z0-9._:-], or a '.' or '..'
 * segment, so that no two subjects map to one ID.
 */
export function spiffeIdFromSubject(td: TrustDomain, sub: string): SpiffeId {
  const refused = () => new WorkloadTokenError('ERR_TOKEN_SUBJECT', `subject ${JSON.stringify(sub.slice(0, 200))} cannot become a SPIFFE ID`);
  if (!SUBJECT.test(sub)) throw refused();
  try {
    return SpiffeId.fromPath(td, `/${sub.replaceAll(':', '/')}`);
  } catch (err) {
    if (err instanceof SpiffeIdError) throw refused();
    throw err;
  }
}

function identity(id: SpiffeId, authn: WorkloadTokenAuthn, expiresAt: Date, key?: string): WorkloadIdentity {
  const peer = Object.freeze({ spiffeId: id.toString(), trustDomain: id.trustDomain.name, authn });
  return Object.freeze({ id, authn, expiresAt, peer, ...(key !== undefined && { key }) });
}

/** `validateJwtSvid` speaks go-spiffe's messages; these are its stable parts. */
function jwtSvidCode(message: string): WorkloadTokenErrorCode {
  if (message.includes('token has expired')) return 'ERR_TOKEN_EXPIRED';
  if (message.includes('expected audience')) return 'ERR_TOKEN_AUDIENCE';
  if (message.includes('subject claim')) return 'ERR_TOKEN_SUBJECT';
  if (message.includes('no bundle found for trust domain')) return 'ERR_TOKEN_TRUST_DOMAIN';
  return 'ERR_TOKEN_INVALID';
}
