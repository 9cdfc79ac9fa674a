import { SpiffeId } from '../id/spiffe-id';
import { TrustDomain } from '../id/trust-domain';
import type { JWTSVIDRequest, OutgoingJWTBundlesResponse, OutgoingJWTSVIDResponse, OutgoingX509BundlesResponse, OutgoingX509SVIDResponse } from '../workload/proto';
import type { DevCa, IssuedX509Svid, LeafOptions } from './ca';
import { TrustDomainAuthority } from './trust-domain-authority';
import { NO_IDENTITY, type GrpcFailure } from './grpc-failure';
import { DevWorkloadApi } from './workload-api-server';

const HOUR = 3600_000;

/** pino's `Logger` fits; only events go to it, never key material or tokens. */
export interface DevIdentityLogger {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface DevIdentityProviderOptions {
  trustDomain: string;
  /** Each gets its own CA and JWT key; its bundles are served as federated ones. */
  federatedTrustDomains?: string[];
  /** X.509-SVID lifetime; default 1 h (SPIRE's default). */
  svidTtlMs?: number;
  /** Re-issue every served X.509-SVID this often; 0 or absent: only on `rotate()`. */
  rotateEveryMs?: number;
  /** JWT-SVID lifetime; default 5 min (SPIRE's default). */
  jwtTtlMs?: number;
  /** Issue leaves from an intermediate CA, so chains carry one intermediate. */
  intermediate?: boolean;
  now?: () => number;
  logger?: DevIdentityLogger;
}

export interface MintJwtSvidOptions {
  ttlMs?: number;
  extraClaims?: Record<string, unknown>;
}

interface Endpoint {
  api: DevWorkloadApi;
  /** Whoever calls this endpoint is these identities; the first is the default. */
  ids: SpiffeId[];
  svids: IssuedX509Svid[];
}

/**
 * A dev SPIFFE identity provider: in-memory CAs and JWT keys for a trust domain (and
 * optional federated ones), serving real X.509- and JWT-SVIDs over the Workload API.
 * It cannot attest callers as SPIRE does, so identity is per endpoint: every caller of
 * a socket from `serve(ids)` is those identities. Mutations are serialized, and each
 * pushes complete new state to every open stream.
 */
export class DevIdentityProvider {
  private readonly endpoints: Endpoint[] = [];
  /** Federated trust domains whose bundles are currently served. */
  private readonly federated: Set<string>;
  private readonly timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly trustDomain: TrustDomain,
    private readonly authorities: Map<string, TrustDomainAuthority>,
    private readonly options: DevIdentityProviderOptions,
    private readonly now: () => number,
  ) {
    this.federated = new Set([...authorities.keys()].filter((td) => td !== trustDomain.name));
    if (options.rotateEveryMs) {
      this.timer = setInterval(() => {
        this.rotate().then(
          () => options.logger?.info({ ids: this.servedIds() }, 'rotated X.509-SVIDs'),
          (err: unknown) => options.logger?.error({ err }, 'X.509-SVID rotation failed'),
        );
      }, options.rotateEveryMs);
      // A dev server's rotation must not keep a process (or jest) alive by itself.
      this.timer.unref();
    }
  }

  static async create(options: DevIdentityProviderOptions): Promise<DevIdentityProvider> {
    const own = TrustDomain.parse(options.trustDomain);
    const tds = [own, ...(options.federatedTrustDomains ?? []).map((td) => TrustDomain.parse(td))];
    const authorities = new Map<string, TrustDomainAuthority>();
    for (const td of tds) {
      if (authorities.has(td.name)) throw new Error(`trust domain "${td.name}" is configured twice`);
      authorities.set(td.name, await TrustDomainAuthority.create(td, { intermediate: options.intermediate ?? false }));
    }
    return new DevIdentityProvider(own, authorities, options, options.now ?? Date.now);
  }

