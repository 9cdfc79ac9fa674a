import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Why the gateway is not ready, or undefined when it is. */
export type ReadinessCheck = () => string | undefined;

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * The plain-HTTP admin listener: `/healthz` (the process is alive), `/readyz` (it serves:
 * an SVID and a policy set are loaded, every listener accepts connections, no drain has
 * begun) and `/metrics` (Prometheus). Bind it to
 * loopback or a pod-internal address: it carries no authentication. More routes (for
 * example a JWKS) can be added with `route()`.
 */
export class AdminServer {
  private readonly server: Server;
  private readonly routes = new Map<string, Handler>();

  constructor(registry: Registry, ready: ReadinessCheck) {
    this.routes.set('/healthz', (_req, res) => send(res, 200, 'ok\n'));
    this.routes.set('/readyz', (_req, res) => {
      const reason = ready();
      send(res, reason === undefined ? 200 : 503, reason === undefined ? 'ready\n' : `not ready: ${reason}\n`);
    });
    this.routes.set('/metrics', async (_req, res) => {
      send(res, 200, await registry.metrics(), registry.contentType);
    });
    this.server = createServer((req, res) => void this.handle(req, res)); // handle catches what a route throws
  }

  route(path: string, handler: Handler): void {
    this.routes.set(path, handler);
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const handler = req.method === 'GET' ? this.routes.get((req.url ?? '/').split('?')[0]) : undefined;
    if (!handler) return send(res, req.method === 'GET' ? 404 : 405, 'not found\n');
    try {
      await handler(req, res);
    } catch {
      if (!res.headersSent) send(res, 500, 'internal error\n');
    }
  }
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}
