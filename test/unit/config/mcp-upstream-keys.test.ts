import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configErrors, FIXTURES } from './support/config-errors';
import { parseConfig } from '../../../src/config';

const GRPC_UPSTREAM = `  - name: files
    services: [tools.files.v1.Files]
    address: 127.0.0.1:7001
    spiffeId: spiffe://example.org/tools/files
`;

function withMcp(item: string): string {
  return `policies: policies\nupstreams:\n${GRPC_UPSTREAM}${item}`;
}

describe('an upstream may be an MCP server (upstreams[].mcp)', () => {
  it("https with the server's SPIFFE ID, or http to a loopback host, beside gRPC upstreams", () => {
    const config = parseConfig(
      withMcp(`  - name: notes
    mcp: { url: https://notes.tools.svc:8443/mcp }
    spiffeId: spiffe://example.org/tools/notes
  - name: local
    mcp: { url: 'http://127.0.0.9:3000/mcp' }
  - name: local6
    mcp: { url: 'http://[::1]:3000/mcp' }
  - name: localhost
    mcp: { url: 'http://localhost:3000/mcp' }
`),
      FIXTURES,
      'toolgate.yaml',
    );
    expect(config.upstreams.map((u) => u.name)).toEqual(['files']);
    expect(config.mcpUpstreams.map((u) => [u.name, u.url, u.spiffeId?.toString()])).toEqual([
      ['notes', 'https://notes.tools.svc:8443/mcp', 'spiffe://example.org/tools/notes'],
      ['local', 'http://127.0.0.9:3000/mcp', undefined],
      ['local6', 'http://[::1]:3000/mcp', undefined],
      ['localhost', 'http://localhost:3000/mcp', undefined],
    ]);
  });

  it('refuses plain http to a host that is not loopback, with the reason', () => {
    expect(configErrors(withMcp(`  - name: notes\n    mcp: { url: 'http://10.0.0.5:3000/mcp' }\n`))).toEqual([
      'toolgate.yaml:8: upstreams[1].mcp.url: invalid MCP url "http://10.0.0.5:3000/mcp": http is allowed to a loopback host only (127.0.0.0/8, [::1], localhost), not 10.0.0.5: use https with the upstream\'s spiffeId',
    ]);
    expect(configErrors(withMcp(`  - name: notes\n    mcp: { url: 'http://127.example.com/mcp' }\n`))).toHaveLength(1);
    expect(configErrors(withMcp(`  - name: notes\n    mcp: { url: 'ftp://127.0.0.1/mcp' }\n`))[0]).toContain('must be https, or http to a loopback host, not ftp');
  });

  it('refuses https without the spiffeId the gateway checks', () => {
    expect(configErrors(withMcp(`  - name: notes\n    mcp: { url: 'https://notes:8443/mcp' }\n`))).toEqual([
      expect.stringMatching(/upstreams\[1\]\.spiffeId: missing required key: an https MCP upstream is reached over mTLS/),
    ]);
  });

  it('refuses gRPC keys on an MCP upstream, and requires them of a gRPC one', () => {
    expect(configErrors(withMcp(`  - name: notes\n    mcp: { url: 'http://127.0.0.1:3000/mcp' }\n    services: [tools.notes.v1.Notes]\n    address: 127.0.0.1:7002\n`))).toEqual([
      expect.stringMatching(/upstreams\[1\]\.services: an MCP upstream \(mcp\.url\) takes no services/),
      expect.stringMatching(/upstreams\[1\]\.address: an MCP upstream \(mcp\.url\) takes no address/),
    ]);
    expect(configErrors(withMcp(`  - name: notes\n    spiffeId: spiffe://example.org/tools/notes\n`))).toEqual([
      'toolgate.yaml:7: upstreams[1].services: missing required key',
      'toolgate.yaml:7: upstreams[1].address: missing required key',
    ]);
  });

  it('names are unique across gRPC and MCP upstreams (one Tool::"<name>")', () => {
    expect(configErrors(withMcp(`  - name: files\n    mcp: { url: 'http://127.0.0.1:3000/mcp' }\n`))).toEqual([
      expect.stringMatching(/upstreams\[1\]\.name: duplicate upstream name "files" \(also upstreams\[0\]\.name\)/),
    ]);
  });

  describe('mcp.tools, the tool catalog file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-catalog-'));
    const catalog = (text: string): string => {
      const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, text);
      return file;
    };
    const withCatalog = (file: string): string => withMcp(`  - name: notes\n    mcp: { url: 'http://127.0.0.1:3000/mcp', tools: '${file}' }\n`);

    it('is read at load, relative to the config folder, with its tools and prompts', () => {
      const config = parseConfig(withCatalog('notes-tools.json'), FIXTURES, 'toolgate.yaml');
      const tools = config.mcpUpstreams[0]!.tools!;
      expect(tools.file).toBe(join(FIXTURES, 'notes-tools.json'));
      expect(tools.tools.map((t) => t.name)).toEqual(['delete_all', 'read_note']);
      expect(tools.prompts).toEqual([
        {
          name: 'summarize',
          arguments: [
            { name: 'topic', required: true },
            { name: 'tone', required: false },
          ],
        },
      ]);
      expect(parseConfig(withMcp(`  - name: notes\n    mcp: { url: 'http://127.0.0.1:3000/mcp' }\n`), FIXTURES, 'toolgate.yaml').mcpUpstreams[0]!.tools).toBeUndefined();
    });

    it('refuses a missing file, a file that is not JSON, and a catalog of the wrong shape, naming the key and each problem', () => {
      expect(configErrors(withCatalog('missing.json'))).toEqual([`toolgate.yaml:8: upstreams[1].mcp.tools: file not found: ${join(FIXTURES, 'missing.json')}`]);
      const notJson = catalog('{"tools": [');
      expect(configErrors(withCatalog(notJson))).toEqual([expect.stringMatching(new RegExp(`^toolgate.yaml:8: upstreams\\[1\\]\\.mcp\\.tools: ${notJson} is not JSON: `))]);
      expect(configErrors(withCatalog(catalog('[]')))[0]).toMatch(/is not a catalog: expected a JSON object with a "tools" array$/);
      expect(configErrors(withCatalog(catalog('{"prompts": []}')))[0]).toMatch(/: "tools" must be an array \(the tools of tools\/list\)$/);
      const bad = catalog(
        JSON.stringify({
          tools: [{ name: 'a' }, { name: 'a' }, { description: 'no name' }, 'b', { name: 'c', inputSchema: 'object' }, { name: 'admin/reset' }],
          prompts: [{ name: 'p', arguments: [{ required: true }] }, { name: 'x/y' }],
        }),
      );
      expect(configErrors(withCatalog(bad))).toEqual([
        `toolgate.yaml:8: upstreams[1].mcp.tools: ${bad}: tools[1]: duplicate name "a"; tools[2] must be an object with a non-empty string "name"; ` +
          'tools[3] must be an object with a non-empty string "name"; ' +
          'tools[5]: name "admin/reset" holds a "/": the gateway refuses its calls (its action would fall in another group); leave it out; ' +
          'tools[4].inputSchema must be an object (a JSON Schema) when present; ' +
          'prompts[1]: name "x/y" holds a "/": the gateway refuses its calls (its action would fall in another group); leave it out; ' +
          'prompts[0].arguments[0] must be an object with a string "name"',
      ]);
    });

    it('must be a string path', () => {
      expect(configErrors(withMcp(`  - name: notes\n    mcp: { url: 'http://127.0.0.1:3000/mcp', tools: 3 }\n`))[0]).toMatch(/upstreams\[1\]\.mcp\.tools: /);
    });
  });
});
