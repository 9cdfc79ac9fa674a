import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Authorizer } from './authorizer';
import { peerChain } from './peer-chain';
import type { X509TlsSource } from './secure-context-cache';
import { TlsServer, type TlsServerOptions } from './tls-server';
import { verifyPeer, type VerifiedPeer } from './verify-peer';

/** TlsServer's options; the client certificate is always asked for. */
export type MtlsServerOptions = Omit<TlsServerOptions, 'requestCert'>;

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
 * While the source has no SVID (withdrawn by the Workload API), or its SVID has expired, new
 * connections are refused.
 */
export class MtlsServer extends EventEmitter<MtlsServerEvents> {
  private readonly tls: TlsServer;

  constructor(
    private readonly source: X509TlsSource,
    private readonly authorize: Authorizer,
    options: MtlsServerOptions = {},
  ) {
    super();
    this.tls = new TlsServer(source, { ...options, requestCert: true });
    this.tls.on('connection', (socket) => this.admit(socket));
    this.tls.on('rejected', (err, remoteAddress) => this.emit('rejected', err, remoteAddress));
  }

  listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    return this.tls.listen(port, host);
  }

  address(): AddressInfo {
    return this.tls.address();
  }

  /** Connections accepted whose TLS handshake waits to start. */
  get waitingHandshakes(): number {
    return this.tls.waitingHandshakes;
  }

  /** Stops accepting; resolves when every connection has closed. */
  close(): Promise<void> {
    return this.tls.close();
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
