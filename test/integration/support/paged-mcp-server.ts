import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListPromptsRequestSchema, ListToolsRequestSchema, type Prompt, type Tool } from '@modelcontextprotocol/sdk/types.js';

export interface PagedMcpServerOptions {
  /** The tools, listed in this order, `pageSize` a page. */
  readonly tools: readonly Tool[];
  /** Prompts (and the prompts capability) when given. */
  readonly prompts?: readonly Prompt[];
  readonly pageSize: number;
  /** Every page has a next cursor, new each time: a server that never ends its list. */
  readonly endless?: boolean;
  /** tools/list is never answered (initialize is). */
  readonly hangOnList?: boolean;
  /** Answer 401 to a request without `authorization` (as the SDK's bearer-auth middleware does), before MCP. */
  readonly requireAuthorization?: boolean;
}

export interface PagedMcpServer {
  readonly url: string;
  /** tools/list and prompts/list requests received. */
  listRequests(): number;
  /** What tools/list lists from now on. */
  setTools(tools: readonly Tool[]): void;
  close(): Promise<void>;
}

/**
 * An MCP server on the SDK's low-level `Server` (the high-level McpServer lists everything on
 * one page), paging tools/list and prompts/list with opaque cursors; plain http on loopback,
 * stateless. Counts the list requests it received.
 */
export async function startPagedMcpServer(options: PagedMcpServerOptions): Promise<PagedMcpServer> {
  let listRequests = 0;
  let tools = options.tools;
  const page = <T>(items: readonly T[], cursor: string | undefined): { items: T[]; nextCursor?: string } => {
    const start = cursor === undefined ? 0 : Number(Buffer.from(cursor, 'base64url').toString());
    const end = start + options.pageSize;
    const next = options.endless === true || end < items.length ? { nextCursor: Buffer.from(String(end)).toString('base64url') } : {};
    return { items: items.slice(start, end), ...next };
  };
  const build = (): Server => {
    const server = new Server({ name: 'paged', version: '1.0.0' }, { capabilities: { tools: {}, ...(options.prompts && { prompts: {} }) } });
    server.setRequestHandler(ListToolsRequestSchema, async (request) => {
      listRequests++;
      if (options.hangOnList === true) await new Promise<never>(() => {});
      const { items, nextCursor } = page(tools, request.params?.cursor);
      return { tools: items, ...(nextCursor !== undefined && { nextCursor }) };
    });
    if (options.prompts) {
      const prompts = options.prompts;
      server.setRequestHandler(ListPromptsRequestSchema, async (request) => {
        listRequests++;
        const { items, nextCursor } = page(prompts, request.params?.cursor);
        return { prompts: items, ...(nextCursor !== undefined && { nextCursor }) };
      });
    }
    return server;
  };
  const server = http.createServer((req, res) => {
    if (options.requireAuthorization === true && req.headers.authorization === undefined) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      res.end(JSON.stringify({ error: 'invalid_token', error_description: 'Missing Authorization header' }));
      return;
    }
    const mcp = build();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void Promise.allSettled([transport.close(), mcp.close()]));
    mcp
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    listRequests: () => listRequests,
    setTools: (next) => void (tools = next),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
