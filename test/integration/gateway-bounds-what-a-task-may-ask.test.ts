import * as grpc from '@grpc/grpc-js';
import { CI_BUILDER, GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { call, statusOf, taskMetadata, tasksOf } from './support/task-calls';

const READ = 'tools.files.v1.Files/ReadFile';

/** The policy an attacker met: it bounds the budget from above only, trusting the gateway to refuse what is not a budget. */
const BOUNDED_POLICIES = {
  ...POLICIES,
  'tasks.cedar': `
@id("researchers-begin-small-tasks")
permit (principal in AgentGroup::"researchers", action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate")
when {
  context.request has budget && context.request.budget.calls <= 3 && context.request.budget.maxConcurrent <= 2 &&
  context.request.ttlSeconds <= 600
};

@id("ci-begins-tasks")
permit (principal in AgentGroup::"ci", action == Action::"toolgate.v1.Tasks/BeginTask", resource == Tool::"toolgate");
`,
};

describe('the gateway bounds what a task may ask for (BeginTask)', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start({ policies: BOUNDED_POLICIES, extraConfig: 'tasks:\n  maxOpenPerCaller: 2\n' });
    world.files.set('/notes/a.txt', Buffer.from('alpha'));
  });
  afterAll(() => world?.close());

  const begun = () => world.decisions.lines.filter((l) => l.event === 'task begun').length;

  it('refuses a negative budget with INVALID_ARGUMENT, whatever the policy allows, and no task exists', async () => {
    const tasks = await tasksOf(world, RESEARCH_BOT);
    const before = begun();
    const negative: Array<[string, object]> = [
      ['calls', { calls: -1 }],
      ['maxConcurrent', { calls: 3, maxConcurrent: -1 }],
      ['a per-method cap', { calls: 3, perMethod: { [READ]: -1 } }],
    ];
    for (const [what, budget] of negative) {
      expect([what, await statusOf(tasks.begin({ tools: [READ], ttlSeconds: 60, budget }))]).toEqual([what, grpc.status.INVALID_ARGUMENT]);
      expect(world.decisions.lines.at(-1)).toMatchObject({
        action: 'toolgate.v1.Tasks/BeginTask',
        decision: 'deny',
        reason: expect.stringMatching(/^ERR_TASK_INVALID: budget .* must be a whole number >= 0/),
      });
    }
    expect([await statusOf(tasks.begin({ tools: [READ], ttlSeconds: -1, budget: { calls: 3 } }))]).toEqual([grpc.status.INVALID_ARGUMENT]);
    expect(begun()).toBe(before);
    expect(await world.metric('toolgate_task_events_total', { event: 'begun' })).toBe(0);
  });

  it('serves exactly the budget a policy bounded (the attack: calls -1 served 6 of 6)', async () => {
    const tasks = await tasksOf(world, RESEARCH_BOT);
    const bot = await world.agent(RESEARCH_BOT);
    const task = await tasks.begin({ tools: [READ], ttlSeconds: 60, budget: { calls: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await statusOf(call(bot, 'readFile', { path: '/notes/a.txt' }, taskMetadata(task.token))));
    const { OK, RESOURCE_EXHAUSTED } = grpc.status;
    expect(statuses).toEqual([OK, OK, OK, RESOURCE_EXHAUSTED, RESOURCE_EXHAUSTED, RESOURCE_EXHAUSTED]);
    await tasks.end(task.taskId);
  });

  it('caps the open tasks of each caller (tasks.maxOpenPerCaller): one more answers RESOURCE_EXHAUSTED until one ends', async () => {
    const tasks = await tasksOf(world, RESEARCH_BOT);
    const small = { tools: [READ], ttlSeconds: 60, budget: { calls: 1 } };
    const first = await tasks.begin(small);
    await tasks.begin(small);
    const before = begun();
    expect(await statusOf(tasks.begin(small))).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(world.decisions.lines.at(-1)).toMatchObject({
      caller: RESEARCH_BOT,
      action: 'toolgate.v1.Tasks/BeginTask',
      decision: 'deny',
      reason: 'ERR_TASK_OPEN_LIMIT: the caller already has 2 open tasks (tasks.maxOpenPerCaller): end one first',
    });
    expect(begun()).toBe(before);
    // Another caller has slots of its own.
    expect(await statusOf((await tasksOf(world, CI_BUILDER)).begin(small))).toBe(grpc.status.OK);
    // Ending a task frees its slot at once.
    await tasks.end(first.taskId);
    expect(await statusOf(tasks.begin(small))).toBe(grpc.status.OK);
    expect(await statusOf(tasks.begin(small))).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });
});
