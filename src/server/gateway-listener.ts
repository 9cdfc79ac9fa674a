import type { AddressInfo } from 'node:net';
import type { Authorizer } from '../spiffe/tls/authorizer';
import { MtlsServer } from '../spiffe/tls/mtls-server';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';
import type { VerifiedPeer } from '../spiffe/tls/verify-peer';
import type { Caller, CallPipeline } from './call-pipeline';
import { Http2Sessions } from './http2-sessions';

export interface GatewayListenerOptions {
  maxConcurrentStreams?: number;
  onRejectedConnection?: (err: Error, remoteAddress: string | undefined) => void;
}

/**
 * The gateway's gRPC listener: TLS with the gateway's rotating SVID, SPIFFE verification
 * of every caller at connection time (against the bundle of the caller's own trust
 * domain, and only accepted trust domains), then HTTP/2 whose streams go to the pipeline.
 * Only verified connections ever reach the HTTP/2 layer.
 */
export class GatewayListener {
  private readonly tls: MtlsServer;
  private readonly sessions: Http2Sessions<Caller>;

  constructor(source: X509TlsSource, acceptCaller: Authorizer, pipeline: CallPipeline, options: GatewayListenerOptions = {}) {
    this.tls = new MtlsServer(source, acceptCaller);
    this.sessions = new Http2Sessions<Caller>((stream, headers, caller) => pipeline.handle(stream, headers, caller), options);
    this.tls.on('connection', (socket, peer) => this.sessions.accept(socket, callerOf(peer)));
    if (options.onRejectedConnection) this.tls.on('rejected', options.onRejectedConnection);
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return this.tls.listen(port, host);
  }

  address(): AddressInfo {
    return this.tls.address();
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /**
   * Stops accepting connections, tells every client to go away (GOAWAY lets in-flight
   * calls finish), and after `graceMs` cuts whatever is still running.
   */
  drain(graceMs: number): Promise<void> {
    return this.sessions.drain(this.tls.close(), graceMs);
  }
}

function callerOf(peer: VerifiedPeer): Caller {
  return {
    id: peer.id,
    peer: Object.freeze({ spiffeId: peer.id.toString(), trustDomain: peer.id.trustDomain.name, authn: 'x509-svid' as const }),
  };
}
