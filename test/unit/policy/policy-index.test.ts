import { PolicyEngine, PolicySet, type Decision, type Principal } from '../../../src/policy';
import type { PolicyJson } from '../../../src/policy/cedar';
import { actionEntity, principalEntity } from '../../../src/policy/entities';
import { PolicyIndex } from '../../../src/policy/policy-index';
import { PolicySlices } from '../../../src/policy/policy-slices';
import { agent, LIST, READ, request, workload, WRITE } from './fixtures';

const SERVICE = 'tools.files.v1.Files';

/** Every scope form the index tells apart. All unconditional, so Cedar's satisfied policies are exactly those whose scope matches. */
const SCOPES = `
  @id("alice") permit (principal == Agent::"alice", action, resource);
  @id("in-alice") permit (principal in Agent::"alice", action, resource);
  @id("ops") permit (principal in AgentGroup::"ops", action, resource);
  @id("is-agent") permit (principal is Agent, action, resource);
  @id("is-workload") permit (principal is Workload, action, resource);
  @id("agent-in-ops") permit (principal is Agent in AgentGroup::"ops", action, resource);
  @id("ops-as-principal") permit (principal == AgentGroup::"ops", action, resource);
  @id("agent-named-ops") permit (principal == Agent::"ops", action, resource);
  @id("open") permit (principal, action, resource);
  @id("read") permit (principal, action == Action::"${READ}", resource);
  @id("read-or-other") permit (principal, action in [Action::"${READ}", Action::"other.v1.Other"], resource);
  @id("service") permit (principal, action in Action::"${SERVICE}", resource);
  @id("service-as-action") permit (principal, action == Action::"${SERVICE}", resource);
  @id("in-write") permit (principal, action in Action::"${WRITE}", resource);
  @id("alice-write") permit (principal == Agent::"alice", action == Action::"${WRITE}", resource);
  @id("ops-list") permit (principal in AgentGroup::"ops", action == Action::"${LIST}", resource);
`;

describe('PolicyIndex.select', () => {
  const set = PolicySet.fromText({ 'scopes.cedar': SCOPES });
  const index = new PolicyIndex(set.policies.map((p) => p.json));
  const plain = new PolicyEngine(set, { cacheSize: 0, index: false });
  const selected = (principal: Principal, action: string): string[] => {
    const positions = index.select(principalEntity(principal, set.attributeUsage), actionEntity(action) as never) ?? [];
    return positions.map((p) => set.ids[p] as string);
  };
  const cases: [string, Principal, string, string[]][] = [
    ['alice in ops, reading', agent('alice', ['ops']), READ, ['alice', 'in-alice', 'ops', 'is-agent', 'agent-in-ops', 'open', 'read', 'read-or-other', 'service']],
    ['alice in ops, listing', agent('alice', ['ops']), LIST, ['alice', 'in-alice', 'ops', 'is-agent', 'agent-in-ops', 'open', 'service', 'ops-list']],
    ['alice alone, writing', agent('alice'), WRITE, ['alice', 'in-alice', 'is-agent', 'open', 'service', 'in-write', 'alice-write']],
    ['an agent named like the group', agent('ops'), READ, ['is-agent', 'agent-named-ops', 'open', 'read', 'read-or-other', 'service']],
    ['a workload', workload('/tools/x'), LIST, ['is-workload', 'open', 'service']],
    ['a method of another service', agent('bob', ['ops']), 'other.v1.Other/Get', ['ops', 'is-agent', 'agent-in-ops', 'open', 'read-or-other']],
  ];

  it.each(cases)('%s: selects exactly the policies whose scopes Cedar finds satisfied', (_, principal, action, expected) => {
    expect(selected(principal, action)).toEqual(expected);
    expect(plain.explain(request(principal, action)).satisfied).toEqual(expected);
  });

  it('over-includes `is T in E` for a principal of another type in E (harmless: Cedar finds it false)', () => {
    const grouped: Principal = { ...workload('/tools/x'), groups: ['ops'] };
    expect(selected(grouped, LIST)).toEqual(['ops', 'is-workload', 'agent-in-ops', 'open', 'service', 'ops-list']);
    expect(plain.explain(request(grouped, LIST)).satisfied).toEqual(['ops', 'is-workload', 'open', 'service', 'ops-list']);
  });

  it('treats a scope it cannot read as open, and reads both spellings of an entity reference', () => {
    const scoped = (principal: unknown, action: unknown): PolicyJson => ({ effect: 'permit', principal, action, resource: { op: 'All' }, conditions: [] }) as PolicyJson;
    const json = [
      scoped({ op: '==', entity: { __entity: { type: 'Agent', id: 'alice' } } }, { op: 'All' }),
      scoped({ op: 'in', slot: '?principal' }, { op: 'All' }),
      scoped({ op: 'All' }, { op: 'in', entities: [{ type: 'Action', id: READ }, { type: 'Action' }] }),
      scoped({ op: 'future' }, { op: 'future' }),
      scoped({ op: '==', entity: { type: 'Agent', id: 'bob' } }, { op: '==', entity: { __entity: { type: 'Action', id: WRITE } } }),
    ];
    const select = (principal: Principal, action: string): readonly number[] | undefined =>
      new PolicyIndex(json).select(principalEntity(principal, set.attributeUsage), actionEntity(action) as never);
    expect(select(agent('alice'), LIST)).toEqual([0, 1, 2, 3]);
    expect(select(agent('bob'), LIST)).toEqual([1, 2, 3]);
    expect(select(agent('bob'), WRITE)).toEqual([1, 2, 3, 4]);
  });
});

