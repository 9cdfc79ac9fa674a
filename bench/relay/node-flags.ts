import { GATEWAY_NODE_FLAGS } from '../../src/cli/node-flags';

/**
 * The node flags of every middle process (the bare forwarder and each toolgate): production's
 * (src/cli/node-flags.ts, the image's ENTRYPOINT), so that the bench runs the gateway as
 * production runs it, and the forwarder alike so that the comparison stays fair; then
 * BENCH_MIDDLE_NODE_FLAGS (space-separated) to try others.
 */
export function middleNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = (env.BENCH_MIDDLE_NODE_FLAGS ?? '').split(/\s+/).filter((flag) => flag !== '');
  return [...GATEWAY_NODE_FLAGS, ...extra];
}
