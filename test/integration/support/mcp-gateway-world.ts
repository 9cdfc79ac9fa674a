import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { authorizeId } from '../../../src/spiffe/tls/authorizer';
import { agentFetch, mtlsFetch as demoMtlsFetch, type FetchLike } from '../../../src/server/mtls-fetch';
import { MtlsServer } from '../../../src/spiffe/tls/mtls-server';
import type { X509Source } from '../../../src/spiffe/workload/x509-source';
import { GATEWAY_ID, GatewayWorld, POLICIES, type GatewayWorldOptions } from './gateway-world';

export const NOTES_ID = 'spiffe://example.org/tools/notes';

/** The gRPC policies of GatewayWorld, and MCP ones for the `notes` MCP upstream (docs/mcp.md naming). */
export const MCP_GATEWAY_POLICIES = {
  ...POLICIES,
  'mcp.cedar': `
@id("researchers-list-notes")
permit (principal in AgentGroup::"researchers", action == Action::"mcp:notes/tools/list", resource == Tool::"notes");

@id("researchers-call-notes")
permit (principal in AgentGroup::"researchers", action in Action::"mcp:notes/tools/call", resource == Tool::"notes");

@id("no-reading-secrets")
forbid (principal, action == Action::"mcp:notes/tools/call/read_note", resource == Tool::"notes")
when { context.request has path && context.request.path like "/secrets/*" };
`,
};

/** An SDK McpServer (tools read_note, delete_all) on Streamable HTTP, counting the tool runs that reach it. */
export interface McpUpstream {
  readonly url: string;
  readonly toolRuns: Record<string, number>;
  /** The headers of every request that reached the server, in order. */
  readonly requestHeaders: http.IncomingHttpHeaders[];
  /** The `authorization` header each tool run's request carried, as the tool handler reads it (undefined: none). */
  readonly toolAuthorizations: (string | undefined)[];
  /** The body of every POST that reached the server, as its socket received it. */
  readonly bodies: Buffer[];
  close(): Promise<void>;
}

/**
 * Starts the MCP server (with `slowTool`, a tool `sleep` too): plain http on loopback, or, with `tls`, https over mTLS accepting
 * only the gateway, once `listenTls` gives it an SVID (the world that issues SVIDs starts
 * after the server, whose URL is in the gateway's config: its port is reserved until then).
 */
