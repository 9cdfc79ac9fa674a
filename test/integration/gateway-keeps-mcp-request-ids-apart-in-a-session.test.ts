import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { mtlsFetch } from './support/mcp-gateway-world';

/**
 * The SDK's Streamable HTTP server routes each answer to the HTTP request by its JSON-RPC id
 * alone (one map per session, the last request with an id wins). A tools/list answer the
 * gateway filters could thus be routed onto the stream of another request of the same
 * session reusing its id, a tools/call, whose answer the gateway does not inspect: the
 * caller would read every tool, those policy hides included. The gateway refuses a request
 * whose id is that of a request of the same session still in flight (MCP: an id "MUST NOT
 * have been previously used by the requestor within the same session").
 */

const POLICY = {
  ...POLICIES,
  'mcp.cedar': `
@id("researchers-use-notes")
permit (principal in AgentGroup::"researchers", action, resource == Tool::"notes");

@id("nobody-sees-secret-tool")
forbid (principal, action == Action::"mcp:notes/tools/call/secret_tool", resource);
`,
};

/** A promise and its resolver. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('a request id in flight in a session cannot be reused by another request of that session', () => {
  let listStarted = gate();
  let listRelease = gate();
  let waitStarted = gate();
  const waitRelease = gate();
  let slowList = false;
  const transports = new Map<string, StreamableHTTPServerTransport>();
  let server: http.Server;
  let world: GatewayWorld;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      void (async () => {
        const sessionId = req.headers['mcp-session-id'];
        let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
        if (transport === undefined) {
          const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (id) => void transports.set(id, created),
          });
          transport = created;
          const mcp = new McpServer({ name: 'notes', version: '1.0.0' });
          mcp.registerTool('secret_tool', { description: 'Hidden by policy' }, () => ({ content: [{ type: 'text', text: 'secret' }] }));
          mcp.registerTool('wait', { description: 'Waits' }, async () => {
            waitStarted.open();
            await waitRelease.promise;
            return { content: [{ type: 'text', text: 'waited' }] };
          });
          // A server whose tools/list takes its time (one that reads its tools from elsewhere).
          const list = {
            tools: [
              { name: 'secret_tool', inputSchema: { type: 'object' as const } },
              { name: 'wait', inputSchema: { type: 'object' as const } },
            ],
          };
          mcp.server.setRequestHandler(ListToolsRequestSchema, async () => {
            if (slowList) {
              listStarted.open();
              await listRelease.promise;
            }
            return list;
          });
          await mcp.connect(transport);
        }
        await transport.handleRequest(req, res);
      })().catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    world = await GatewayWorld.start({ policies: POLICY, extraConfig: `  - name: notes\n    mcp: { url: '${url}' }\n` });
  });

  afterAll(async () => {
    waitRelease.open();
    listRelease.open();
    await world?.close();
    await Promise.allSettled([...transports.values()].map((t) => t.close()));
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it("never shows a hidden tool through another request's stream, and refuses the reused id", async () => {
    const fetch = await mtlsFetch(world, RESEARCH_BOT);
    const url = `https://127.0.0.1:${world.gateway.address.port}/mcp/notes`;
    const post = async (body: object, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(body),
      });
      return { status: response.status, text: await response.text(), headers: response.headers };
    };
    const opened = await post({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    const session = { 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session);
    const listed = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, session);
    expect(listed.text).toContain('"wait"');
    expect(listed.text).not.toContain('secret_tool');

    slowList = true;
    listStarted = gate();
    listRelease = gate();
    waitStarted = gate();
    const list = post({ jsonrpc: '2.0', id: 50, method: 'tools/list' }, session);
    await listStarted.promise;
    // The same id, while the list is answered: were it relayed, the server would route the list's answer to this stream.
    const reused = post({ jsonrpc: '2.0', id: 50, method: 'tools/call', params: { name: 'wait', arguments: {} } }, session);
    const first = await Promise.race([reused.then(() => 'answered'), waitStarted.promise.then(() => 'running')]);
    listRelease.open();
    waitRelease.open();
    const reusedAnswer = await reused;
    expect(reusedAnswer.text).not.toContain('secret_tool');
    expect(first).toBe('answered');
    expect(reusedAnswer.status).toBe(400);
    expect(JSON.parse(reusedAnswer.text)).toMatchObject({ error: { code: -32600, message: expect.stringContaining('in flight') } });
    const listAnswer = await list;
    expect(listAnswer.text).not.toContain('secret_tool');
    expect(listAnswer.text).toContain('"wait"');

    // Once answered, the id may be used again (the MCP spec forbids it, but only in-flight ids mix answers).
    const again = await post({ jsonrpc: '2.0', id: 50, method: 'tools/call', params: { name: 'wait', arguments: {} } }, session);
    expect(again.text).toContain('waited');
  });
});
