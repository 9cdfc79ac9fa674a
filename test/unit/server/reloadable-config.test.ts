import { resolve } from 'node:path';
import { parseConfig } from '../../../src/config/load-config';
import { reloadableConfig } from '../../../src/server/reloadable-config';

const FIXTURES = resolve(__dirname, '../../fixtures/config');

function config(extra = '', identities = '  - { spiffeIdPrefix: spiffe://example.org/agents/ci/, groups: [ci] }\n') {
  return parseConfig(
    `policies: policies
identities:
${identities}upstreams:
  - { name: files, services: [tools.files.v1.Files], address: 127.0.0.1:7001, spiffeId: spiffe://example.org/tools/files }
${extra}`,
    FIXTURES,
  );
}

describe('reloadableConfig: what a reload applies and what waits for a restart', () => {
  it('applies nothing when nothing changed', () => {
    expect(reloadableConfig(config(), config())).toEqual({ config: config(), applied: [], restartNeeded: [] });
  });

  it('applies identities, log level, drain timeout, shadow folder and watch settings', () => {
    const next = config(
      `logLevel: debug\ndrainTimeoutSeconds: 3\nshadowPolicies: proto\nreload: { debounceMs: 10 }\n`,
      '  - { spiffeIdPrefix: spiffe://example.org/agents/ci/, groups: [ci, builders] }\n',
    );
    const changes = reloadableConfig(config(), next);
    expect(changes.applied).toEqual(['shadowPolicies', 'identities', 'logLevel', 'drainTimeoutSeconds', 'reload']);
    expect(changes.restartNeeded).toEqual([]);
    expect(changes.config).toEqual(next);
  });

  it('keeps the running value of every key bound at start, names them, and applies the rest', () => {
    const running = config('admin: false\n');
    const next = config(`listen: 127.0.0.1:9443\nadmin: 127.0.0.1:9999\nlimits: { maxMessageBytes: 10 }\nmetadata: { allow: [x-task-id] }\nlogLevel: warn\n`);
    next.upstreams = [{ ...next.upstreams[0]!, address: '127.0.0.1:7002' }];
    const { config: applied, applied: keys, restartNeeded } = reloadableConfig(running, next);
    expect(restartNeeded).toEqual(['listen', 'admin', 'upstreams', 'metadata', 'limits']);
    expect(keys).toEqual(['logLevel']);
    expect(applied).toEqual({ ...running, logLevel: 'warn' });
    expect('admin' in applied).toBe(false); // an absent optional key stays absent
  });

  it("applies an MCP upstream's tool catalog (mcp.tools) live, while the rest of the upstream waits for a restart", () => {
    const notes = (url: string, tools = ', tools: notes-tools.json') => `  - { name: notes, mcp: { url: '${url}'${tools} } }\n`;
    const running = config(notes('http://127.0.0.1:3000/mcp', ''));
    const next = config(notes('http://127.0.0.1:3000/mcp'));
    const changes = reloadableConfig(running, next);
    expect(changes).toEqual({ config: next, applied: ['mcpUpstreams[].mcp.tools'], restartNeeded: [] });

    // Another URL needs a restart; the catalog read now is put in force on the running upstream.
    const moved = reloadableConfig(running, config(notes('http://127.0.0.1:3001/mcp')));
    expect(moved.restartNeeded).toEqual(['mcpUpstreams']);
    expect(moved.applied).toEqual(['mcpUpstreams[].mcp.tools']);
    expect(moved.config.mcpUpstreams).toEqual([{ ...running.mcpUpstreams[0], tools: next.mcpUpstreams[0]!.tools }]);
  });
});