describe('PolicySlices', () => {
  const text = Array.from({ length: 10 }, (_, i) => `@id("p${i}")\npermit (principal == Agent::"a${i}", action, resource);`).join('\n');
  const set = PolicySet.fromText({ 'ten.cedar': text });

  it('names a slice by its content: shared between engines, and with a reloaded set where those policies did not change', () => {
    const id = new PolicySlices(set, 100).idFor([1, 3]);
    expect(id).toMatch(/^toolgate:slice:[0-9a-f]{64}$/);
    expect(new PolicySlices(set, 100).idFor([1, 3])).toBe(id);
    const reloaded = PolicySet.fromText({ 'ten.cedar': text, 'z.cedar': '@id("extra")\nforbid (principal, action, resource);' });
    expect(new PolicySlices(reloaded, 100).idFor([1, 3])).toBe(id);
    expect(new PolicySlices(set, 100).idFor([1, 4])).not.toBe(id);
  });

  it('does not share a slice between policies with the same ids and different texts', () => {
    const changed = PolicySet.fromText({ 'ten.cedar': text.replace('Agent::"a3"', 'Agent::"other"') });
    expect(new PolicySlices(changed, 100).idFor([1, 3])).not.toBe(new PolicySlices(set, 100).idFor([1, 3]));
  });

  it('uses the whole set for more than half of it, and once the budget is spent (an empty slice costs 1)', () => {
    const slices = new PolicySlices(set, 3);
    expect(slices.idFor([0, 1, 2, 3, 4, 5])).toBe(set.cedarId);
    expect(slices.idFor([])).not.toBe(set.cedarId);
    expect(slices.idFor([0, 1])).not.toBe(set.cedarId);
    expect(slices.idFor([0, 1])).not.toBe(set.cedarId); // already made: no new cost
    expect(slices.idFor([2])).toBe(set.cedarId);
    expect(slices.stats).toEqual({ slices: 2, policies: 3, overBudget: 1 });
  });
});

describe('PolicyEngine with the index', () => {
  const outcome = (d: Decision): unknown => ({ allow: d.allow, policies: d.policies, errors: d.errors });
  const set = PolicySet.fromText({
    'a.cedar': SCOPES,
    'b.cedar': `
      @id("sandbox-writes") forbid (principal in AgentGroup::"sandbox", action == Action::"${WRITE}", resource);
      @id("needs-ticket") forbid (principal in AgentGroup::"ticketed", action, resource) when { context.ticket != "ok" };
      @id("needs-reason") forbid (principal in AgentGroup::"ticketed", action in Action::"${SERVICE}", resource) when { context.reason != "x" };
    `,
  });
  const callers = [agent('alice', ['ops']), agent('alice', ['sandbox']), agent('carol', ['ticketed', 'ops']), agent('ops'), workload('/tools/x')];
  const actions = [READ, LIST, WRITE, 'other.v1.Other/Get', 'no-method'];

  it('decides as the unindexed engine does, listing determining policies and errors in set order every time', () => {
    const plain = new PolicyEngine(set, { cacheSize: 0, index: false });
    const indexed = new PolicyEngine(set, { cacheSize: 0 });
    for (const principal of callers) {
      for (const action of actions) {
        const expected = outcome(plain.authorize(request(principal, action)));
        for (let i = 0; i < 5; i++) expect(outcome(indexed.authorize(request(principal, action)))).toEqual(expected);
      }
    }
    const alice = outcome(indexed.authorize(request(agent('alice', ['ops']), READ)));
    expect(alice).toEqual({ allow: true, policies: ['alice', 'in-alice', 'ops', 'is-agent', 'agent-in-ops', 'open', 'read', 'read-or-other', 'service'], errors: [] });
    expect(outcome(indexed.authorize(request(agent('carol', ['ticketed']), READ)))).toEqual({
      allow: false,
      policies: ['needs-ticket', 'needs-reason'],
      errors: ['policy "needs-ticket": record does not have the attribute `ticket`', 'policy "needs-reason": record does not have the attribute `reason`'],
    });
  });

  it('indexes by default, can be turned off, and decides correctly with no slice budget at all', () => {
    expect(new PolicyEngine(set).indexStats).toEqual({ slices: 0, policies: 0, overBudget: 0 });
    expect(new PolicyEngine(set, { index: false }).indexStats).toBeUndefined();
    const plain = new PolicyEngine(set, { cacheSize: 0, index: false });
    const unbudgeted = new PolicyEngine(set, { cacheSize: 0, sliceBudget: 0 });
    for (const principal of callers) {
      expect(outcome(unbudgeted.authorize(request(principal, WRITE)))).toEqual(outcome(plain.authorize(request(principal, WRITE))));
    }
    expect(unbudgeted.indexStats?.slices).toBe(0);
    expect(unbudgeted.indexStats?.overBudget).toBeGreaterThan(0);
  });

  it('selects once per principal and action, and shares slices between callers that select the same policies', () => {
    const engine = new PolicyEngine(set, { cacheSize: 0 });
    const bob = agent('bob', ['ops']);
    engine.authorize(request(bob, LIST));
    engine.authorize(request(bob, LIST, { authn: 'jwt-svid' }));
    engine.authorize(request(agent('dave', ['ops']), LIST));
    expect(engine.indexStats?.slices).toBe(1);
    engine.authorize(request(bob, READ));
    expect(engine.indexStats?.slices).toBe(2);
  });
});
