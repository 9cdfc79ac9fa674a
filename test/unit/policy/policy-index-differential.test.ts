import { PolicyEngine, PolicySet, type AuthorizationRequest, type CedarValue, type Decision, type Principal } from '../../../src/policy';

/**
 * The index must change no decision: a generated set of 2 000 policies, decided for 2 000
 * generated requests by an indexed engine and by an unindexed one (both uncached, so every
 * decision reaches Cedar), must agree on allow/deny, the determining policies and the errors.
 *
 * The set mixes every scope the index distinguishes, including ones meant to catch it out:
 * `principal in Agent::"…"` (an entity is `in` itself), `principal == AgentGroup::"…"` (never
 * matches an agent), an agent whose id is also a group's id, `is Agent in AgentGroup::"…"`,
 * `action == Action::"<service>"` (never matches a method), action lists mixing methods and
 * services, and open scopes. Conditions read principal attributes and context, and a few
 * error for some callers (an attribute not every principal has), so that errors are
 * compared too. Callers are agents in 0–3 groups, with and without attributes, and workloads.
 */

/** A small deterministic PRNG (mulberry32): the same set and requests on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = random(4);
const below = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(list: readonly T[]): T => list[below(list.length)] as T;
/** Picks by weight: `[[weight, value], ...]`. */
function weighted<T>(choices: readonly (readonly [number, () => T])[]): T {
  let r = rnd() * choices.reduce((sum, [w]) => sum + w, 0);
  for (const [w, make] of choices) if ((r -= w) < 0) return make();
  return (choices[choices.length - 1] as readonly [number, () => T])[1]();
}

const POLICIES = 2_000;
const REQUESTS = 2_000;
const SERVICES = Array.from({ length: 6 }, (_, s) => `svc${s}.v1.Service`);
const ACTIONS = SERVICES.flatMap((s) => Array.from({ length: 5 }, (_, m) => `${s}/M${m}`));
const AGENTS = 60;
const GROUPS = 40;
const WORKLOADS = 10;

const agentId = (): string => `a${below(AGENTS)}`;
const groupId = (): string => `g${below(GROUPS)}`;

function principalScope(): { scope: string; narrow: boolean } {
  return weighted<{ scope: string; narrow: boolean }>([
    [34, () => ({ scope: `principal == Agent::"${agentId()}"`, narrow: true })],
    [30, () => ({ scope: `principal in AgentGroup::"${groupId()}"`, narrow: true })],
    [5, () => ({ scope: `principal in Agent::"${agentId()}"`, narrow: true })],
    [2, () => ({ scope: 'principal == Agent::"g1"', narrow: true })],
    [2, () => ({ scope: `principal == AgentGroup::"${groupId()}"`, narrow: true })],
    [5, () => ({ scope: `principal is Agent in AgentGroup::"${groupId()}"`, narrow: true })],
    [1, () => ({ scope: 'principal is Workload in AgentGroup::"g1"', narrow: true })],
    [6, () => ({ scope: 'principal is Workload', narrow: false })],
    [1, () => ({ scope: 'principal is Agent', narrow: false })],
    [1, () => ({ scope: 'principal', narrow: false })],
  ]);
}

function actionScope(): string {
  return weighted([
    [45, () => `action == Action::"${pick(ACTIONS)}"`],
    [20, () => `action in Action::"${pick(SERVICES)}"`],
    [15, () => `action in [Action::"${pick(ACTIONS)}", Action::"${pick(SERVICES)}", Action::"${pick(ACTIONS)}"]`],
    [4, () => `action in Action::"${pick(ACTIONS)}"`],
    [4, () => `action == Action::"${pick(SERVICES)}"`],
    [8, () => 'action'],
  ]);
}

/** A condition; the ones that can error only on narrow scopes, so that errors stay a minority. */
function condition(narrow: boolean): string {
  return weighted([
    [40, () => ''],
    [15, () => ' when { context.peer.authn == "x509-svid" }'],
    [10, () => ' when { principal has tier && principal.tier == "gold" }'],
    [10, () => ' unless { context.metadata has "x-task" && context.metadata["x-task"] like "bad-*" }'],
    [10, () => ' when { context has n && context.n > 5 }'],
    [5, () => ' when { principal has path && principal.path like "/tools/*" }'],
    [narrow ? 4 : 0, () => ' when { principal.tier == "gold" }'],
    [narrow ? 2 : 0, () => ' when { context.n == 1 }'],
  ]);
}

