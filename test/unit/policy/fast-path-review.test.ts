import { PolicyEngine, PolicySet, type AuthorizationRequest, type Decision, type Principal } from '../../../src/policy';

/**
 * Requests on which the fast path must give Cedar's own answer or leave the call to cedar-wasm,
 * each decided by an engine with the fast path and by one without and compared (the adversarial
 * review before turning the fast path on by default; docs/policies.md, "Fast path"). `answered`
 * says whether the fast path is expected to decide the call itself.
 */

const ALICE: Principal = Object.freeze({ type: 'Agent', id: 'alice', attrs: Object.freeze({ s: 'x', n: 1, tags: ['a'] }), groups: ['g1'] });
const verdict = (d: Decision) => ({ allow: d.allow, policies: d.policies, errors: d.errors, escalate: d.escalate });

interface Case {
  readonly policy: string;
  readonly request: Partial<AuthorizationRequest>;
  readonly answered: boolean;
}

function decideBoth({ policy, request }: Case): { fast: ReturnType<typeof verdict>; cedar: ReturnType<typeof verdict>; answered: boolean } {
  const set = PolicySet.fromText({ 'p.cedar': policy });
  const fastEngine = new PolicyEngine(set, { cacheSize: 0, fastPath: true, fastPathCheckEvery: 0 });
  const wasmEngine = new PolicyEngine(set, { cacheSize: 0 });
  const req = { principal: ALICE, action: 'svc.A/M1', resource: 't1', context: {}, ...request } as AuthorizationRequest;
  const fast = verdict(fastEngine.authorize(req));
  return { fast, cedar: verdict(wasmEngine.authorize(req)), answered: fastEngine.fastPathStats?.answered === 1 };
}

const PERMIT_ALL = 'permit (principal, action, resource);';
/** Reads `context.s` whole, so that it is sent as it is (attributes no policy reads are not sent). */
const READS_S = 'permit (principal, action, resource) when { context.s == context.s };';

/** Divergences the review found: each failed before its fix. */
const found: Record<string, Case> = {
  // Cedar cannot read the request (serde_json refuses a lone surrogate) and denies; the fast path allowed.
  'an action name with a lone surrogate (the MCP and gRPC readers refuse them today; the engine must not rely on it)': {
    policy: PERMIT_ALL,
    request: { action: 'mcp:files/tools/call/read\udc00' },
    answered: false,
  },
  "an action's service with a lone surrogate": { policy: 'permit (principal, action in Action::"svc.A", resource);', request: { action: 'svc\ud800.A/M1' }, answered: false },
  // JSON.stringify (what cedar-wasm is sent) leaves out a non-enumerable property; `has` saw it.
  'a non-enumerable context attribute': {
    policy: 'permit (principal, action, resource) when { context.a == 1 } unless { context has hidden };',
    request: { context: Object.defineProperty({ a: 1 }, 'hidden', { value: 1, enumerable: false }) },
    answered: true,
  },
  'records equal only through a non-enumerable attribute': {
    policy: 'permit (principal, action, resource) when { context.a == context.b };',
    request: { context: { a: { x: 1 }, b: Object.defineProperty({ y: 1 }, 'x', { value: 1, enumerable: false }) } },
    answered: true,
  },
  // Not reachable through the gateway (its contexts are records), but the engine's type is only TypeScript's.
  'a context that is not a record': { policy: 'permit (principal, action, resource) when { context.isEmpty() };', request: { context: [] as never }, answered: false },
};

