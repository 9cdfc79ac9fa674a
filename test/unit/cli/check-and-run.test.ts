import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../../src/cli/main';

const EXAMPLE = resolve(__dirname, '../../../examples/toolgate.yaml');

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), signal: new AbortController().signal });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('toolgate check and run', () => {
  it('check accepts the example config and its policies', async () => {
    const { code, out } = await cli(['check', '--config', EXAMPLE]);
    expect(code).toBe(0);
    expect(out).toMatch(/OK \(3 identity rules, 1 upstreams, 1 MCP upstreams \(2 tools pinned from catalogs\), 13 policies in set [0-9a-f]{12}\)/);
  });

  it.each(['check', 'run'])('%s exits 1 naming the bad key of a bad config', async (command) => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-cli-'));
    const file = join(dir, 'toolgate.yaml');
    writeFileSync(
      file,
      `policies: ${resolve(__dirname, '../../../policies')}\nupstreams:\n  - name: files\n    services: [tools.files.v1.Files]\n    address: 127.0.0.1:7001\n    spiffeId: spiffe://Example.org/tools/files\nlisten: 127.0.0.1:0\nbogus: 1\n`,
    );
    const { code, err } = await cli([command, '--config', file]);
    expect(code).toBe(1);
    expect(err).toContain('upstreams[0].spiffeId');
    expect(err).toContain('bogus');
  });

  it('check exits 1 naming the policy of a policy set that does not validate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-cli-'));
    const policies = join(dir, 'policies');
    mkdirSync(policies);
    writeFileSync(join(policies, 'schema.cedarschema'), 'entity Agent { spiffeId: String }; entity Tool; action "x" appliesTo { principal: Agent, resource: Tool };');
    writeFileSync(join(policies, 'p.cedar'), '@id("reads-nothing") permit (principal, action, resource) when { principal.nonexistent == 1 };');
    writeFileSync(
      join(dir, 'toolgate.yaml'),
      'policies: ./policies\nupstreams:\n  - { name: files, services: [tools.files.v1.Files], address: 127.0.0.1:7001, spiffeId: spiffe://example.org/tools/files }\n',
    );
    const { code, err } = await cli(['check', '--config', join(dir, 'toolgate.yaml')]);
    expect(code).toBe(1);
    expect(err).toContain('reads-nothing');
    expect(err).toContain('nonexistent');
  });

  it("check exits 1 naming an MCP upstream's catalog file and what is wrong in it", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-cli-'));
    writeFileSync(join(dir, 'notes-tools.json'), JSON.stringify({ tools: [{ name: 'read_note' }, { name: 'read_note' }] }));
    writeFileSync(
      join(dir, 'toolgate.yaml'),
      `policies: ${resolve(__dirname, '../../../policies')}\nupstreams:\n  - { name: notes, mcp: { url: 'http://127.0.0.1:7002/mcp', tools: ./notes-tools.json } }\n`,
    );
    const { code, err } = await cli(['check', '--config', join(dir, 'toolgate.yaml')]);
    expect(code).toBe(1);
    expect(err).toContain(`upstreams[0].mcp.tools: ${join(dir, 'notes-tools.json')}: tools[1]: duplicate name "read_note"`);
  });

  it('check exits 1 naming a signing key file that cannot sign, and never prints its content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-cli-'));
    const keyFile = join(dir, 'signing.jwk');
    // A public key: no "d", so it cannot sign.
    writeFileSync(keyFile, JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }));
    writeFileSync(
      join(dir, 'toolgate.yaml'),
      `policies: ${join(__dirname, '../../../policies')}
credentials: { signingKeyFile: ./signing.jwk }
upstreams:
  - { name: files, services: [tools.files.v1.Files], address: 127.0.0.1:7001, spiffeId: spiffe://example.org/tools/files, protos: [${join(__dirname, '../../../proto/examples/files.proto')}] }
`,
    );
    const { code, err } = await cli(['check', '--config', join(dir, 'toolgate.yaml')]);
    expect(code).toBe(1);
    expect(err).toContain(`signing key file ${keyFile}: the key has no private part`);
    expect(err).not.toContain('f83OJ3D2');
  });

  it('check exits 1 naming an OIDC JWKS file that is not a JWKS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-cli-'));
    writeFileSync(join(dir, 'jwks.json'), 'not json');
    writeFileSync(
      join(dir, 'toolgate.yaml'),
      `policies: ${join(__dirname, '../../../policies')}\nonBehalfOf: { issuer: "https://login.example", audience: users, jwksFile: ./jwks.json }\nupstreams:\n  - { name: files, services: [tools.files.v1.Files], address: 127.0.0.1:7001, spiffeId: spiffe://example.org/tools/files, protos: [${join(__dirname, '../../../proto/examples/files.proto')}] }\n`,
    );
    const { code, err } = await cli(['check', '--config', join(dir, 'toolgate.yaml')]);
    expect(code).toBe(1);
    expect(err).toContain('https://login.example');
    expect(err).toContain('jwks.json');
  });

  it('run without --config is a usage error (exit 2)', async () => {
    const { code, err } = await cli(['run']);
    expect(code).toBe(2);
    expect(err).toContain('--config is required');
  });
});
