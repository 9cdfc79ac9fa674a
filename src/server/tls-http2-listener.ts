import type { AddressInfo } from 'node:net';
import type { Http2Sessions } from './http2-sessions';

/** The TLS side of a listener: MtlsServer (callers verified by SPIFFE ID) or TlsServer (no client certificate). */
export interface TlsFront {
  listen(port: number, host: string): Promise<AddressInfo>;
  address(): AddressInfo;
  close(): Promise<void>;
  /** Connections accepted whose TLS handshake waits to start. */
  readonly waitingHandshakes: number;
}

/**
 * What both gateway listeners are: a TLS front whose admitted connections become HTTP/2
 * sessions, tracked so that a drain can send GOAWAY and cut what outlives the grace period.
 */
export abstract class TlsHttp2Listener<T> {
  protected constructor(
    private readonly tls: TlsFront,
    protected readonly sessions: Http2Sessions<T>,
  ) {}

  listen(port: number, host: string): Promise<AddressInfo> {
    return this.tls.listen(port, host);
  }

  address(): AddressInfo {
    return this.tls.address();
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  get waitingHandshakes(): number {
    return this.tls.waitingHandshakes;
  }

  /**
   * Stops accepting connections, tells every client to go away (GOAWAY lets in-flight
   * calls finish), and after `graceMs` cuts whatever is still running.
   */
  drain(graceMs: number): Promise<void> {
    return this.sessions.drain(this.tls.close(), graceMs);
  }
}
