import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { SourceError, type WorkloadApiError } from '../errors';
import type { TrustDomain } from '../id/trust-domain';
import type { X509BundleSource, X509SvidSource } from '../sources';
import type { X509Bundle } from '../x509/x509-bundle';
import { X509BundleSet } from '../x509/x509-bundle-set';
import type { X509Svid } from '../x509/x509-svid';
import type { BackoffStrategy } from './backoff';
import type { X509SVIDResponse } from './proto';
import { DEFAULT_READY_TIMEOUT_MS, ReadyGate } from './ready-gate';
import { WorkloadApiClient } from './workload-api-client';
import { parseX509SvidResponse } from './x509-svid-response';

/** Chooses the SVID `getX509Svid()` returns, from all of the current ones (never empty). */
export type X509SvidPicker = (svids: readonly X509Svid[]) => X509Svid;

export interface X509SourceOptions {
  /** Endpoint URI; default `$SPIFFE_ENDPOINT_SOCKET`. */
  address?: string;
  /** How long `create()` waits for the first SVID; default 10 s; `Infinity` waits for ever. */
  timeoutMs?: number;
  /** Gives up waiting in `create()` (rejecting with `SourceError`), e.g. on shutdown. */
  signal?: AbortSignal;
  /** Reconnect policy; default `DEFAULT_BACKOFF` (exponential from 100 ms to 30 s, jittered). */
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

/**
 * The workload's X.509-SVIDs and X.509 bundles, kept current from the Workload API's
 * `FetchX509SVID` stream. Each message replaces the whole state (SVIDs, own bundles and
 * federated bundles: a trust domain left out is dropped). A message that is malformed in
 * any part is discarded and reported, and the previous state stays. On PermissionDenied the
 * SVIDs are withdrawn (bundles stay: they are verification material, not identity) and the
 * stream is retried with backoff; other failures keep the state and retry too.
 */
export class X509Source extends EventEmitter<X509SourceEvents> implements X509SvidSource, X509BundleSource {
  readonly #client: WorkloadApiClient;
  readonly #picker: X509SvidPicker;
  readonly #ready: ReadyGate;
  #svids: readonly X509Svid[] = [];
  #svid: X509Svid | undefined;
  #withdrawn: WorkloadApiError | undefined;
  #bundles = new X509BundleSet();
  #closed = false;

  private constructor(client: WorkloadApiClient, picker: X509SvidPicker, ready: ReadyGate) {
    super();
    this.#client = client;
    this.#picker = picker;
    this.#ready = ready;
    client.watchX509Svids({
      onMessage: (message) => this.#apply(message),
      onError: (error, willRetry) => this.#failed(error, willRetry),
    });
  }

  /**
   * Connects and resolves once the first valid SVID has arrived. Rejects with
   * `EndpointAddressError` for a bad address, and with `SourceError` on timeout, on abort, or
   * when the endpoint refuses for good (InvalidArgument, Unimplemented).
   */
  static async create(options: X509SourceOptions = {}): Promise<X509Source> {
    const client = new WorkloadApiClient({ address: options.address, backoff: options.backoff });
    const ready = new ReadyGate(options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS, 'the first X.509-SVID', options.signal);
    const source = new X509Source(client, options.picker ?? ((svids) => svids[0]), ready);
    try {
      await source.#ready.promise;
    } catch (err) {
      source.close();
      throw err;
    }
    return source;
  }

  /** The picked SVID (default: the first). Throws `SourceError` when closed or withdrawn. */
  getX509Svid(): X509Svid {
    this.#assertOpen();
    if (this.#svid === undefined) throw new SourceError(`X509Source has no X.509-SVID: ${this.#withdrawn?.message ?? 'none received'}`);
    return this.#svid;
  }

  /** Every current SVID in server order (empty while withdrawn). Throws `SourceError` when closed. */
  getX509Svids(): readonly X509Svid[] {
    this.#assertOpen();
    return this.#svids;
  }

  /** The bundle of exactly `td`; throws `BundleError` when there is none, `SourceError` when closed. */
  getX509BundleForTrustDomain(td: TrustDomain | string): X509Bundle {
    this.#assertOpen();
    return this.#bundles.getX509BundleForTrustDomain(td);
  }

  /** All current bundles, own and federated (a new object after each update). Throws `SourceError` when closed. */
  getX509BundleSet(): X509BundleSet {
    this.#assertOpen();
    return this.#bundles;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops the stream and closes the connection; getters throw afterwards. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
    this.#ready.fail('X509Source closed before the first X.509-SVID arrived');
    this.#svid = undefined;
    this.#svids = [];
  }

  #apply(message: X509SVIDResponse): boolean {
    let svids: X509Svid[];
    let bundles: X509BundleSet;
    let svid: X509Svid;
    try {
      ({ svids, bundles } = parseX509SvidResponse(message));
      svid = this.#picker(svids);
      if (!svids.includes(svid)) throw new SourceError(`the X.509-SVID picker chose none of the ${svids.length} SVIDs`);
    } catch (err) {
      this.#report(err as Error);
      return false;
    }
    this.#svids = svids;
    this.#svid = svid;
    this.#bundles = bundles;
    this.#withdrawn = undefined;
    this.#ready.open();
    this.emit('update');
    return true;
  }

  #failed(error: WorkloadApiError, willRetry: boolean): void {
    if (!willRetry) this.#ready.failFatal(error);
    if (error.grpcCode === grpc.status.PERMISSION_DENIED && this.#svid !== undefined) {
      this.#svid = undefined;
      this.#svids = [];
      this.#withdrawn = error;
      this.emit('withdrawn', error);
      this.emit('update');
    }
    this.#report(error);
  }

  #report(error: Error): void {
    if (!this.#ready.settled) this.#ready.note(error);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  #assertOpen(): void {
    if (this.#closed) throw new SourceError('X509Source is closed');
  }
}
