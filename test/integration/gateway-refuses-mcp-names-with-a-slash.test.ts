import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { mtlsFetch } from './support/mcp-gateway-world';
import { tasksOf } from './support/task-calls';

/**
 * A tool or prompt name is the last segment of its Cedar action (`mcp:<u>/tools/call/<tool>`),
 * whose group is the action less its last `/` segment. A name with a `/` (which the MCP spec
 * advises against but servers may use, and the SDK only warns about) would put its action in
 * another group: `admin/reset` in `mcp:notes/tools/call/admin`, outside every policy and task
 * written for `mcp:notes/tools/call`. The gateway refuses such names rather than let them
 * escape their group, and does not list them.
 */

const POLICY = {
  ...POLICIES,
  'tasks.cedar': `
@id("researchers-begin-tasks")
permit (principal in AgentGroup::"researchers", action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate");
`,
  'mcp.cedar': `
@id("researchers-use-notes")
permit (principal in AgentGroup::"researchers", action, resource == Tool::"notes");

@id("no-tool-calls-but-read")
forbid (principal, action in Action::"mcp:notes/tools/call", resource)
unless { action == Action::"mcp:notes/tools/call/admin" };

@id("no-prompts")
forbid (principal, action in Action::"mcp:notes/prompts/get", resource);
`,
};

describe('MCP tool and prompt names with a "/" cannot escape their action group', () => {
  const runs: string[] = [];
  const transports = new Map<string, StreamableHTTPServerTransport>();
  let server: http.Server;
  let world: GatewayWorld;

  beforeAll(async () => {
    // The SDK warns about a name outside the spec's characters, and registers it all the same.
    jest.spyOn(console, 'warn').mockImplementation(() => {});
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
          for (const name of ['admin', 'admin/reset', 'read_note']) {
            mcp.registerTool(name, { description: name }, async () => {
              runs.push(name);
              return { content: [{ type: 'text', text: `ran ${name}` }] };
            });
          }
          mcp.registerPrompt('team/summary', { description: 'A summary', argsSchema: { topic: z.string() } }, ({ topic }) => {
            runs.push('team/summary');
            return { messages: [{ role: 'user', content: { type: 'text', text: topic } }] };
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
    jest.restoreAllMocks();
    await world?.close();
    await Promise.allSettled([...transports.values()].map((t) => t.close()));
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  async function client(headers?: Record<string, string>): Promise<Client> {
    const url = new URL(`https://127.0.0.1:${world.gateway.address.port}/mcp/notes`);
    const transport = new StreamableHTTPClientTransport(url, { fetch: await mtlsFetch(world, RESEARCH_BOT), ...(headers && { requestInit: { headers } }) });
    const c = new Client({ name: 'agent', version: '1.0.0' });
    await c.connect(transport);
    return c;
  }

  it('refuses a tools/call of "admin/reset" though a forbid covers every tool of the upstream but "admin", and never lists it', async () => {
    const c = await client();
    try {
      expect((await c.listTools()).tools.map((t) => t.name)).toEqual(['admin']);
      const refused: unknown = await c.callTool({ name: 'admin/reset', arguments: {} }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(McpError);
      expect((refused as McpError).message).toMatch(/"\/"/);
      expect(runs).not.toContain('admin/reset');
      expect(await c.callTool({ name: 'admin', arguments: {} })).toMatchObject({ content: [{ type: 'text', text: 'ran admin' }] });
    } finally {
      await c.close();
    }
  });

  it('refuses a prompts/get of "team/summary" though every prompt is forbidden, and never lists it', async () => {
    const c = await client();
    try {
      expect((await c.listPrompts()).prompts).toEqual([]);
      await expect(c.getPrompt({ name: 'team/summary', arguments: { topic: 'x' } })).rejects.toThrow(McpError);
      expect(runs).not.toContain('team/summary');
    } finally {
      await c.close();
    }
  });

  it('refuses "admin/reset" under a task naming only the tool "admin"', async () => {
    const begun = await (await tasksOf(world, RESEARCH_BOT)).begin({ intent: 'admin only', tools: ['mcp:notes/tools/call/admin'], ttlSeconds: 60 });
    const c = await client({ 'x-toolgate-task': begun.token });
    try {
      await expect(c.callTool({ name: 'admin/reset', arguments: {} })).rejects.toThrow(McpError);
      expect(runs).not.toContain('admin/reset');
    } finally {
      await c.close();
    }
  });
});
