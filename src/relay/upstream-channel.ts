import { connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { parseHostPort } from '../net/host-port';
import type { SpiffeId } from '../spiffe/id/spiffe-id';
import { authorizeId } from '../spiffe/tls/authorizer';
import { mtlsClientOptions } from '../spiffe/tls/mtls-client';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';
import type { MethodCatalog } from './method-catalog';

const RETIRE_DELAY_MS = 1000;

export interface UpstreamTarget {
  name: string;
  /** `host:port` (see `parseHostPort`), validated by config. */
  address: string;
  /** The identity the upstream must present. */
  spiffeId: SpiffeId;
  /** gRPC services routed here. */
  services: readonly string[];
}

/**
 * An upstream tool service: what it serves (its method catalog, when its protos or its
 * server reflection describe it; see upstream-catalog.ts) and
 * one multiplexed HTTP/2 connection to it, over mTLS with the
 * gateway's current SVID, accepting only the upstream's configured SPIFFE ID. It is
 * opened on first use and reopened after it closes; `retire()` lets in-flight streams
 * finish on the old connection while new calls open a fresh one (after an SVID rotation).
 */
export class UpstreamChannel {
  private current: ClientHttp2Session | undefined;
  private readonly tlsOptions: ReturnType<typeof mtlsClientOptions>;
  private readonly host: string;
  private readonly port: number;

  constructor(
    readonly target: UpstreamTarget,
    /** The upstream's methods; undefined when nothing describes them (decisions on headers only). */
    readonly methods: MethodCatalog | undefined,
    source: X509TlsSource,
    private readonly onError: (err: Error) => void,
  ) {
    this.tlsOptions = mtlsClientOptions(source, authorizeId(target.spiffeId));
    const { host, port } = parseHostPort(target.address, { allowPortZero: false });
    this.host = host;
    this.port = port;
  }

  session(): ClientHttp2Session {
    const current = this.current;
    if (current && !current.closed && !current.destroyed) return current;
    return (this.current = this.open());
  }

  retire(): void {
    const current = this.current;
    this.current = undefined;
    // Not at once: a stream created earlier in this tick may not have sent its HEADERS
    // yet, and a GOAWAY sent first would make the upstream refuse it.
    if (current) setTimeout(() => current.close(), RETIRE_DELAY_MS).unref();
  }

  /** Closes the connection at once. With `reason`, its open calls fail (UNAVAILABLE) rather than end cleanly. */
  close(reason?: Error): void {
    const current = this.current;
    this.current = undefined;
    current?.destroy(reason);
  }

  private open(): ClientHttp2Session {
    const session = connect(`https://${this.target.address}`, {
      createConnection: () => tlsConnect({ ...this.tlsOptions(), host: this.host, port: this.port }),
    });
    session.on('error', (err) => this.onError(err));
    const forget = () => {
      if (this.current === session) this.current = undefined;
    };
    session.on('close', forget);
    session.on('goaway', forget);
    // An idle connection must not keep the process alive on shutdown.
    session.unref();
    return session;
  }
}
