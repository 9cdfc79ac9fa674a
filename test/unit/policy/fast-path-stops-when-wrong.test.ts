import { FastPath } from '../../../src/policy/fast-path';
import { PolicyEngine, PolicySet, type AuthorizationRequest, type Principal } from '../../../src/policy';

/** A fast path the sampled check proves wrong once is not trusted again by that engine. */

const set = PolicySet.fromText({
  'p.cedar': `
@id("small-reads")
permit (principal, action, resource == Tool::"files") when { context.request.size <= 1000 };
@id("no-secrets")
forbid (principal, action, resource) when { context.request has path && context.request.path like "*secret*" };
`,
});
const alice: Principal = Object.freeze({ type: 'Agent', id: 'alice', attrs: {}, groups: [] });
const read = (size: number, path: string): AuthorizationRequest => ({ principal: alice, action: 'files.v1.Files/Read', resource: 'files', context: { request: { size, path } } });

afterEach(() => jest.restoreAllMocks());

describe('after a disagreement', () => {
  it("every later decision is cedar-wasm's, and fast answers cached before it are forgotten", () => {
    const decide = jest.spyOn(FastPath.prototype, 'decide');
    const evaluations = { fastPath: 0, cedarWasm: 0 };
    // A check every 3rd fast decision: the 1st, 4th, ... are sampled.
    const engine = new PolicyEngine(set, { fastPath: true, fastPathCheckEvery: 3, evaluations, onFastPathDisagreement: () => {} });
    expect(engine.authorize(read(10, '/data/a')).allow).toBe(true); // sampled, agrees
    // A wrong fast answer, unsampled: it stands and is cached.
    decide.mockReturnValueOnce({ decision: 'allow', reason: ['small-reads'] });
    expect(engine.authorize(read(10, '/data/secret')).allow).toBe(true);
    expect(engine.authorize(read(10, '/data/secret')).cached).toBe(true);
    decide.mockReturnValueOnce({ decision: 'allow', reason: ['small-reads'] }); // unsampled, cached wrongly too
    engine.authorize(read(11, '/data/secret'));
    decide.mockReturnValueOnce({ decision: 'allow', reason: ['small-reads'] }); // the 4th: sampled, caught
    expect(engine.authorize(read(12, '/data/secret')).allow).toBe(false);
    expect(engine.fastPathStats).toMatchObject({ disagreements: 1 });

    // From now on: the wrong cached answers are gone, and the fast path is not asked again.
    decide.mockClear();
    const again = engine.authorize(read(10, '/data/secret'));
    expect([again.allow, again.cached]).toEqual([false, false]);
    expect(engine.authorize(read(11, '/data/secret')).allow).toBe(false);
    expect(engine.authorize(read(1, '/data/b')).allow).toBe(true);
    expect(decide).not.toHaveBeenCalled();
    expect(evaluations.cedarWasm).toBe(3);
  });
});
