import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpRelay, UPSTREAM_FAILED } from '../../src/mcp/mcp-relay';
import type { McpCaller } from '../../src/mcp/relay-contract';

const caller: McpCaller = { key: 'spiffe://example.org/agents/a', principal: Object.freeze({ type: 'Agent', id: 'a', attrs: {}, groups: [] }) };
const allowAll = { decide: () => ({ allow: true, decisionId: 'd1' }), couldPermit: () => true };
const listCall = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 't', arguments: {} } });

async function serve(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, server };
}

async function close(...servers: http.Server[]): Promise<void> {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A lost MCP server reads as one to the caller: a 502 with a JSON-RPC error, or an answer cut short, never a clean end. */
describe('the MCP relay and a lost upstream', () => {
  it('answers 502 when the server cannot be reached', async () => {
    const gone = await serve(() => {});
    await close(gone.server);
    const relay = new McpRelay({ upstream: 'files', url: gone.url, ...allowAll });
    const gateway = await serve((req, res) => void relay.handle(req, res, caller));
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: listCall });
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({
      id: null,
      error: { code: UPSTREAM_FAILED, message: expect.stringContaining('Bad Gateway: the MCP server could not be reached') },
    });
    await close(gateway.server);
  });

  it("cuts the caller's answer short when the server drops mid-stream", async () => {
    const upstream = await serve((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}\n\n', () => res.socket?.destroy());
    });
    const relay = new McpRelay({ upstream: 'files', url: upstream.url, ...allowAll });
    const gateway = await serve((req, res) => void relay.handle(req, res, caller));
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: listCall });
    expect(response.status).toBe(200);
    let text = '';
    const read = (async () => {
      for await (const chunk of response.body!) text += Buffer.from(chunk).toString('utf8');
    })();
    await expect(read).rejects.toThrow();
    expect(text).toContain('notifications/progress');
    await close(gateway.server, upstream.server);
  });
});
