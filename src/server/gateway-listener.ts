import { createServer, type Http2Server, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Authorizer } from '../spiffe/tls/authorizer';
import { MtlsServer } from '../spiffe/tls/mtls-server';
import type { X509TlsSource } from '../spiffe/tls/secure-context-cache';
import type { VerifiedPeer } from '../spiffe/tls/verify-peer';
import type { Caller, CallPipeline } from './call-pipeline';

/** Stored on each admitted TLS socket; reachable from its HTTP/2 session's socket proxy. */
const CONNECTION = Symbol('toolgate.connection');

interface Connection {
  caller: Caller;
  socket: TLSSocket;
}

type AdmittedSocket = TLSSocket & { [CONNECTION]?: Connection };

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
  private draining = false;
  private onIdle: (() => void) | undefined;

  constructor(source: X509TlsSource, acceptCaller: Authorizer, pipeline: CallPipeline, options: GatewayListenerOptions = {}) {
    this.tls = new MtlsServer(source, acceptCaller);
    this.h2 = createServer({ settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 } });
    this.tls.on('connection', (socket: AdmittedSocket, peer) => {
      socket[CONNECTION] = { caller: callerOf(peer), socket };
      this.h2.emit('connection', socket);
    });
    if (options.onRejectedConnection) this.tls.on('rejected', options.onRejectedConnection);
    this.h2.on('session', (session) => {
      const connection = (session.socket as AdmittedSocket)[CONNECTION];
      this.sessions.add(session);
      session.on('close', () => {
        this.sessions.delete(session);
        // The session is done with the connection; do not wait for the peer to close it.
        connection?.socket.destroy();
        if (this.sessions.size === 0) this.onIdle?.();
      });
      session.on('error', () => {});
      // A handshake that finished after the drain began: send GOAWAY at once.
      if (this.draining) session.close();
    });
    this.h2.on('stream', (stream: ServerHttp2Stream, headers) => {
      const connection = (stream.session?.socket as AdmittedSocket | undefined)?.[CONNECTION];
      if (connection === undefined) {
        stream.close(); // cannot happen for admitted connections; fail closed anyway
        return;
      }
      pipeline.handle(stream, headers, connection.caller);
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
    this.draining = true;
    const closed = this.tls.close();
    const idle = new Promise<void>((resolve) => (this.onIdle = resolve));
    if (this.sessions.size === 0) this.onIdle?.();
    for (const session of this.sessions) session.close();
    const timer = setTimeout(() => {
      for (const session of this.sessions) session.destroy();
    }, graceMs);
    timer.unref();
    await Promise.all([closed, idle]);
    clearTimeout(timer);
  }
}

function callerOf(peer: VerifiedPeer): Caller {
  return {
    id: peer.id,
    peer: Object.freeze({ spiffeId: peer.id.toString(), trustDomain: peer.id.trustDomain.name, authn: 'x509-svid' as const }),
  };
}