export async function startMcpUpstream(options: { tls?: boolean; slowTool?: boolean } = {}): Promise<McpUpstream & { listenTls(source: X509Source): Promise<void> }> {
  const toolRuns: Record<string, number> = {};
  const toolAuthorizations: (string | undefined)[] = [];
  const ran = (tool: string, extra: { requestInfo?: { headers: Record<string, string | string[] | undefined> } }): void => {
    toolRuns[tool] = (toolRuns[tool] ?? 0) + 1;
    const authorization = extra.requestInfo?.headers.authorization;
    toolAuthorizations.push(Array.isArray(authorization) ? authorization.join(', ') : authorization);
  };
  const buildServer = (): McpServer => {
    const server = new McpServer({ name: 'notes', version: '1.0.0' });
    server.registerTool('read_note', { description: 'Reads a note', inputSchema: { path: z.string() } }, async ({ path }, extra) => {
      ran('read_note', extra);
      return { content: [{ type: 'text', text: `contents of ${path}` }] };
    });
    if (options.slowTool === true) {
      // With `slowTool`: a tool call that runs `ms` milliseconds, or until its request is cancelled.
      server.registerTool('sleep', { description: 'Sleeps', inputSchema: { ms: z.number() } }, async ({ ms }, extra) => {
        ran('sleep', extra);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          extra.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        return { content: [{ type: 'text', text: extra.signal.aborted ? 'cancelled' : 'slept' }] };
      });
    }
    server.registerTool('delete_all', { description: 'Deletes every note' }, async (extra) => {
      ran('delete_all', extra);
      return { content: [{ type: 'text', text: 'deleted' }] };
    });
    return server;
  };
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const requestHeaders: http.IncomingHttpHeaders[] = [];
  const bodies: Buffer[] = [];
  const server = http.createServer((req, res) => {
    requestHeaders.push(req.headers);
    void (async () => {
      const sessionId = req.headers['mcp-session-id'];
      let parsedBody: unknown;
      if (req.method === 'POST') {
        // Read here, to keep the exact bytes; the transport is handed the parsed body.
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks);
        bodies.push(body);
        parsedBody = JSON.parse(body.toString('utf8'));
      }
      let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
      if (transport === undefined) {
        const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void transports.set(id, created),
        });
        transport = created;
        await buildServer().connect(transport);
      }
      await transport.handleRequest(req, res, parsedBody);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let front: MtlsServer | undefined;
  if (options.tls === true) await new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    url: `${options.tls === true ? 'https' : 'http'}://127.0.0.1:${port}/mcp`,
    toolRuns,
    requestHeaders,
    toolAuthorizations,
    bodies,
    listenTls: async (source) => {
      front = new MtlsServer(source, authorizeId(GATEWAY_ID), { alpnProtocols: ['http/1.1'] });
      front.on('connection', (socket) => server.emit('connection', socket));
      await front.listen(port, '127.0.0.1');
    },
    close: async () => {
      await Promise.allSettled([...transports.values()].map((t) => t.close()));
      server.closeAllConnections();
      if (front !== undefined) await front.close();
      else await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A GatewayWorld whose config adds the MCP upstream `notes` at `upstream.url` (https: with `NOTES_ID` as its spiffeId),
 * with `tools` as its catalog file (`mcp.tools`) when given.
 */
export async function startMcpGatewayWorld(upstream: Pick<McpUpstream, 'url'>, options: GatewayWorldOptions & { tools?: string } = {}): Promise<GatewayWorld> {
  const spiffeId = upstream.url.startsWith('https:') ? `    spiffeId: ${NOTES_ID}\n` : '';
  const tools = options.tools === undefined ? '' : `, tools: '${options.tools}'`;
  return GatewayWorld.start({
    policies: MCP_GATEWAY_POLICIES,
    ...options,
    extraConfig: `  - name: notes\n    mcp: { url: '${upstream.url}'${tools} }\n${spiffeId}${options.extraConfig ?? ''}`,
  });
}

/**
 * A fetch over HTTP/1.1 and mTLS presenting `id`'s SVID and accepting only the gateway, for
 * the SDK client's transport (Node's own fetch cannot present a client certificate): the demo's.
 */
export async function mtlsFetch(world: GatewayWorld, id: string): Promise<FetchLike> {
  return demoMtlsFetch(await world.spiffe.workload(id), authorizeId(GATEWAY_ID));
}

/**
 * A fetch over HTTP/1.1 and TLS for a caller with no SVID (the token listener's): it
 * trusts the dev CA, checks that the server is the gateway's SPIFFE ID (the certificate
 * names no host), and presents no certificate.
 */
export function bearerTlsFetch(world: GatewayWorld): FetchLike {
  const ca = world.spiffe.provider.x509Bundle('example.org');
  const pem = `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n`;
  const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
  const checkServerIdentity = (_host: string, cert: { subjectaltname?: string }): Error | undefined =>
    cert.subjectaltname?.split(', ').includes(`URI:${GATEWAY_ID}`) ? undefined : new Error(`server is not ${GATEWAY_ID}`);
  // Without ALPN the listener would take the connection for HTTP/2 (a TLS option the https types leave out).
  const http1Alpn = { ALPNProtocols: ['http/1.1'] };
  return agentFetch(agent, () => ({ ca: pem, checkServerIdentity, ...http1Alpn }));
}

/** An SDK client talking to the gateway's `/mcp/notes` as `id`, sending `headers` with every request (a task token). */
export async function mcpClient(world: GatewayWorld, id: string, headers?: Record<string, string>): Promise<Client> {
  const url = new URL(`https://127.0.0.1:${world.gateway.address.port}/mcp/notes`);
  const transport = new StreamableHTTPClientTransport(url, { fetch: await mtlsFetch(world, id), ...(headers && { requestInit: { headers } }) });
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(transport);
  return client;
}
