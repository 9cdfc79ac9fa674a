import * as grpc from '@grpc/grpc-js';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { PolicySet } from '../../src/policy/policy-set';
import { GatewayWorld, POLICIES, RESEARCH_BOT, unaryCall } from './support/gateway-world';

const READ = 'tools.files.v1.Files/ReadFile';
const FORBID_READS = `@id("reads-paused")\nforbid (principal, action == Action::"${READ}", resource);\n`;

describe('hot reload of policies mounted from a Kubernetes ConfigMap (the ..data symlink swap)', () => {
  let world: GatewayWorld;
  let bot: grpc.Client;
  beforeAll(async () => {
    world = await GatewayWorld.start({ configMapPolicies: true, extraConfig: 'reload: { debounceMs: 50 }\n' });
    world.files.set('/f', Buffer.from('data'));
    bot = await world.agent(RESEARCH_BOT);
  });
  afterAll(() => world.close());

  const read = () => unaryCall<{ content: Buffer }>(bot, 'readFile', { path: '/f' });

  it('serves the set read through the volume links', async () => {
    expect(lstatSync(join(world.policyDir, 'agents.cedar')).isSymbolicLink()).toBe(true);
    expect(world.gateway.pipeline.current.policyHash).toBe(PolicySet.fromText(POLICIES).hash);
    await expect(read()).resolves.toMatchObject({ content: Buffer.from('data') });
  });

  it('reloads when the kubelet swaps ..data to a new version that adds a file', async () => {
    const next = { ...POLICIES, 'guardrails.cedar': FORBID_READS };
    const reloaded = world.nextReload();
    world.policyVolume!.update(next);
    expect(await reloaded).toMatchObject({ msg: 'reloaded', changed: ['policy set'], policySet: PolicySet.fromText(next).hash });
    await expect(read()).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(world.decisions.lines.at(-1)).toMatchObject({ action: READ, decision: 'deny', policies: ['reads-paused'], policySet: PolicySet.fromText(next).hash });
  });

  it('refuses a swapped-in version that does not load, and keeps the last good', async () => {
    const serving = world.gateway.pipeline.current.policyHash;
    const refused = world.nextReload();
    world.policyVolume!.update({ ...POLICIES, 'guardrails.cedar': 'forbid (principal, action, resource' });
    expect(await refused).toMatchObject({ msg: 'reload refused: the last good config and policies keep serving', policySet: serving });
    await expect(read()).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'deny', policySet: serving });
  });

  it('reloads when a swap removes a file', async () => {
    const reloaded = world.nextReload();
    world.policyVolume!.update(POLICIES);
    expect(await reloaded).toMatchObject({ msg: 'reloaded', policySet: PolicySet.fromText(POLICIES).hash });
    await expect(read()).resolves.toMatchObject({ content: Buffer.from('data') });
  });
});
