import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../../src/cli/main';

const ROOT = resolve(__dirname, '../../..');
const EXAMPLE = join(ROOT, 'examples/toolgate.yaml');

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), signal: new AbortController().signal });
  return { code, out, err: err.join('\n') };
}

function testFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tg-policy-test-')), 'cases.test.yaml');
  writeFileSync(file, text);
  return file;
}

const READ = 'tools.files.v1.Files/ReadFile';

describe('toolgate policy test', () => {
  it("passes every case of the example policies' own test file (policies/example.test.yaml)", async () => {
    const { code, out, err } = await cli(['policy', 'test', join(ROOT, 'policies/example.test.yaml')]);
    expect(err).toBe('');
    expect(out.filter((line) => !line.startsWith('✓ '))).toEqual([`${out.length - 1} passed, 0 failed`]);
    expect(out.length).toBeGreaterThan(10);
    expect(code).toBe(0);
  });

  it('reports each failing case with what it expected and what it got, and exits 1', async () => {
    const file = testFile(`config: ${EXAMPLE}
cases:
  - name: passes
    principal: research-bot
    action: ${READ}
    request: { path: /reports/q3.md, maxBytes: 0 }
    expect: allow
  - name: wrong decision
    principal: research-bot
    action: ${READ}
    request: { path: /secrets/k, maxBytes: 0 }
    expect: allow
  - name: wrong policies
    principal: build-7
    action: ${READ}
    request: { path: /reports/q3.md, maxBytes: 0 }
    expect: allow
    policies: [researchers-read-files]
  - name: a deny that only an error made
    principal: research-bot
    action: ${READ}
    expect: deny
  - name: a header the gateway would drop
    principal: research-bot
    action: ${READ}
    metadata: { x-other: a }
    request: { path: /a, maxBytes: 0 }
    expect: deny
`);
    const { code, out } = await cli(['policy', 'test', file]);
    expect(out).toEqual([
      '✓ passes',
      '✗ wrong decision: expected allow, got deny (policies: no-reading-secrets)',
      '✗ wrong policies: expected allow by policies researchers-read-files, got allow by ci-uses-files',
      '✗ a deny that only an error made: expected deny, got deny with errors: policy "no-reading-secrets": record does not have the attribute `request`',
      "✗ a header the gateway would drop: cannot build the request: metadata x-other not in the config's metadata.allow: the gateway never passes it to policies",
      '1 passed, 4 failed',
    ]);
    expect(code).toBe(1);
  });

  it('resolves agent names and SPIFFE IDs through the identity rules, as the gateway does', async () => {
    const file = testFile(`cases:
  - name: exact rule
    principal: research-bot
    action: ${READ}
    request: { path: /a, maxBytes: 0 }
    context: { peer: { spiffeId: spiffe://example.org/agents/research-bot, trustDomain: example.org, authn: x509-svid } }
    expect: allow
    policies: [researchers-read-files]
  - name: prefix rule, by name
    principal: build-7
    action: ${READ}
    request: { path: /a, maxBytes: 0 }
    expect: allow
    policies: [ci-uses-files]
  - name: unmapped SPIFFE ID is a Workload
    principal: spiffe://example.org/tools/indexer
    action: tools.files.v1.Files/WriteFile
    request: { path: /a, data: "" }
    context: { stream: { index: 0 } }
    expect: deny
    policies: [workloads-never-write]
  - name: foreign trust domain
    principal: spiffe://evil.example/agents/research-bot
    action: ${READ}
    expect: deny
  - name: unknown service
    principal: research-bot
    action: tools.mail.v1.Mail/Send
    expect: deny
`);
    const { out } = await cli(['policy', 'test', file, '--config', EXAMPLE]);
    expect(out).toEqual([
      '✓ exact rule',
      '✓ prefix rule, by name',
      '✓ unmapped SPIFFE ID is a Workload',
      expect.stringMatching(/^✗ foreign trust domain: cannot build the request: .*trust domain "evil\.example", which is not accepted/),
      '✗ unknown service: unknown action "tools.mail.v1.Mail/Send": no upstream routes service "tools.mail.v1.Mail"',
      '3 passed, 2 failed',
    ]);
  });

  it('reports a case naming an action the gateway never decides, with a did-you-mean, and exits 1', async () => {
    const file = testFile(`config: ${EXAMPLE}
cases:
  - name: a typo in the method
    principal: research-bot
    action: tools.files.v1.Files/ReadFiel
    request: { path: /secrets/k, maxBytes: 0 }
    expect: deny
  - name: a tool that is not configured
    principal: research-bot
    action: tools.mail.v1.Mail/Send
    resource: files
    expect: deny
  - name: a typo in the gateway's own action
    principal: research-bot
    action: toolgate.v1.Tasks/BeginTsk
    resource: toolgate
    expect: deny
  - name: ending a task
    principal: research-bot
    action: toolgate.v1.Tasks/EndTask
    resource: toolgate
    expect: allow
  - name: known
    principal: research-bot
    action: tools.files.v1.Files/ListDir
    request: { path: /reports }
    expect: allow
  - name: an MCP tool not in the catalog
    principal: research-bot
    action: mcp:notes/tools/call/read_not
    request: { path: /a }
    expect: deny
  - name: an MCP action group, never asked about
    principal: research-bot
    action: mcp:notes/tools/call
    expect: deny
  - name: an MCP upstream that is not configured
    principal: research-bot
    action: mcp:mail/tools/call/send
    resource: notes
    expect: deny
  - name: a known MCP method
    principal: research-bot
    action: mcp:notes/tools/list
    expect: allow
`);
    const { code, out } = await cli(['policy', 'test', file]);
    expect(out).toEqual([
      '✗ a typo in the method: unknown action "tools.files.v1.Files/ReadFiel": service "tools.files.v1.Files" has no such method (did you mean "tools.files.v1.Files/ReadFile"?)',
      '✗ a tool that is not configured: unknown action "tools.mail.v1.Mail/Send": no upstream routes service "tools.mail.v1.Mail"',
      '✗ a typo in the gateway\'s own action: unknown action "toolgate.v1.Tasks/BeginTsk": service "toolgate.v1.Tasks" has no such method (did you mean "toolgate.v1.Tasks/BeginTask"?)',
      '✗ ending a task: action "toolgate.v1.Tasks/EndTask" is never decided by policy: a caller may always end or read its own tasks',
      '✓ known',
      '✗ an MCP tool not in the catalog: unknown action "mcp:notes/tools/call/read_not": MCP upstream "notes" has no such action (its catalog, mcp.tools, lists its tools and prompts) (did you mean "mcp:notes/tools/call/read_note"?)',
      '✗ an MCP action group, never asked about: action "mcp:notes/tools/call" is an action group, never asked about itself: a request names one of its members, such as "mcp:notes/tools/call/delete_all"',
      '✗ an MCP upstream that is not configured: unknown action "mcp:mail/tools/call/send": no MCP upstream is named "mail"',
      '✓ a known MCP method',
      '2 passed, 7 failed',
    ]);
    expect(code).toBe(1);
  });

  it("knows a reflected upstream's methods from the policy folder's schema, and takes them on trust without one", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-policy-test-'));
    const config = join(dir, 'toolgate.yaml');
    writeFileSync(
      config,
      `spiffe: { trustDomains: [example.org] }
policies: ./policies
identities: [{ spiffeId: spiffe://example.org/agents/research-bot, agent: research-bot, groups: [researchers] }]
upstreams: [{ name: files, services: [tools.files.v1.Files], address: 127.0.0.1:7001, spiffeId: spiffe://example.org/tools/files, reflection: true }]
`,
    );
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'policies', 'none.cedar'), '');
    const file = testFile(`cases:
  - { name: a method no proto is at hand for, principal: research-bot, action: tools.files.v1.Files/ReadFiel, expect: deny }
`);
    expect((await cli(['policy', 'test', file, '--config', config])).out).toEqual(['✓ a method no proto is at hand for', '1 passed, 0 failed']);
    copyFileSync(join(ROOT, 'policies/schema.cedarschema'), join(dir, 'policies', 'schema.cedarschema'));
    const { code, out } = await cli(['policy', 'test', file, '--config', config]);
    expect(out[0]).toBe(
      '✗ a method no proto is at hand for: unknown action "tools.files.v1.Files/ReadFiel": service "tools.files.v1.Files" has no such method (did you mean "tools.files.v1.Files/ReadFile"?)',
    );
    expect(code).toBe(1);
  });

  it('refuses a malformed test file, naming each problem by line', async () => {
    const file = testFile(`config: ${EXAMPLE}
cases:
  - name: typo
    principal: { type: Robot, id: r }
    action: ReadFile
    expected: allow
    request: { ratio: 0.5, note: null }
  - 3
`);
    const { code, out, err } = await cli(['policy', 'test', file]);
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err.split('\n')).toEqual([
      `toolgate policy: ${file} cannot be used:`,
      `  ${file}:3: cases[0].expect: must be allow, deny or escalate`,
      `  ${file}:4: cases[0].principal: must be an agent name, a SPIFFE ID, or {type: Agent|Workload, id, attrs?, groups?}`,
      `  ${file}:5: cases[0].action: must be "<package.Service>/<Method>" or "mcp:<upstream>/<method>[/<name>]"`,
      `  ${file}:6: cases[0].expected: unknown key (expected name, principal, action, resource, authn, metadata, request, context, expect, policies)`,
      `  ${file}:7: cases[0]: request.ratio: 0.5 is not a Cedar Long (an integer within ±(2^53 - 1))`,
      `  ${file}:8: cases[1]: must be a mapping (name, principal, action, expect, ...)`,
    ]);
  });

  it('needs one FILE and a config, from --config or the file', async () => {
    const file = testFile(`cases:\n  - { name: x, principal: research-bot, action: ${READ}, expect: deny }\n`);
    expect(await cli(['policy', 'test', file])).toMatchObject({ code: 2, err: expect.stringContaining('no config: give --config FILE') });
    expect(await cli(['policy', 'test'])).toMatchObject({ code: 2, err: expect.stringContaining('expected one test FILE, got 0') });
    expect(await cli(['policy', 'test', join(tmpdir(), 'no-such.test.yaml'), '--config', EXAMPLE])).toMatchObject({ code: 1, err: expect.stringContaining('file not found') });
  });
});
