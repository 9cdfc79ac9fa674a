import type { WorkloadApiError } from '../errors';
import type { JwtBundleSet } from '../jwt/jwt-bundle-set';
import type { JwtSvid } from '../jwt/jwt-svid';
import type { X509Svid } from '../x509/x509-svid';
import type { BackoffStrategy } from './backoff';
import { parseJwtBundlesResponse } from './jwt-bundles-response';
import { fetchJwtSvids, validateJwtSvidRemotely, type JwtSvidParams } from './jwt-svid-calls';
import type { StreamHandlers } from './stream-watcher';
import { WireClient } from './wire-client';
import { parseX509SvidResponse, type X509Context } from './x509-svid-response';

export interface WorkloadApiClientOptions {
  /** Endpoint URI (`unix:///abs/path` or `tcp://IP:port`); default `$SPIFFE_ENDPOINT_SOCKET`. */
  address?: string;
  /** Reconnect policy of every watch; default exponential from 100 ms to 30 s, jittered. */
  backoff?: BackoffStrategy;
  /** Deadline of each unary call; default 10 s, so a dead endpoint cannot hang a caller. */
  callTimeoutMs?: number;
}

/**
 * What a watch reports, as go-spiffe's `X509ContextWatcher` / `JWTBundleWatcher`: `onUpdate`
 * with each accepted message (always the complete current state), `onError` with a message
 * that failed to parse (discarded) or a failed stream. After an error the watch goes on
 * (reconnecting with backoff) unless the status is InvalidArgument or Unimplemented.
 */
export interface Watcher<T> {
  onUpdate(value: T): void;
  onError(error: Error): void;
}

/** A running watch; `stop()` cancels it (idempotent). */
export interface Watch {
  stop(): void;
}

/**
 * A client of the SPIFFE Workload API in go-spiffe's manner (`workloadapi.Client`): one-shot
 * fetches and long-lived watches that hand over parsed, validated SVIDs and bundles, never
 * wire messages. `X509Source` and `JwtSource` keep the same streams open and cache their
 * state; use this client for a single fetch or to react to every update yourself. The channel
 * is plaintext (the spec forbids requiring TLS on the endpoint) and every call carries the
 * `workload.spiffe.io: true` header.
 */
export class WorkloadApiClient {
  readonly #wire: WireClient;

  /** Throws `EndpointAddressError` for a missing or invalid address; connects lazily. */
  constructor(options: WorkloadApiClientOptions = {}) {
    this.#wire = new WireClient(options);
  }

  /** The first `FetchX509SVID` message: the SVIDs with their own and federated bundles. */
  fetchX509Context(): Promise<X509Context> {
    return this.#first((handlers) => this.#wire.watchX509Svids(handlers), parseX509SvidResponse);
  }

  /** The default X.509-SVID (the first the endpoint sends). */
  async fetchX509Svid(): Promise<X509Svid> {
    return (await this.fetchX509Context()).svids[0];
  }

  /** Every `FetchX509SVID` message, parsed, until `stop()`. */
  watchX509Context(watcher: Watcher<X509Context>): Watch {
    return this.#wire.watchX509Svids(parsing(parseX509SvidResponse, watcher));
  }

  /** The first `FetchJWTBundles` message: the JWT bundles of every trust domain. */
  fetchJwtBundles(): Promise<JwtBundleSet> {
    return this.#first((handlers) => this.#wire.watchJwtBundles(handlers), parseJwtBundlesResponse);
  }

  /** Every `FetchJWTBundles` message, parsed, until `stop()`. */
  watchJwtBundles(watcher: Watcher<JwtBundleSet>): Watch {
    return this.#wire.watchJwtBundles(parsing(parseJwtBundlesResponse, watcher));
  }

  /** The default identity's JWT-SVID for these audiences. */
  async fetchJwtSvid(params: JwtSvidParams): Promise<JwtSvid> {
    return (await this.fetchJwtSvids(params))[0];
  }

  /** Every JWT-SVID the endpoint returns for these audiences (one per identity, or just `spiffeId`'s). */
  fetchJwtSvids(params: JwtSvidParams): Promise<JwtSvid[]> {
    return fetchJwtSvids(this.#wire, params);
  }

  /** `ValidateJWTSVID`: the endpoint validates a peer's token; rejects with `WorkloadApiError` when invalid. */
  validateJwtSvid(token: string, audience: string): Promise<JwtSvid> {
    return validateJwtSvidRemotely(this.#wire, token, audience);
  }

  /** Stops every watch and closes the connection; later calls throw `SourceError`. Idempotent. */
  close(): void {
    this.#wire.close();
  }

  /**
   * One message of a stream, as go-spiffe's fetches take one: the first message, parsed, or
   * the first failure (a message that does not parse, or a failed stream), then the stream is
   * cancelled.
   */
  #first<M, T>(watch: (handlers: StreamHandlers<M>) => Watch, parse: (message: M) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const stream = watch({
        onMessage: (message) => {
          if (!settled) {
            settled = true;
            try {
              resolve(parse(message));
            } catch (err) {
              reject(err);
            }
          }
          stopSoon();
          return true;
        },
        onError: (error: WorkloadApiError) => {
          if (!settled) {
            settled = true;
            reject(error);
          }
          stopSoon();
        },
      });
      // The handlers may run before `watch` has returned the stream (never today: grpc-js
      // delivers asynchronously), so stopping waits for the current turn to end.
      function stopSoon(): void {
        queueMicrotask(() => stream.stop());
      }
    });
  }
}

/** Stream handlers that parse each message for `watcher`; a message that does not parse is discarded and reported. */
function parsing<M, T>(parse: (message: M) => T, watcher: Watcher<T>): StreamHandlers<M> {
  return {
    onMessage: (message) => {
      let value: T;
      try {
        value = parse(message);
      } catch (err) {
        watcher.onError(err as Error);
        return false;
      }
      watcher.onUpdate(value);
      return true;
    },
    onError: (error) => watcher.onError(error),
  };
}
