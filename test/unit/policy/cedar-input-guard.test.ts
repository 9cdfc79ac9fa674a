import { PolicyEngine, PolicySet, type AuthorizationRequest, type Principal } from '../../../src/policy';
import { MAX_ATTRS_DEPTH, MAX_CONTEXT_DEPTH, unreadableByCedar } from '../../../src/policy/cedar-input';

/**
 * cedar-wasm throws, instead of answering, on input its JSON parser refuses, and each throw
 * leaks wasm stack until the instance dies (src/policy/cedar-input.ts). The engine must not
 * send such input. Its own file: a failure here leaves this file's wasm instance dead.
 */

const set = PolicySet.fromText({ 'p.cedar': 'permit (principal, action, resource) when { context == context && (principal has a || true) };' });
const ALICE: Principal = Object.freeze({ type: 'Agent', id: 'alice', attrs: {}, groups: [] });
const good: AuthorizationRequest = { principal: ALICE, action: 'svc.A/M1', resource: 't1', context: { n: 1 } };
const nested = (depth: number): never => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value as never;
};

describe('requests cedar-wasm cannot read', () => {
  it('are denied without calling cedar-wasm, which stays alive however many come', () => {
    const engine = new PolicyEngine(set, { cacheSize: 0 });
    const unreadable: AuthorizationRequest[] = [
      { ...good, action: 'svc.A/M\udc00' },
      { ...good, resource: 't\ud800' },
      { ...good, context: { s: ['a\udc00'] } },
      { ...good, context: { ['k\ud800']: 1 } },
      { ...good, principal: { ...ALICE, groups: ['g\udc00'] } },
      { ...good, principal: { ...ALICE, attrs: { a: 'x\ud800' } } },
      { ...good, context: { a: nested(MAX_CONTEXT_DEPTH) } },
      { ...good, principal: { ...ALICE, attrs: { a: nested(MAX_ATTRS_DEPTH) } } },
    ];
    // Sent to cedar-wasm, ~1 500 of these killed its instance (cedar-wasm 4.13).
    for (let i = 0; i < 2500; i++) {
      const decision = engine.authorize(unreadable[i % unreadable.length] as AuthorizationRequest);
      expect(decision.allow).toBe(false);
      expect(decision.errors).toEqual([expect.stringMatching(/^not sent to cedar-wasm, which cannot read it: .*(lone surrogate|nested more than 12[46] levels deep)/)]);
    }
    expect(engine.authorize(good)).toMatchObject({ allow: true, errors: [] });
  });

  it('are only those: the deepest nesting cedar-wasm parses is still decided by it', () => {
    const engine = new PolicyEngine(set, { cacheSize: 0 });
    expect(engine.authorize({ ...good, context: { a: nested(MAX_CONTEXT_DEPTH - 1) } })).toMatchObject({ allow: true, errors: [] });
    expect(engine.authorize({ ...good, principal: { ...ALICE, attrs: { a: nested(MAX_ATTRS_DEPTH - 1) } } })).toMatchObject({ allow: true, errors: [] });
    expect(engine.authorize({ ...good, context: { s: '😀 é \u0000' } })).toMatchObject({ allow: true, errors: [] });
  });

  it('are found however deep, without recursion', () => {
    expect(unreadableByCedar(nested(100_000), MAX_CONTEXT_DEPTH)).toBe('nested more than 126 levels deep');
    expect(unreadableByCedar({ a: [{ b: 'x' }], c: true, d: 1 }, MAX_CONTEXT_DEPTH)).toBeUndefined();
  });
});
