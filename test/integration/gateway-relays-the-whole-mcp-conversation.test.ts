import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ElicitRequestSchema,
  ElicitResultSchema,
  RootsListChangedNotificationSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { FetchLike } from '../../src/server/mtls-fetch';
import { GATEWAY_ID, GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { bearerTlsFetch, mtlsFetch } from './support/mcp-gateway-world';

/**
 * Issue 12's headline acceptance test: an SDK client reaches an SDK server through the
 * gateway with every feature (tools with progress, a log message, an elicitation and a
 * sampling request answered mid-call; resources; prompts; ping; logging level; a client
 * notification), on both listeners, at every protocol version the SDK speaks, and the
 * conversation, message by message in both directions, is the direct one less what policy
 * removed (one tool hidden from tools/list).
 */

const POLICY = {
  ...POLICIES,
  'mcp.cedar': `
@id("researchers-use-notes")
permit (principal in AgentGroup::"researchers", action, resource == Tool::"notes");

@id("nobody-calls-forbidden-tool")
forbid (principal, action == Action::"mcp:notes/tools/call/forbidden_tool", resource);
`,
};

interface Upstream {
  readonly url: string;
  /** client→server notifications that reached the server (notifications/roots/list_changed). */
  readonly rootsChanged: number[];
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const rootsChanged: number[] = [];
  const buildServer = (): McpServer => {
    const server = new McpServer({ name: 'notes', version: '1.0.0' }, { capabilities: { logging: {} } });
    server.registerTool('work', { description: 'Works in steps, asking the user and the model on the way', inputSchema: { topic: z.string() } }, async ({ topic }, extra) => {
      const progressToken = extra._meta?.progressToken;
      if (progressToken !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 1, total: 3, message: 'started' } });
      }
      await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: `working on ${topic}` } });
      // Server→client requests in the middle of the call: the call cannot end before the
      // client answers them, so a relay that buffered the answer stream would never end it.
      const elicited = await extra.sendRequest(
        { method: 'elicitation/create', params: { message: `Go on with ${topic}?`, requestedSchema: { type: 'object', properties: { sure: { type: 'boolean' } } } } },
        ElicitResultSchema,
      );
      const sampled = await extra.sendRequest(
        { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: `Summarize ${topic}` } }], maxTokens: 20 } },
        CreateMessageResultSchema,
      );
      if (progressToken !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 3, total: 3, message: 'done' } });
      }
      const summary = sampled.content.type === 'text' ? sampled.content.text : '?';
      return { content: [{ type: 'text', text: `${topic}: user ${elicited.action} ${JSON.stringify(elicited.content ?? {})}, model says ${summary}` }] };
    });
    server.registerTool('forbidden_tool', { description: 'No one may call this' }, async () => ({ content: [{ type: 'text', text: 'ran' }] }));
    server.registerPrompt('summarize', { description: 'Summarize a note', argsSchema: { path: z.string() } }, ({ path }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Summarize ${path}` } }],
    }));
    server.registerResource('readme', 'file:///public/readme', { description: 'The readme', mimeType: 'text/plain' }, (uri) => ({
      contents: [{ uri: uri.href, text: 'hello' }],
    }));
    server.server.setNotificationHandler(RootsListChangedNotificationSchema, () => void rootsChanged.push(Date.now()));
    return server;
  };
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const server = http.createServer((req, res) => {
    void (async () => {
      const sessionId = req.headers['mcp-session-id'];
      let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
      if (transport === undefined) {
        const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void transports.set(id, created),
        });
        transport = created;
        await buildServer().connect(transport);
      }
      await transport.handleRequest(req, res);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    rootsChanged,
    close: async () => {
      await Promise.allSettled([...transports.values()].map((t) => t.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Line = { readonly dir: 'out' | 'in'; readonly message: JSONRPCMessage };

/**
 * Every JSON-RPC message the client sends and receives, in order, as its transport sees
 * them; the client offers `version` at initialize (the SDK always offers its latest), so
 * the whole conversation runs at that version.
 */
function recordedTransport(url: URL, fetch: FetchLike | undefined, headers: Record<string, string>, version: string): { transport: StreamableHTTPClientTransport; lines: Line[] } {
  const transport = new StreamableHTTPClientTransport(url, { ...(fetch && { fetch }), requestInit: { headers } });
  const lines: Line[] = [];
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    const offered = (
      'method' in message && message.method === 'initialize' && message.params !== undefined ? { ...message, params: { ...message.params, protocolVersion: version } } : message
    ) as JSONRPCMessage;
    lines.push({ dir: 'out', message: offered });
    return send(offered, options);
  };
  let handler: StreamableHTTPClientTransport['onmessage'];
  Object.defineProperty(transport, 'onmessage', {
    configurable: true,
    get: () =>
      handler &&
      ((message: JSONRPCMessage, extra?: unknown) => {
        lines.push({ dir: 'in', message });
        (handler as (m: JSONRPCMessage, e?: unknown) => void)(message, extra);
      }),
    set: (value: StreamableHTTPClientTransport['onmessage']) => (handler = value),
  });
  return { transport, lines };
}

/** What the client observed of the conversation, beside its messages. */
interface Observed {
  lines: Line[];
  negotiated: string | undefined;
  /** What had happened, in order, as the client's handlers and the call saw it. */
  events: string[];
}

/** One whole conversation at `version`, as a client with every capability. */
async function converse(url: URL, fetch: FetchLike | undefined, headers: Record<string, string>, version: string): Promise<Observed> {
  const { transport, lines } = recordedTransport(url, fetch, headers, version);
  const events: string[] = [];
  const client = new Client({ name: 'agent', version: '1.0.0' }, { capabilities: { elicitation: {}, sampling: {}, roots: { listChanged: true } } });
  client.setRequestHandler(ElicitRequestSchema, (request) => {
    events.push(`elicited: ${request.params.message}`);
    return { action: 'accept', content: { sure: true } };
  });
  client.setRequestHandler(CreateMessageRequestSchema, () => {
    events.push('sampled');
    return { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'short' } };
  });
  client.setNotificationHandler(
    z.object({ method: z.literal('notifications/message'), params: z.object({ level: z.string(), data: z.unknown() }).passthrough() }) as never,
    (notification: { params: { data: unknown } }) => void events.push(`log: ${String(notification.params.data)}`),
  );
  try {
    await client.connect(transport);
    await client.listTools();
    const result = await client.callTool({ name: 'work', arguments: { topic: 'alpha' } }, undefined, {
      onprogress: (progress) => events.push(`progress ${progress.progress}`),
    });
    events.push(`result: ${JSON.stringify(result.content)}`);
    await client.setLoggingLevel('debug');
    await client.listResources();
    await client.readResource({ uri: 'file:///public/readme' });
    await client.listPrompts();
    await client.getPrompt({ name: 'summarize', arguments: { path: '/public/a' } });
    await client.ping();
    await client.sendRootsListChanged();
    return { lines, negotiated: transport.protocolVersion, events };
  } finally {
    await client.close();
  }
}

/** The direct conversation as policy leaves it: forbidden_tool removed from the tools/list answer. */
function lessWhatPolicyRemoved(lines: readonly Line[]): Line[] {
  const listId = lines.find((l) => l.dir === 'out' && 'method' in l.message && l.message.method === 'tools/list')!.message as { id: number };
  return lines.map((line) => {
    const message = line.message as { id?: unknown; result?: { tools?: Array<{ name: string }> } };
    if (line.dir !== 'in' || message.id !== listId.id || message.result?.tools === undefined) return line;
    return { ...line, message: { ...message, result: { ...message.result, tools: message.result.tools.filter((t) => t.name !== 'forbidden_tool') } } as unknown as JSONRPCMessage };
  });
}

describe('an SDK client has the same whole MCP conversation through the gateway as direct, less what policy removed', () => {
  let upstream: Upstream;
  let world: GatewayWorld;

  beforeAll(async () => {
    upstream = await startUpstream();
    world = await GatewayWorld.start({
      policies: POLICY,
      extraConfig: `  - name: notes\n    mcp: { url: '${upstream.url}' }\nworkloadTokens:\n  listen: 127.0.0.1:0\n`,
    });
  });

  afterAll(async () => {
    await world?.close();
    await upstream?.close();
  });

  const listeners: Array<[string, () => Promise<{ url: URL; fetch: FetchLike; headers: Record<string, string> }>]> = [
    ['mTLS (X.509-SVID)', async () => ({ url: new URL(`https://127.0.0.1:${world.gateway.address.port}/mcp/notes`), fetch: await mtlsFetch(world, RESEARCH_BOT), headers: {} })],
    [
      'token (JWT-SVID)',
      async () => ({
        url: new URL(`https://127.0.0.1:${world.gateway.tokenAddress!.port}/mcp/notes`),
        fetch: bearerTlsFetch(world),
        headers: { authorization: `Bearer ${await world.spiffe.provider.mintJwtSvid(RESEARCH_BOT, [GATEWAY_ID])}` },
      }),
    ],
  ];

  describe.each([...SUPPORTED_PROTOCOL_VERSIONS])('at protocol %s', (version) => {
    let direct: Observed;

    beforeAll(async () => {
      direct = await converse(new URL(upstream.url), undefined, {}, version);
    });

    it('direct: the conversation has every feature, the server asking mid-call', () => {
      expect(direct.negotiated).toBe(version);
      expect(direct.events).toEqual([
        'progress 1',
        'log: working on alpha',
        'elicited: Go on with alpha?',
        'sampled',
        'progress 3',
        'result: [{"type":"text","text":"alpha: user accept {\\"sure\\":true}, model says short"}]',
      ]);
      const listed = direct.lines.find((l) => l.dir === 'in' && (l.message as { result?: { tools?: unknown } }).result?.tools !== undefined);
      expect((listed!.message as unknown as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name).sort()).toEqual(['forbidden_tool', 'work']);
    });

    it.each(listeners)('through the gateway on its %s listener: message for message the same, less the tool policy forbids', async (_name, endpoint) => {
      const { url, fetch, headers } = await endpoint();
      const decisionsBefore = world.decisions.lines.length;
      const rootsBefore = upstream.rootsChanged.length;
      const relayed = await converse(url, fetch, headers, version);

      expect(relayed.negotiated).toBe(version);
      expect(relayed.events).toEqual(direct.events);
      expect(relayed.lines).toEqual(lessWhatPolicyRemoved(direct.lines));
      expect(relayed.lines).not.toEqual(direct.lines);
      // The client notification reached the server.
      expect(upstream.rootsChanged.length).toBe(rootsBefore + 1);

      const decided = world.decisions.lines.slice(decisionsBefore).map((r) => [r.protocol, r.action, r.decision]);
      expect(decided).toEqual([
        ['mcp', 'mcp:notes/tools/list', 'allow'],
        ['mcp', 'mcp:notes/tools/call/work', 'allow'],
        ['mcp', 'mcp:notes/logging/setLevel', 'allow'],
        ['mcp', 'mcp:notes/resources/list', 'allow'],
        ['mcp', 'mcp:notes/resources/read', 'allow'],
        ['mcp', 'mcp:notes/prompts/list', 'allow'],
        ['mcp', 'mcp:notes/prompts/get/summarize', 'allow'],
      ]);
    });
  });
});
