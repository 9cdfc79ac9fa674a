import { PolicyEngine, PolicySet, type Decision } from '../../../src/policy';
import { agent, LIST, READ, request, SYNC, workload, WRITE } from './fixtures';

/** Allow/deny, determining policies and errors: what a decision log records. */
function outcome(d: Decision): { allow: boolean; policies: readonly string[]; errors: readonly string[] } {
  return { allow: d.allow, policies: d.policies, errors: d.errors };
}

const FILES = {
  'agents.cedar': `
    @id("researchers-read")
    permit (principal in AgentGroup::"researchers", action in [Action::"${READ}", Action::"${LIST}"], resource == Tool::"files");

    @id("ci-all-files")
    permit (principal in AgentGroup::"ci", action in Action::"tools.files.v1.Files", resource == Tool::"files");

    @id("team-top-level")
    permit (principal, action == Action::"${WRITE}", resource) when { principal has team && principal.team == "platform" };

    @id("team-nested")
    permit (principal, action == Action::"${SYNC}", resource) when { principal.attributes has team && principal.attributes.team == "platform" };

    @id("workload-list")
    permit (principal is Workload, action == Action::"${LIST}", resource) when { principal.path like "/tools/*" && context.peer.authn == "x509-svid" };

    @id("task-sync")
    permit (principal in AgentGroup::"researchers", action == Action::"${SYNC}", resource) when { context.metadata has "x-task-id" && context.metadata["x-task-id"] like "task-*" };
  `,
  'guardrails.cedar': `
    @id("no-sandbox-writes")
    forbid (principal, action in [Action::"${WRITE}", Action::"${SYNC}"], resource) when { principal has tier && principal.tier == "sandbox" };
  `,
};

describe('PolicyEngine decisions', () => {
  const engine = new PolicyEngine(PolicySet.fromText(FILES), { cacheSize: 0 });
  const researcher = agent('research-bot', ['researchers'], { team: 'research' });
  const ci = agent('build-7', ['ci']);

  it('allows by group membership and names the permit', () => {
    expect(outcome(engine.authorize(request(researcher, READ)))).toEqual({ allow: true, policies: ['researchers-read'], errors: [] });
  });

  it('denies by default when no permit applies, naming no policy', () => {
    expect(outcome(engine.authorize(request(researcher, WRITE)))).toEqual({ allow: false, policies: [], errors: [] });
    expect(outcome(engine.authorize(request(researcher, READ, { resource: 'other' })))).toEqual({ allow: false, policies: [], errors: [] });
  });

  it('lets a forbid override a permit, and names the forbid', () => {
    const sandboxed = agent('ci-sandbox', ['ci'], { tier: 'sandbox' });
    expect(outcome(engine.authorize(request(sandboxed, READ)))).toEqual({ allow: true, policies: ['ci-all-files'], errors: [] });
    expect(outcome(engine.authorize(request(sandboxed, WRITE)))).toEqual({ allow: false, policies: ['no-sandbox-writes'], errors: [] });
  });

  it('places each method in its service: `action in Action::"pkg.Service"` holds without a schema', () => {
    for (const action of [READ, LIST, WRITE, SYNC]) {
      expect(outcome(engine.authorize(request(ci, action)))).toEqual({ allow: true, policies: ['ci-all-files'], errors: [] });
    }
    expect(engine.authorize(request(ci, 'tools.other.v1.Other/ReadFile')).allow).toBe(false);
  });

  it('decides for a Workload principal by its path, and with context.peer', () => {
    const tool = workload('/tools/indexer');
    expect(outcome(engine.authorize(request(tool, LIST)))).toEqual({ allow: true, policies: ['workload-list'], errors: [] });
    expect(engine.authorize(request(tool, LIST, { authn: 'jwt-svid' })).allow).toBe(false);
    expect(engine.authorize(request(workload('/other/x'), LIST)).allow).toBe(false);
    expect(engine.authorize(request(tool, READ)).allow).toBe(false);
  });

  it('exposes mapping attributes at top level and as principal.attributes', () => {
    const platform = agent('deployer', [], { team: 'platform' });
    expect(outcome(engine.authorize(request(platform, WRITE)))).toEqual({ allow: true, policies: ['team-top-level'], errors: [] });
    expect(outcome(engine.authorize(request(platform, SYNC)))).toEqual({ allow: true, policies: ['team-nested'], errors: [] });
    expect(engine.authorize(request(agent('other', [], { team: 'research' }), SYNC)).allow).toBe(false);
  });

  it('reads allow-listed headers from context.metadata', () => {
    expect(outcome(engine.authorize(request(researcher, SYNC, { metadata: { 'x-task-id': 'task-42' } })))).toEqual({
      allow: true,
      policies: ['task-sync'],
      errors: [],
    });
    expect(engine.authorize(request(researcher, SYNC, { metadata: { 'x-task-id': 'other' } })).allow).toBe(false);
    expect(engine.authorize(request(researcher, SYNC)).allow).toBe(false);
  });

  it('denies a malformed action without asking Cedar', () => {
    expect(outcome(engine.authorize(request(ci, 'no-method')))).toEqual({
      allow: false,
      policies: [],
      errors: ['malformed action "no-method": expected "<package.Service>/<Method>"'],
    });
  });
});