  /**
   * Starts a Workload API endpoint whose every caller is `ids` (the first is the default
   * SVID). Each ID must be in the own or a federated trust domain. Default address
   * `tcp://127.0.0.1:0`; read the real one from the result's `address`.
   */
  async serve(ids: string | string[], address?: string): Promise<DevWorkloadApi> {
    const parsed = (Array.isArray(ids) ? ids : [ids]).map((id) => this.servableId(id));
    if (parsed.length === 0) throw new Error('serve needs at least one SPIFFE ID (use serveNoIdentity for none)');
    if (new Set(parsed.map(String)).size !== parsed.length) throw new Error('serve got the same SPIFFE ID twice');
    return this.exclusive(async () => {
      const svids = await Promise.all(parsed.map((id) => this.issueX509(id.toString())));
      const api = await this.startApi(address);
      const endpoint: Endpoint = { api, ids: parsed, svids };
      this.endpoints.push(endpoint);
      api.setX509SvidResponse(this.x509SvidResponse(endpoint));
      api.setX509BundlesResponse(this.x509BundlesResponse());
      api.setJwtBundlesResponse(this.jwtBundlesResponse());
      api.setJwtSvidHandler((request) => this.fetchJwtSvids(endpoint, request));
      return api;
    });
  }

  /** An endpoint whose callers have no identity: every RPC answers PermissionDenied, as SPIRE does. */
  serveNoIdentity(address?: string): Promise<DevWorkloadApi> {
    return this.exclusive(async () => {
      const api = await this.startApi(address);
      this.endpoints.push({ api, ids: [], svids: [] });
      return api;
    });
  }

  /** Re-issues every served X.509-SVID (new key, new serial) and pushes it to open streams. */
  rotate(): Promise<void> {
    return this.exclusive(() => this.reissueAll());
  }

  /**
   * Adds a new CA and JWT key for `td` that sign from now on, re-issues the SVIDs, and
   * pushes bundles that hold both the old and the new authorities (a rotation overlap).
   */
  async rotateCa(td: string = this.trustDomain.name): Promise<void> {
    const authority = this.authority(td);
    return this.exclusive(async () => {
      await authority.rotate();
      await this.reissueAll();
      this.pushBundles();
    });
  }

  /** Ends the overlap: drops `td`'s previous CAs and JWT keys from the bundles and pushes them. */
  async retirePreviousCas(td: string = this.trustDomain.name): Promise<void> {
    const authority = this.authority(td);
    return this.exclusive(async () => {
      authority.retirePrevious();
      for (const e of this.served()) e.api.setX509SvidResponse(this.x509SvidResponse(e));
      this.pushBundles();
    });
  }

  /** Includes or leaves out a federated trust domain's bundles, and pushes the new state. */
  async federate(td: string, on: boolean): Promise<void> {
    const name = TrustDomain.parse(td).name;
    if (name === this.trustDomain.name || !this.authorities.has(name)) {
      throw new Error(`"${name}" is not a configured federated trust domain`);
    }
    return this.exclusive(async () => {
      if (on) this.federated.add(name);
      else this.federated.delete(name);
      for (const e of this.served()) e.api.setX509SvidResponse(this.x509SvidResponse(e));
      this.pushBundles();
    });
  }

  /** Issues a leaf from the CA of `id`'s trust domain; `options` may make it non-conforming. */
  issueX509(id: string, options: LeafOptions = {}): Promise<IssuedX509Svid> {
    return this.authority(SpiffeId.parse(id).trustDomain.name).issueX509(id, {
      notBefore: new Date(this.now() - 10_000), // a little slack for a peer whose clock lags
      ttlMs: this.options.svidTtlMs ?? HOUR,
      ...options,
    });
  }

  /** Signs a JWT-SVID for `id` with the current key of its trust domain. */
  mintJwtSvid(id: string, audience: string[], options: MintJwtSvidOptions = {}): Promise<string> {
    return this.authority(SpiffeId.parse(id).trustDomain.name).mintJwt(id, audience, {
      ttlMs: options.ttlMs ?? this.options.jwtTtlMs ?? 5 * 60_000,
      nowMs: this.now(),
      extraClaims: options.extraClaims,
    });
  }

  /** The CA currently issuing for `td` (an intermediate when so configured). */
  ca(td: string = this.trustDomain.name): DevCa {
    return this.authority(td).issuer;
  }

  /** `td`'s X.509 bundle: concatenated DER roots. */
  x509Bundle(td: string = this.trustDomain.name): Buffer {
    return this.authority(td).x509Bundle();
  }

