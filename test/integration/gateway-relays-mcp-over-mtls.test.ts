import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { IdentityMapper } from '../../src/identity/identity-mapper';
import { TrustDomain } from '../../src/spiffe/id';
import { GatewayWorld, RESEARCH_BOT, unaryCall } from './support/gateway-world';
import { mcpClient, mtlsFetch, startMcpGatewayWorld, startMcpUpstream, type McpUpstream } from './support/mcp-gateway-world';
import { rawCaller } from './support/raw-h2-caller';

/** The MCP records of the decision log, in order. */
function mcpRecords(world: GatewayWorld): Array<Record<string, unknown>> {
  return world.decisions.lines.filter((line) => line.protocol === 'mcp');
}

describe('the gateway relays an MCP upstream at /mcp/<upstream> on its mTLS listener', () => {
  let upstream: McpUpstream;
  let world: GatewayWorld;

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    world = await startMcpGatewayWorld(upstream);
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
  });

  afterAll(async () => {
    await world.close();
    await upstream.close();
  });

  it('decides every tools/call on its arguments: a permitted one reaches the server, a denied one gets the decision id and never does; one record each, protocol mcp', async () => {
    const before = mcpRecords(world).length;
    const client = await mcpClient(world, RESEARCH_BOT);
    try {
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name).sort()).toEqual(['delete_all', 'read_note']);

      const allowed = await client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });
      expect(allowed.content).toEqual([{ type: 'text', text: 'contents of /public/a' }]);
      expect(upstream.toolRuns.read_note).toBe(1);

      const denied = await client.callTool({ name: 'read_note', arguments: { path: '/secrets/key' } }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(denied).toBeInstanceOf(McpError);
      const error = denied as McpError;
      expect(error.code).toBe(-32003);
      const decisionId = (error.data as { decisionId: string }).decisionId;
      expect(error.message).toContain(`decision ${decisionId}`);
      expect(upstream.toolRuns.read_note).toBe(1);

      const records = mcpRecords(world).slice(before);
      expect(records.map((r) => [r.action, r.decision])).toEqual([
        ['mcp:notes/tools/list', 'allow'],
        ['mcp:notes/tools/call/read_note', 'allow'],
        ['mcp:notes/tools/call/read_note', 'deny'],
      ]);
      expect(new Set(records.map((r) => r.decisionId)).size).toBe(3);
      expect(records[2]).toMatchObject({
        protocol: 'mcp',
        decisionId,
        caller: RESEARCH_BOT,
        principal: 'Agent::"research-bot"',
        resource: 'notes',
        policies: ['no-reading-secrets'],
      });
      // A plain Cedar deny has no reason, as for gRPC (decision-records.md).
      expect(records[2]).not.toHaveProperty('reason');
      expect(records[1]).toMatchObject({ policies: ['researchers-call-notes'], policySet: expect.any(String) });
    } finally {
      await client.close();
    }
  });

  it('counts MCP decisions in the same metrics as gRPC ones', async () => {
    const denied = await world.metric('toolgate_decisions_total', { decision: 'deny' });
    const client = await mcpClient(world, RESEARCH_BOT);
    try {
      await expect(client.callTool({ name: 'read_note', arguments: { path: '/secrets/b' } })).rejects.toThrow(/Denied by policy/);
    } finally {
      await client.close();
    }
    expect(await world.metric('toolgate_decisions_total', { decision: 'deny' })).toBe(denied + 1);
  });

  it('decides with the policies in force: a reload applies to the next MCP call', async () => {
    const client = await mcpClient(world, RESEARCH_BOT);
    const extra = join(world.policyDir, 'no-deletes.cedar');
    try {
      await client.callTool({ name: 'delete_all', arguments: {} });
      expect(upstream.toolRuns.delete_all).toBe(1);
      writeFileSync(extra, '@id("nobody-deletes")\nforbid (principal, action == Action::"mcp:notes/tools/call/delete_all", resource);\n');
      expect(world.gateway.reload('test').result).toBe('success');
      await expect(client.callTool({ name: 'delete_all', arguments: {} })).rejects.toThrow(/Denied by policy/);
      expect(upstream.toolRuns.delete_all).toBe(1);
      expect(mcpRecords(world).at(-1)).toMatchObject({ decision: 'deny', policies: ['nobody-deletes'] });
    } finally {
      rmSync(extra, { force: true });
      world.gateway.reload('test cleanup');
      await client.close();
    }
  });

  it('refuses a caller its identities do not map, with a decision record, and relays nothing', async () => {
    const fetch = await mtlsFetch(world, RESEARCH_BOT);
    const runs = upstream.toolRuns.delete_all ?? 0;
    const state = world.gateway.pipeline.current;
    // What a reload that stopped accepting example.org would put in force while this caller's connection is open.
    world.gateway.pipeline.replaceState({ ...state, identities: new IdentityMapper([], { trustDomains: [TrustDomain.parse('other.test')] }) });
    try {
      const response = await fetch(`https://127.0.0.1:${world.gateway.address.port}/mcp/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_all', arguments: {} } }),
      });
      expect(response.status).toBe(403);
      const body = (await response.json()) as { error: { data: { decisionId: string } } };
      const record = world.decisions.byDecisionId(body.error.data.decisionId);
      expect(record).toMatchObject({ protocol: 'mcp', caller: RESEARCH_BOT, decision: 'deny', resource: 'notes', reason: expect.stringContaining('caller not mapped') });
      expect(upstream.toolRuns.delete_all ?? 0).toBe(runs);
    } finally {
      world.gateway.pipeline.replaceState(state);
    }
  });

  it('answers 404 to an HTTP/1.1 request for any other path: gRPC is HTTP/2 only', async () => {
    const fetch = await mtlsFetch(world, RESEARCH_BOT);
    const base = `https://127.0.0.1:${world.gateway.address.port}`;
    const grpcPath = await fetch(`${base}/tools.files.v1.Files/ReadFile`, { method: 'POST', headers: { 'content-type': 'application/grpc' }, body: '' });
    expect(grpcPath.status).toBe(404);
    for (const path of ['/mcp/nowhere', '/notes', '/mcp/notes/more', '/mcp/', '/']) {
      expect([path, (await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status]).toEqual([path, 404]);
    }
  });

  it('serves /mcp/ over HTTP/2 on the same listener as gRPC, and gRPC calls still work', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const reply = await unaryCall<{ content: Buffer }>(bot, 'readFile', { path: '/notes/a.txt' });
    expect(reply.content.toString()).toBe('alpha');

    const { session } = (await rawCaller(world, RESEARCH_BOT))();
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/mcp/notes',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      });
      stream.end(
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
      );
      const [status, text] = await new Promise<[number, string]>((resolve, reject) => {
        let got = 0;
        let body = '';
        stream.on('response', (headers) => (got = Number(headers[':status'])));
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (body += chunk));
        stream.on('end', () => resolve([got, body]));
        stream.on('error', reject);
      });
      expect(status).toBe(200);
      expect(text).toContain('"serverInfo":{"name":"notes"');
    } finally {
      session.close();
    }
  });
});
