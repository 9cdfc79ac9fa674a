import { JwtSvidError } from '../errors';
import { SpiffeId } from '../id/spiffe-id';
import type { TrustDomain } from '../id/trust-domain';
import type { JwtBundle } from '../jwt/jwt-bundle';
import { JwtBundleSet } from '../jwt/jwt-bundle-set';
import { JwtSvid } from '../jwt/jwt-svid';
import type { JwtBundleSource } from '../sources';
import type { BackoffStrategy } from './backoff';
import { parseJwtBundlesResponse } from './jwt-bundles-response';
import type { JWTBundlesResponse } from './proto';
import { WorkloadApiClient } from './workload-api-client';
import { WorkloadSource, type ReadyOptions } from './workload-source';

export interface JwtSourceOptions extends ReadyOptions {
  /** Endpoint URI; default `$SPIFFE_ENDPOINT_SOCKET`. */
  address?: string;
  /** Reconnect policy of the bundle stream; default `DEFAULT_BACKOFF`. */
  backoff?: BackoffStrategy;
  /** Deadline of each FetchJWTSVID / ValidateJWTSVID call; default 10 s. */
  callTimeoutMs?: number;
}

export interface JwtSvidParams {
  /** One or more audiences; at least one is required. */
  audience: string | readonly string[];
  /** Ask for this identity only; default every identity the workload has. */
  spiffeId?: SpiffeId | string;
}

/** `update` after each accepted bundle message; `error` (only while listened to) for a discarded message or failed stream. */
export interface JwtSourceEvents {
  update: [];
  error: [error: Error];
}

/**
 * JWT-SVIDs on demand and the JWT bundles of every trust domain, kept current from the
 * Workload API's `FetchJWTBundles` stream. Each message replaces the whole set (a trust
 * domain left out is dropped); a message with any unparsable bundle is discarded and
 * reported, and the previous set stays. Stream failures, PermissionDenied included, keep
 * the set (bundles are verification material, not identity) and retry with backoff.
 */
export class JwtSource extends WorkloadSource<JwtSourceEvents> implements JwtBundleSource {
  #bundles = new JwtBundleSet();

  private constructor(client: WorkloadApiClient, options: JwtSourceOptions) {
    super('JwtSource', 'the first JWT bundles', client, options);
    client.watchJwtBundles(
      this.handlers(
        (message: JWTBundlesResponse) => parseJwtBundlesResponse(message),
        (bundles) => (this.#bundles = bundles),
      ),
    );
  }

  /**
   * Connects and resolves once the first valid JWT bundles message has arrived. Rejects with
   * `EndpointAddressError` for a bad address, and with `SourceError` on timeout, on abort, or
   * when the endpoint refuses for good.
   */
  static async create(options: JwtSourceOptions = {}): Promise<JwtSource> {
    const client = new WorkloadApiClient({ address: options.address, backoff: options.backoff, callTimeoutMs: options.callTimeoutMs });
    return new JwtSource(client, options).whenReady();
  }

  /** The first JWT-SVID the endpoint returns for these audiences (the default identity). */
  async fetchJwtSvid(params: JwtSvidParams): Promise<JwtSvid> {
    return (await this.fetchJwtSvids(params))[0];
  }

  /**
   * Every JWT-SVID the endpoint returns (one per identity, or just `spiffeId`'s). Each is
   * read with `JwtSvid.parseInsecure` (the endpoint is trusted) and must name the identity
   * the endpoint says it is for. Rejects with `WorkloadApiError` (e.g. PermissionDenied) or
   * `JwtSvidError`.
   */
  async fetchJwtSvids(params: JwtSvidParams): Promise<JwtSvid[]> {
    this.assertOpen();
    const audience = typeof params.audience === 'string' ? [params.audience] : [...params.audience];
    if (audience.length === 0 || audience.includes('')) throw new JwtSvidError('jwtsvid: audience must be specified');
    const wanted = params.spiffeId === undefined ? undefined : SpiffeId.parse(params.spiffeId.toString()).toString();

    const response = await this.client.fetchJwtSvid({ audience, spiffeId: wanted });
    if (response.svids.length === 0) throw new JwtSvidError('FetchJWTSVID returned no JWT-SVIDs');
    return response.svids.map((raw) => {
      const svid = JwtSvid.parseInsecure(raw.svid, audience, raw.hint);
      const id = svid.id.toString();
      if (id !== raw.spiffe_id || (wanted !== undefined && id !== wanted)) {
        throw new JwtSvidError(`FetchJWTSVID returned a token for "${id}" as "${raw.spiffe_id}"${wanted ? ` (asked for "${wanted}")` : ''}`);
      }
      return svid;
    });
  }

  /**
   * Has the endpoint validate a peer's token (`ValidateJWTSVID`, which the spec prefers over
   * local validation) and returns it parsed, as go-spiffe does. Rejects with
   * `WorkloadApiError` (InvalidArgument) for an invalid token.
   */
  async validateJwtSvidRemote(token: string, audience: string): Promise<JwtSvid> {
    this.assertOpen();
    const { spiffeId } = await this.client.validateJwtSvid(token, audience);
    const svid = JwtSvid.parseInsecure(token, audience);
    if (svid.id.toString() !== spiffeId) {
      throw new JwtSvidError(`ValidateJWTSVID vouched for "${spiffeId}" but the token names "${svid.id}"`);
    }
    return svid;
  }

  /** The bundle of exactly `td`; throws `BundleError` when there is none, `SourceError` when closed. */
  getJwtBundleForTrustDomain(td: TrustDomain | string): JwtBundle {
    this.assertOpen();
    return this.#bundles.getJwtBundleForTrustDomain(td);
  }

  /** All current JWT bundles (a new object after each update). Throws `SourceError` when closed. */
  getJwtBundleSet(): JwtBundleSet {
    this.assertOpen();
    return this.#bundles;
  }
}
