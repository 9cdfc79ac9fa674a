import * as grpc from '@grpc/grpc-js';
import { CI_BUILDER, GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { call, listDirStatus, statusOf } from './support/task-calls';

describe('a token bucket per agent limits the calls of each (limits.agentRate)', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start({
      policies: {
        ...POLICIES,
        // The bucket's level is visible to policy: the last token is kept for reads.
        'rate.cedar': `
@id("last-token-is-for-reads")
forbid (principal, action == Action::"tools.files.v1.Files/ListDir", resource)
when { context has rate && context.rate.remaining < 1 };`,
      },
      // A refill so slow that no token comes back during the test.
      extraConfig: 'limits:\n  agentRate: { perSecond: 0.001, burst: 4 }\n',
    });
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
  });
  afterAll(() => world.close());

  it('allows a burst, then answers RESOURCE_EXHAUSTED; another agent has its own bucket', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const read = () => statusOf(call(bot, 'readFile', { path: '/notes/a.txt' }));
    expect([await read(), await read(), await listDirStatus(bot)]).toEqual([grpc.status.OK, grpc.status.OK, grpc.status.OK]);
    // One token left: policy sees remaining 0 after taking it and keeps it for reads.
    expect(await listDirStatus(bot)).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'deny', policies: ['last-token-is-for-reads'] });
    expect(await read()).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(world.decisions.lines.at(-1)).toMatchObject({ caller: RESEARCH_BOT, decision: 'deny', reason: 'rate limit of Agent::"research-bot" exceeded' });
    expect(world.files.size).toBe(1);

    const ci = await world.agent(CI_BUILDER);
    expect(await statusOf(call(ci, 'readFile', { path: '/notes/a.txt' }))).toBe(grpc.status.OK);
  });
});