function generatePolicies(): string {
  return Array.from({ length: POLICIES }, (_, i) => {
    const { scope, narrow } = principalScope();
    const resource = rnd() < 0.5 ? `resource == Tool::"t${below(4)}"` : 'resource';
    const effect = rnd() < 0.7 ? 'permit' : 'forbid';
    return `@id("p${i}")\n${effect} (${scope}, ${actionScope()}, ${resource})${condition(narrow)};`;
  }).join('\n');
}

function agent(id: string): Principal {
  const attributes: Record<string, CedarValue> = weighted([
    [2, () => ({ tier: 'gold' })],
    [1, () => ({ tier: 'silver' })],
    [1, () => ({})],
  ]);
  const groups = [...new Set(Array.from({ length: below(4) }, groupId))];
  const spiffeId = `spiffe://example.org/agents/${id}`;
  return { type: 'Agent', id, attrs: { ...attributes, attributes, spiffeId, trustDomain: 'example.org' }, groups };
}

function workload(k: number): Principal {
  const path = k % 2 === 0 ? `/tools/w${k}` : `/other/w${k}`;
  const spiffeId = `spiffe://example.org${path}`;
  return { type: 'Workload', id: spiffeId, attrs: { spiffeId, trustDomain: 'example.org', path }, groups: [] };
}

/** Callers: each agent, a third of them twice (other groups and attributes), the agent named like a group, workloads. */
const CALLERS: Principal[] = [
  ...Array.from({ length: AGENTS + AGENTS / 3 }, (_, i) => agent(`a${i % AGENTS}`)),
  agent('g1'),
  ...Array.from({ length: WORKLOADS }, (_, k) => workload(k)),
];

function generateRequest(): AuthorizationRequest {
  const principal = pick(CALLERS);
  const action = weighted([
    [90, () => pick(ACTIONS)],
    [5, () => `${pick(SERVICES)}/Unrouted`],
    [5, () => 'other.v1.Other/M0'],
  ]);
  const context: Record<string, CedarValue> = {
    peer: { spiffeId: principal.attrs['spiffeId'] as string, trustDomain: 'example.org', authn: rnd() < 0.8 ? 'x509-svid' : 'jwt-svid' },
    metadata: rnd() < 0.3 ? { 'x-task': pick(['bad-1', 'ok-2']) } : {},
  };
  if (rnd() < 0.7) context['n'] = below(10);
  return { principal, action, resource: `t${below(5)}`, context };
}

const outcome = (d: Decision): string => JSON.stringify({ allow: d.allow, policies: d.policies, errors: d.errors });

describe('the policy index changes no decision', () => {
  it(`agrees with unindexed evaluation on ${REQUESTS} generated requests against ${POLICIES} generated policies`, () => {
    const set = PolicySet.fromText({ 'generated.cedar': generatePolicies() });
    expect(set.size).toBe(POLICIES);
    const requests = Array.from({ length: REQUESTS }, generateRequest);
    const plain = new PolicyEngine(set, { cacheSize: 0, index: false });
    // A budget large enough that every selection gets its slice: this test is about slices.
    const indexed = new PolicyEngine(set, { cacheSize: 0, sliceBudget: 1_000_000 });

    const differences: string[] = [];
    const decisions = requests.map((req, i) => {
      const expected = plain.authorize(req);
      const actual = indexed.authorize(req);
      if (outcome(actual) !== outcome(expected) && differences.length < 5) {
        differences.push(
          `request ${i} ${req.principal.type}::${req.principal.id} [${req.principal.groups.join(',')}] ${req.action}: indexed ${outcome(actual)}, unindexed ${outcome(expected)}`,
        );
      }
      return expected;
    });
    expect(differences).toEqual([]);

    // The requests exercise what they should: not every decision alike.
    const count = (test: (d: Decision) => boolean): number => decisions.filter(test).length;
    expect(count((d) => d.allow)).toBeGreaterThan(REQUESTS * 0.1);
    expect(count((d) => d.allow && d.policies.length > 1)).toBeGreaterThan(20);
    expect(count((d) => !d.allow && d.errors.length === 0 && d.policies.length > 0)).toBeGreaterThan(REQUESTS * 0.05);
    expect(count((d) => d.errors.length > 0)).toBeGreaterThan(20);
    expect(count((d) => d.errors.length > 0)).toBeLessThan(REQUESTS * 0.3);
    // And the index really sliced: small slices, every selection within the budget.
    const stats = indexed.indexStats;
    expect(stats?.overBudget).toBe(0);
    expect(stats?.slices).toBeGreaterThan(100);
    expect((stats?.policies ?? POLICIES) / (stats?.slices ?? 1)).toBeLessThan(POLICIES / 20);
  }, 120_000);
});