/** What the review checked and found exact (kept so that it stays so). */
const exact: Record<string, Case> = {
  '-0 reads as 0': {
    policy: 'permit (principal, action, resource) when { context.n == 0 && -context.n == 0 && [0].contains(context.n) };',
    request: { context: { n: -0 } },
    answered: true,
  },
  'largest safe Long, negated': {
    policy: 'permit (principal, action, resource) when { context.n > 9007199254740990 && -context.n < -9007199254740990 };',
    request: { context: { n: 9007199254740991 } },
    answered: true,
  },
  'a Long beyond 2^53 goes to cedar-wasm': { policy: 'permit (principal, action, resource) when { context.n > 0 };', request: { context: { n: 2 ** 53 } }, answered: false },
  '1e21 goes to cedar-wasm': { policy: 'permit (principal, action, resource) when { context has n };', request: { context: { n: 1e21 } }, answered: false },
  'a set of mixed types': {
    policy: 'permit (principal, action, resource) when { context.s.contains(1) && !context.s.contains("1") };',
    request: { context: { s: [1, 'a', true, [1], { a: 1 }] } },
    answered: true,
  },
  'sets and records compare structurally, in any order, sets without duplicates': {
    policy: 'permit (principal, action, resource) when { context.a == context.b };',
    request: { context: { a: { x: 1, y: [2, 1, [3]] }, b: { y: [1, [3], 2, 2], x: 1 } } },
    answered: true,
  },
  'an entity is not a record of the same type and id': {
    policy: 'permit (principal, action, resource) when { context.r != principal };',
    request: { context: { r: { type: 'Agent', id: 'alice', x: 1 } } },
    answered: true,
  },
  'a record of exactly type and id goes to cedar-wasm': {
    policy: 'permit (principal, action, resource) when { context.r == context.r };',
    request: { context: { r: { type: 'Agent', id: 'alice' } } },
    answered: false,
  },
  'a namespaced entity type is another type': {
    policy: 'forbid (principal, action, resource) when { principal == NS::Agent::"alice" };\npermit (principal, action, resource);',
    request: {},
    answered: true,
  },
  'like matches characters, no Unicode normalization': {
    policy: 'permit (principal, action, resource) when { context.s like "e\u0301*" };',
    request: { context: { s: '\u00e9' } },
    answered: true,
  },
  'like with an escaped star and a NUL': {
    policy: 'permit (principal, action, resource) when { context.s like "\\0a\\**" };',
    request: { context: { s: '\u0000a*b' } },
    answered: true,
  },
  'like on astral characters': {
    policy: 'permit (principal, action, resource) when { context.s like "*😀" && !(context.s like "*a") };',
    request: { context: { s: 'a😀' } },
    answered: true,
  },
  'a lone surrogate in the context goes to cedar-wasm': { policy: READS_S, request: { context: { s: 'a\ud83d' } }, answered: false },
  'a lone surrogate in a context key goes to cedar-wasm': { policy: READS_S, request: { context: { s: { ['\udc00']: 1 } } }, answered: false },
  'a lone surrogate in the resource goes to cedar-wasm': { policy: PERMIT_ALL, request: { resource: 't\udc00' }, answered: false },
  "a lone surrogate in the principal's group goes to cedar-wasm": { policy: PERMIT_ALL, request: { principal: { ...ALICE, groups: ['g\ud800'] } }, answered: false },
  'an empty attribute name': { policy: 'permit (principal, action, resource) when { context has "" && context[""] == 1 };', request: { context: { '': 1 } }, answered: true },
  'an attribute named like an escape goes to cedar-wasm': { policy: READS_S, request: { context: { s: { __entity: { type: 'Agent', id: 'alice' }, x: 1 } } }, answered: false },
  'an inherited name is no attribute': {
    policy: 'permit (principal, action, resource) when { !(context has toString) && !(principal has constructor) };',
    request: {},
    answered: true,
  },
  'an entity literal naming the principal reads its attributes': {
    policy: 'permit (principal, action, resource) when { Agent::"alice".s == "x" && Agent::"alice" has tags };',
    request: {},
    answered: true,
  },
  'an attribute of the action or of the resource goes to cedar-wasm': {
    policy: 'permit (principal, action, resource) when { !(action has a) || resource has a };',
    request: {},
    answered: false,
  },
  'a group given twice': { policy: 'permit (principal in AgentGroup::"g1", action, resource);', request: { principal: { ...ALICE, groups: ['g1', 'g1'] } }, answered: true },
  'the principal is in itself, not in a group of its id': {
    policy: 'permit (principal in Agent::"alice", action, resource);\nforbid (principal in AgentGroup::"alice", action, resource);',
    request: {},
    answered: true,
  },
  'the action is in its service, not in the package': {
    policy: 'permit (principal, action in Action::"svc.A", resource);\nforbid (principal, action in Action::"svc", resource);',
    request: {},
    answered: true,
  },
  'the resource has no parent': { policy: 'permit (principal, action, resource in Tool::"t1");\nforbid (principal, action, resource in Tool::"t");', request: {}, answered: true },
  'a later condition is not evaluated once one is false': { policy: 'permit (principal, action, resource) when { false } when { 1 };', request: {}, answered: true },
  'an unless that holds stops evaluation': { policy: 'permit (principal, action, resource) unless { true } when { context.missing };', request: {}, answered: true },
  'a scope that fails stops evaluation': {
    policy: 'permit (principal == Agent::"bob", action, resource) when { context.missing };\npermit (principal, action, resource);',
    request: {},
    answered: true,
  },
  'a condition that is not a Bool': { policy: 'permit (principal, action, resource) when { true && (if true then 1 else false) };', request: {}, answered: false },
  '|| skips a right side that would error': { policy: 'permit (principal, action, resource) when { true || context.missing };', request: {}, answered: true },
  '&& errors on a non-Bool left side': { policy: 'permit (principal, action, resource) when { !(context.n && false) };', request: { context: { n: 1 } }, answered: false },
  '30 levels of nesting': {
    policy: 'permit (principal, action, resource) when { context has a };',
    request: { context: { a: JSON.parse('['.repeat(30) + ']'.repeat(30)) as never } },
    answered: true,
  },
  '40 levels of nesting go to cedar-wasm': {
    policy: 'permit (principal, action, resource) when { context has a };',
    request: { context: { a: JSON.parse('['.repeat(40) + ']'.repeat(40)) as never } },
    answered: false,
  },
  'a Workload principal': {
    policy: 'permit (principal is Workload, action, resource) when { principal.path like "/x*" };',
    request: { principal: { type: 'Workload', id: 'spiffe://td/x', attrs: { path: '/xy' }, groups: [] } },
    answered: true,
  },
  '@approval on the only permit escalates, a plain one beside it does not': {
    policy: '@approval("ops")\npermit (principal, action, resource);\npermit (principal, action, resource) when { context.n == 1 };',
    request: { context: { n: 2 } },
    answered: true,
  },
};

