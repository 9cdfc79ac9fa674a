import type { Authorizer } from '../spiffe/tls/authorizer';
import { MtlsServer } from '../spiffe/tls/mtls-server';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';
import type { VerifiedPeer } from '../spiffe/tls/verify-peer';
import type { Caller, CallPipeline } from './call-pipeline';
import { Http2Sessions } from './http2-sessions';
import { TlsHttp2Listener } from './tls-http2-listener';

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
export class GatewayListener extends TlsHttp2Listener<Caller> {
  constructor(source: X509TlsSource, acceptCaller: Authorizer, pipeline: CallPipeline, options: GatewayListenerOptions = {}) {
    const tls = new MtlsServer(source, acceptCaller);
    const sessions = new Http2Sessions<Caller>((stream, headers, caller) => pipeline.handle(stream, headers, caller), options);
    super(tls, sessions);
    tls.on('connection', (socket, peer) => sessions.accept(socket, callerOf(peer)));
    if (options.onRejectedConnection) tls.on('rejected', options.onRejectedConnection);
  }
}

function callerOf(peer: VerifiedPeer): Caller {
  return {
    id: peer.id,
    peer: Object.freeze({ spiffeId: peer.id.toString(), trustDomain: peer.id.trustDomain.name, authn: 'x509-svid' as const }),
  };
}
