import type { Trace } from '../observability/trace';
import type { Authorizer } from '../spiffe/tls/authorizer';
import { CallerSlots } from '../limits/caller-slots';
import { MtlsServer } from '../spiffe/tls/mtls-server';
import { ConnectionLimitError } from '../spiffe/tls/tls-server';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';
import type { VerifiedPeer } from '../spiffe/tls/verify-peer';
import type { Caller } from './call-context';
import type { CallPipeline } from './call-pipeline';
import { Http1Connections } from './http1-connections';
import { Http2Sessions } from './http2-sessions';
import { isMcpPath, type McpRoutes } from './mcp-routes';
import { TlsHttp2Listener } from './tls-http2-listener';

export interface GatewayListenerOptions {
  maxConcurrentStreams?: number;
  /** Connections open at once, handshakes included (see TlsServerOptions). */
  maxConnections?: number;
  /** TLS handshakes started per turn of the event loop (see TlsServerOptions). */
  handshakesPerTurn?: number;
  /** TLS handshakes started per second at most (see TlsServerOptions). */
  handshakesPerSecond?: number;
  /** Connections one caller SPIFFE ID may hold at once; more are closed after the handshake. */
  maxConnectionsPerCaller?: number;
  /** A connection with no open call and no traffic for this long gets GOAWAY. */
  idleTimeoutMs?: number;
  onRejectedConnection?: (err: Error, remoteAddress: string | undefined) => void;
  /** The `tls` trace: each connection accepted. */
  trace?: Trace;
  /**
   * MCP upstreams, served at `/mcp/<upstream>` over HTTP/2 and, for clients that choose it
   * by ALPN, HTTP/1.1. Without, the listener speaks HTTP/2 only.
   */
  mcp?: McpRoutes;
}

/**
 * The gateway's gRPC listener: TLS with the gateway's rotating SVID, SPIFFE verification
 * of every caller at connection time (against the bundle of the caller's own trust
 * domain, and only accepted trust domains), then HTTP/2 whose streams go to the pipeline.
 * Only verified connections ever reach the HTTP/2 layer. With MCP upstreams, `/mcp/` paths
 * go to the MCP relay instead, and a connection that chose HTTP/1.1 by ALPN is served MCP
 * only (gRPC needs HTTP/2).
 */
export class GatewayListener extends TlsHttp2Listener<Caller> {
  private readonly http1: Http1Connections<Caller> | undefined;

  constructor(source: X509TlsSource, acceptCaller: Authorizer, pipeline: CallPipeline, options: GatewayListenerOptions = {}) {
    const mcp = options.mcp;
    const tls = new MtlsServer(source, acceptCaller, {
      alpnProtocols: mcp === undefined ? ['h2'] : ['h2', 'http/1.1'],
      ...(options.maxConnections !== undefined && { maxConnections: options.maxConnections }),
      ...(options.handshakesPerTurn !== undefined && { handshakesPerTurn: options.handshakesPerTurn }),
      ...(options.handshakesPerSecond !== undefined && { handshakesPerSecond: options.handshakesPerSecond }),
    });
    const sessions = new Http2Sessions<Caller>(
      (stream, headers, caller) => (mcp !== undefined && isMcpPath(headers[':path']) ? mcp.serveStream(stream, headers, caller) : pipeline.handle(stream, headers, caller)),
      options,
    );
    super(tls, sessions);
    const http1 = mcp && new Http1Connections<Caller>((req, res, caller) => mcp.serve(req, res, caller), options);
    this.http1 = http1;
    // Per caller, on this listener: a caller is known only once its handshake is verified.
    const perCaller = options.maxConnectionsPerCaller === undefined ? undefined : new CallerSlots(options.maxConnectionsPerCaller);
    const rejected = options.onRejectedConnection;
    const trace = options.trace;
    tls.on('connection', (socket, peer) => {
      const caller = callerOf(peer);
      trace?.debug({ listener: 'mtls', caller: caller.peer.spiffeId, remote: socket.remoteAddress }, 'connection accepted');
      if (perCaller !== undefined) {
        const release = perCaller.take(caller.peer.spiffeId);
        if (release === undefined) {
          socket.destroy();
          rejected?.(
            new ConnectionLimitError('caller', `${caller.peer.spiffeId} holds ${perCaller.maxPerCaller} connections (limits.perCaller.maxConnections)`),
            socket.remoteAddress,
          );
          return;
        }
        socket.once('close', release);
      }
      if (http1 !== undefined && socket.alpnProtocol === 'http/1.1') http1.accept(socket, caller);
      else sessions.accept(socket, caller);
    });
    if (rejected) tls.on('rejected', rejected);
  }

  override drain(graceMs: number): Promise<void> {
    return Promise.all([this.http1?.drain(graceMs), super.drain(graceMs)]).then(() => undefined);
  }
}

function callerOf(peer: VerifiedPeer): Caller {
  return {
    id: peer.id,
    peer: Object.freeze({ spiffeId: peer.id.toString(), trustDomain: peer.id.trustDomain.name, authn: 'x509-svid' as const }),
  };
}
