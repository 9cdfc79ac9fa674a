import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer, type RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ElicitResultSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { cedarDecider } from '../../../src/mcp/cedar-decider';
import { McpRelay } from '../../../src/mcp/mcp-relay';
import type { McpCaller, McpDecisionRequest, McpRelayEvent } from '../../../src/mcp/relay-contract';
import { ToolPins, type ToolChange } from '../../../src/mcp/tool-pins';
import { PolicyEngine, PolicySet, type Principal } from '../../../src/policy';

/** The header the test listener reads the caller from; in the gateway, the mTLS or token listener authenticates it. */
export const TEST_CALLER_HEADER = 'x-test-caller';

export const RESEARCH_BOT = 'spiffe://example.org/agents/research-bot';
export const CI_BOT = 'spiffe://example.org/agents/ci/build-7';

const PRINCIPALS: Record<string, Principal> = {
  [RESEARCH_BOT]: Object.freeze({ type: 'Agent', id: 'research-bot', attrs: { spiffeId: RESEARCH_BOT, trustDomain: 'example.org' }, groups: ['researchers'] }),
  [CI_BOT]: Object.freeze({ type: 'Agent', id: 'build-7', attrs: { spiffeId: CI_BOT, trustDomain: 'example.org' }, groups: ['ci'] }),
};

/** Policies in the documented naming (docs/mcp.md), argument-dependent where it matters. */
export const MCP_POLICIES = {
  'mcp.cedar': `
    @id("researchers-discover")
    permit (principal in AgentGroup::"researchers",
            action in [Action::"mcp:files/tools/list", Action::"mcp:files/prompts/list",
                       Action::"mcp:files/resources/list", Action::"mcp:files/resources/read"],
            resource == Tool::"files");

    @id("researchers-call-tools")
    permit (principal in AgentGroup::"researchers", action in Action::"mcp:files/tools/call", resource == Tool::"files");

    @id("researchers-get-prompts")
    permit (principal in AgentGroup::"researchers", action in Action::"mcp:files/prompts/get", resource == Tool::"files");

    @id("no-reading-secrets")
    forbid (principal, action == Action::"mcp:files/tools/call/read_file", resource == Tool::"files")
    when { context.request has path && context.request.path like "/secrets/*" };

    @id("no-secret-resources")
    forbid (principal, action == Action::"mcp:files/resources/read", resource == Tool::"files")
    when { context.request.uri like "file:///secrets/*" };

    @id("nobody-deletes")
    forbid (principal, action == Action::"mcp:files/tools/call/delete_all", resource);

    @id("ci-lists-tools")
    permit (principal in AgentGroup::"ci", action == Action::"mcp:files/tools/list", resource == Tool::"files");

    @id("ci-writes-tmp")
    permit (principal in AgentGroup::"ci", action == Action::"mcp:files/tools/call/write_file", resource == Tool::"files")
    when { context.request.path like "/tmp/*" };
  `,
};

/** What reached the MCP server, counted by its own handlers. */
export interface ServerCounts {
  /**
   * POST requests (JSON-RPC messages). GETs are left out: the SDK client opens its
   * server-to-client stream on its own time after initialize.
   */
  http: number;
  /** Tool handler runs, by tool. */
  tools: Record<string, number>;
  /** The bodies of the POSTs, as the server's socket received them. */
  bodies: string[];
  /** The headers of every request the server received. */
  headers: http.IncomingHttpHeaders[];
}

export interface McpWorld {
  readonly relayUrl: string;
  readonly serverUrl: string;
  readonly counts: ServerCounts;
  readonly decisions: { caller: string; action: string; allow: boolean; decisionId: string; requestDigest?: string }[];
  readonly events: McpRelayEvent[];
  readonly toolChanges: ToolChange[];
  readonly pins: ToolPins;
  readonly relay: McpRelay;
  /** Resolves once the client saw slow_task's progress; slow_task waits for it before answering. */
  progressSeen(): void;
  /** Changes read_file's description on every session of the server (a "rug pull"). */
  changeReadFileDescription(description: string): void;
  /** An SDK client speaking through the relay as `caller`, offering `protocolVersion` at initialize. */
  connect(caller: string, protocolVersion?: string, client?: Client): Promise<{ client: Client; transport: StreamableHTTPClientTransport }>;
  close(): Promise<void>;
}

