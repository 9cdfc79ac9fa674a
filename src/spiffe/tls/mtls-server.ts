import { EventEmitter } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Authorizer } from './authorizer';
import { peerChain } from './peer-chain';
import { SecureContextCache, type X509TlsSource } from './secure-context-cache';
import { verifyPeer, type VerifiedPeer } from './verify-peer';

export interface MtlsServerOptions {
  /** ALPN protocols to offer; default `['h2']`, as gRPC needs. */
  alpnProtocols?: string[];
  /** TLS handshake timeout in ms; default 10 s. */
  handshakeTimeoutMs?: number;
}

export interface MtlsServerEvents {
  /** A connection whose peer was verified and authorized. */
  connection: [socket: TLSSocket, peer: VerifiedPeer];
  /** A connection refused after the handshake (bad chain, wrong trust domain, unauthorized). */
  rejected: [error: Error, remoteAddress: string | undefined];
}

/**
 * A TLS listener that presents the source's current SVID and hands out only connections
 * from peers that pass SPIFFE verification and the authorizer. Plug it in front of any
 * HTTP/2 or gRPC server: `server.on('connection', (s) => h2.emit('connection', s))`.
 *
 * Rotation: before each handshake the listener asks the source whether its SVID or bundles
 * changed, and swaps the server's secure context if so; live connections keep theirs.
 * While the source has no SVID (withdrawn by the Workload API), new connections are refused.
 */
export class MtlsServer extends EventEmitter<MtlsServerEvents> {
  private readonly contexts: SecureContextCache;
  private readonly server: Server;

  constructor(
    private readonly source: X509TlsSource,
    private readonly authorize: Authorizer,
    options: MtlsServerOptions = {},
  ) {
    super();
    this.contexts = new SecureContextCache(source);
    this.server = createServer({
      ...this.contexts.options(),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: options.alpnProtocols ?? ['h2'],
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
    });
    // Runs before tls.Server's own 'connection' listener creates the TLSSocket.
    this.server.prependListener('connection', (socket: Socket) => this.beforeHandshake(socket));
    this.server.on('secureConnection', (socket) => this.admit(socket));
    this.server.on('tlsClientError', (err, socket) => this.emit('rejected', err, socket.remoteAddress));
  }

  listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting; resolves when every connection has closed. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Before a handshake: picks up a rotation, or refuses the connection when the source
   * has no SVID (withdrawn). Never serves with an identity the source took back.
   */
  private beforeHandshake(socket: Socket): void {
    try {
      if (this.contexts.isStale()) this.server.setSecureContext(this.contexts.options());
    } catch (err) {
      socket.destroy();
      this.emit('rejected', err as Error, socket.remoteAddress);
    }
  }

  private admit(socket: TLSSocket): void {
    try {
      const peer = verifyPeer(peerChain(socket), this.source.getX509BundleSet(), this.authorize);
      this.emit('connection', socket, peer);
    } catch (err) {
      socket.destroy();
      this.emit('rejected', err as Error, socket.remoteAddress);
    }
  }
}
