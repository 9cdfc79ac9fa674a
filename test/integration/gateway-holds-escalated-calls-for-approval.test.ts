import * as grpc from '@grpc/grpc-js';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { approvalMetadata } from '../../src/approvals/approvals-client';
import { RedisApprovalStore } from '../../src/approvals/redis-approval-store';
import { errorInfoOf, STATUS_DETAILS_HEADER } from '../../src/relay/status-details';
import { startDevRedisServer, type DevRedisServer } from '../support/dev-redis-server';
import { CI_BUILDER, GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { describeWithRedis } from './support/redis-server';
import { sleep, waitUntil } from './support/workload-fixtures';

const READ = 'tools.files.v1.Files/ReadFile';
const LIST = 'tools.files.v1.Files/ListDir';
const SYNC = 'tools.files.v1.Files/Sync';
const ALICE = 'spiffe://example.org/people/alice';

const POLICIES = {
  'files.cedar': `
@id("read-notes")
permit (principal, action == Action::"${READ}", resource == Tool::"files") when { context.request.path like "/notes/*" };

@id("payroll-needs-approval")
@approval("payroll-owners")
permit (principal, action == Action::"${READ}", resource == Tool::"files") when { context.request.path like "/payroll/*" };

@id("payroll-secrets-never")
forbid (principal, action == Action::"${READ}", resource) when { context.request.path like "/payroll/secret*" };

@id("listing-payroll-expires-fast")
@approval("payroll-owners")
@approvalTtl("2s")
permit (principal, action == Action::"${LIST}", resource == Tool::"files") when { context.request.path == "/payroll" };

@id("sync-needs-approval")
@approval("payroll-owners")
permit (principal, action == Action::"${SYNC}", resource == Tool::"files");
`,
};

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
type Reply = { path: string; content: Buffer };

/** ReadFile as a promise, with the approval header and a deadline when given. */
function readFile(client: Client, path: string, options: { approval?: string; deadlineMs?: number } = {}): Promise<Reply> {
  const metadata = new grpc.Metadata();
  if (options.approval !== undefined) approvalMetadata(options.approval, metadata);
  const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  return new Promise((resolve, reject) => client.readFile({ path }, metadata, callOptions, (err: grpc.ServiceError | null, reply: Reply) => (err ? reject(err) : resolve(reply))));
}

/** The error of a call that must fail, with its ErrorInfo read from grpc-status-details-bin. */
async function refusal(call: Promise<unknown>) {
  const err = await call.then(
    () => {
      throw new Error('the call succeeded');
    },
    (e: grpc.ServiceError) => e,
  );
  const details = err.metadata?.get(STATUS_DETAILS_HEADER)[0];
  return { code: err.code, details: details === undefined ? undefined : errorInfoOf(details as Buffer) };
}

/** The records since `seen` of calls: not the expiry events the sweep writes whenever an earlier test's request expires. */
function callRecords(world: GatewayWorld, seen: number): Record<string, unknown>[] {
  return world.decisions.lines.slice(seen).filter((l) => l.event !== 'approval expired');
}

async function escalation(world: GatewayWorld, seen: number): Promise<Record<string, unknown>> {
  await waitUntil(() => world.decisions.lines.slice(seen).some((l) => l.decision === 'escalate'), 10_000);
  return world.decisions.lines.slice(seen).find((l) => l.decision === 'escalate')!;
}

describe('escalated calls (@approval): held, bound to the exact call, single use', () => {
  let world: GatewayWorld;
  let bot: Client;
  let ci: Client;

  beforeAll(async () => {
    world = await GatewayWorld.start({ policies: POLICIES, protos: true });
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
    world.files.set('/payroll/q3.csv', Buffer.from('salaries'));
    world.files.set('/payroll/q4.csv', Buffer.from('more salaries'));
    bot = (await world.agent(RESEARCH_BOT)) as Client;
    ci = (await world.agent(CI_BUILDER)) as Client;
  }, 30_000);

  afterAll(async () => {
    await world?.close();
  });

  it('holds an escalated call and relays it the moment a person approves; every step a record', async () => {
    const seen = world.decisions.lines.length;
    const call = readFile(bot, '/payroll/q3.csv');
    const escalated = await escalation(world, seen);
    expect(escalated).toMatchObject({ caller: RESEARCH_BOT, action: READ, resource: 'files', decision: 'escalate', policies: ['payroll-needs-approval'] });
    const id = escalated.approval as string;
    expect(id).toMatch(/^ap_/);
    expect(Date.parse(escalated.expiresAt as string) - Date.now()).toBeGreaterThan(9 * 60_000);

    // The caller of the call can never approve it.
    expect(await world.gateway.approvals.approve(id, RESEARCH_BOT)).toEqual({ ok: false, reason: 'own-call' });
    expect(await world.gateway.approvals.approve(id, ALICE)).toMatchObject({ ok: true, approval: { state: 'approved' } });
    expect((await call).content.toString()).toBe('salaries');

    const records = world.decisions.lines.slice(seen);
    expect(records.find((l) => l.event === 'approval granted')).toMatchObject({ approval: id, by: ALICE, caller: RESEARCH_BOT, action: READ });
    expect(records.find((l) => l.decision === 'allow')).toMatchObject({ decisionId: escalated.decisionId, approval: id, by: [ALICE], policies: ['payroll-needs-approval'] });
    expect((await world.gateway.approvals.get(id))?.state).toBe('consumed');
    expect(await world.metric('toolgate_decisions_total', { decision: 'escalate' })).toBeGreaterThanOrEqual(1);
  });

  it('an agent that gave up gets APPROVAL_REQUIRED with the id; its retry with the id succeeds once, and a replay is refused', async () => {
    const seen = world.decisions.lines.length;
    // A deadline of 1 s ends the hold before it: the agent reads the approval id, not DEADLINE_EXCEEDED.
    const first = await refusal(readFile(bot, '/payroll/q3.csv', { deadlineMs: 1000 }));
    expect(first.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(first.details).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, reason: 'APPROVAL_REQUIRED', domain: 'toolgate.dev' });
    const id = first.details!.metadata.approvalId!;
    expect(id).toBe((await escalation(world, seen)).approval);
    expect(Date.parse(first.details!.metadata.expiresAt!)).toBeGreaterThan(Date.now());

    await world.gateway.approvals.approve(id, ALICE);
    expect((await readFile(bot, '/payroll/q3.csv', { approval: id })).content.toString()).toBe('salaries');
    const replay = await refusal(readFile(bot, '/payroll/q3.csv', { approval: id }));
    expect(replay).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: { reason: 'APPROVAL_MISMATCH', metadata: { approvalId: id } } });
    const replayRecord = world.decisions.lines.at(-1)!;
    expect(replayRecord).toMatchObject({ decision: 'deny', status: grpc.status.FAILED_PRECONDITION, approval: id });
    expect(replayRecord.reason).toMatch(/already used/);
  });

  it('refuses the approval for a changed argument or another caller, without using it up', async () => {
    const first = await refusal(readFile(bot, '/payroll/q3.csv', { deadlineMs: 1000 }));
    const id = first.details!.metadata.approvalId!;
    await world.gateway.approvals.approve(id, ALICE);

    const changed = await refusal(readFile(bot, '/payroll/q4.csv', { approval: id }));
    expect(changed).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: { reason: 'APPROVAL_MISMATCH' } });
    expect(world.decisions.lines.at(-1)!.reason).toMatch(/another call/);
    const malformed = await refusal(readFile(bot, '/payroll/q3.csv', { approval: 'ap_../../etc' }));
    expect(malformed).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: { reason: 'APPROVAL_MISMATCH' } });
    expect(malformed.details!.metadata.approvalId).toBeUndefined();
    const otherCaller = await refusal(readFile(ci, '/payroll/q3.csv', { approval: id }));
    expect(otherCaller).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: { reason: 'APPROVAL_MISMATCH' } });
    expect(world.decisions.lines.at(-1)).toMatchObject({ caller: CI_BUILDER, decision: 'deny', approval: id });

    // The call it was given for still goes through.
    expect((await readFile(bot, '/payroll/q3.csv', { approval: id })).content.toString()).toBe('salaries');
  });

  it("a person's denial refuses the held call at once: PERMISSION_DENIED, APPROVAL_DENIED", async () => {
    const seen = world.decisions.lines.length;
    const call = refusal(readFile(bot, '/payroll/q3.csv'));
    const id = (await escalation(world, seen)).approval as string;
    await world.gateway.approvals.deny(id, ALICE);
    expect(await call).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: { reason: 'APPROVAL_DENIED', metadata: { approvalId: id } } });
    expect(world.decisions.lines.slice(seen).find((l) => l.event === 'approval denied')).toMatchObject({ approval: id, by: ALICE });
    // A retry with the denied id is denied too.
    expect(await refusal(readFile(bot, '/payroll/q3.csv', { approval: id }))).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: { reason: 'APPROVAL_DENIED' } });
  });

  it('an approval request expires (@approvalTtl): no approval, and a retry reads APPROVAL_EXPIRED', async () => {
    const seen = world.decisions.lines.length;
    const list = bot.listDir({ path: '/payroll' }, new grpc.Metadata(), { deadline: Date.now() + 1000 }) as grpc.ClientReadableStream<unknown>;
    list.on('data', () => undefined);
    const err = await new Promise<grpc.ServiceError>((resolve) => list.on('error', resolve));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    const escalated = await escalation(world, seen);
    const id = escalated.approval as string;
    const expiresAt = Date.parse(escalated.expiresAt as string);
    while (Date.now() <= expiresAt + 50) await sleep(100);
    expect(await world.gateway.approvals.approve(id, ALICE)).toEqual({ ok: false, reason: 'expired' });

    const metadata = new grpc.Metadata();
    metadata.set('x-toolgate-approval', id);
    const retry = bot.listDir({ path: '/payroll' }, metadata) as grpc.ClientReadableStream<unknown>;
    retry.on('data', () => undefined);
    const expired = await new Promise<grpc.ServiceError>((resolve) => retry.on('error', resolve));
    expect(expired.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(errorInfoOf(expired.metadata.get(STATUS_DETAILS_HEADER)[0] as Buffer)).toMatchObject({ reason: 'APPROVAL_EXPIRED', metadata: { approvalId: id } });
  });

  it('a forbid beats an @approval permit: denied, never escalated', async () => {
    const seen = world.decisions.lines.length;
    world.files.set('/payroll/secret.csv', Buffer.from('no'));
    expect((await refusal(readFile(bot, '/payroll/secret.csv'))).code).toBe(grpc.status.PERMISSION_DENIED);
    const records = callRecords(world, seen);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ decision: 'deny', policies: ['payroll-secrets-never'] });
    expect(records[0]!.approval).toBeUndefined();
  });

  it('decides calls without @approval exactly as before: allowed at once, no approval in the record', async () => {
    const seen = world.decisions.lines.length;
    expect((await readFile(bot, '/notes/a.txt')).content.toString()).toBe('alpha');
    const records = callRecords(world, seen);
    expect(records).toEqual([expect.objectContaining({ decision: 'allow', policies: ['read-notes'] })]);
    expect(Object.keys(records[0]!)).not.toContain('approval');
  });

  it('denies an escalated bidi stream: one approval cannot cover messages not yet sent', async () => {
    const seen = world.decisions.lines.length;
    const sync = bot.sync() as grpc.ClientDuplexStream<unknown, unknown>;
    sync.on('data', () => undefined);
    sync.write({ path: '/a' });
    const err = await new Promise<grpc.ServiceError>((resolve) => sync.on('error', resolve));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    const record = world.decisions.lines.slice(seen).find((l) => l.decision === 'deny')!;
    expect(record.reason).toMatch(/^approval required \(sync-needs-approval\), but a client- or bidi-streaming call cannot be held/);
  });

  it('decides a held call again under the policies in force when it is approved: a forbid added meanwhile denies it', async () => {
    const seen = world.decisions.lines.length;
    const call = refusal(readFile(bot, '/payroll/q4.csv'));
    const id = (await escalation(world, seen)).approval as string;
    const paused = join(world.policyDir, 'payroll-paused.cedar');
    writeFileSync(paused, `@id("payroll-paused") forbid (principal, action == Action::"${READ}", resource) when { context.request.path like "/payroll/*" };`);
    try {
      expect(world.gateway.reload('SIGHUP')).toMatchObject({ result: 'success' });
      const policySet = world.gateway.pipeline.current.policyHash;
      await world.gateway.approvals.approve(id, ALICE);
      expect((await call).code).toBe(grpc.status.PERMISSION_DENIED);
      const denial = world.decisions.lines.slice(seen).find((l) => l.decision === 'deny')!;
      expect(denial).toMatchObject({ approval: id, policies: ['payroll-paused'], policySet, reason: 'approved, but the policies in force at release deny the call' });
      // Not consumed: the approval was never used.
      expect((await world.gateway.approvals.get(id))?.state).toBe('approved');
    } finally {
      rmSync(paused);
      world.gateway.reload('SIGHUP');
    }
  });

  it('lets go of a held call its caller cancels', async () => {
    const seen = world.decisions.lines.length;
    const call = bot.readFile({ path: '/payroll/q4.csv' }, () => undefined) as grpc.ClientUnaryCall;
    await escalation(world, seen);
    call.cancel();
    await waitUntil(() => world.decisions.lines.slice(seen).some((l) => l.status === grpc.status.CANCELLED), 10_000);
    expect(world.decisions.lines.slice(seen).find((l) => l.status === grpc.status.CANCELLED)!.reason).toMatch(/went away while its call was held/);
  });
});