export interface McpWorldOptions {
  /** Serve the relay over cleartext HTTP/2 (node:http2's compatibility API) instead of HTTP/1.1. */
  readonly http2?: boolean;
}

export async function startMcpWorld(options: McpWorldOptions = {}): Promise<McpWorld> {
  const counts: ServerCounts = { http: 0, tools: {}, bodies: [], headers: [] };
  const readFileTools: RegisteredTool[] = [];
  let readFileDescription = 'Reads a file';
  let releaseProgress: () => void = () => {};
  let progressGate = new Promise<void>((resolve) => (releaseProgress = resolve));
  const ran = (tool: string): void => {
    counts.tools[tool] = (counts.tools[tool] ?? 0) + 1;
  };

  const buildServer = (): McpServer => {
    const server = new McpServer({ name: 'files', version: '1.0.0' });
    readFileTools.push(
      server.registerTool('read_file', { description: readFileDescription, inputSchema: { path: z.string() } }, async ({ path }) => {
        ran('read_file');
        return { content: [{ type: 'text', text: `contents of ${path}` }] };
      }),
    );
    server.registerTool('write_file', { description: 'Writes a file', inputSchema: { path: z.string(), text: z.string() } }, async ({ path }) => {
      ran('write_file');
      return { content: [{ type: 'text', text: `wrote ${path}` }] };
    });
    server.registerTool('delete_all', { description: 'Deletes everything' }, async () => {
      ran('delete_all');
      return { content: [{ type: 'text', text: 'deleted' }] };
    });
    server.registerTool('slow_task', { description: 'Reports progress, then answers' }, async (extra) => {
      ran('slow_task');
      const progressToken = extra._meta?.progressToken;
      if (progressToken !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 1, total: 2, message: 'halfway' } });
      }
      // The answer waits until the client has seen the progress: were the relay to buffer
      // the answer stream, the client would never see it, and the call would never end.
      await progressGate;
      return { content: [{ type: 'text', text: 'done' }] };
    });
    server.registerTool('confirm_delete', { description: 'Asks the user before answering' }, async (extra) => {
      ran('confirm_delete');
      // A server→client request in the middle of the call: the answer waits for the user's.
      const answer = await extra.sendRequest(
        { method: 'elicitation/create', params: { message: 'Really?', requestedSchema: { type: 'object', properties: { sure: { type: 'boolean' } } } } },
        ElicitResultSchema,
      );
      return { content: [{ type: 'text', text: `user said ${answer.action} ${JSON.stringify(answer.content ?? {})}` }] };
    });
    server.registerPrompt('summarize', { description: 'Summarize a file', argsSchema: { path: z.string() } }, ({ path }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Summarize ${path}` } }],
    }));
    server.registerResource('readme', 'file:///public/readme', { description: 'The readme' }, (uri) => ({ contents: [{ uri: uri.href, text: 'hello' }] }));
    server.registerResource('key', 'file:///secrets/key', { description: 'A key' }, (uri) => ({ contents: [{ uri: uri.href, text: 'secret' }] }));
    return server;
  };

  const transports = new Map<string, StreamableHTTPServerTransport>();
  const mcpServer = http.createServer((req, res) => {
    if (req.method === 'POST') counts.http++;
    counts.headers.push(req.headers);
    void (async () => {
      const sessionId = req.headers['mcp-session-id'];
      let parsedBody: unknown;
      if (req.method === 'POST') {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const text = Buffer.concat(chunks).toString('utf8');
        counts.bodies.push(text);
        parsedBody = JSON.parse(text);
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

  const decisions: McpWorld['decisions'] = [];
  const events: McpRelayEvent[] = [];
  const toolChanges: ToolChange[] = [];
  const pins = new ToolPins({}, (change) => toolChanges.push(change));
  const engine = new PolicyEngine(PolicySet.fromText(MCP_POLICIES), { cacheSize: 0 });
  const { decide, couldPermit } = cedarDecider(engine, {
    onDecision: (caller: McpCaller, request: McpDecisionRequest, decision, decisionId) =>
      decisions.push({ caller: caller.key, action: request.action, allow: decision.allow, decisionId, requestDigest: request.requestDigest }),
  });

  await listen(mcpServer);
  const serverUrl = `http://127.0.0.1:${(mcpServer.address() as AddressInfo).port}/mcp`;
  const relay = new McpRelay({
    upstream: 'files',
    url: serverUrl,
    decide,
    couldPermit,
    pins,
    maxBodyBytes: 64 * 1024,
    onEvent: (e) => events.push(e),
    // Stands in for the gateway's per-call JWT.
    upstreamHeaders: (caller, allowed) => ({ authorization: `Bearer gateway-token-for-${caller.key}`, 'x-toolgate-decision-id': allowed.map((d) => d.decisionId).join(',') }),
  });
  const serve = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    const key = req.headers[TEST_CALLER_HEADER];
    const principal = typeof key === 'string' ? PRINCIPALS[key] : undefined;
    if (typeof key !== 'string' || principal === undefined) {
      res.writeHead(401);
      res.end();
      return;
    }
    void relay.handle(req, res, { key, principal });
  };
  const gateway = options.http2 === true ? http2.createServer(serve) : http.createServer(serve);
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  const relayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/mcp/files`;

  const clients: Client[] = [];
  return {
    relayUrl,
    serverUrl,
    counts,
    decisions,
    events,
    toolChanges,
    pins,
    relay,
    progressSeen: () => {
      releaseProgress();
      progressGate = new Promise<void>((resolve) => (releaseProgress = resolve));
    },
    changeReadFileDescription: (description) => {
      readFileDescription = description;
      for (const tool of readFileTools) tool.update({ description });
    },
    connect: async (caller, protocolVersion, given) => {
      const transport = new StreamableHTTPClientTransport(new URL(relayUrl), { requestInit: { headers: { [TEST_CALLER_HEADER]: caller } } });
      if (protocolVersion !== undefined) offerProtocolVersion(transport, protocolVersion);
      const client = given ?? new Client({ name: 'agent', version: '1.0.0' });
      await client.connect(transport);
      clients.push(client);
      return { client, transport };
    },
    close: async () => {
      await Promise.allSettled(clients.map((c) => c.close()));
      await Promise.allSettled([...transports.values()].map((t) => t.close()));
      mcpServer.closeAllConnections();
      if (gateway instanceof http.Server) gateway.closeAllConnections();
      await Promise.all([gateway, mcpServer].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}

/**
 * Makes the SDK client offer `version` in its initialize request (it always offers its
 * latest): the SDK server then answers with that version, and the client sends it as
 * MCP-Protocol-Version from then on, so the whole conversation runs at that version.
 */
function offerProtocolVersion(transport: StreamableHTTPClientTransport, version: string): void {
  const send = transport.send.bind(transport);
  transport.send = (message: JSONRPCMessage, options?: Parameters<typeof send>[1]) => {
    if ('method' in message && message.method === 'initialize' && message.params !== undefined) {
      return send({ ...message, params: { ...message.params, protocolVersion: version } }, options);
    }
    return send(message, options);
  };
}

function listen(server: http.Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

/** A raw POST to the relay as `caller`, for what an SDK client would never send. */
export async function rawPost(
  world: McpWorld,
  caller: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown; text: string }> {
  const response = await fetch(world.relayUrl, {
    method: 'POST',
    headers: { [TEST_CALLER_HEADER]: caller, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body,
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}
