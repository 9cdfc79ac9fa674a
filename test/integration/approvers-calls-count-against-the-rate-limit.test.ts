import * as grpc from '@grpc/grpc-js';
import { ApprovalsClient } from '../../src/approvals/approvals-client';
import { CI_BUILDER, GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { call, statusOf } from './support/task-calls';

const READ = 'tools.files.v1.Files/ReadFile';

const POLICIES = {
  'files.cedar': `
@id("read-notes")
permit (principal, action == Action::"${READ}", resource == Tool::"files") when { context.request.path like "/notes/*" };

@id("payroll-needs-ci-approval")
@approval("ci")
permit (principal, action == Action::"${READ}", resource == Tool::"files") when { context.request.path like "/payroll/*" };
`,
};

describe("approvers' calls to toolgate.v1.Approvals count against their own limits.agentRate bucket", () => {
  let world: GatewayWorld;

  beforeAll(async () => {
    // A refill so slow that no token comes back during the test.
    world = await GatewayWorld.start({ policies: POLICIES, protos: true, extraConfig: 'limits:\n  agentRate: { perSecond: 0.001, burst: 3 }\n' });
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
  }, 30_000);

  afterAll(async () => {
    await world?.close();
  });

  it('List, Get and Watch each take a token; past the burst, RESOURCE_EXHAUSTED with its record; an agent keeps its own bucket', async () => {
    const ci = world.client(ApprovalsClient, await world.spiffe.workload(CI_BUILDER));
    expect(await statusOf(call(ci, 'list', {}))).toBe(grpc.status.OK);
    expect(await statusOf(call(ci, 'get', { approvalId: 'ap_000000000000000000000000' }))).toBe(grpc.status.NOT_FOUND);
    expect(await statusOf(call(ci, 'list', {}))).toBe(grpc.status.OK);
    expect(await statusOf(call(ci, 'list', {}))).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const refused = world.decisions.lines.at(-1)!;
    expect(refused).toMatchObject({ caller: CI_BUILDER, action: 'toolgate.v1.Approvals/List', decision: 'deny', status: grpc.status.RESOURCE_EXHAUSTED });
    expect(refused.reason).toMatch(/^rate limit of .* exceeded$/);

    // A Watch is refused before it opens: no stream of pending requests for an approver over its rate.
    const watch = (ci as unknown as { watch: (request: object) => grpc.ClientReadableStream<unknown> }).watch({});
    watch.on('data', () => undefined);
    const err = await new Promise<grpc.ServiceError>((resolve) => watch.on('error', resolve));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const bot = await world.agent(RESEARCH_BOT);
    expect(await statusOf(call(bot, 'readFile', { path: '/notes/a.txt' }))).toBe(grpc.status.OK);
  });
});