describeWithRedis('escalated calls across replicas sharing one Redis', () => {
  let redis: DevRedisServer;
  let world: GatewayWorld;
  let otherReplica: RedisApprovalStore;

  beforeAll(async () => {
    redis = await startDevRedisServer();
    world = await GatewayWorld.start({ policies: POLICIES, protos: true, extraConfig: `state:\n  redis:\n    url: ${redis.url}\n` });
    world.files.set('/payroll/q3.csv', Buffer.from('salaries'));
    // Another replica's view of the same shared state: the store a second gateway opens on the same Redis.
    otherReplica = await RedisApprovalStore.connect({ url: redis.url });
  }, 30_000);

  afterAll(async () => {
    await otherReplica?.close();
    await world?.close();
    await redis?.stop();
  });

  it('releases a call held on one replica by an approval given through another', async () => {
    const bot = (await world.agent(RESEARCH_BOT)) as Client;
    const seen = world.decisions.lines.length;
    const call = readFile(bot, '/payroll/q3.csv');
    const id = (await escalation(world, seen)).approval as string;
    expect(await otherReplica.approve(id, ALICE, new Date())).toMatchObject({ ok: true });
    expect((await call).content.toString()).toBe('salaries');
    expect(world.decisions.lines.slice(seen).find((l) => l.decision === 'allow')).toMatchObject({ approval: id, by: [ALICE] });
    // Consumed in Redis: once, for every replica.
    expect((await otherReplica.get(id, new Date()))?.state).toBe('consumed');
  });

  it('fails closed when the shared approval store is gone: UNAVAILABLE, APPROVAL_UNAVAILABLE', async () => {
    const bot = (await world.agent(RESEARCH_BOT)) as Client;
    await redis.stop();
    const gone = await refusal(readFile(bot, '/payroll/q3.csv'));
    expect(gone).toMatchObject({ code: grpc.status.UNAVAILABLE, details: { reason: 'APPROVAL_UNAVAILABLE' } });
    expect(world.decisions.lines.at(-1)!.reason).toMatch(/^APPROVAL_UNAVAILABLE: approval store unavailable/);
  }, 20_000);
});
