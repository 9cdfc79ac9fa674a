import { createServer, type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';

/** Stored on each accepted TLS socket; reachable from its HTTP/2 session's socket proxy. */
const CONNECTION = Symbol('toolgate.connection');

interface Connection<T> {
  context: T;
  socket: TLSSocket;
}

type AcceptedSocket<T> = TLSSocket & { [CONNECTION]?: Connection<T> };

export interface Http2SessionsOptions {
  maxConcurrentStreams?: number;
  /**
   * A session with no open stream and no traffic for this long is sent GOAWAY and closed, so
   * that idle connections do not hold their buffers forever. Default: never.
   */
  idleTimeoutMs?: number;
}

/** Handles one stream of an accepted connection, with what the listener attached to it. */
export type StreamHandler<T> = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, context: T) => void;

/**
 * The HTTP/2 half of a gateway listener: serves HTTP/2 on TLS sockets the listener accepted
 * (each with a per-connection `context`, e.g. the verified caller), tracks the sessions,
 * and drains them (GOAWAY, then destroy after a grace period). A stream on a socket that
 * did not come through `accept` is closed (fail closed).
 */
export class Http2Sessions<T> {
  private readonly h2: Http2Server;
  private readonly sessions = new Set<Http2Session>();
  /** Streams open per session (Node keeps no count a server can read). */
  private readonly openStreams = new WeakMap<Http2Session, number>();
  private draining = false;
  private onIdle: (() => void) | undefined;

  constructor(onStream: StreamHandler<T>, options: Http2SessionsOptions = {}) {
    this.h2 = createServer({ settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 } });
    this.h2.on('session', (session) => {
      const connection = (session.socket as AcceptedSocket<T>)[CONNECTION];
      this.sessions.add(session);
      session.on('close', () => {
        this.sessions.delete(session);
        // The session is done with the connection; do not wait for the peer to close it.
        connection?.socket.destroy();
        if (this.sessions.size === 0) this.onIdle?.();
      });
      session.on('error', () => {});
      const idleMs = options.idleTimeoutMs;
      if (idleMs !== undefined) {
        // Node calls this after idleMs without a frame either way; a session with streams
        // open (quiet calls) is left to the calls' own idle timeout.
        session.setTimeout(idleMs, () => {
          if ((this.openStreams.get(session) ?? 0) === 0) session.close();
        });
      }
      // A handshake that finished after the drain began: send GOAWAY at once.
      if (this.draining) session.close();
    });
    this.h2.on('stream', (stream: ServerHttp2Stream, headers) => {
      // A caller resetting a stream with an error code makes the stream emit 'error'; with
      // no listener (e.g. while the call is still being authenticated) that would crash the
      // process. Whoever handles the stream learns of the end through 'close'.
      stream.on('error', () => {});
      const session = stream.session;
      if (session) {
        this.openStreams.set(session, (this.openStreams.get(session) ?? 0) + 1);
        stream.once('close', () => this.openStreams.set(session, (this.openStreams.get(session) ?? 1) - 1));
      }
      const connection = (stream.session?.socket as AcceptedSocket<T> | undefined)?.[CONNECTION];
      if (connection === undefined) {
        stream.close(); // cannot happen for accepted connections; fail closed anyway
        return;
      }
      onStream(stream, headers, connection.context);
    });
  }

  /** Serves HTTP/2 on a TLS connection the listener has admitted. */
  accept(socket: TLSSocket, context: T): void {
    (socket as AcceptedSocket<T>)[CONNECTION] = { context, socket };
    this.h2.emit('connection', socket);
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Tells every client to go away (GOAWAY lets in-flight calls finish), also any session
   * that starts later, and after `graceMs` cuts whatever is still running. Resolves when
   * `listenerClosed` has and no session is left.
   */
  async drain(listenerClosed: Promise<void>, graceMs: number): Promise<void> {
    this.draining = true;
    const idle = new Promise<void>((resolve) => (this.onIdle = resolve));
    if (this.sessions.size === 0) this.onIdle?.();
    for (const session of this.sessions) session.close();
    const timer = setTimeout(() => {
      for (const session of this.sessions) session.destroy();
    }, graceMs);
    timer.unref();
    await Promise.all([listenerClosed, idle]);
    clearTimeout(timer);
  }
}
