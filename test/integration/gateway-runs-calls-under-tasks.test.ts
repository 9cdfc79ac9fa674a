import * as grpc from '@grpc/grpc-js';
import { CI_BUILDER, GatewayWorld, POLICIES, RESEARCH_BOT, STRANGER } from './support/gateway-world';
import { call, listDirStatus, statusOf, taskMetadata, tasksOf } from './support/task-calls';
import { waitUntil } from './support/workload-fixtures';

const READ = 'tools.files.v1.Files/ReadFile';
const LIST = 'tools.files.v1.Files/ListDir';
const SYNC = 'tools.files.v1.Files/Sync';

const TASK_POLICIES = {
  ...POLICIES,
  'tasks.cedar': `
@id("researchers-begin-short-tasks")
permit (principal in AgentGroup::"researchers", action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate")
when { context.request.ttlSeconds <= 3600 && !(context.request.intent like "*forbidden*") };

@id("ci-begins-tasks")
permit (principal in AgentGroup::"ci", action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate");

@id("third-capped-read-needs-a-reason")
forbid (principal, action == Action::"${READ}", resource)
when { context has task && context.task.perMethod.contains({ key: "${READ}", value: 3 }) && context.task.intent != "read thrice" };

@id("a-task-lists-at-most-once")
forbid (principal, action == Action::"${LIST}", resource)
when { context has task && context.task.callsUsed > 1 && context.task.intent == "list once" };
`,
};

