// The guard's own module, not src/policy's index, which would load cedar-wasm into the load client.
import { WASM_INLINING_GUARD_FLAG } from '../../src/policy/v8-guard';

/**
 * The node flags of every middle process (the bare forwarder and each toolgate), in one place:
 * the bench must run the gateway as production runs it, and the forwarder alike so that the
 * comparison stays fair. The V8 guard first (src/policy/v8-guard.ts: production must pass
 * it), then BENCH_MIDDLE_NODE_FLAGS (space-separated) to try others. When production's flags
 * are defined in src/, this is where the bench should take them from.
 */
export function middleNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = (env.BENCH_MIDDLE_NODE_FLAGS ?? '').split(/\s+/).filter((flag) => flag !== '');
  return [WASM_INLINING_GUARD_FLAG, ...extra];
}