  /** `td`'s JWT bundle (public keys only), as served. */
  jwtBundle(td: string = this.trustDomain.name): { keys: object[] } {
    return this.authority(td).jwks();
  }

  /** Stops every endpoint and the rotation timer. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.queue;
    await Promise.all(this.endpoints.map((e) => e.api.stop()));
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(() => {
      if (this.closed) throw new Error('the dev identity provider is closed');
      return fn();
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  private servableId(id: string): SpiffeId {
    const parsed = SpiffeId.parse(id);
    if (!parsed.isWorkload) throw new Error(`"${id}" is a trust domain ID, not a workload ID`);
    this.authority(parsed.trustDomain.name);
    return parsed;
  }

  private authority(td: string): TrustDomainAuthority {
    const authority = this.authorities.get(TrustDomain.parse(td).name);
    if (authority === undefined) throw new Error(`trust domain "${td}" is not configured in this dev identity provider`);
    return authority;
  }

  private startApi(address: string | undefined): Promise<DevWorkloadApi> {
    return DevWorkloadApi.start({ address, now: this.now });
  }

  /** Endpoints that have an identity (serveNoIdentity ones never get material). */
  private served(): Endpoint[] {
    return this.endpoints.filter((e) => e.ids.length > 0);
  }

  private servedIds(): string[] {
    return this.served().flatMap((e) => e.ids.map(String));
  }

  private async reissueAll(): Promise<void> {
    for (const e of this.served()) {
      e.svids = await Promise.all(e.ids.map((id) => this.issueX509(id.toString())));
      e.api.setX509SvidResponse(this.x509SvidResponse(e));
    }
  }

  private pushBundles(): void {
    for (const e of this.served()) {
      e.api.setX509BundlesResponse(this.x509BundlesResponse());
      e.api.setJwtBundlesResponse(this.jwtBundlesResponse());
    }
  }

  private async fetchJwtSvids(endpoint: Endpoint, request: JWTSVIDRequest): Promise<OutgoingJWTSVIDResponse | GrpcFailure> {
    const ids = endpoint.ids.filter((id) => request.spiffe_id === '' || id.toString() === request.spiffe_id);
    if (ids.length === 0) return NO_IDENTITY;
    const svids = await Promise.all(ids.map(async (id) => ({ spiffe_id: id.toString(), svid: await this.mintJwtSvid(id.toString(), request.audience) })));
    return { svids };
  }

  private x509SvidResponse(endpoint: Endpoint): OutgoingX509SVIDResponse {
    return {
      svids: endpoint.svids.map((s) => ({
        spiffe_id: s.id,
        x509_svid: Buffer.concat(s.certificates),
        x509_svid_key: s.privateKey,
        bundle: this.authority(SpiffeId.parse(s.id).trustDomain.name).x509Bundle(),
      })),
      federated_bundles: this.bundleMap(this.federatedFor(endpoint), (a) => a.x509Bundle()),
    };
  }

  /**
   * Federation is a star around the own trust domain: its workloads trust every enabled
   * federated trust domain, and a federated trust domain's workloads trust the own one
   * (while enabled), not each other.
   */
  private federatedFor(endpoint: Endpoint): string[] {
    const home = endpoint.ids[0]?.trustDomain.name ?? this.trustDomain.name;
    if (home === this.trustDomain.name) return [...this.federated];
    return this.federated.has(home) ? [this.trustDomain.name] : [];
  }

  private x509BundlesResponse(): OutgoingX509BundlesResponse {
    return { bundles: this.bundleMap(this.bundledTrustDomains(), (a) => a.x509Bundle()) };
  }

  private jwtBundlesResponse(): OutgoingJWTBundlesResponse {
    return { bundles: this.bundleMap(this.bundledTrustDomains(), (a) => Buffer.from(JSON.stringify(a.jwks()))) };
  }

  private bundledTrustDomains(): string[] {
    return [this.trustDomain.name, ...this.federated];
  }

  /** Keyed `spiffe://td`, as SPIRE keys every bundle map. */
  private bundleMap(tds: string[], value: (a: TrustDomainAuthority) => Buffer): Record<string, Buffer> {
    return Object.fromEntries(tds.map((td) => [`spiffe://${td}`, value(this.authority(td))]));
  }
}