describe('agents hold power only for a declared task (toolgate.v1.Tasks)', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start({ policies: TASK_POLICIES, extraConfig: 'tasks:\n  maxTtlSeconds: 1200\n' });
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
  });
  afterAll(() => world.close());

  it('begins a task by policy, uses it, ends it, and then refuses its token', async () => {
    const tasks = await tasksOf(world, RESEARCH_BOT);
    const bot = await world.agent(RESEARCH_BOT);
    const begun = await tasks.begin({ intent: 'summarize notes', tools: ['tools.files.v1.Files'], ttlSeconds: 600, budget: { calls: 5 } });
    expect(begun.taskId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(begun.expiresAt.seconds * 1000).toBeGreaterThan(Date.now() + 590_000);
    const begin = world.decisions.lines.find((l) => l.action === 'toolgate.v1.Tasks/BeginTask' && l.decision === 'allow');
    expect(begin).toMatchObject({ resource: 'toolgate', policies: ['researchers-begin-short-tasks'] });

    const reply = await call<{ content: Buffer }>(bot, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token));
    expect(reply.content.toString()).toBe('alpha');
    expect(world.decisions.lines.at(-1)).toMatchObject({ action: READ, task: begun.taskId, decision: 'allow' });
    expect(await tasks.get(begun.taskId)).toMatchObject({
      taskId: begun.taskId,
      intent: 'summarize notes',
      callsUsed: 1,
      callsRemaining: 4,
      ended: false,
      ownerSpiffeId: RESEARCH_BOT,
    });

    await tasks.end(begun.taskId);
    expect(await statusOf(call(bot, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token)))).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.decisions.lines.at(-1)).toMatchObject({ action: READ, task: begun.taskId, decision: 'deny', reason: 'the task has ended' });
    expect(await tasks.get(begun.taskId)).toMatchObject({ ended: true, callsUsed: 1 });
    // Ending twice is fine; the call without a task still works by policy alone.
    await tasks.end(begun.taskId);
    expect((await call<{ content: Buffer }>(bot, 'readFile', { path: '/notes/a.txt' })).content.toString()).toBe('alpha');
  });

  it('lets policy decide who begins which task: intent, TTL and principal are in the decision', async () => {
    const bot = await tasksOf(world, RESEARCH_BOT);
    expect(await statusOf(bot.begin({ intent: 'a forbidden errand', tools: [READ], ttlSeconds: 60 }))).toBe(grpc.status.PERMISSION_DENIED);
    const denied = world.decisions.lines.at(-1)!;
    expect(denied).toMatchObject({ action: 'toolgate.v1.Tasks/BeginTask', decision: 'deny', policies: [] });
    // An unmapped workload has no permit to begin tasks at all.
    const stranger = await tasksOf(world, STRANGER);
    expect(await statusOf(stranger.begin({ tools: [READ], ttlSeconds: 60 }))).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('caps the TTL by config whatever policy allows, and refuses malformed tasks', async () => {
    const bot = await tasksOf(world, RESEARCH_BOT);
    expect(await statusOf(bot.begin({ tools: [READ], ttlSeconds: 1201 }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await statusOf(bot.begin({ tools: [READ], ttlSeconds: 0 }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await statusOf(bot.begin({ tools: [], ttlSeconds: 60 }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await statusOf(bot.begin({ tools: ['not a tool'], ttlSeconds: 60 }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await statusOf(bot.begin({ tools: [READ], ttlSeconds: 1200 }))).toBe(grpc.status.OK);
  });

  it('refuses a task token replayed from another SPIFFE ID, even where policy would permit the call', async () => {
    const begun = await (await tasksOf(world, RESEARCH_BOT)).begin({ tools: ['tools.files.v1.Files'], ttlSeconds: 60 });
    const ci = await world.agent(CI_BUILDER);
    expect(await statusOf(call(ci, 'readFile', { path: '/notes/a.txt' }))).toBe(grpc.status.OK);
    expect(await statusOf(call(ci, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token)))).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.decisions.lines.at(-1)).toMatchObject({ caller: CI_BUILDER, decision: 'deny', reason: 'task token refused: it was issued to another SPIFFE ID' });
    // Nor may another SPIFFE ID read or end the task: it is "not found" to them.
    const ciTasks = await tasksOf(world, CI_BUILDER);
    expect(await statusOf(ciTasks.get(begun.taskId))).toBe(grpc.status.NOT_FOUND);
    expect(await statusOf(ciTasks.end(begun.taskId))).toBe(grpc.status.NOT_FOUND);
    // A forged token is refused too.
    const forged = `${begun.token.slice(0, -4)}AAAA`;
    expect(await statusOf(call(await world.agent(RESEARCH_BOT), 'readFile', { path: '/notes/a.txt' }, taskMetadata(forged)))).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('denies a tool outside the task whatever the policies say', async () => {
    const begun = await (await tasksOf(world, RESEARCH_BOT)).begin({ tools: [READ], ttlSeconds: 60 });
    const bot = await world.agent(RESEARCH_BOT);
    const list = (metadata?: grpc.Metadata) => listDirStatus(bot, metadata);
    expect(await list()).toBe(grpc.status.OK); // policy permits ListDir
    expect(await list(taskMetadata(begun.token))).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.decisions.lines.at(-1)).toMatchObject({ action: LIST, decision: 'deny', reason: "the method is not among the task's tools" });
  });

  it('exposes the task and its counters to policy as context.task', async () => {
    const begun = await (await tasksOf(world, RESEARCH_BOT)).begin({ intent: 'list once', tools: ['tools.files.v1.Files'], ttlSeconds: 60 });
    const bot = await world.agent(RESEARCH_BOT);
    const list = () => listDirStatus(bot, taskMetadata(begun.token));
    expect(await list()).toBe(grpc.status.OK);
    expect(await list()).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.decisions.lines.at(-1)).toMatchObject({ action: LIST, decision: 'deny', policies: ['a-task-lists-at-most-once'] });
  });

  it('exposes per-method counters to policy (context.task.perMethod)', async () => {
    const tasks = await tasksOf(world, RESEARCH_BOT);
    const bot = await world.agent(RESEARCH_BOT);
    const read = (token: string) => statusOf(call(bot, 'readFile', { path: '/notes/a.txt' }, taskMetadata(token)));
    const plain = await tasks.begin({ tools: ['tools.files.v1.Files'], ttlSeconds: 60, budget: { perMethod: { [READ]: 5 } } });
    expect([await read(plain.token), await read(plain.token), await read(plain.token)]).toEqual([grpc.status.OK, grpc.status.OK, grpc.status.PERMISSION_DENIED]);
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'deny', policies: ['third-capped-read-needs-a-reason'] });
    const reasoned = await tasks.begin({ intent: 'read thrice', tools: ['tools.files.v1.Files'], ttlSeconds: 60, budget: { perMethod: { [READ]: 5 } } });
    expect([await read(reasoned.token), await read(reasoned.token), await read(reasoned.token)]).toEqual([grpc.status.OK, grpc.status.OK, grpc.status.OK]);
  });

  it('gives RESOURCE_EXHAUSTED past the call budget, a per-method cap, or the concurrency cap', async () => {
    const tasks = await tasksOf(world, RESEARCH_BOT);
    const bot = await world.agent(RESEARCH_BOT);
    const read = (token: string) => statusOf(call(bot, 'readFile', { path: '/notes/a.txt' }, taskMetadata(token)));

    const budget = await tasks.begin({ tools: ['tools.files.v1.Files'], ttlSeconds: 60, budget: { calls: 2 } });
    expect([await read(budget.token), await read(budget.token), await read(budget.token)]).toEqual([grpc.status.OK, grpc.status.OK, grpc.status.RESOURCE_EXHAUSTED]);
    expect(world.decisions.lines.at(-1)).toMatchObject({ task: budget.taskId, decision: 'deny', reason: "the task's call budget is spent" });
    expect(await tasks.get(budget.taskId)).toMatchObject({ callsUsed: 2, callsRemaining: 0 });

    const capped = await tasks.begin({ tools: ['tools.files.v1.Files'], ttlSeconds: 60, budget: { perMethod: { [READ]: 1 } } });
    expect([await read(capped.token), await read(capped.token)]).toEqual([grpc.status.OK, grpc.status.RESOURCE_EXHAUSTED]);

    const single = await tasks.begin({ tools: ['tools.files.v1.Files'], ttlSeconds: 60, budget: { maxConcurrent: 1 } });
    const open = (bot as unknown as { sync: (m: grpc.Metadata) => grpc.ClientDuplexStream<object, object> }).sync(taskMetadata(single.token));
    open.on('data', () => {});
    const ended = new Promise<void>((resolve) => open.on('status', () => resolve()));
    open.write({ path: '/notes/a.txt', op: 'touch' });
    await waitUntil(() => world.decisions.lines.some((l) => l.action === SYNC && l.task === single.taskId && l.decision === 'allow'));
    expect(await read(single.token)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    open.end();
    await ended;
    // The slot is free again once the stream closed.
    expect(await read(single.token)).toBe(grpc.status.OK);
  });

  it('cuts an open stream of a task when the task ends', async () => {
    const tasks = await tasksOf(world, RESEARCH_BOT);
    const begun = await tasks.begin({ tools: ['tools.files.v1.Files'], ttlSeconds: 600 });
    const bot = await world.agent(RESEARCH_BOT);
    const stream = (bot as unknown as { sync: (m: grpc.Metadata) => grpc.ClientDuplexStream<object, object> }).sync(taskMetadata(begun.token));
    const replies: object[] = [];
    stream.on('data', (r: object) => replies.push(r));
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('error', () => {});
    stream.write({ path: '/notes/a.txt', op: 'touch' });
    await waitUntil(() => replies.length === 1);
    await tasks.end(begun.taskId);
    expect((await status).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.decisions.lines.some((l) => l.task === begun.taskId && l.decision === 'cut' && l.reason === 'task ended')).toBe(true);
    const metrics = await world.gateway.metrics.registry.metrics();
    expect(metrics).toMatch(/toolgate_task_events_total\{event="cut"\} [1-9]/);
    expect(metrics).toMatch(/toolgate_task_events_total\{event="begun"\} [1-9]/);
    expect(metrics).toMatch(/toolgate_guard_refusals_total\{grpc_status="8"\} [1-9]/); // the budget refusals above
  });

  it('cuts an open stream of a task when the task expires', async () => {
    const tasks = await tasksOf(world, RESEARCH_BOT);
    const begun = await tasks.begin({ tools: ['tools.files.v1.Files'], ttlSeconds: 2 }); // ends within 1–2 s: expiry is in whole seconds, never past the TTL
    const bot = await world.agent(RESEARCH_BOT);
    const stream = (bot as unknown as { sync: (m: grpc.Metadata) => grpc.ClientDuplexStream<object, object> }).sync(taskMetadata(begun.token));
    stream.on('data', () => {});
    stream.on('error', () => {});
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.write({ path: '/notes/a.txt', op: 'touch' });
    expect((await status).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(world.decisions.lines.some((l) => l.task === begun.taskId && l.decision === 'cut' && l.reason === 'task expired')).toBe(true);
    // And a new call with the expired token is refused.
    expect(await statusOf(call(bot, 'readFile', { path: '/notes/a.txt' }, taskMetadata(begun.token)))).toBe(grpc.status.PERMISSION_DENIED);
  });
});
