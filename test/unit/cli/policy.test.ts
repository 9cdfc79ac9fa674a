import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../../src/cli/main';

const ROOT = resolve(__dirname, '../../..');
const EXAMPLE = join(ROOT, 'examples/toolgate.yaml');
const SCHEMA = readFileSync(join(ROOT, 'policies/schema.cedarschema'), 'utf8');

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), signal: new AbortController().signal });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A copy of the example deployment in a temp folder: its config, and its policies plus `extra` files. */
function deployment(extra: Record<string, string> = {}, options: { schema?: boolean; protos?: boolean } = {}): { config: string; policies: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tg-policy-cli-'));
  const policies = join(dir, 'policies');
  mkdirSync(policies);
  for (const name of readdirSync(join(ROOT, 'policies'))) {
    if (name.endsWith('.cedar') || (name.endsWith('.cedarschema') && options.schema !== false)) copyFileSync(join(ROOT, 'policies', name), join(policies, name));
  }
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(policies, name), text);
  const protos = options.protos === false ? '' : `\n    protos: [${join(ROOT, 'proto/examples/files.proto')}]`;
  const config = join(dir, 'toolgate.yaml');
  writeFileSync(
    config,
    readFileSync(EXAMPLE, 'utf8')
      .replace('policies: ../policies', 'policies: ./policies')
      .replace('tools: notes-tools.json', `tools: ${join(ROOT, 'examples/notes-tools.json')}`)
      .replace(/\n    protos: .*/, protos),
  );
  return { config, policies };
}

