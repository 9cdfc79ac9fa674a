import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../../src/cli/main';
import { PolicyEngine, PolicySet } from '../../../src/policy';
import { ShadowedEngine } from '../../../src/policy/shadowed-engine';
import { agent, LIST, READ, request, WRITE } from './fixtures';

const APPROVAL_POLICIES = {
  'agents.cedar': `
    @id("researchers-read")
    permit (principal in AgentGroup::"researchers", action == Action::"${READ}", resource == Tool::"files");

    @id("writes-need-approval")
    @approval("file-owners")
    @approvalTtl("5m")
    permit (principal in AgentGroup::"researchers", action == Action::"${WRITE}", resource == Tool::"files");

    @id("lists-need-two")
    @approval("auditors")
    @approvals("2")
    permit (principal in AgentGroup::"researchers", action == Action::"${LIST}", resource == Tool::"files");

    @id("ci-lists")
    permit (principal in AgentGroup::"ci", action == Action::"${LIST}", resource == Tool::"files");

    @id("ci-lists-with-approval")
    @approval("ci-owners")
    permit (principal in AgentGroup::"ci", action == Action::"${LIST}", resource == Tool::"files");

    @id("sandbox-never-writes")
    forbid (principal, action == Action::"${WRITE}", resource) when { principal has tier && principal.tier == "sandbox" };
  `,
};

describe('@approval permits: the escalate outcome', () => {
  const set = PolicySet.fromText(APPROVAL_POLICIES);
  const researcher = agent('research-bot', ['researchers']);

  it('escalates when every determining permit carries @approval, with the terms of those permits', () => {
    const engine = new PolicyEngine(set, { cacheSize: 0 });
    const write = engine.authorize(request(researcher, WRITE));
    expect(write).toMatchObject({ allow: false, policies: ['writes-need-approval'], errors: [] });
    expect(write.escalate).toEqual({ group: 'file-owners', quorum: 1, ttlSeconds: 300, policies: ['writes-need-approval'] });
    expect(engine.authorize(request(researcher, LIST)).escalate).toEqual({ group: 'auditors', quorum: 2, policies: ['lists-need-two'] });
  });

  it('allows when one determining permit has no @approval: one unconditional permit suffices', () => {
    const engine = new PolicyEngine(set, { cacheSize: 0 });
    const decision = engine.authorize(request(agent('build-7', ['ci']), LIST));
    expect(decision).toMatchObject({ allow: true, policies: ['ci-lists', 'ci-lists-with-approval'] });
    expect(decision.escalate).toBeUndefined();
    expect(engine.authorize(request(researcher, READ))).toMatchObject({ allow: true, policies: ['researchers-read'] });
  });

  it('lets a forbid beat an @approval permit: deny, never escalate', () => {
    const engine = new PolicyEngine(set, { cacheSize: 0 });
    const decision = engine.authorize(request(agent('sandboxed', ['researchers'], { tier: 'sandbox' }), WRITE));
    expect(decision).toMatchObject({ allow: false, policies: ['sandbox-never-writes'] });
    expect(decision.escalate).toBeUndefined();
  });

  it('keeps the outcome on a cached decision', () => {
    const engine = new PolicyEngine(set);
    engine.authorize(request(researcher, WRITE));
    const cached = engine.authorize(request(researcher, WRITE));
    expect(cached.cached).toBe(true);
    expect(cached.escalate?.group).toBe('file-owners');
  });

  it('reads no annotations per decision for a set without @approval', () => {
    expect(PolicySet.fromText({ 'a.cedar': `permit (principal, action, resource);` }).approvals).toBeUndefined();
    expect(set.approvals?.size).toBe(3);
  });

  it('refuses invalid annotations at load, naming the policy and the annotation', () => {
    const load = (text: string) => () => PolicySet.fromText({ 'a.cedar': text });
    expect(load(`@id("p") @approval("g") @approvalTtl("ten minutes") permit (principal, action, resource);`)).toThrow(/policy "p": @approvalTtl\("ten minutes"\)/);
    expect(load(`@id("p") @approval("g") @approvalTtl("48h") permit (principal, action, resource);`)).toThrow(/policy "p": @approvalTtl\("48h"\)/);
    expect(load(`@id("p") @approval("g") @approvals("0") permit (principal, action, resource);`)).toThrow(/policy "p": @approvals\("0"\)/);
    expect(load(`@id("p") @approval("") permit (principal, action, resource);`)).toThrow(/policy "p": @approval\(""\)/);
    expect(load(`@id("p") @approvalTtl("5m") permit (principal, action, resource);`)).toThrow(/policy "p": @approvalTtl needs @approval/);
    expect(load(`@id("f") @approval("g") forbid (principal, action, resource);`)).toThrow(/policy "f": @approval is for permit policies only/);
    try {
      load(`@id("p") @approval("g") @approvals("x") permit (principal, action, resource);`)();
    } catch (err) {
      expect(err).toMatchObject({ code: 'ERR_POLICY_LOAD' });
    }
  });

  it('reports a shadow set that would escalate where the live set allows', () => {
    const live = PolicySet.fromText({ 'a.cedar': `@id("w") permit (principal, action == Action::"${WRITE}", resource);` });
    const seen: string[] = [];
    const engine = new ShadowedEngine(live, set, { onDisagreement: (d) => seen.push(`${d.live.allow}/${d.shadow.escalate?.group}`), onError: (err) => fail(err) });
    const decision = engine.authorize(request(researcher, WRITE));
    expect(decision.allow).toBe(true);
    expect(decision.shadow).toMatchObject({ decision: 'escalate', policies: ['writes-need-approval'] });
    expect(seen).toEqual(['true/file-owners']);
  });
});

