import { EventEmitter } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { DEFAULT_MAX_WAIT_MS, HandshakeQueue } from './handshake-queue';
import { SecureContextCache, type X509TlsSource } from './secure-context-cache';

export interface TlsServerOptions {
  /** ALPN protocols to offer; default `['h2']`, as gRPC needs. */
  alpnProtocols?: string[];
  /** TLS handshake timeout in ms; default 10 s. */
  handshakeTimeoutMs?: number;
  /**
   * Ask for (and require) a client certificate chaining to one of the source's bundles.
   * Default false: the peer stays anonymous at the TLS layer and must prove who it is some
   * other way. `MtlsServer` sets it and then does the SPIFFE verification itself.
   */
  requestCert?: boolean;
  /**
   * Connections open at once, TLS handshakes included; one more is closed as it arrives
   * (Node's `net.Server.maxConnections`) and reported as `rejected`. Default: no limit.
   */
  maxConnections?: number;
  /**
   * TLS handshakes started per turn of the event loop; connections beyond wait, unread, for
   * the next turns (see HandshakeQueue). Default 8.
   */
  handshakesPerTurn?: number;
  /** TLS handshakes started per second at most; connections beyond wait, unread (see HandshakeQueue). Default: no rate. */
  handshakesPerSecond?: number;
}

export interface TlsServerEvents {
  /** A connection whose TLS handshake completed. */
  connection: [socket: TLSSocket];
  /** A connection refused (failed handshake, or no valid SVID to present). */
  rejected: [error: Error, remoteAddress: string | undefined];
}

/**
 * A TLS listener that presents the source's *current* X.509-SVID. Before each handshake it
 * asks the source whether its SVID or bundles changed and swaps the server's secure
 * context if so; live connections keep theirs. While the source has no SVID (withdrawn by
 * the Workload API) or its SVID has expired, new connections are refused before any byte of
 * the handshake: it never serves with an identity the source took back or that has lapsed.
 * (A handshake accepted in the last moment before notAfter still completes with the SVID.)
 */
export class TlsServer extends EventEmitter<TlsServerEvents> {
  private readonly contexts: SecureContextCache;
  /** Does the handshakes; it never listens: connections come from `listener` through `queue`. */
  private readonly server: Server;
  /** Accepts connections paused, counts them against maxConnections, and queues them. */
  private readonly listener: NetServer;
  private readonly queue: HandshakeQueue;

  constructor(source: X509TlsSource, options: TlsServerOptions = {}) {
    super();
    this.contexts = new SecureContextCache(source);
    const requestCert = options.requestCert ?? false;
    const handshakeTimeout = options.handshakeTimeoutMs ?? 10_000;
    this.server = createServer({
      ...this.contexts.options(),
      requestCert,
      rejectUnauthorized: requestCert,
      ALPNProtocols: options.alpnProtocols ?? ['h2'],
      handshakeTimeout,
    });
    // Runs before tls.Server's own 'connection' listener creates the TLSSocket.
    this.server.prependListener('connection', (socket: Socket) => this.beforeHandshake(socket));
    this.server.on('secureConnection', (socket) => this.emit('connection', socket));
    this.server.on('tlsClientError', (err, socket) => this.emit('rejected', err, socket.remoteAddress));
    this.queue = new HandshakeQueue(
      (socket) => this.server.emit('connection', socket),
      (socket) =>
        this.emit('rejected', new Error(`TLS handshake not started within ${DEFAULT_MAX_WAIT_MS / 1000} s (the listener is busy with other handshakes)`), socket.remoteAddress),
      {
        ...(options.handshakesPerTurn !== undefined && { perTurn: options.handshakesPerTurn }),
        ...(options.handshakesPerSecond !== undefined && { perSecond: options.handshakesPerSecond }),
      },
    );
    this.listener = createNetServer({ pauseOnConnect: true }, (socket) => this.queue.push(socket));
    if (options.maxConnections !== undefined) {
      this.listener.maxConnections = options.maxConnections;
      this.listener.on('drop', (dropped) =>
        this.emit('rejected', new ConnectionLimitError('listener', `connection limit of ${options.maxConnections} reached`), dropped?.remoteAddress),
      );
    }
  }

  listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(port, host, () => {
        this.listener.off('error', reject);
        resolve(this.listener.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo {
    return this.listener.address() as AddressInfo;
  }

  /** Connections accepted whose TLS handshake waits to start. */
  get waitingHandshakes(): number {
    return this.queue.length;
  }

  /** Stops accepting; resolves when every connection has closed. */
  close(): Promise<void> {
    return new Promise((resolve) => this.listener.close(() => resolve()));
  }

  /** Picks up a rotation, or refuses the connection when the source has no valid SVID. */
  private beforeHandshake(socket: Socket): void {
    try {
      if (this.contexts.isStale()) this.server.setSecureContext(this.contexts.options());
    } catch (err) {
      socket.destroy();
      this.emit('rejected', err as Error, socket.remoteAddress);
    }
  }
}

/**
 * A connection closed because a limit was reached: the listener's `maxConnections`
 * (`limit: 'listener'`, closed unread), or one a server on top of it applies, such as the
 * connections one caller may hold (`limit: 'caller'`, closed after the handshake).
 */
export class ConnectionLimitError extends Error {
  readonly code = 'ERR_CONNECTION_LIMIT';

  constructor(
    readonly limit: 'listener' | 'caller',
    message: string,
  ) {
    super(message);
  }
}