describe('the fast path against cedar-wasm on the review cases', () => {
  it.each(Object.entries(found))('divergence found in review: %s', (_name, c) => {
    const { fast, cedar, answered } = decideBoth(c);
    expect(fast).toEqual(cedar);
    expect(answered).toBe(c.answered);
  });

  it.each(Object.entries(exact))('checked exact: %s', (_name, c) => {
    const { fast, cedar, answered } = decideBoth(c);
    expect(fast).toEqual(cedar);
    expect(answered).toBe(c.answered);
  });

  it('leaves set comparisons too large to be quick in JS to cedar-wasm, which does them in O(n log n)', () => {
    // Two caller-controlled sets of 20 000: ~4·10^8 comparisons in JS (most of a second), where cedar-wasm takes ~0.1 s.
    const a = Array.from({ length: 20_000 }, (_, i) => `s${i}`);
    const c: Case = {
      policy: 'permit (principal, action, resource) when { context.a.containsAll(context.b) && context.a == context.b };',
      request: { context: { a, b: a.slice().reverse() } },
      answered: false,
    };
    const { fast, cedar, answered } = decideBoth(c);
    expect(fast).toEqual(cedar);
    expect(answered).toBe(false);
    // Small sets are still answered.
    expect(decideBoth({ ...c, request: { context: { a: a.slice(0, 100), b: a.slice(0, 100).reverse() } }, answered: true }).answered).toBe(true);
  });
});
