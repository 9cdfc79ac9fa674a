import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Trace } from '../observability/trace';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';
import { TlsServer } from '../spiffe/tls/tls-server';
import { endWithStatus, refusalMessage, Status } from '../relay/grpc-status';
import { bearerCaller, type BearerAuthenticator } from './bearer-caller';
import type { CallPipeline } from './call-pipeline';
import { decisionIdGenerator } from './decision-id';
import { Http2Sessions } from './http2-sessions';
import { TlsHttp2Listener } from './tls-http2-listener';
import { AUTHORIZATION_HEADER } from './owned-headers';
import { Http1Connections } from './http1-connections';
import { McpBearerRoutes } from './mcp-bearer-routes';
import { compatibilityPair } from './mcp-routes';

export interface TokenListenerOptions {
  maxConcurrentStreams?: number;
  /** Connections open at once, handshakes included (see TlsServerOptions). */
  maxConnections?: number;
  /** TLS handshakes started per turn of the event loop (see TlsServerOptions). */
  handshakesPerTurn?: number;
  /** TLS handshakes started per second at most (see TlsServerOptions). */
  handshakesPerSecond?: number;
  /** A connection with no open call and no traffic for this long gets GOAWAY. */
  idleTimeoutMs?: number;
  /**
   * A call refused for want of a valid token; the reason is for the log, never the caller, who
   * reads only `decisionId`. `code` is the error's stable code (`WorkloadTokenError`'s, e.g.
   * ERR_TOKEN_EXPIRED), for metrics.
   */
  onRejectedCall?: (reason: string, code: string, decisionId: string) => void;
  /** Decision ids for refused calls: the gateway's, so that they look like every other. */
  nextDecisionId?: () => string;
  /** A TLS connection refused (failed handshake, or no SVID to present). */
  onRejectedConnection?: (err: Error, remoteAddress: string | undefined) => void;
  /** The `tls` trace: each connection accepted, each token that proved a caller (never the token). */
  trace?: Trace;
  /**
   * MCP upstreams, served at `/mcp/<upstream>` to bearer callers (with their RFC 9728
   * metadata) over HTTP/2 and, for clients that choose it by ALPN, HTTP/1.1. Without, the
   * listener speaks HTTP/2 only.
   */
  mcp?: McpBearerRoutes;
}

/**
 * The gateway's listener for callers that cannot present an X.509-SVID: TLS with the
 * gateway's rotating SVID but no client certificate, then HTTP/2 where every call must carry
 * `authorization: Bearer <token>` (a JWT-SVID or an OIDC workload token). A call whose token
 * proves a caller goes to the pipeline like an mTLS call; any other ends UNAUTHENTICATED
 * with a generic message and a decision id before the pipeline sees it.
 */
export class TokenListener extends TlsHttp2Listener<null> {
  private readonly nextDecisionId: () => string;
  private readonly http1: Http1Connections<null> | undefined;

  constructor(
    source: X509TlsSource,
    private readonly authenticator: BearerAuthenticator,
    private readonly pipeline: Pick<CallPipeline, 'handle'>,
    private readonly options: TokenListenerOptions = {},
  ) {
    const mcp = options.mcp;
    const tls = new TlsServer(source, {
      alpnProtocols: mcp === undefined ? ['h2'] : ['h2', 'http/1.1'],
      ...(options.maxConnections !== undefined && { maxConnections: options.maxConnections }),
      ...(options.handshakesPerTurn !== undefined && { handshakesPerTurn: options.handshakesPerTurn }),
      ...(options.handshakesPerSecond !== undefined && { handshakesPerSecond: options.handshakesPerSecond }),
    });
    const sessions = new Http2Sessions<null>((stream, headers) => {
      // MCP authenticates each request itself, answering as an OAuth protected resource (401 and a challenge).
      if (mcp !== undefined && McpBearerRoutes.handles(headers[':path'])) {
        const { req, res } = compatibilityPair(stream, headers);
        mcp.serve(req, res);
      } else this.handle(stream, headers);
    }, options);
    super(tls, sessions);
    this.nextDecisionId = options.nextDecisionId ?? decisionIdGenerator();
    // Over HTTP/1.1 only MCP is served (gRPC needs HTTP/2): any other path is answered 404 by the routes.
    const http1 = mcp && new Http1Connections<null>((req, res) => mcp.serve(req, res), options);
    this.http1 = http1;
    tls.on('connection', (socket) => {
      options.trace?.debug({ listener: 'token', remote: socket.remoteAddress }, 'connection accepted');
      if (http1 !== undefined && socket.alpnProtocol === 'http/1.1') http1.accept(socket, null);
      else sessions.accept(socket, null);
    });
    tls.on('rejected', (err, remoteAddress) => options.onRejectedConnection?.(err, remoteAddress));
  }

  override drain(graceMs: number): Promise<void> {
    return Promise.all([this.http1?.drain(graceMs), super.drain(graceMs)]).then(() => undefined);
  }

  private handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    void bearerCaller(this.authenticator, headers[AUTHORIZATION_HEADER]).then((proved) => {
      if ('refused' in proved) return this.refuse(stream, proved.refused.reason, proved.refused.code);
      const { caller } = proved;
      // The caller may have given up (or the connection gone) while the token was checked.
      if (stream.closed || stream.destroyed) return;
      this.options.trace?.debug({ listener: 'token', caller: caller.peer.spiffeId, authn: caller.peer.authn }, 'bearer token accepted');
      this.pipeline.handle(stream, headers, caller);
    });
  }

  private refuse(stream: ServerHttp2Stream, reason: string, code: string): void {
    const decisionId = this.nextDecisionId();
    this.options.onRejectedCall?.(reason, code, decisionId);
    endWithStatus(stream, Status.UNAUTHENTICATED, refusalMessage(Status.UNAUTHENTICATED, decisionId));
  }
}
