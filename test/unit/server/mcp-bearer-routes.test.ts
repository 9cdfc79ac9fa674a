import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpBearerRoutes } from '../../../src/server/mcp-bearer-routes';
import type { McpRoutes } from '../../../src/server/mcp-routes';

/** The bearer routes over plain HTTP, with routes that serve `notes` and never expect a caller here. */
async function serve(authorizationServers: string[]): Promise<{ port: number; close(): Promise<void>; served: number[] }> {
  const served: number[] = [];
  const routes = {
    has: (name: string) => name === 'notes',
    serve: () => served.push(1),
  } as unknown as McpRoutes;
  const bearer = new McpBearerRoutes({
    routes,
    authenticator: { authenticate: () => Promise.reject(new Error('no')) },
    authorizationServers,
    onRejected: () => 'd-1',
  });
  const server = http.createServer((req, res) => bearer.serve(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, served, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A raw request, so that Host can be anything. */
function get(port: number, path: string, host: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', path, method, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('McpBearerRoutes', () => {
  it('leaves authorization_servers out when only JWT-SVIDs are accepted (no authorization server issues them)', async () => {
    const s = await serve([]);
    try {
      const res = await get(s.port, '/.well-known/oauth-protected-resource/mcp/notes', 'toolgate.example:8444');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({
        resource: 'https://toolgate.example:8444/mcp/notes',
        bearer_methods_supported: ['header'],
        resource_name: 'toolgate MCP upstream notes',
      });
    } finally {
      await s.close();
    }
  });

  it('refuses a Host that is not a plain host[:port] rather than write it into the challenge or the metadata', async () => {
    const s = await serve(['https://oidc.example']);
    try {
      for (const host of ['evil.example" error="x', 'a b', 'host/path']) {
        const metadata = await get(s.port, '/.well-known/oauth-protected-resource/mcp/notes', host);
        expect(metadata.status).toBe(400);
        const mcp = await get(s.port, '/mcp/notes', host, 'POST');
        expect(mcp.status).toBe(400);
        expect(mcp.headers['www-authenticate']).toBeUndefined();
      }
      expect((await get(s.port, '/mcp/notes', '[::1]:8444', 'POST')).headers['www-authenticate']).toBe(
        'Bearer resource_metadata="https://[::1]:8444/.well-known/oauth-protected-resource/mcp/notes"',
      );
      expect(s.served).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('answers 404 for a path that is no MCP endpoint, without asking for a token', async () => {
    const s = await serve([]);
    try {
      const res = await get(s.port, '/test.v1.Echo/Unary', 'toolgate.example', 'POST');
      expect(res.status).toBe(404);
      expect(res.headers['www-authenticate']).toBeUndefined();
    } finally {
      await s.close();
    }
  });
});