describe('toolgate policy', () => {
  it('lists its subcommands, and is listed by toolgate --help', async () => {
    expect((await cli(['--help'])).out).toMatch(/\n {2}policy +validate, test and explain Cedar policies; generate their schema\n/);
    const help = await cli(['policy', '--help']);
    expect(help.code).toBe(0);
    for (const sub of ['validate', 'schema', 'test', 'explain']) expect(help.out).toMatch(new RegExp(`\\n {2}${sub} +\\S`));
    expect(await cli(['policy'])).toMatchObject({ code: 2, err: expect.stringContaining('a subcommand is required') });
    expect(await cli(['policy', 'lint'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown subcommand "lint"') });
  });
});

describe('toolgate policy schema', () => {
  it('writes the generated schema to stdout, or to --out', async () => {
    const stdout = await cli(['policy', 'schema', '--config', EXAMPLE]);
    expect(stdout).toEqual({ code: 0, out: SCHEMA.trimEnd(), err: '' });
    const out = join(mkdtempSync(join(tmpdir(), 'tg-schema-out-')), 'schema.cedarschema');
    expect(await cli(['policy', 'schema', '--config', EXAMPLE, '--out', out])).toEqual({ code: 0, out: `wrote ${out}`, err: '' });
    expect(readFileSync(out, 'utf8')).toBe(SCHEMA);
  });

  it('exits 1 naming an upstream without protos, and 2 without --config', async () => {
    const { config } = deployment({}, { protos: false });
    const { code, err } = await cli(['policy', 'schema', '--config', config]);
    expect(code).toBe(1);
    expect(err).toContain('upstreams[0] ("files") has no protos');
    expect(await cli(['policy', 'schema'])).toMatchObject({ code: 2, err: expect.stringContaining('--config is required') });
  });
});

describe('toolgate policy validate', () => {
  it('accepts the example policies against their schema', async () => {
    const { code, out } = await cli(['policy', 'validate', '--config', EXAMPLE]);
    expect(code).toBe(0);
    expect(out).toMatch(/^\S+policies: 13 policies valid against the schema \(set [0-9a-f]{12}\)$/);
  });

  it('refuses a policy that reads an attribute no request carries, naming the policy and the attribute', async () => {
    const bad = '@id("reads-nothing")\npermit (principal, action == Action::"tools.files.v1.Files/ReadFile", resource)\nwhen { context.request.nonexistent == "x" };\n';
    const typo = '@id("typo-group")\npermit (principal in AgentGroup::"reserchers", action, resource);\n';
    const { config, policies } = deployment({ 'bad.cedar': bad, 'typo.cedar': typo });
    const { code, out } = await cli(['policy', 'validate', '--config', config]);
    expect(code).toBe(1);
    // Cedar reports the problems of a set in no fixed order.
    const all = out.split('\n');
    const lines = [...all.slice(0, -1).sort(), ...all.slice(-1)];
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^error: policy "reads-nothing" at bad\.cedar:3:8: .*`request\.nonexistent`.*not found/);
    expect(lines[1]).toMatch(/^error: policy "typo-group" at typo\.cedar:2:\d+: .*"reserchers"/);
    expect(lines[2]).toBe(`${policies}: 2 problems`);
  });

  it('prints parse errors with their file and line', async () => {
    const { config } = deployment({ 'broken.cedar': 'permit (principal, action, resource)\nwhen { context.peer.authn == };\n' });
    const { code, out } = await cli(['policy', 'validate', '--config', config]);
    expect(code).toBe(1);
    expect(out).toMatch(/^error: broken\.cedar:2:\d+: /);
  });

  it('warns when the schema is not the one generated from the config, or there is none', async () => {
    const stale = deployment({ 'schema.cedarschema': SCHEMA.replace('maxBytes: Long,', 'maxBytes: Long,\n    offset?: Long,') });
    const warned = await cli(['policy', 'validate', '--config', stale.config]);
    expect(warned.code).toBe(0);
    expect(warned.out).toContain(`warning: the schema in ${stale.policies} is not the one generated from ${stale.config}; regenerate it: toolgate policy schema`);
    // Comments and layout do not count.
    const relaid = deployment({ 'schema.cedarschema': `// edited\n${SCHEMA.replace(/\n\n/g, '\n')}` });
    expect((await cli(['policy', 'validate', '--config', relaid.config])).out).not.toContain('warning');
    const none = deployment({}, { schema: false });
    expect((await cli(['policy', 'validate', '--config', none.config])).out).toContain(`warning: ${none.policies} has no *.cedarschema, so policies are not validated`);
  });
});

describe('toolgate policy explain', () => {
  const base = ['policy', 'explain', '--config', EXAMPLE, '--action', 'tools.files.v1.Files/ReadFile'];

  it('shows the decision, the determining policies, errors and the exact Cedar input', async () => {
    const { code, out } = await cli([...base, '--principal', 'research-bot', '--request', '{"path":"/secrets/key","maxBytes":0}', '--metadata', 'x-task-id=t-1']);
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines.slice(0, 6)).toEqual([
      'DENY Agent::"research-bot" tools.files.v1.Files/ReadFile on Tool::"files"',
      'determining policies: no-reading-secrets',
      'satisfied policies:   no-reading-secrets',
      'errors: none',
      expect.stringMatching(/^policy set: [0-9a-f]{12}$/),
      'Cedar input:',
    ]);
    const input = JSON.parse(lines.slice(6).join('\n'));
    // Exactly what Cedar gets: what no policy reads (the peer's SPIFFE ID, maxBytes) is left out.
    expect(input.context).toEqual({
      peer: { authn: 'x509-svid' },
      metadata: { 'x-task-id': 't-1' },
      request: { path: '/secrets/key' },
    });
    expect(input.entities[0]).toEqual({ uid: { type: 'Agent', id: 'research-bot' }, attrs: { tier: 'standard' }, parents: [{ type: 'AgentGroup', id: 'researchers' }] });
  });

  it('explains an MCP tool call, its resource the upstream the action names', async () => {
    const mcp = ['policy', 'explain', '--config', EXAMPLE, '--principal', 'research-bot', '--action', 'mcp:notes/tools/call/read_note'];
    const { code, out } = await cli([...mcp, '--request', '{"path":"/secrets/api-key"}']);
    expect(code).toBe(0);
    expect(out.split('\n').slice(0, 2)).toEqual(['DENY Agent::"research-bot" mcp:notes/tools/call/read_note on Tool::"notes"', 'determining policies: no-reading-secret-notes']);
    expect((await cli([...mcp, '--request', '{"path":"/notes/q3.md"}'])).out).toMatch(/^ALLOW .*\ndetermining policies: researchers-read-notes\n/);
  });

  it('shows evaluation errors, and the whole explanation with --json', async () => {
    const { out } = await cli([...base, '--principal', 'build-7', '--authn', 'jwt-svid', '--json']);
    const explanation = JSON.parse(out);
    expect(explanation).toMatchObject({ allow: false, policies: ['no-reading-secrets'], cedarDecision: 'deny', satisfied: [] });
    expect(explanation.errors).toEqual(['policy "no-reading-secrets": record does not have the attribute `request`']);
    expect(explanation.input.context.peer.authn).toBe('jwt-svid');
  });

  it('takes a SPIFFE ID or an explicit principal', async () => {
    const workload = await cli([...base, '--principal', 'spiffe://example.org/tools/indexer', '--request', '{"path":"/a","maxBytes":0}']);
    expect(workload.out.split('\n')[0]).toBe('DENY Workload::"spiffe://example.org/tools/indexer" tools.files.v1.Files/ReadFile on Tool::"files"');
    const explicit = JSON.stringify({ type: 'Agent', id: 'x', groups: ['researchers'], attrs: { spiffeId: 'spiffe://example.org/x', trustDomain: 'example.org' } });
    const allowed = await cli([...base, '--principal', explicit, '--request', '{"path":"/a","maxBytes":0}']);
    expect(allowed.out.split('\n').slice(0, 2)).toEqual(['ALLOW Agent::"x" tools.files.v1.Files/ReadFile on Tool::"files"', 'determining policies: researchers-read-files']);
  });

  it('refuses bad arguments with exit 2, and a request the gateway could not make with exit 1', async () => {
    expect(await cli(['policy', 'explain', '--config', EXAMPLE, '--action', 'a/b'])).toMatchObject({ code: 2, err: expect.stringContaining('--principal is required') });
    expect(await cli([...base, '--principal', 'research-bot', '--metadata', 'novalue'])).toMatchObject({ code: 2, err: expect.stringContaining('expected NAME=VALUE') });
    expect(await cli([...base, '--principal', 'research-bot', '--request', '{"path":'])).toMatchObject({ code: 2, err: expect.stringContaining('--request is not JSON') });
    expect(await cli([...base, '--principal', 'research-bot', '--request', '{"ratio":0.5}'])).toMatchObject({
      code: 1,
      err: expect.stringContaining('--request.ratio: 0.5 is not a Cedar Long'),
    });
    expect(await cli([...base, '--principal', 'research-bot', '--metadata', 'cookie=a'])).toMatchObject({
      code: 1,
      err: expect.stringContaining("metadata cookie not in the config's metadata.allow"),
    });
    expect(await cli([...base, '--principal', 'no body'])).toMatchObject({ code: 1, err: expect.stringContaining('no identity rule maps a SPIFFE ID to agent "no body"') });
    const typo = ['policy', 'explain', '--config', EXAMPLE, '--principal', 'research-bot', '--action', 'tools.files.v1.Files/Readfile', '--resource', 'files'];
    expect(await cli(typo)).toMatchObject({
      code: 1,
      err: 'toolgate policy: unknown action "tools.files.v1.Files/Readfile": service "tools.files.v1.Files" has no such method (did you mean "tools.files.v1.Files/ReadFile"?)',
    });
  });
});
