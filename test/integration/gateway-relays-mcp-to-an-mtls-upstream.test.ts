import { FILES_ID, RESEARCH_BOT, type GatewayWorld } from './support/gateway-world';
import { mcpClient, mtlsFetch, NOTES_ID, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';

/** An https MCP upstream presenting the SVID of `presentedId`, configured as `notes` with spiffeId NOTES_ID. */
async function worldWithUpstreamPresenting(presentedId: string): Promise<{ world: GatewayWorld; upstream: McpUpstream }> {
  const upstream = await startMcpUpstream({ tls: true });
  const world = await startMcpGatewayWorld(upstream);
  await upstream.listenTls(await world.spiffe.workload(presentedId));
  return { world, upstream };
}

describe('an https MCP upstream is reached over mTLS, its SPIFFE ID checked', () => {
  it('relays a permitted call to the upstream presenting the configured SPIFFE ID', async () => {
    const { world, upstream } = await worldWithUpstreamPresenting(NOTES_ID);
    try {
      const client = await mcpClient(world, RESEARCH_BOT);
      try {
        const result = await client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });
        expect(result.content).toEqual([{ type: 'text', text: 'contents of /public/a' }]);
        expect(upstream.toolRuns.read_note).toBe(1);
      } finally {
        await client.close();
      }
    } finally {
      await world.close();
      await upstream.close();
    }
  });

  it('relays nothing to an upstream presenting another SPIFFE ID: the caller gets 502', async () => {
    const { world, upstream } = await worldWithUpstreamPresenting(FILES_ID);
    try {
      const fetch = await mtlsFetch(world, RESEARCH_BOT);
      const response = await fetch(`https://127.0.0.1:${world.gateway.address.port}/mcp/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        }),
      });
      expect(response.status).toBe(502);
      expect(await response.text()).toContain('could not be reached');
      expect(upstream.toolRuns).toEqual({});
      expect(world.operations.lines.some((l) => l.kind === 'upstream-error' && l.upstream === 'notes')).toBe(true);
    } finally {
      await world.close();
      await upstream.close();
    }
  });
});
