import * as grpc from '@grpc/grpc-js';
import { SourceError, type WorkloadApiError } from '../errors';
import type { TrustDomain } from '../id/trust-domain';
import type { X509BundleSource, X509SvidSource } from '../sources';
import type { X509Bundle } from '../x509/x509-bundle';
import { X509BundleSet } from '../x509/x509-bundle-set';
import type { X509Svid } from '../x509/x509-svid';
import { DEFAULT_BACKOFF, URGENT_WINDOW_MS, urgentBackoff, type BackoffStrategy } from './backoff';
import type { X509SVIDResponse } from './proto';
import { WireClient } from './wire-client';
import { WorkloadSource, type ReadyOptions } from './workload-source';
import { parseX509SvidResponse } from './x509-svid-response';

/** Chooses the SVID `getX509Svid()` returns, from all of the current ones (never empty). */
export type X509SvidPicker = (svids: readonly X509Svid[]) => X509Svid;

export interface X509SourceOptions extends ReadyOptions {
  /** Endpoint URI; default `$SPIFFE_ENDPOINT_SOCKET`. */
  address?: string;
  /**
   * Reconnect policy; default `DEFAULT_BACKOFF` (exponential from 100 ms to 30 s, jittered).
   * Either way, no delay exceeds 1 s while the SVID has less than 30 s left or has expired
   * (`urgentBackoff`).
   */
  backoff?: BackoffStrategy;
  /** Default: the first SVID, the Workload API's default identity. */
  picker?: X509SvidPicker;
}

/**
 * Events. `update` fires after every accepted message and after a withdrawal: read the
 * getters then (`getX509Svid()` throws while withdrawn). `error` reports a discarded message
 * or a failed stream; it is emitted only while someone listens, so an unobserved error never
 * crashes the process (EventEmitter throws unhandled 'error' events).
 */
export interface X509SourceEvents {
  update: [];
  /** The endpoint ended the stream with PermissionDenied: the workload's SVIDs are withdrawn. */
  withdrawn: [error: WorkloadApiError];
  error: [error: Error];
}

/** One accepted `X509SVIDResponse`. */
interface X509State {
  svids: readonly X509Svid[];
  svid: X509Svid;
  bundles: X509BundleSet;
}

/**
 * The workload's X.509-SVIDs and X.509 bundles, kept current from the Workload API's
 * `FetchX509SVID` stream. Each message replaces the whole state (SVIDs, own bundles and
 * federated bundles: a trust domain left out is dropped). A message that is malformed in
 * any part is discarded and reported, and the previous state stays. On PermissionDenied the
 * SVIDs are withdrawn (bundles stay: they are verification material, not identity) and the
 * stream is retried with backoff; other failures keep the state and retry too.
 */
export class X509Source extends WorkloadSource<X509SourceEvents> implements X509SvidSource, X509BundleSource {
  readonly #picker: X509SvidPicker;
  #svids: readonly X509Svid[] = [];
  #svid: X509Svid | undefined;
  #withdrawn: WorkloadApiError | undefined;
  #bundles = new X509BundleSet();
  /** The notAfter of the last SVID picked, kept when withdrawn: what the backoff's urgency goes by. */
  #expiresAt: number | undefined;

  private constructor(client: WireClient, options: X509SourceOptions) {
    super('X509Source', 'the first X.509-SVID', client, options);
    this.#picker = options.picker ?? ((svids) => svids[0]);
    client.watchX509Svids(
      this.handlers(
        (message: X509SVIDResponse) => this.#parse(message),
        (state) => this.#commit(state),
        (error) => this.#withdrawOnPermissionDenied(error),
      ),
    );
  }

  /**
   * Connects and resolves once the first valid SVID has arrived. Rejects with
   * `EndpointAddressError` for a bad address, and with `SourceError` on timeout, on abort, or
   * when the endpoint refuses for good (InvalidArgument, Unimplemented).
   */
  static async create(options: X509SourceOptions = {}): Promise<X509Source> {
    // The backoff asks the source, which exists by the time of the first reconnect.
    let source: X509Source | undefined;
    const backoff = urgentBackoff(options.backoff ?? DEFAULT_BACKOFF, () => source !== undefined && source.#lapsingWithin(URGENT_WINDOW_MS));
    const client = new WireClient({ address: options.address, backoff });
    source = new X509Source(client, options);
    return source.whenReady();
  }

  /** The picked SVID (default: the first). Throws `SourceError` when closed or withdrawn. */
  getX509Svid(): X509Svid {
    this.assertOpen();
    if (this.#svid === undefined) throw new SourceError(`X509Source has no X.509-SVID: ${this.#withdrawn?.message ?? 'none received'}`);
    return this.#svid;
  }

  /** Every current SVID in server order (empty while withdrawn). Throws `SourceError` when closed. */
  getX509Svids(): readonly X509Svid[] {
    this.assertOpen();
    return this.#svids;
  }

  /** The bundle of exactly `td`; throws `BundleError` when there is none, `SourceError` when closed. */
  getX509BundleForTrustDomain(td: TrustDomain | string): X509Bundle {
    this.assertOpen();
    return this.#bundles.getX509BundleForTrustDomain(td);
  }

  /** All current bundles, own and federated (a new object after each update). Throws `SourceError` when closed. */
  getX509BundleSet(): X509BundleSet {
    this.assertOpen();
    return this.#bundles;
  }

  override close(): void {
    super.close();
    this.#svid = undefined;
    this.#svids = [];
  }

  #parse(message: X509SVIDResponse): X509State {
    const { svids, bundles } = parseX509SvidResponse(message);
    const svid = this.#picker(svids);
    if (!svids.includes(svid)) throw new SourceError(`the X.509-SVID picker chose none of the ${svids.length} SVIDs`);
    return { svids, svid, bundles };
  }

  #lapsingWithin(ms: number): boolean {
    return this.#expiresAt !== undefined && this.#expiresAt - Date.now() < ms;
  }

  #commit(state: X509State): void {
    this.#svids = state.svids;
    this.#svid = state.svid;
    this.#expiresAt = state.svid.expiresAt.getTime();
    this.#bundles = state.bundles;
    this.#withdrawn = undefined;
  }

  #withdrawOnPermissionDenied(error: WorkloadApiError): void {
    if (error.grpcCode !== grpc.status.PERMISSION_DENIED || this.#svid === undefined) return;
    this.#svid = undefined;
    this.#svids = [];
    this.#withdrawn = error;
    this.emit('withdrawn', error);
    this.emit('update');
  }
}