describe('PolicyEngine fails closed', () => {
  it('denies when a policy errors, even though a permit is satisfied (Cedar alone would allow)', () => {
    const set = PolicySet.fromText({
      'p.cedar': '@id("open")\npermit (principal, action, resource);\n@id("needs-ticket")\nforbid (principal, action, resource) when { context.ticket != "ok" };',
    });
    const decision = new PolicyEngine(set).authorize(request(agent('a'), READ));
    expect(outcome(decision)).toEqual({
      allow: false,
      policies: ['needs-ticket'],
      errors: ['policy "needs-ticket": record does not have the attribute `ticket`'],
    });
    const explained = new PolicyEngine(set).explain(request(agent('a'), READ));
    expect([explained.allow, explained.cedarDecision, explained.satisfied]).toEqual([false, 'allow', ['open']]);
  });

  it('denies when Cedar cannot take the request (a value that is not a Cedar value)', () => {
    const set = PolicySet.fromText({ 'p.cedar': 'permit (principal, action, resource) when { context.n == 1 };' });
    const decision = new PolicyEngine(set).authorize({ principal: agent('a'), action: READ, resource: 'files', context: { n: 1.5 } });
    expect(decision.allow).toBe(false);
    expect(decision.errors).toHaveLength(1);
    expect(decision.errors[0]).toMatch(/^cedar: /);
  });

  it('denies with the error when the request cannot be marshalled, and does not cache it', () => {
    const set = PolicySet.fromText({ 'p.cedar': 'permit (principal, action, resource) when { context has self };' });
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    const req = { principal: agent('a'), action: READ, resource: 'files', context: circular as never };
    for (const engine of [new PolicyEngine(set), new PolicyEngine(set, { cacheSize: 0 })]) {
      const decision = engine.authorize(req);
      expect(decision.allow).toBe(false);
      expect(decision.errors).toHaveLength(1);
      // Pruning the context recurses into it and overflows first; else building the key fails, or cedar-wasm's own JSON.stringify.
      expect(decision.errors[0]).toMatch(/^(authorization failed: (Converting circular structure|Maximum call stack size exceeded)|cedar-wasm threw: )/);
      expect(engine.authorize(req).cached).toBe(false);
      // And the wasm instance is still usable afterwards.
      expect(engine.authorize({ ...req, context: { self: 1 } }).allow).toBe(true);
    }
  });
});

