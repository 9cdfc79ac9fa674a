import { PolicyEngine, PolicySet, type AuthorizationRequest, type CedarValue } from '../../../src/policy';
// After src/policy, so that the V8 guard is in force before cedar-wasm loads.
import { isAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { agent, LIST, READ, request, workload } from './fixtures';

const usageOf = (text: string) => PolicySet.fromText({ 'p.cedar': text }).attributeUsage;

describe('analyzeAttributeUsage', () => {
  it('collects every name read with `.`, `[...]` and `has`, through every expression form', () => {
    const usage = usageOf(`
      permit (principal, action, resource) when {
        principal.a == 1 && principal["b"] == 2 && context has c.d && !(resource.e) &&
        (if context.f then context.g else -context.h) == 1 && context.i like "x*" &&
        context.j is Agent in context.k && [context.l].contains({ r: context.m }) &&
        ip(context.n).isInRange(ip("10.0.0.0/8")) && context.o.isEmpty() && context.p.getTag("t") == 1
      };`);
    expect([...(usage.names ?? [])].sort()).toEqual('abcdefghijklmnop'.split(''));
    expect(usage.wholeContext).toBe(false);
  });

  it('keeps the context whole when `context` itself is used as a value', () => {
    expect(usageOf('permit (principal, action, resource) when { context == { a: 1 } };').wholeContext).toBe(true);
    expect(usageOf('permit (principal, action, resource) when { [context].contains(context) };').wholeContext).toBe(true);
    expect(usageOf('permit (principal, action, resource) when { context.a == 1 };').wholeContext).toBe(false);
  });

  it('knows which names some policy uses as a whole value, so that records under them are sent whole', () => {
    const usage = usageOf(`
      permit (principal, action, resource) when {
        context.task.callsUsed < 3 && context.request == { path: "/a" } && [context.peer].contains(context.peer) &&
        context.task has intent && context.task.tools.contains("x")
      };`);
    expect([...usage.wholeValues].sort()).toEqual(['callsUsed', 'peer', 'request', 'tools']);
  });

  it('reads nothing from a set of scope-only policies', () => {
    const usage = usageOf('permit (principal in AgentGroup::"g", action, resource == Tool::"t");');
    expect(usage.names?.size).toBe(0);
  });
});

/**
 * Differential check of the pruning: Cedar's own `isAuthorized` with every attribute and
 * context key must decide exactly as the engine, which leaves out what no policy reads.
 */
describe('leaving out unread attributes changes no decision', () => {
  const policies: Record<string, string> = {
    'tier-gold': 'permit (principal, action, resource) when { principal has tier && principal.tier == "gold" };',
    'nested-team': 'permit (principal, action == Action::"tools.files.v1.Files/ListDir", resource) when { principal.attributes has team && principal.attributes.team == "x" };',
    'x509-only': 'forbid (principal, action, resource) when { context.peer.authn != "x509-svid" };',
    'missing-errors': 'forbid (principal is Workload, action, resource) when { context.ticket == "none" };',
    'whole-record': 'permit (principal in AgentGroup::"g", action, resource) when { context.metadata == { "x-task-id": "t1" } };',
    // Nested records: counters no policy reads are left out; a record used whole is sent whole.
    'task-intent': 'permit (principal, action == Action::"tools.files.v1.Files/ListDir", resource) when { context has task && context.task.intent == "list" };',
    'task-budget': 'forbid (principal, action, resource) when { context has task && context.task has callsRemaining && context.task.callsRemaining < 1 };',
    'whole-nested': 'forbid (principal is Workload, action, resource) when { context has request && context.request.dir == { path: "/secrets", depth: 1 } };',
  };
  const text = Object.entries(policies)
    .map(([id, p]) => `@id("${id}")\n${p}`)
    .join('\n');
  const engine = new PolicyEngine(PolicySet.fromText({ 'p.cedar': text }), { cacheSize: 0 });

  function oracle(req: AuthorizationRequest): { allow: boolean; reason: string[]; errors: string[] } {
    const p = req.principal;
    const slash = req.action.lastIndexOf('/');
    const answer = isAuthorized({
      principal: { type: p.type, id: p.id },
      action: { type: 'Action', id: req.action },
      resource: { type: 'Tool', id: req.resource },
      context: req.context as never,
      policies: { staticPolicies: policies },
      entities: [
        { uid: { type: p.type, id: p.id }, attrs: p.attrs as never, parents: p.groups.map((id) => ({ type: 'AgentGroup', id })) },
        { uid: { type: 'Action', id: req.action }, attrs: {}, parents: [{ type: 'Action', id: req.action.slice(0, slash) }] },
      ],
    });
    if (answer.type !== 'success') throw new Error(JSON.stringify(answer.errors));
    const { decision, diagnostics } = answer.response;
    return { allow: decision === 'allow', reason: [...diagnostics.reason].sort(), errors: diagnostics.errors.map((e) => e.policyId).sort() };
  }

  const principals = [agent('a', ['g'], { tier: 'gold', team: 'x', unread: 'u' }), agent('b', [], { tier: 'silver', team: 'x' }), agent('c', ['g']), workload('/tools/w')];
  const contexts: Record<string, CedarValue>[] = [
    { peer: { authn: 'x509-svid' }, metadata: {} },
    { peer: { authn: 'jwt-svid' }, metadata: { 'x-task-id': 't1' }, extra: 'unread' },
    { peer: { authn: 'x509-svid' }, metadata: { 'x-task-id': 't1' }, ticket: 'none' },
    { peer: { authn: 'x509-svid' }, metadata: { 'x-task-id': 't1', other: 'o' }, ticket: 'some' },
    { peer: { authn: 'x509-svid', spiffeId: 'unread' }, metadata: {}, task: { id: 't', intent: 'list', callsUsed: 4, callsRemaining: 2 } },
    { peer: { authn: 'x509-svid' }, metadata: {}, task: { id: 't', intent: 'list', callsUsed: 6, callsRemaining: 0 } },
    { peer: { authn: 'x509-svid' }, metadata: {}, task: { intent: 'other' } },
    { peer: { authn: 'x509-svid' }, metadata: {}, request: { dir: { path: '/secrets', depth: 1 } } },
    { peer: { authn: 'x509-svid' }, metadata: {}, request: { dir: { path: '/secrets', depth: 1, extra: true } } },
  ];

  it.each(principals.flatMap((principal) => contexts.flatMap((context) => [READ, LIST].map((action) => ({ principal, context, action })))))(
    '$principal.id $action %#',
    ({ principal, context, action }) => {
      const req = { ...request(principal, action), context };
      const expected = oracle(req);
      const decision = engine.authorize(req);
      if (expected.errors.length > 0) {
        expect([decision.allow, [...decision.policies].sort()]).toEqual([false, expected.errors]);
      } else {
        expect([decision.allow, [...decision.policies].sort(), decision.errors]).toEqual([expected.allow, expected.reason, []]);
      }
    },
  );
});
