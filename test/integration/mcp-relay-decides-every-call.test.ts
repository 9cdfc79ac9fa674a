import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema, McpError, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { POLICY_DENIED } from '../../src/mcp/mcp-relay';
import { CI_BOT, RESEARCH_BOT, startMcpWorld, type McpWorld } from './support/mcp-world';

/**
 * The SDK's own client and server, over real loopback sockets, with the relay between them
 * deciding on the real Cedar engine: the conversation is the direct one less what policy
 * removed, at every protocol version the SDK speaks.
 */
describe.each([...SUPPORTED_PROTOCOL_VERSIONS])('an SDK client through the MCP relay at protocol %s', (version) => {
  let world: McpWorld;
  beforeAll(async () => {
    world = await startMcpWorld();
  });
  afterAll(() => world.close());

  it('negotiates the version and relays a permitted tool call', async () => {
    const { client, transport } = await world.connect(RESEARCH_BOT, version);
    expect(client.getServerVersion()?.name).toBe('files');
    expect(transport.protocolVersion).toBe(version);
    const result = await client.callTool({ name: 'read_file', arguments: { path: '/public/a.txt' } });
    expect(result.content).toEqual([{ type: 'text', text: 'contents of /public/a.txt' }]);
    expect(world.decisions.at(-1)).toMatchObject({ caller: RESEARCH_BOT, action: 'mcp:files/tools/call/read_file', allow: true });
  });

  it('denies a call on its arguments with the decision id, and nothing reaches the server', async () => {
    const { client } = await world.connect(RESEARCH_BOT, version);
    const before = { http: world.counts.http, reads: world.counts.tools.read_file ?? 0 };
    const error: unknown = await client.callTool({ name: 'read_file', arguments: { path: '/secrets/key' } }).catch((err: unknown) => err);
    const decision = world.decisions.at(-1)!;
    expect(decision).toMatchObject({ action: 'mcp:files/tools/call/read_file', allow: false });
    expect(error).toBeInstanceOf(McpError);
    expect(error).toMatchObject({ code: POLICY_DENIED, data: { decisionId: decision.decisionId } });
    expect((error as McpError).message).toContain(`Denied by policy (decision ${decision.decisionId})`);
    expect(world.counts.http).toBe(before.http);
    expect(world.counts.tools.read_file ?? 0).toBe(before.reads);
  });

  it('relays a progress notification while the call is still running', async () => {
    const { client } = await world.connect(RESEARCH_BOT, version);
    const progress: number[] = [];
    const result = await client.callTool({ name: 'slow_task', arguments: {} }, undefined, {
      onprogress: (p) => {
        progress.push(p.progress);
        world.progressSeen();
      },
    });
    expect(progress).toEqual([1]);
    expect(result.content).toEqual([{ type: 'text', text: 'done' }]);
  });

  it("relays a server request mid-call (elicitation) and the client's answer to it", async () => {
    const client = new Client({ name: 'agent', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params.message);
      return { action: 'accept', content: { sure: true } };
    });
    await world.connect(RESEARCH_BOT, version, client);
    const result = await client.callTool({ name: 'confirm_delete', arguments: {} });
    expect(asked).toEqual(['Really?']);
    expect(result.content).toEqual([{ type: 'text', text: 'user said accept {"sure":true}' }]);
  });

  it('shows each caller only the tools policy could permit it, argument-dependent ones included', async () => {
    const researcher = await world.connect(RESEARCH_BOT, version);
    const names = (await researcher.client.listTools()).tools.map((t) => t.name).sort();
    // delete_all: forbidden to everyone. read_file stays: only some of its arguments are forbidden.
    expect(names).toEqual(['confirm_delete', 'read_file', 'slow_task', 'write_file']);
    const ci = await world.connect(CI_BOT, version);
    // ci-bot may only write under /tmp/: write_file is shown, nothing else.
    expect((await ci.client.listTools()).tools.map((t) => t.name)).toEqual(['write_file']);
    await expect(ci.client.callTool({ name: 'write_file', arguments: { path: '/tmp/x', text: 'x' } })).resolves.toMatchObject({ content: [{ text: 'wrote /tmp/x' }] });
    await expect(ci.client.callTool({ name: 'write_file', arguments: { path: '/etc/x', text: 'x' } })).rejects.toMatchObject({ code: POLICY_DENIED });
  });

  it('filters resources by their URI and decides prompts by name', async () => {
    const { client } = await world.connect(RESEARCH_BOT, version);
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['file:///public/readme']);
    await expect(client.readResource({ uri: 'file:///public/readme' })).resolves.toMatchObject({ contents: [{ text: 'hello' }] });
    await expect(client.readResource({ uri: 'file:///secrets/key' })).rejects.toMatchObject({ code: POLICY_DENIED });
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['summarize']);
    await expect(client.getPrompt({ name: 'summarize', arguments: { path: '/a' } })).resolves.toMatchObject({ messages: [{ role: 'user' }] });
  });

  it('refuses a session id to a caller that did not open it', async () => {
    const { transport } = await world.connect(RESEARCH_BOT, version);
    const sessionId = transport.sessionId!;
    const before = world.counts.http;
    const response = await fetch(world.relayUrl, {
      method: 'POST',
      headers: {
        'x-test-caller': CI_BOT,
        'mcp-session-id': sessionId,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': version,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { message: 'Session not found: this caller has no MCP session with that id' } });
    expect(world.counts.http).toBe(before);
    expect(world.events.at(-1)).toMatchObject({ kind: 'foreign-session', caller: CI_BOT });
  });

  it('ends a session with DELETE, after which its id is refused', async () => {
    const { client, transport } = await world.connect(RESEARCH_BOT, version);
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    expect(world.relay.sessions.check(sessionId, RESEARCH_BOT)).toBe('unknown');
    await client.close();
  });
});
