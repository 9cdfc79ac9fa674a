import * as grpc from '@grpc/grpc-js';
import { GatewayWorld, RESEARCH_BOT, unaryCall } from './support/gateway-world';
import { expectReadFileDecidedByArguments } from './support/payload-checks';

/**
 * A gateway with `policyEngine.fastPath` on, every fast decision also decided by cedar-wasm
 * (`fastPathCheckEvery: 1`): calls decided by their arguments get the same decisions and
 * records as without it, a forbid on an argument denies naming it,
 * and the disagreement counter stays at 0.
 */
const POLICIES = {
  'payload.cedar': `
@id("read-public-small")
permit (principal in AgentGroup::"researchers", action == Action::"tools.files.v1.Files/ReadFile", resource == Tool::"files")
when { context.request.path like "/public/*" && context.request.maxBytes <= 1024 };

@id("no-huge-reads")
forbid (principal, action == Action::"tools.files.v1.Files/ReadFile", resource)
when { context.request.maxBytes > 1000000 };
`,
};

describe('the policy fast path in a running gateway', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start({ policies: POLICIES, protos: true, extraConfig: 'policyEngine: { fastPath: true, fastPathCheckEvery: 1 }\n' });
    world.files.set('/public/a.txt', Buffer.from('public data'));
    world.files.set('/secrets/key.txt', Buffer.from('hunter2'));
  });
  afterAll(() => world.close());

  it('decides by the call arguments exactly as cedar-wasm, and counts no disagreement', async () => {
    await expectReadFileDecidedByArguments(world, 'read-public-small');
    const bot = await world.agent(RESEARCH_BOT);
    await expect(unaryCall(bot, 'readFile', { path: '/public/a.txt', maxBytes: 2000000 })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'deny', policies: ['no-huge-reads'], errors: [] });
    expect(await world.metric('toolgate_policy_fast_path_disagreements_total')).toBe(0);
  });
});
