import * as grpc from '@grpc/grpc-js';
import { ApprovalsClient } from '../../src/approvals/approvals-client';
import { CI_BUILDER, GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { waitUntil } from './support/workload-fixtures';

const READ = 'tools.files.v1.Files/ReadFile';
const LIST = 'tools.files.v1.Files/ListDir';
const OTHER_CI = 'spiffe://example.org/agents/ci/builder-8';

const POLICIES = {
  'files.cedar': `
@id("payroll-needs-ci-approval")
@approval("ci")
permit (principal, action == Action::"${READ}", resource == Tool::"files") when { context.request.path like "/payroll/*" };

@id("listing-payroll-needs-two")
@approval("ci")
@approvals("2")
permit (principal, action == Action::"${LIST}", resource == Tool::"files") when { context.request.path == "/payroll" };
`,
};

interface ApprovalReply {
  approvalId: string;
  state: string;
  caller: string;
  action: string;
  upstream: string;
  group: string;
  approvers: string[];
  deniedBy: string;
}

type Dynamic = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function unary<T>(client: grpc.Client, method: string, request: object, metadata = new grpc.Metadata()): Promise<T> {
  const fn = (client as Dynamic)[method]!;
  return new Promise((resolve, reject) => fn.call(client, request, metadata, (err: grpc.ServiceError | null, reply: T) => (err ? reject(err) : resolve(reply))));
}

async function codeOf(call: Promise<unknown>): Promise<number> {
  return call.then(
    () => grpc.status.OK,
    (err: grpc.ServiceError) => err.code,
  );
}

describe('approvers decide through toolgate.v1.Approvals (List, Get, Approve, Deny)', () => {
  let world: GatewayWorld;

  beforeAll(async () => {
    world = await GatewayWorld.start({ policies: POLICIES, protos: true, extraConfig: 'approvals:\n  maxPendingPerCaller: 1\n' });
    world.files.set('/payroll/q3.csv', Buffer.from('salaries'));
  }, 30_000);

  afterAll(async () => {
    await world?.close();
  });

  const approvers = async (id: string) => world.client(ApprovalsClient, await world.spiffe.workload(id));

  /** Starts a held ReadFile of /payroll/q3.csv as `caller` and resolves with the call and its approval id. */
  async function heldCall(caller: string): Promise<{ call: Promise<{ content: Buffer }>; id: string }> {
    const client = (await world.agent(caller)) as Dynamic;
    const seen = world.decisions.lines.length;
    const call = unary<{ content: Buffer }>(client, 'readFile', { path: '/payroll/q3.csv' });
    await waitUntil(() => world.decisions.lines.slice(seen).some((l) => l.decision === 'escalate'), 10_000);
    return { call, id: world.decisions.lines.slice(seen).find((l) => l.decision === 'escalate')!.approval as string };
  }

  it('an approver of the group lists, reads and approves a held call, which then goes on', async () => {
    const { call, id } = await heldCall(RESEARCH_BOT);
    const ci = await approvers(CI_BUILDER);
    const listed = await unary<{ approvals: ApprovalReply[] }>(ci, 'list', {});
    expect(listed.approvals.map((a) => a.approvalId)).toContain(id);
    expect(await unary<ApprovalReply>(ci, 'get', { approvalId: id })).toMatchObject({ state: 'pending', caller: RESEARCH_BOT, action: READ, upstream: 'files', group: 'ci' });

    const seen = world.decisions.lines.length;
    expect(await unary<ApprovalReply>(ci, 'approve', { approvalId: id })).toMatchObject({ state: 'approved', approvers: [CI_BUILDER] });
    expect((await call).content.toString()).toBe('salaries');
    expect(world.decisions.lines.slice(seen).find((l) => l.event === 'approval granted')).toMatchObject({ approval: id, by: CI_BUILDER, action: READ, caller: RESEARCH_BOT });
  });

  it('refuses a non-approver (not in the group): PERMISSION_DENIED, and lists nothing to it', async () => {
    const { call, id } = await heldCall(CI_BUILDER);
    const bot = await approvers(RESEARCH_BOT);
    expect((await unary<{ approvals: ApprovalReply[] }>(bot, 'list', {})).approvals).toEqual([]);
    expect(await codeOf(unary(bot, 'get', { approvalId: id }))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await codeOf(unary(bot, 'approve', { approvalId: id }))).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.decisions.lines.at(-1)).toMatchObject({
      caller: RESEARCH_BOT,
      action: 'toolgate.v1.Approvals/Approve',
      approval: id,
      decision: 'deny',
      reason: 'not an approver of group "ci"',
    });

    // The caller approving its own call is refused too, though it is in the group; another approver denies it.
    const self = await approvers(CI_BUILDER);
    expect(await codeOf(unary(self, 'approve', { approvalId: id }))).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'deny', reason: 'approve refused: own-call' });
    expect((await unary<ApprovalReply>(self, 'get', { approvalId: id })).state).toBe('pending');

    const other = await approvers(OTHER_CI);
    const outcome = codeOf(call);
    expect(await unary<ApprovalReply>(other, 'deny', { approvalId: id })).toMatchObject({ state: 'denied', deniedBy: OTHER_CI });
    expect(await outcome).toBe(grpc.status.PERMISSION_DENIED);
    expect(await codeOf(unary(other, 'approve', { approvalId: id }))).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it('refuses a caller past approvals.maxPendingPerCaller: RESOURCE_EXHAUSTED, APPROVAL_LIMIT', async () => {
    const { call, id } = await heldCall(RESEARCH_BOT);
    const bot = (await world.agent(RESEARCH_BOT)) as Dynamic;
    const metadata = new grpc.Metadata();
    const second = await unary(bot, 'readFile', { path: '/payroll/q3.csv' }, metadata).then(
      () => undefined,
      (err: grpc.ServiceError) => err,
    );
    expect(second?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(world.decisions.lines.at(-1)!.reason).toMatch(/^APPROVAL_LIMIT: the caller has 1 pending approval requests/);
    const outcome = codeOf(call);
    await unary(await approvers(CI_BUILDER), 'deny', { approvalId: id });
    expect(await outcome).toBe(grpc.status.PERMISSION_DENIED);
  });

  it("Watch streams the requests of the approver's groups as they are made and decided", async () => {
    const ci = (await approvers(CI_BUILDER)) as Dynamic;
    const watch = ci.watch({}) as grpc.ClientReadableStream<ApprovalReply>;
    const seen: ApprovalReply[] = [];
    watch.on('data', (a: ApprovalReply) => seen.push(a));
    watch.on('error', () => undefined);
    await waitUntil(() => world.decisions.lines.some((l) => l.action === 'toolgate.v1.Approvals/Watch'), 10_000);

    const { call, id } = await heldCall(RESEARCH_BOT);
    await waitUntil(() => seen.some((a) => a.approvalId === id && a.state === 'pending'), 10_000);
    const outcome = codeOf(call);
    await unary(await approvers(OTHER_CI), 'approve', { approvalId: id });
    expect(await outcome).toBe(grpc.status.OK);
    await waitUntil(() => seen.some((a) => a.approvalId === id && a.state !== 'pending'), 10_000);
    expect(seen.filter((a) => a.approvalId === id).map((a) => a.state)[1]).toMatch(/^(approved|consumed)$/);

    // A non-approver's Watch shows nothing of the group.
    const bot = (await approvers(RESEARCH_BOT)) as Dynamic;
    const botWatch = bot.watch({}) as grpc.ClientReadableStream<ApprovalReply>;
    const botSeen: ApprovalReply[] = [];
    botWatch.on('data', (a: ApprovalReply) => botSeen.push(a));
    botWatch.on('error', () => undefined);
    const second = await heldCall(CI_BUILDER);
    await waitUntil(() => seen.some((a) => a.approvalId === second.id), 10_000);
    const denied = codeOf(second.call);
    await unary(await approvers(OTHER_CI), 'deny', { approvalId: second.id });
    expect(await denied).toBe(grpc.status.PERMISSION_DENIED);
    expect(botSeen).toEqual([]);
    watch.cancel();
    botWatch.cancel();
  });

  it('holds a call whose permit asks @approvals("2") until two distinct approvers have approved', async () => {
    const bot = (await world.agent(RESEARCH_BOT)) as Dynamic;
    const seen = world.decisions.lines.length;
    const list = bot.listDir({ path: '/payroll' }) as grpc.ClientReadableStream<{ name: string }>;
    const names: string[] = [];
    list.on('data', (entry: { name: string }) => names.push(entry.name));
    const status = new Promise<grpc.StatusObject>((resolve) => list.on('status', resolve));
    list.on('error', () => undefined);
    await waitUntil(() => world.decisions.lines.slice(seen).some((l) => l.decision === 'escalate'), 10_000);
    const id = world.decisions.lines.slice(seen).find((l) => l.decision === 'escalate')!.approval as string;

    const first = await unary<ApprovalReply>(await approvers(CI_BUILDER), 'approve', { approvalId: id });
    expect(first).toMatchObject({ state: 'pending', approvers: [CI_BUILDER] });
    expect(await codeOf(unary(await approvers(CI_BUILDER), 'approve', { approvalId: id }))).toBe(grpc.status.ALREADY_EXISTS);
    expect(world.decisions.lines.slice(seen).some((l) => l.decision === 'allow')).toBe(false);

    await unary(await approvers(OTHER_CI), 'approve', { approvalId: id });
    expect((await status).code).toBe(grpc.status.OK);
    expect(names).toEqual(['q3.csv']);
    expect(world.decisions.lines.slice(seen).find((l) => l.decision === 'allow')).toMatchObject({ approval: id, by: [CI_BUILDER, OTHER_CI] });
  });

  it('answers NOT_FOUND for an unknown id', async () => {
    const ci = await approvers(CI_BUILDER);
    expect(await codeOf(unary(ci, 'get', { approvalId: 'ap_000000000000000000000000' }))).toBe(grpc.status.NOT_FOUND);
  });
});