describe('toolgate policy test and explain show escalate', () => {
  const ROOT = resolve(__dirname, '../../..');
  let config: string;

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-approval-'));
    mkdirSync(join(dir, 'policies'));
    mkdirSync(join(dir, 'proto'));
    copyFileSync(join(ROOT, 'proto/examples/files.proto'), join(dir, 'proto/files.proto'));
    for (const [name, text] of Object.entries(APPROVAL_POLICIES)) writeFileSync(join(dir, 'policies', name), text);
    config = join(dir, 'toolgate.yaml');
    writeFileSync(
      config,
      `spiffe: { trustDomains: [example.org] }
policies: ./policies
identities:
  - spiffeId: spiffe://example.org/agents/research-bot
    agent: research-bot
    groups: [researchers]
upstreams:
  - name: files
    services: [tools.files.v1.Files]
    address: 127.0.0.1:7001
    spiffeId: spiffe://example.org/tools/files
`,
    );
  });

  async function cli(argv: string[]): Promise<{ code: number; out: string[] }> {
    const out: string[] = [];
    const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => out.push(l), signal: new AbortController().signal });
    return { code, out };
  }

  it('policy test takes expect: escalate, and fails an escalate expected as allow', async () => {
    const file = join(config, '..', 'cases.test.yaml');
    writeFileSync(
      file,
      `config: ${config}
cases:
  - { name: write escalates, principal: research-bot, action: ${WRITE}, expect: escalate, policies: [writes-need-approval] }
  - { name: read allows, principal: research-bot, action: ${READ}, expect: allow }
  - { name: wrongly expected allow, principal: research-bot, action: ${WRITE}, expect: allow }
`,
    );
    const { code, out } = await cli(['policy', 'test', file]);
    expect(out).toContain('✓ write escalates');
    expect(out).toContain('✓ read allows');
    expect(out.join('\n')).toMatch(/wrongly expected allow.*expected allow, got escalate/);
    expect(code).toBe(1);
  });

  it('policy explain prints ESCALATE and what approval is needed', async () => {
    const { code, out } = await cli(['policy', 'explain', '--config', config, '--principal', 'research-bot', '--action', WRITE]);
    expect(code).toBe(0);
    const lines = out.join('\n').split('\n');
    expect(lines[0]).toBe(`ESCALATE Agent::"research-bot" ${WRITE} on Tool::"files"`);
    expect(lines[2]).toBe('approval needed:      1 of group "file-owners", request valid 300 s (every determining permit has @approval)');
  });
});
