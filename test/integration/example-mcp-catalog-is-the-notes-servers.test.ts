import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { readToolCatalog } from '../../src/config';
import { NotesMcpServer } from '../../src/examples/notes-mcp-server';
import { toolDigest } from '../../src/mcp/tool-pins';

/*
 * examples/notes-tools.json, the catalog the example config pins the notes MCP server from
 * (mcp.tools), holds exactly what that server lists, in the catalog format (tools sorted by
 * name, JSON.stringify(v, null, 2) + "\n"): else the demo's tools would all be refused. Run
 *   UPDATE_EXAMPLE_CATALOG=1 npx jest test/integration/example-mcp-catalog-is-the-notes-servers.test.ts
 * after changing the server's tools, then regenerate policies/schema.cedarschema.
 */
const CATALOG = join(__dirname, '../../examples/notes-tools.json');

describe('examples/notes-tools.json', () => {
  let notes: NotesMcpServer;
  beforeAll(async () => {
    notes = await NotesMcpServer.start(new Map());
  });
  afterAll(() => notes.close());

  it("is the example notes server's tools/list, in the catalog format, and pins its tools", async () => {
    const client = new Client({ name: 'operator', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(notes.url)));
    const tools = (await client.listTools()).tools.sort((a, b) => (a.name < b.name ? -1 : 1));
    await client.close();
    const text = JSON.stringify({ tools }, null, 2) + '\n';
    if (process.env.UPDATE_EXAMPLE_CATALOG === '1') writeFileSync(CATALOG, text);
    expect(readFileSync(CATALOG, 'utf8')).toBe(text);
    expect(readToolCatalog(CATALOG).tools.map(toolDigest)).toEqual(tools.map(toolDigest));
  });
});
