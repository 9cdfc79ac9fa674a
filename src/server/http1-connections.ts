import * as http from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Handles one HTTP/1.1 request of an accepted connection, with what the listener attached to it. */
export type Http1Handler<T> = (req: http.IncomingMessage, res: http.ServerResponse, context: T) => void;

/**
 * The HTTP/1.1 half of the mTLS listener, for connections that chose `http/1.1` by ALPN (MCP
 * clients that do not speak HTTP/2): serves them with `node:http`, each with the context the
 * listener verified, and drains them with the HTTP/2 sessions.
 */
export class Http1Connections<T> {
  private readonly server: http.Server;
  private readonly contexts = new WeakMap<object, T>();
  private readonly sockets = new Set<TLSSocket>();
  private draining = false;

  constructor(onRequest: Http1Handler<T>, options: { idleTimeoutMs?: number } = {}) {
    this.server = http.createServer({ keepAliveTimeout: options.idleTimeoutMs ?? 5000 }, (req, res) => {
      const context = this.contexts.get(req.socket);
      // Cannot happen for accepted connections; fail closed anyway.
      if (context === undefined) {
        req.socket.destroy();
        return;
      }
      // While draining, each answer closes its connection: no new request after it.
      if (this.draining) res.setHeader('connection', 'close');
      onRequest(req, res, context);
    });
  }

  /** Serves HTTP/1.1 on a TLS connection the listener has admitted. */
  accept(socket: TLSSocket, context: T): void {
    this.contexts.set(socket, context);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.server.emit('connection', socket);
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Closes idle connections now, each busy one after its answer, and cuts what is left after `graceMs`. */
  drain(graceMs: number): Promise<void> {
    this.draining = true;
    this.server.closeIdleConnections();
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const socket of this.sockets) socket.destroy();
      }, graceMs);
      timer.unref();
      const check = (): void => {
        if (this.sockets.size > 0) return;
        clearTimeout(timer);
        resolve();
      };
      for (const socket of this.sockets) socket.once('close', () => setImmediate(check));
    });
  }
}
