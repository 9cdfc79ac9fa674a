import * as grpc from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicySet } from '../../src/policy/policy-set';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { waitUntil } from './support/workload-fixtures';

const READ = 'tools.files.v1.Files/ReadFile';
/** A valid change: research-bot loses ReadFile. */
const FORBID_READS = `@id("reads-paused")\nforbid (principal, action == Action::"${READ}", resource);\n`;
/** What a half-finished edit looks like. */
const BROKEN = `@id("reads-paused")\nforbid (principal, action == Action::"${READ}" resource`;

describe('hot reload under continuous calls: a broken policy file never decides a call, a valid one takes over', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start({ extraConfig: 'reload: { debounceMs: 50 }\n' });
    world.files.set('/f', Buffer.from('data'));
  });
  afterAll(() => world.close());

  it('keeps serving the last good set while a broken file is on disk, then swaps in the fixed one between calls', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const before = world.gateway.pipeline.current.policyHash;
    const outcomes: string[] = [];
    let running = true;
    const caller = (async () => {
      while (running) {
        await new Promise<void>((resolve) =>
          bot.readFile({ path: '/f' }, (e: grpc.ServiceError | null) => {
            outcomes.push(e ? grpc.status[e.code] : 'OK');
            resolve();
          }),
        );
      }
    })();
    const readLines = () => world.decisions.lines.filter((l) => l.action === READ);

    try {
      await waitUntil(() => outcomes.length >= 3, 5000);
      expect(outcomes).toContain('OK');
      const refused = world.nextReload();
      writeFileSync(join(world.policyDir, 'guardrails.cedar'), BROKEN);
      const failure = await refused;
      expect(failure).toMatchObject({ level: 50 /* error */, msg: 'reload refused: the last good config and policies keep serving', policySet: before });
      expect(failure.err).toContain(`policies in ${world.policyDir}`);
      expect(failure.err).toMatch(/guardrails\.cedar:2:\d+/); // the file and line
      expect(await world.metric('toolgate_policy_reload_total', { result: 'failure' })).toBeGreaterThanOrEqual(1);
      expect(await world.metric('toolgate_policy_last_reload_successful')).toBe(0);

      // Calls keep flowing on the last good set while the broken file stays on disk.
      const atFailure = readLines().length;
      await waitUntil(() => readLines().length >= atFailure + 5, 5000);
      const duringBroken = readLines().slice(atFailure);
      expect(duringBroken.every((l) => l.policySet === before && l.decision === 'allow')).toBe(true);

      const reloaded = world.nextReload();
      writeFileSync(join(world.policyDir, 'guardrails.cedar'), FORBID_READS);
      expect(await reloaded).toMatchObject({ msg: 'reloaded', changed: ['policy set'], previousPolicySet: before });
      expect(world.gateway.pipeline.current.policyHash).toBe(PolicySet.loadDirectory(world.policyDir).hash);
      const atSwap = outcomes.length;
      await waitUntil(() => outcomes.length >= atSwap + 5, 5000);
    } finally {
      running = false;
      await caller;
    }

    const after = world.gateway.pipeline.current.policyHash;
    expect(after).not.toBe(before);
    // Every call was decided by exactly one of the two good sets, in order, never by a broken one.
    const lines = readLines();
    const sets = lines.map((l) => l.policySet);
    expect(new Set(sets)).toEqual(new Set([before, after]));
    expect(sets.indexOf(after)).toBe(sets.length - sets.filter((s) => s === after).length); // no `before` after the first `after`
    for (const line of lines) {
      if (line.policySet === before) expect(line).toMatchObject({ decision: 'allow', policies: ['researchers-read-files'] });
      else expect(line).toMatchObject({ decision: 'deny', policies: ['reads-paused'] });
    }
    // The caller saw the same: successes, then denials, and nothing else.
    expect(new Set(outcomes)).toEqual(new Set(['OK', 'PERMISSION_DENIED']));
    expect(outcomes.indexOf('PERMISSION_DENIED')).toBe(outcomes.lastIndexOf('OK') + 1);
    expect(await world.metric('toolgate_policy_reload_total', { result: 'success' })).toBeGreaterThanOrEqual(1);
    expect(await world.metric('toolgate_policy_last_reload_successful')).toBe(1);
    expect(await world.metric('toolgate_policy_set_info', { policy_set: after, shadow_set: '' })).toBe(1);
  });
});
