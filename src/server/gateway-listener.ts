import { createServer, type Http2Server, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Authorizer } from '../spiffe/tls/authorizer';
import { MtlsServer } from '../spiffe/tls/mtls-server';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';
import type { VerifiedPeer } from '../spiffe/tls/verify-peer';
import type { Caller, CallPipeline } from './call-pipeline';

const CALLER = Symbol('toolgate.caller');

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
  private readonly h2: Http2Server;
  private readonly sessions = new Set<Http2Session>();

  constructor(source: X509TlsSource, acceptCaller: Authorizer, pipeline: CallPipeline, options: GatewayListenerOptions = {}) {
    this.tls = new MtlsServer(source, acceptCaller);
    this.h2 = createServer({ settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 } });
    this.tls.on('connection', (socket, peer) => {
      (socket as TLSSocket & { [CALLER]?: Caller })[CALLER] = callerOf(peer);
      this.h2.emit('connection', socket);
    });
    if (options.onRejectedConnection) this.tls.on('rejected', options.onRejectedConnection);
    this.h2.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => {});
    });
    this.h2.on('stream', (stream: ServerHttp2Stream, headers) => {
      const caller = (stream.session?.socket as (TLSSocket & { [CALLER]?: Caller }) | undefined)?.[CALLER];
      if (caller === undefined) {
        stream.close(); // cannot happen for injected connections; fail closed anyway
        return;
      }
      pipeline.handle(stream, headers, caller);
    });
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
  async drain(graceMs: number): Promise<void> {
    const closed = this.tls.close();
    for (const session of this.sessions) session.close();
    const timer = setTimeout(() => {
      for (const session of this.sessions) session.destroy();
    }, graceMs);
    timer.unref();
    await closed; // the TLS server reports closed once its last connection has ended
    clearTimeout(timer);
  }
}

function callerOf(peer: VerifiedPeer): Caller {
  return {
    id: peer.id,
    peer: Object.freeze({ spiffeId: peer.id.toString(), trustDomain: peer.id.trustDomain.name, authn: 'x509-svid' as const }),
  };
}
