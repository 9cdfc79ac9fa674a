import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { NotesMcpServer } from '../../src/examples/notes-mcp-server';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { mcpClient, startMcpGatewayWorld } from './support/mcp-gateway-world';

const NEW_DESCRIPTION = 'Reads a note by its path, in Markdown';

/** The server's live tool definitions, straight from it (what `toolgate mcp tools` fetches), by name. */
async function liveTools(notes: NotesMcpServer): Promise<Record<string, unknown>[]> {
  const client = new Client({ name: 'operator', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(notes.url)));
  try {
    return (await client.listTools()).tools.sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    await client.close();
  }
}

/**
 * An MCP upstream pinned from its catalog file (`mcp.tools`, docs/mcp.md "Tool pinning"): a
 * tool the file does not hold is refused, a tool whose definition changed is refused, and the
 * operator re-pins by updating the file, which the gateway follows without a restart; a bad
 * file is refused and the pins in force stay. Real sockets, the SDK as client and server.
 */
describe('the gateway pins MCP tools from a catalog file and re-pins when the file changes', () => {
  let notes: NotesMcpServer;
  let world: GatewayWorld;
  let catalogFile: string;

  /** Replaces the catalog as an editor or `toolgate mcp tools` would (a new file renamed over), and waits for the reload it causes. */
  async function writeCatalog(text: string): Promise<Record<string, unknown>> {
    const reloaded = world.nextReload(10_000);
    writeFileSync(`${catalogFile}.tmp`, text);
    renameSync(`${catalogFile}.tmp`, catalogFile);
    return reloaded;
  }
  const catalogOf = (tools: unknown[]): string => JSON.stringify({ tools }, null, 2) + '\n';

  beforeAll(async () => {
    notes = await NotesMcpServer.start(new Map([['/public/a', 'alpha']]));
    catalogFile = join(mkdtempSync(join(tmpdir(), 'toolgate-catalog-')), 'notes-tools.json');
    // The catalog holds read_note only: delete_all was never approved.
    writeFileSync(catalogFile, catalogOf((await liveTools(notes)).filter((t) => t.name === 'read_note')));
    world = await startMcpGatewayWorld(notes, { tools: catalogFile, extraConfig: 'reload: { debounceMs: 50 }\n' });
  });

  afterAll(async () => {
    await world.close();
    await notes.close();
  });

  const warnings = (prefix: string) => world.operations.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(prefix));
  const callReadNote = (client: Client) => client.callTool({ name: 'read_note', arguments: { path: '/public/a' } });

  it('refuses a tool the catalog lacks and a changed one, keeps the pins through a bad file, and serves the new definition once the file holds it', async () => {
    const client = await mcpClient(world, RESEARCH_BOT);
    try {
      // delete_all is not in the catalog: hidden, its calls refused with a record, told once and counted.
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['read_note']);
      await client.listTools();
      expect(await world.metric('toolgate_mcp_tool_not_in_catalog_total', { upstream: 'notes', tool: 'delete_all' })).toBe(1);
      expect(warnings('MCP tool not in the pinned catalog')).toEqual([expect.objectContaining({ level: 40, upstream: 'notes', tool: 'delete_all', catalog: catalogFile })]);
      const unlisted = await client.callTool({ name: 'delete_all', arguments: {} }).catch((err: unknown) => err);
      expect(unlisted).toBeInstanceOf(McpError);
      expect((unlisted as McpError).message).toMatch(/tool "delete_all" is not in the pinned catalog/);
      expect(world.decisions.lines.at(-1)).toMatchObject({ protocol: 'mcp', decision: 'deny', reason: expect.stringContaining('tool "delete_all" is not in the pinned catalog') });
      expect(notes.toolRuns.delete_all ?? 0).toBe(0);
      expect((await callReadNote(client)).content).toEqual([{ type: 'text', text: 'alpha' }]);

      // The server changes read_note: hidden and refused, as without a catalog.
      notes.changeReadNote(NEW_DESCRIPTION);
      expect((await client.listTools()).tools).toEqual([]);
      expect(((await callReadNote(client).catch((err: unknown) => err)) as McpError).message).toMatch(/the definition of tool "read_note" changed since it was pinned/);
      expect(await world.metric('toolgate_mcp_tool_changed_total', { upstream: 'notes', tool: 'read_note' })).toBe(1);

      // A broken file is refused with its problem named; the pins in force stay.
      const refused = await writeCatalog('{"tools": [{"description": "no name"}]}');
      expect(refused).toMatchObject({
        msg: expect.stringMatching(/^reload refused/),
        err: expect.stringContaining(`upstreams[1].mcp.tools: ${catalogFile}: tools[0] must be an object with a non-empty string "name"`),
      });
      expect(((await callReadNote(client).catch((err: unknown) => err)) as McpError).message).toMatch(/changed since it was pinned/);
      expect(((await client.callTool({ name: 'delete_all', arguments: {} }).catch((err: unknown) => err)) as McpError).message).toMatch(/not in the pinned catalog/);

      // The operator approves the new definition: the file now holds it, and the tool is served, without a restart.
      const reloaded = await writeCatalog(catalogOf((await liveTools(notes)).filter((t) => t.name === 'read_note')));
      expect(reloaded).toMatchObject({ msg: 'reloaded', changed: ['mcpUpstreams[].mcp.tools'] });
      const runs = notes.toolRuns.read_note ?? 0;
      expect((await callReadNote(client)).content).toEqual([{ type: 'text', text: 'alpha' }]);
      expect(notes.toolRuns.read_note).toBe(runs + 1);
      expect((await client.listTools()).tools.map((t) => [t.name, t.description])).toEqual([['read_note', NEW_DESCRIPTION]]);
      expect(warnings('MCP tool definition changed')).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});
