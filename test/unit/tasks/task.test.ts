import { newTask, taskAllows, taskContext, UNLIMITED_CALLS } from '../../../src/tasks/task';
import { ALICE, aTask, T0, taskThrown } from './fixtures';

describe('taskAllows', () => {
  const task = aTask({ tools: ['tools.files.v1.Files/ReadFile', 'tools.search.v1.Search'] });

  it('allows exactly a method listed as an action id', () => {
    expect(taskAllows(task, 'tools.files.v1.Files/ReadFile')).toBe(true);
    expect(taskAllows(task, 'tools.files.v1.Files/WriteFile')).toBe(false);
    expect(taskAllows(task, 'tools.files.v1.Files/ReadFileX')).toBe(false);
  });

  it('allows every method of a service listed by name, and no other service', () => {
    expect(taskAllows(task, 'tools.search.v1.Search/Query')).toBe(true);
    expect(taskAllows(task, 'tools.search.v1.Search/Index')).toBe(true);
    expect(taskAllows(task, 'tools.search.v1.SearchAdmin/Query')).toBe(false);
    expect(taskAllows(task, 'tools.search.v1/Search')).toBe(false);
  });

  it('refuses what is not an action id', () => {
    expect(taskAllows(task, 'tools.search.v1.Search')).toBe(false);
    expect(taskAllows(task, 'tools.search.v1.Search/')).toBe(false);
    expect(taskAllows(task, '/Query')).toBe(false);
  });
});

describe('taskContext', () => {
  it('gives id, intent, tools, age, remaining time and calls as whole numbers', () => {
    const task = aTask({ ttlSeconds: 600, budget: { calls: 10 } });
    const context = taskContext(task, new Date(T0 + 90_500), { callsUsed: 3, perMethod: { 'tools.files.v1.Files/ReadFile': 2 }, inFlight: 1 });
    expect(context).toEqual({
      id: task.id,
      intent: 'tidy the docs',
      tools: ['tools.files.v1.Files'],
      ageSeconds: 90,
      remainingSeconds: 509,
      callsUsed: 3,
      callsRemaining: 7,
      perMethod: [{ key: 'tools.files.v1.Files/ReadFile', value: 2 }],
      inFlight: 1,
    });
  });

  it('never goes negative, and gives UNLIMITED_CALLS without a total budget', () => {
    const task = aTask({ ttlSeconds: 60 });
    const context = taskContext(task, new Date(T0 + 120_000), { callsUsed: 12, perMethod: {}, inFlight: 0 });
    expect(context.remainingSeconds).toBe(0);
    expect(context.callsRemaining).toBe(UNLIMITED_CALLS);
    expect(taskContext(aTask({ budget: { calls: 2 } }), new Date(T0), { callsUsed: 5, perMethod: {}, inFlight: 0 }).callsRemaining).toBe(0);
  });
});

describe('newTask', () => {
  it('sets times from now and the TTL, and dedupes tools', () => {
    const task = newTask({ ownerSpiffeId: ALICE, intent: '', tools: ['a.B', 'a.B', 'a.C/D'], ttlSeconds: 30 }, new Date(T0), 60);
    expect(task.expiresAt.getTime() - task.createdAt.getTime()).toBe(30_000);
    expect(task.tools).toEqual(['a.B', 'a.C/D']);
    expect(task.id).toMatch(/^[\w-]{22}$/);
  });

  it('refuses a TTL beyond the cap or not positive with ERR_TASK_TTL', () => {
    taskThrown('ERR_TASK_TTL', () => aTask({ ttlSeconds: 3601 }));
    taskThrown('ERR_TASK_TTL', () => aTask({ ttlSeconds: 0 }));
    taskThrown('ERR_TASK_TTL', () => aTask({ ttlSeconds: 1.5 }));
  });

  it('refuses bad tools and budgets with ERR_TASK_INVALID', () => {
    taskThrown('ERR_TASK_INVALID', () => aTask({ tools: [] }));
    taskThrown('ERR_TASK_INVALID', () => aTask({ tools: ['files/'] }));
    taskThrown('ERR_TASK_INVALID', () => aTask({ budget: { calls: -1 } }));
    taskThrown('ERR_TASK_INVALID', () => aTask({ budget: { perMethod: { 'not a method': 1 } } }));
  });

  it("takes an MCP upstream's tool calls, all of them or one tool, as tools and per-method keys (docs/tasks.md#mcp)", () => {
    const task = aTask({ tools: ['mcp:notes/tools/call', 'mcp:files/tools/call/read_file'], budget: { perMethod: { 'mcp:notes/tools/call/read-note.v2': 1 } } });
    expect(taskAllows(task, 'mcp:notes/tools/call/anything')).toBe(true);
    expect(taskAllows(task, 'mcp:files/tools/call/read_file')).toBe(true);
    expect(taskAllows(task, 'mcp:files/tools/call/write_file')).toBe(false);
    expect(taskAllows(task, 'mcp:files/prompts/get/read_file')).toBe(false);
  });

  it('refuses an MCP name that is not a tool call, or a tool name outside [A-Za-z0-9_.-]', () => {
    for (const tool of [
      'mcp:notes',
      'mcp:notes/tools/list',
      'mcp:notes/prompts/get/p',
      'mcp:notes/tools/call/',
      'mcp:notes/tools/call/a/b',
      'mcp:notes/tools/call/a b',
      'mcp:/tools/call',
    ]) {
      taskThrown('ERR_TASK_INVALID', () => aTask({ tools: [tool] }));
    }
    taskThrown('ERR_TASK_INVALID', () => aTask({ tools: [`mcp:notes/tools/call/${'x'.repeat(129)}`] }));
  });
});
