import { PolicyEngine, PolicySet } from '../../../src/policy';
import { ShadowedEngine, type ShadowDisagreement } from '../../../src/policy/shadowed-engine';
import { agent, LIST, READ, request, WRITE } from './fixtures';

const LIVE = PolicySet.fromText({
  'live.cedar': `
    @id("researchers-read")
    permit (principal in AgentGroup::"researchers", action in [Action::"${READ}", Action::"${LIST}"], resource == Tool::"files");
  `,
});

// The candidate takes ReadFile away and gives WriteFile; ListDir stays as it was.
const CANDIDATE = PolicySet.fromText({
  'candidate.cedar': `
    @id("researchers-list")
    permit (principal in AgentGroup::"researchers", action == Action::"${LIST}", resource == Tool::"files");

    @id("researchers-write")
    permit (principal in AgentGroup::"researchers", action == Action::"${WRITE}", resource == Tool::"files");
  `,
});

const researcher = agent('research-bot', ['researchers']);

function shadowed(shadow: PolicySet, onDisagreement: (d: ShadowDisagreement) => void = () => undefined, onError: (err: unknown) => void = () => undefined) {
  return new ShadowedEngine(LIVE, shadow, { cacheSize: 0, onDisagreement, onError });
}

describe('ShadowedEngine: shadow policies are evaluated beside the live ones and never change a decision', () => {
  const plain = new PolicyEngine(LIVE, { cacheSize: 0 });

  it('returns exactly the live decision for every request, whatever the shadow set says', () => {
    const engine = shadowed(CANDIDATE);
    for (const action of [READ, LIST, WRITE]) {
      const { allow, policies, errors } = engine.authorize(request(researcher, action));
      expect({ allow, policies, errors }).toEqual(pick(plain.authorize(request(researcher, action))));
    }
  });

  it('reports each disagreement, both ways, with both decisions and both set hashes; agreement is not reported', () => {
    const seen: ShadowDisagreement[] = [];
    const engine = shadowed(CANDIDATE, (d) => seen.push(d));
    engine.authorize(request(researcher, READ));
    engine.authorize(request(researcher, LIST));
    engine.authorize(request(researcher, WRITE));
    expect(seen.map((d) => [d.request.action, d.live.allow, d.shadow.allow])).toEqual([
      [READ, true, false],
      [WRITE, false, true],
    ]);
    expect(seen[0]).toMatchObject({ livePolicySet: LIVE.hash, shadowPolicySet: CANDIDATE.hash, live: { policies: ['researchers-read'] }, shadow: { policies: [] } });
    expect(seen[1]!.shadow.policies).toEqual(['researchers-write']);
  });

  it('keeps the live decision when the shadow set errors at evaluation, and reports the error as the shadow deny', () => {
    const erring = PolicySet.fromText({ 'bad.cedar': '@id("reads-missing")\npermit (principal, action, resource) when { principal.missing == 1 };' });
    const seen: ShadowDisagreement[] = [];
    const decision = shadowed(erring, (d) => seen.push(d)).authorize(request(researcher, READ));
    expect(pick(decision)).toEqual({ allow: true, policies: ['researchers-read'], errors: [] });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.shadow).toMatchObject({ allow: false, policies: ['reads-missing'] });
    expect(seen[0]!.shadow.errors[0]).toContain('reads-missing');
  });

  it('keeps the live decision when reporting throws, and hands the error to onError', () => {
    const errors: unknown[] = [];
    const engine = shadowed(
      CANDIDATE,
      () => {
        throw new Error('log sink is gone');
      },
      (err) => errors.push(err),
    );
    expect(engine.authorize(request(researcher, READ)).allow).toBe(true);
    expect(engine.authorize(request(researcher, WRITE)).allow).toBe(false);
    expect(errors.map((e) => (e as Error).message)).toEqual(['log sink is gone', 'log sink is gone']);
  });

  it('is a PolicyEngine on the live set, so the pipeline needs no change', () => {
    const engine = shadowed(CANDIDATE);
    expect(engine).toBeInstanceOf(PolicyEngine);
    expect(engine.set).toBe(LIVE);
    expect(engine.shadowSet).toBe(CANDIDATE);
  });
});

function pick(d: { allow: boolean; policies: readonly string[]; errors: readonly string[] }) {
  return { allow: d.allow, policies: d.policies, errors: d.errors };
}
