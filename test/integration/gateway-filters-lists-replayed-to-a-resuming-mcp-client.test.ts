import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListToolsRequestSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { mtlsFetch } from './support/mcp-gateway-world';

/**
 * A server with an event store (Streamable HTTP resumability) replays a stream's events,
 * answers included, to a GET carrying `Last-Event-ID`. A tools/list answer the gateway
 * would have filtered on its POST stream could thus be fetched again, unfiltered, by
 * dropping that stream before the answer and resuming it with GET. The gateway filters
 * list answers on a resumed GET stream too (by their shape: a result listing tools,
 * prompts, resources or resource templates).
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

describe('a list answer replayed to a resuming client is filtered as the list was', () => {
  let releaseList = (): void => {};
  let listGate = Promise.resolve();
  let answerStored: Promise<void> = Promise.resolve();
  let onAnswerStored = (): void => {};
  const transports = new Map<string, StreamableHTTPServerTransport>();
  let server: http.Server;
  let world: GatewayWorld;

  beforeAll(async () => {
    const store = new InMemoryEventStore();
    const storeEvent = store.storeEvent.bind(store);
    store.storeEvent = async (streamId: string, message: JSONRPCMessage) => {
      const id = await storeEvent(streamId, message);
      if ('result' in message) onAnswerStored();
      return id;
    };
    server = http.createServer((req, res) => {
      void (async () => {
        const sessionId = req.headers['mcp-session-id'];
        let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
        if (transport === undefined) {
          const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            eventStore: store,
            onsessioninitialized: (id) => void transports.set(id, created),
          });
          transport = created;
          const mcp = new McpServer({ name: 'notes', version: '1.0.0' });
          mcp.registerTool('secret_tool', { description: 'Hidden by policy' }, () => ({ content: [{ type: 'text', text: 'secret' }] }));
          mcp.registerTool('read_note', { description: 'Reads a note' }, () => ({ content: [{ type: 'text', text: 'note' }] }));
          const list = {
            tools: [
              { name: 'read_note', inputSchema: { type: 'object' as const } },
              { name: 'secret_tool', inputSchema: { type: 'object' as const } },
            ],
          };
          mcp.server.setRequestHandler(ListToolsRequestSchema, async () => {
            await listGate;
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
    releaseList();
    await world?.close();
    await Promise.allSettled([...transports.values()].map((t) => t.close()));
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  /** Reads `body` until `until` holds of what was read, then stops reading. */
  async function readUntil(body: ReadableStream<Uint8Array>, until: (text: string) => boolean): Promise<string> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!until(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel().catch(() => undefined);
    return text;
  }

  it('drops the POST stream of a tools/list before its answer, resumes it with GET and Last-Event-ID: the replayed answer hides what policy hides', async () => {
    const fetch = await mtlsFetch(world, RESEARCH_BOT);
    const url = `https://127.0.0.1:${world.gateway.address.port}/mcp/notes`;
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const opened = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    await opened.text();
    const session = { 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' };
    await (await fetch(url, { method: 'POST', headers: { ...headers, ...session }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();

    listGate = new Promise<void>((resolve) => (releaseList = resolve));
    answerStored = new Promise<void>((resolve) => (onAnswerStored = resolve));
    const abort = new AbortController();
    const listing = await fetch(url, {
      method: 'POST',
      headers: { ...headers, ...session },
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }),
      signal: abort.signal,
    });
    // The priming event (2025-11-25, a server with an event store) names the stream's first event id.
    const primed = await readUntil(listing.body!, (text) => /id: \S+\n/.test(text));
    const lastEventId = /id: (\S+)\n/.exec(primed)![1]!;
    abort.abort();
    releaseList();
    await answerStored;

    const resumed = await fetch(url, { method: 'GET', headers: { accept: 'text/event-stream', ...session, 'last-event-id': lastEventId } });
    expect(resumed.status).toBe(200);
    const replayed = await readUntil(resumed.body!, (text) => text.includes('"tools"'));
    expect(replayed).toContain('"read_note"');
    expect(replayed).not.toContain('secret_tool');
  });
});
