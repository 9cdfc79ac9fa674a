import { PolicyEngine, PolicySet, type AuthorizationRequest, type Principal } from '../../../src/policy';
import { fastPathReporting } from '../../../src/server/shadow-disagreements';
import { GatewayMetrics } from '../../../src/observability/metrics';
import { createLogger } from '../../../src/observability/logger';

/** How many decisions each engine made, as `toolgate_policy_evaluations_total{engine}` reports them. */

const compiled = PolicySet.fromText({
  'p.cedar': `@id("small-reads")
permit (principal, action, resource == Tool::"files") when { context.request.size <= 1000 };`,
});
const outsideTheSubset = PolicySet.fromText({
  'p.cedar': `@id("loopback")
permit (principal, action, resource == Tool::"files") when { ip(context.request.host).isLoopback() };`,
});
const alice: Principal = Object.freeze({ type: 'Agent', id: 'alice', attrs: {}, groups: [] });
const call = (request: Record<string, string | number>): AuthorizationRequest => ({ principal: alice, action: 'files.v1.Files/Read', resource: 'files', context: { request } });

describe('the count of evaluated decisions, by engine', () => {
  it('counts fast-path answers and cedar-wasm evaluations, never cache hits, across the engines of successive sets', () => {
    const evaluations = { fastPath: 0, cedarWasm: 0 };
    const first = new PolicyEngine(compiled, { fastPath: true, fastPathCheckEvery: 0, evaluations });
    first.authorize(call({ size: 10 }));
    first.authorize(call({ size: 10 })); // cached
    first.authorize(call({ size: 5000 }));
    first.authorize(call({ host: 'x' })); // the policy errors: cedar-wasm decides
    expect(evaluations).toEqual({ fastPath: 2, cedarWasm: 1 });
    // A reload builds a new engine on the same counts.
    const second = new PolicyEngine(outsideTheSubset, { fastPath: true, evaluations });
    second.authorize(call({ host: '127.0.0.1' }));
    const wasmOnly = new PolicyEngine(compiled, { fastPath: false, evaluations });
    wasmOnly.authorize(call({ size: 1 }));
    expect(evaluations).toEqual({ fastPath: 2, cedarWasm: 3 });
  });

  it('a sampled check counts once, as the fast path it checks', () => {
    const evaluations = { fastPath: 0, cedarWasm: 0 };
    const engine = new PolicyEngine(compiled, { cacheSize: 0, fastPath: true, fastPathCheckEvery: 1, evaluations });
    engine.authorize(call({ size: 1 }));
    engine.authorize(call({ size: 2 }));
    expect(evaluations).toEqual({ fastPath: 2, cedarWasm: 0 });
    expect(engine.fastPathStats).toMatchObject({ answered: 2, checked: 2 });
  });

  it('reaches /metrics through the gateway engines options', async () => {
    const metrics = new GatewayMetrics();
    const options = fastPathReporting(createLogger({ level: 'silent' }), metrics, { fastPath: true, fastPathCheckEvery: 1000 } as never);
    const engine = new PolicyEngine(compiled, options);
    engine.authorize(call({ size: 1 }));
    new PolicyEngine(outsideTheSubset, options).authorize(call({ host: '127.0.0.1' }));
    const text = await metrics.registry.metrics();
    expect(text).toContain('toolgate_policy_evaluations_total{engine="fast_path"} 1');
    expect(text).toContain('toolgate_policy_evaluations_total{engine="cedar_wasm"} 1');
  });
});