describe('PolicyEngine decision cache', () => {
  const set = PolicySet.fromText(FILES);
  const researcher = agent('research-bot', ['researchers']);

  it('returns the same decision with cached=true on an exact repeat', () => {
    const engine = new PolicyEngine(set);
    const first = engine.authorize(request(researcher, READ));
    const second = engine.authorize(request(researcher, READ));
    expect([first.cached, second.cached]).toEqual([false, true]);
    expect(outcome(second)).toEqual(outcome(first));
    expect(second.policies).toEqual(['researchers-read']);
  });

  it('misses on any difference that policies can see: principal content, action, resource, context', () => {
    const engine = new PolicyEngine(set);
    engine.authorize(request(researcher, SYNC, { metadata: { 'x-task-id': 'task-1' } }));
    const other = engine.authorize(request(researcher, SYNC, { metadata: { 'x-task-id': 'nope' } }));
    expect([other.cached, other.allow]).toEqual([false, false]);
    // A different object with the same content may share the entry: same Cedar input.
    const twin = agent('research-bot', ['researchers']);
    expect(engine.authorize(request(twin, SYNC, { metadata: { 'x-task-id': 'nope' } })).cached).toBe(true);
    const regrouped = agent('research-bot', []);
    expect(outcome(engine.authorize(request(regrouped, SYNC, { metadata: { 'x-task-id': 'nope' } })))).toEqual({ allow: false, policies: [], errors: [] });
    engine.authorize(request(researcher, READ));
    expect(engine.authorize(request(researcher, LIST)).cached).toBe(false);
    expect(engine.authorize(request(researcher, READ, { resource: 'other' })).cached).toBe(false);
  });

  it('bounds the memory its keys take, not only their number: large read arguments evict sooner than small ones', () => {
    // The task id is read by a policy, so it is in the key: ~3000 characters make a ~6 KB entry.
    const big = (i: number) => request(researcher, SYNC, { metadata: { 'x-task-id': `task-${i}-${'x'.repeat(3000)}` } });
    const small = (i: number) => request(researcher, SYNC, { metadata: { 'x-task-id': `task-${i}` } });
    const budget = 20_000; // room for three big entries, and for many small ones
    const engine = new PolicyEngine(set, { cacheBytes: budget });
    for (let i = 0; i < 4; i++) engine.authorize(big(i));
    expect([0, 3].map((i) => engine.authorize(big(i)).cached)).toEqual([false, true]);
    for (let i = 0; i < 20; i++) engine.authorize(small(i));
    expect(engine.authorize(small(0)).cached).toBe(true);
    // The default bound (8 MiB) holds far fewer than 10 000 entries of ~4 KB keys.
    const bounded = new PolicyEngine(set);
    const huge = (i: number) => request(researcher, SYNC, { metadata: { 'x-task-id': `task-${i}-${'y'.repeat(3600)}` } });
    for (let i = 0; i < 1500; i++) bounded.authorize(huge(i));
    expect([bounded.authorize(huge(0)).cached, bounded.authorize(huge(1499)).cached]).toEqual([false, true]);
  });

  it('hits across values no policy reads (pruned before the key is made)', () => {
    const engine = new PolicyEngine(set);
    engine.authorize(request(researcher, READ, { metadata: { 'x-request-id': '1' } }));
    // `metadata` is read by a policy, but not its `x-request-id`: pruned inside too, so a hit.
    expect(engine.authorize(request(researcher, READ, { metadata: { 'x-request-id': '2' } })).cached).toBe(true);
    // A header a policy does read is part of the key.
    expect(engine.authorize(request(researcher, READ, { metadata: { 'x-task-id': 'a' } })).cached).toBe(false);
    // An unread top-level key is left out as well: the same input as the first call's.
    const more = engine.authorize({ ...request(researcher, READ), context: { ...request(researcher, READ).context, unread: 'y' } });
    expect([more.cached, more.allow]).toEqual([true, true]);
  });

  it('is per engine: a new engine, or a new set, starts empty', () => {
    const engine = new PolicyEngine(set);
    engine.authorize(request(researcher, READ));
    expect(engine.authorize(request(researcher, READ)).cached).toBe(true);
    expect(new PolicyEngine(set).authorize(request(researcher, READ)).cached).toBe(false);
    const stricter = PolicySet.fromText({ ...FILES, 'lockdown.cedar': '@id("lockdown")\nforbid (principal, action, resource);' });
    expect(outcome(new PolicyEngine(stricter).authorize(request(researcher, READ)))).toEqual({ allow: false, policies: ['lockdown'], errors: [] });
  });

  it('can be turned off, and stays within its capacity (least recently used evicted)', () => {
    const off = new PolicyEngine(set, { cacheSize: 0 });
    off.authorize(request(researcher, READ));
    expect(off.authorize(request(researcher, READ)).cached).toBe(false);
    const small = new PolicyEngine(set, { cacheSize: 2 });
    small.authorize(request(researcher, READ));
    small.authorize(request(researcher, LIST));
    small.authorize(request(researcher, READ)); // READ is now the most recent
    small.authorize(request(researcher, WRITE)); // evicts LIST
    expect(small.authorize(request(researcher, READ)).cached).toBe(true);
    expect(small.authorize(request(researcher, LIST)).cached).toBe(false);
  });

  it('times each decision with the clock it is given', () => {
    let now = 1000;
    const engine = new PolicyEngine(set, { now: () => (now += 0.25) });
    expect(engine.authorize(request(researcher, READ)).evaluationMicros).toBe(250);
  });
});

describe('PolicyEngine.explain', () => {
  it('shows the Cedar input as sent, without attributes no policy reads', () => {
    const set = PolicySet.fromText({ 'p.cedar': '@id("tier")\npermit (principal, action, resource) when { principal.tier == "gold" && context.peer.authn == "x509-svid" };' });
    const principal = agent('a', ['g'], { tier: 'gold', team: 'x' });
    const explained = new PolicyEngine(set).explain({ ...request(principal, READ), context: { ...request(principal, READ).context, unread: 1 } });
    expect(explained.allow).toBe(true);
    expect(explained.cached).toBe(false);
    expect(explained.policySet).toBe(set.hash);
    expect(explained.input?.entities).toEqual([
      { uid: { type: 'Agent', id: 'a' }, attrs: { tier: 'gold' }, parents: [{ type: 'AgentGroup', id: 'g' }] },
      { uid: { type: 'Action', id: READ }, attrs: {}, parents: [{ type: 'Action', id: 'tools.files.v1.Files' }] },
    ]);
    expect(Object.keys(explained.input?.context ?? {})).toEqual(['peer']);
  });
});
