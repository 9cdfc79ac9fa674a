import * as grpc from '@grpc/grpc-js';
import { SourceError } from '../errors';
import { resolveEndpointAddress, type EndpointAddress } from './address';
import { DEFAULT_BACKOFF, type BackoffStrategy } from './backoff';
import {
  newSpiffeWorkloadApiClient,
  workloadApiMetadata,
  type JWTBundlesResponse,
  type JWTSVIDResponse,
  type SpiffeWorkloadAPIClient,
  type ValidateJWTSVIDResponse,
  type X509BundlesResponse,
  type X509SVIDResponse,
} from './proto';
import { structToObject } from './proto-struct';
import { workloadApiError } from './status-error';
import { StreamWatcher, type StreamHandlers } from './stream-watcher';

export interface WireClientOptions {
  /** Endpoint URI (`unix:///abs/path` or `tcp://IP:port`); default `$SPIFFE_ENDPOINT_SOCKET`. */
  address?: string;
  /** Reconnect policy of every watch; default `DEFAULT_BACKOFF`. */
  backoff?: BackoffStrategy;
  /** Deadline of each unary call; default 10 s, so a dead endpoint cannot hang a caller. */
  callTimeoutMs?: number;
}

/**
 * After a lost connection grpc-js re-dials on its own schedule (first after 1 s, growing to
 * 120 s), and every call fails at once until it has. Left alone, that schedule would override
 * the watchers' backoff: a workload would wait a second for an agent that restarted at once,
 * and up to two minutes after a long outage. Dialling the local endpoint is cheap (a refused
 * connect on a local socket), so the channel re-dials quickly and the watcher's backoff decides
 * how often calls are made. The cap, 500 ms (600 ms with grpc-js's ±20 % jitter), is under the
 * shortest delay of an urgent watcher (500 ms, see `urgentBackoff`): a channel still waiting to
 * re-dial never fails an attempt that a lapsing SVID depends on. (At 5 s, it kept a gateway
 * whose SVID had expired out of service for up to 5 s after the agent was back.)
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 500,
};

/** What the endpoint said about a token in `ValidateJWTSVID`. */
export interface RemoteJwtValidation {
  spiffeId: string;
  /** The claims as a plain object (the server may have filtered non-SPIFFE claims). */
  claims: Record<string, unknown>;
}

/**
 * A thin client of the SPIFFE Workload API: raw wire messages in and out, parsing is the
 * job of the sources and of the public `WorkloadApiClient` (internal to the library). The channel is plaintext because the spec forbids requiring TLS on the
 * endpoint; every call carries the `workload.spiffe.io: true` header. Streams are kept open
 * by `StreamWatcher`s, which reconnect with backoff.
 */
export class WireClient {
  readonly address: EndpointAddress;
  private readonly client: SpiffeWorkloadAPIClient;
  private readonly backoff: BackoffStrategy;
  private readonly callTimeoutMs: number;
  private readonly watchers = new Set<StreamWatcher<unknown>>();
  private closed = false;

  /** Throws `EndpointAddressError` for a missing or invalid address; connects lazily. */
  constructor(options: WireClientOptions = {}) {
    this.address = resolveEndpointAddress(options.address);
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.client = newSpiffeWorkloadApiClient(this.address.target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  /** Streams `FetchX509SVID`: the workload's SVIDs with their own and federated bundles. */
  watchX509Svids(handlers: StreamHandlers<X509SVIDResponse>): StreamWatcher<X509SVIDResponse> {
    return this.watch('FetchX509SVID', () => this.client.FetchX509SVID({}, workloadApiMetadata()), handlers);
  }

  /** Streams `FetchX509Bundles`: every trust domain's X.509 bundle, own and federated. */
  watchX509Bundles(handlers: StreamHandlers<X509BundlesResponse>): StreamWatcher<X509BundlesResponse> {
    return this.watch('FetchX509Bundles', () => this.client.FetchX509Bundles({}, workloadApiMetadata()), handlers);
  }

  /** Streams `FetchJWTBundles`: every trust domain's JWT signing keys as JWKS JSON. */
  watchJwtBundles(handlers: StreamHandlers<JWTBundlesResponse>): StreamWatcher<JWTBundlesResponse> {
    return this.watch('FetchJWTBundles', () => this.client.FetchJWTBundles({}, workloadApiMetadata()), handlers);
  }

  /** Unary `FetchJWTSVID`. Rejects with `WorkloadApiError` carrying the gRPC status code. */
  fetchJwtSvid(request: { audience: string[]; spiffeId?: string }): Promise<JWTSVIDResponse> {
    return this.unary<JWTSVIDResponse>('FetchJWTSVID', (options, callback) =>
      this.client.FetchJWTSVID({ audience: request.audience, spiffe_id: request.spiffeId ?? '' }, workloadApiMetadata(), options, callback),
    );
  }

  /** Unary `ValidateJWTSVID`: the endpoint validates `token` for `audience`, or rejects (InvalidArgument). */
  async validateJwtSvid(token: string, audience: string): Promise<RemoteJwtValidation> {
    const response = await this.unary<ValidateJWTSVIDResponse>('ValidateJWTSVID', (options, callback) =>
      this.client.ValidateJWTSVID({ svid: token, audience }, workloadApiMetadata(), options, callback),
    );
    return { spiffeId: response.spiffe_id, claims: structToObject(response.claims) };
  }

  /** Stops every watch and closes the channel; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const watcher of this.watchers) watcher.stop();
    this.watchers.clear();
    this.client.close();
  }

  private watch<T>(method: string, open: () => grpc.ClientReadableStream<T>, handlers: StreamHandlers<T>): StreamWatcher<T> {
    this.assertOpen();
    const watcher = new StreamWatcher(method, open, this.backoff, handlers);
    this.watchers.add(watcher as StreamWatcher<unknown>);
    return watcher;
  }

  private unary<T>(method: string, call: (options: grpc.CallOptions, callback: grpc.requestCallback<T>) => grpc.ClientUnaryCall): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    return new Promise<T>((resolve, reject) => {
      call({ deadline: Date.now() + this.callTimeoutMs }, (error, response) => {
        if (error) reject(workloadApiError(method, error));
        else resolve(response as T);
      });
    });
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

function closedError(): SourceError {
  return new SourceError('workload API client is closed');
}
