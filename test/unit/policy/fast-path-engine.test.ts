import { FastPath } from '../../../src/policy/fast-path';
import { PolicyEngine, PolicySet, type AuthorizationRequest, type Principal } from '../../../src/policy';

/** The fast path inside PolicyEngine: the switch, what it leaves to cedar-wasm, and the sampled shadow check. */

const set = PolicySet.fromText({
  'p.cedar': `
@id("small-reads")
permit (principal in AgentGroup::"readers", action in Action::"files.v1.Files", resource == Tool::"files") when { context.request.size <= 1000 && context.request.path like "/data/*" };
@id("no-secrets")
forbid (principal, action, resource) when { context.request has path && context.request.path like "*secret*" };
@id("ip-bound")
permit (principal, action == Action::"net.v1.Net/Dial", resource) when { ip(context.request.host).isLoopback() };
`,
});
const alice: Principal = Object.freeze({ type: 'Agent', id: 'alice', attrs: {}, groups: ['readers'] });
const read = (size: number, path: string): AuthorizationRequest => ({ principal: alice, action: 'files.v1.Files/Read', resource: 'files', context: { request: { size, path } } });

afterEach(() => jest.restoreAllMocks());

describe('PolicyEngine with the compiled fast path', () => {
  it('is off by default', () => {
    const engine = new PolicyEngine(set, { cacheSize: 0 });
    expect(engine.authorize(read(10, '/data/a')).allow).toBe(true);
    expect(engine.fastPathStats).toBeUndefined();
  });

  it('decides calls whose policies all compiled, with the same decisions as cedar-wasm', () => {
    const fast = new PolicyEngine(set, { cacheSize: 0, fastPath: true, fastPathCheckEvery: 0 });
    const wasm = new PolicyEngine(set, { cacheSize: 0 });
    for (const req of [read(10, '/data/a'), read(5000, '/data/a'), read(10, '/data/secret/x'), read(10, '/etc/passwd')]) {
      const { allow, policies, errors } = fast.authorize(req);
      expect({ allow, policies, errors }).toEqual((({ allow, policies, errors }) => ({ allow, policies, errors }))(wasm.authorize(req)));
    }
    expect(fast.fastPathStats).toEqual({ compiledPolicies: 2, answered: 4, leftToCedar: 0, checked: 0, disagreements: 0 });
  });

  it('leaves to cedar-wasm a call whose slice holds a policy outside the subset, and one on which a policy errors', () => {
    const fast = new PolicyEngine(set, { cacheSize: 0, fastPath: true, fastPathCheckEvery: 0 });
    const dial = fast.authorize({ principal: alice, action: 'net.v1.Net/Dial', resource: 'net', context: { request: { host: '127.0.0.1' } } });
    expect(dial.allow).toBe(true);
    // `size` missing: Cedar errors on small-reads, so the call is denied with Cedar's own message.
    const erring = fast.authorize({ principal: alice, action: 'files.v1.Files/Read', resource: 'files', context: { request: { path: '/data/a' } } });
    expect(erring).toMatchObject({ allow: false, policies: ['small-reads'] });
    expect(erring.errors).toEqual([expect.stringMatching(/^policy "small-reads": .*size/)]);
    expect(fast.fastPathStats).toMatchObject({ answered: 0, leftToCedar: 2 });
  });

  it('answers from cedar-wasm and reports the disagreement when the sampled check finds the fast path wrong', () => {
    jest.spyOn(FastPath.prototype, 'decide').mockReturnValue({ decision: 'allow', reason: ['no-secrets'] });
    const disagreements: unknown[] = [];
    const checked = new PolicyEngine(set, { cacheSize: 0, fastPath: true, fastPathCheckEvery: 1, onFastPathDisagreement: (d) => disagreements.push(d) });
    const decision = checked.authorize(read(10, '/data/secret'));
    expect(decision).toMatchObject({ allow: false, policies: ['no-secrets'] });
    expect(disagreements).toEqual([expect.objectContaining({ fast: expect.objectContaining({ allow: true }), cedar: expect.objectContaining({ allow: false }) })]);
    expect(checked.fastPathStats).toMatchObject({ answered: 1, checked: 1, disagreements: 1 });

    // Unsampled, the fast answer stands: the check above is what catches it.
    const unchecked = new PolicyEngine(set, { cacheSize: 0, fastPath: true, fastPathCheckEvery: 0 });
    expect(unchecked.authorize(read(10, '/data/secret')).allow).toBe(true);
  });

  it('samples one fast decision in `fastPathCheckEvery`', () => {
    const engine = new PolicyEngine(set, { cacheSize: 0, fastPath: true, fastPathCheckEvery: 10 });
    for (let i = 0; i < 25; i++) engine.authorize(read(i, '/data/a'));
    expect(engine.fastPathStats).toMatchObject({ answered: 25, checked: 3, disagreements: 0 });
  });

  it('explains with cedar-wasm, never the fast path', () => {
    const engine = new PolicyEngine(set, { cacheSize: 0, fastPath: true });
    expect(engine.explain(read(10, '/data/a'))).toMatchObject({ allow: true, cedarDecision: 'allow', satisfied: ['small-reads'] });
    expect(engine.fastPathStats).toMatchObject({ answered: 0 });
  });
});
