import type { TrustDomain } from '../id/trust-domain';
import type { JwtBundle } from '../jwt/jwt-bundle';
import { JwtBundleSet } from '../jwt/jwt-bundle-set';
import type { JwtSvid } from '../jwt/jwt-svid';
import type { JwtBundleSource } from '../sources';
import type { BackoffStrategy } from './backoff';
import { parseJwtBundlesResponse } from './jwt-bundles-response';
import { fetchJwtSvids, validateJwtSvidRemotely, type JwtSvidParams } from './jwt-svid-calls';
import type { JWTBundlesResponse } from './proto';
import { WireClient } from './wire-client';
import { WorkloadSource, type ReadyOptions } from './workload-source';

export type { JwtSvidParams } from './jwt-svid-calls';

export interface JwtSourceOptions extends ReadyOptions {
  /** Endpoint URI; default `$SPIFFE_ENDPOINT_SOCKET`. */
  address?: string;
  /** Reconnect policy of the bundle stream; default `DEFAULT_BACKOFF`. */
  backoff?: BackoffStrategy;
  /** Deadline of each FetchJWTSVID / ValidateJWTSVID call; default 10 s. */
  callTimeoutMs?: number;
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

  private constructor(client: WireClient, options: JwtSourceOptions) {
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
    const client = new WireClient({ address: options.address, backoff: options.backoff, callTimeoutMs: options.callTimeoutMs });
    return new JwtSource(client, options).whenReady();
  }

  /** The first JWT-SVID the endpoint returns for these audiences (the default identity). */
  async fetchJwtSvid(params: JwtSvidParams): Promise<JwtSvid> {
    return (await this.fetchJwtSvids(params))[0];
  }

  /**
   * Every JWT-SVID the endpoint returns (one per identity, or just `spiffeId`'s), each read
   * with `JwtSvid.parseInsecure` (the endpoint is trusted). Rejects with `WorkloadApiError`
   * (e.g. PermissionDenied) or `JwtSvidError`.
   */
  async fetchJwtSvids(params: JwtSvidParams): Promise<JwtSvid[]> {
    this.assertOpen();
    return fetchJwtSvids(this.client, params);
  }

  /**
   * Has the endpoint validate a peer's token (`ValidateJWTSVID`, which the spec prefers over
   * local validation) and returns it parsed, as go-spiffe does. Rejects with
   * `WorkloadApiError` (InvalidArgument) for an invalid token.
   */
  async validateJwtSvidRemote(token: string, audience: string): Promise<JwtSvid> {
    this.assertOpen();
    return validateJwtSvidRemotely(this.client, token, audience);
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
