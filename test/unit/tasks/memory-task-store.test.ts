import { MemoryTaskStore } from '../../../src/tasks/memory-task-store';
import type { TaskBudget } from '../../../src/tasks/task';
import { consumeRefusalError, type ConsumeResult } from '../../../src/tasks/task-store';
import { aTask, FakeClock, T0, taskRejection } from './fixtures';

const READ = 'tools.files.v1.Files/ReadFile';
const WRITE = 'tools.files.v1.Files/WriteFile';

async function begun(budget: TaskBudget = {}, ttlSeconds = 600) {
  const clock = new FakeClock();
  const store = new MemoryTaskStore({ maxTtlSeconds: 3600 });
  const task = aTask({ budget, ttlSeconds }, clock.ms);
  await store.begin(task);
  const consume = (action = READ) => store.consume(task.id, action, clock.date());
  return { clock, store, task, consume };
}

function refused(result: ConsumeResult) {
  if (result.ok) throw new Error('expected a refusal');
  return result;
}

describe('MemoryTaskStore', () => {
  it('counts calls and gives usage, until the total budget is spent', async () => {
    const { store, task, consume } = await begun({ calls: 2 });
    const first = await consume();
    expect(first).toMatchObject({ ok: true, usage: { callsUsed: 1, inFlight: 0 } });
    expect(first).not.toHaveProperty('lease'); // no concurrency cap: nothing to release
    expect(await consume(WRITE)).toMatchObject({ ok: true, usage: { callsUsed: 2, inFlight: 0 } });
    const third = refused(await consume());
    expect(third.reason).toBe('budget');
    expect(consumeRefusalError(third).code).toBe('ERR_TASK_BUDGET');
    expect((await store.get(task.id))!.usage).toEqual({ callsUsed: 2, perMethod: {}, inFlight: 0 });
  });

  it('caps calls per method and per service', async () => {
    const { consume } = await begun({ perMethod: { [READ]: 1, 'tools.files.v1.Files': 2 } });
    expect((await consume(READ)).ok).toBe(true);
    expect(refused(await consume(READ))).toEqual({ ok: false, reason: 'per-method', key: READ });
    const write = await consume(WRITE);
    expect(write).toMatchObject({ ok: true, usage: { callsUsed: 2, perMethod: { [READ]: 1, 'tools.files.v1.Files': 2 } } });
    expect(refused(await consume(WRITE))).toEqual({ ok: false, reason: 'per-method', key: 'tools.files.v1.Files' });
  });

  it('caps calls in flight; a released lease frees its slot, once', async () => {
    const { store, task, consume } = await begun({ maxConcurrent: 1 });
    const first = await consume();
    if (!first.ok) throw new Error('refused');
    expect(refused(await consume()).reason).toBe('concurrency');
    await store.release(task.id, first.lease!);
    await store.release(task.id, first.lease!);
    const second = await consume();
    expect(second).toMatchObject({ ok: true, usage: { callsUsed: 2, inFlight: 1 } });
    expect(refused(await consume()).reason).toBe('concurrency');
    await store.release('no-such-task', 'x');
  });

  it('refuses an ended task, keeping the first end time', async () => {
    const { clock, store, task, consume } = await begun();
    expect((await consume()).ok).toBe(true);
    const ended = await store.end(task.id, clock.date());
    expect(ended!.endedAt).toEqual(new Date(T0));
    clock.advance(10);
    expect((await store.end(task.id, clock.date()))!.endedAt).toEqual(new Date(T0));
    const result = refused(await consume());
    expect(result.reason).toBe('ended');
    expect(consumeRefusalError(result).code).toBe('ERR_TASK_ENDED');
    expect(await store.end('no-such-task', clock.date())).toBeUndefined();
  });

  it('refuses an expired task, and prunes it after retention', async () => {
    const { clock, store, task, consume } = await begun({}, 60);
    clock.advance(59.999);
    expect((await consume()).ok).toBe(true);
    clock.advance(0.001);
    const result = refused(await consume());
    expect(result.reason).toBe('expired');
    expect(consumeRefusalError(result).code).toBe('ERR_TASK_EXPIRED');
    expect(store.prune(clock.date())).toBe(0);
    clock.advance(301);
    expect(store.prune(clock.date())).toBe(1);
    expect(await store.get(task.id)).toBeUndefined();
    expect(refused(await consume()).reason).toBe('not-found');
  });

  it('refuses a tool outside the task and counts nothing for a refusal', async () => {
    const { store, task, consume } = await begun({ calls: 5 });
    const result = refused(await consume('tools.shell.v1.Shell/Exec'));
    expect(result.reason).toBe('tool');
    expect(consumeRefusalError(result).code).toBe('ERR_TASK_TOOL');
    expect((await store.get(task.id))!.usage.callsUsed).toBe(0);
  });

  it('refuses a task living longer than maxTtlSeconds with ERR_TASK_TTL, and a duplicate id', async () => {
    const store = new MemoryTaskStore({ maxTtlSeconds: 60 });
    await taskRejection('ERR_TASK_TTL', store.begin(aTask({ ttlSeconds: 61 })));
    const task = aTask({ ttlSeconds: 60 });
    await store.begin(task);
    await taskRejection('ERR_TASK_INVALID', store.begin(task));
  });

  it('never lets concurrent consumers exceed the budget', async () => {
    const { store, task, consume } = await begun({ calls: 10 });
    const results = await Promise.all(Array.from({ length: 50 }, () => consume()));
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect((await store.get(task.id))!.usage.callsUsed).toBe(10);
  });
});
