import { MemoryTaskStore } from '../../../src/tasks/memory-task-store';
import { OpenTaskCalls } from '../../../src/server/open-task-calls';
import type { TaskStore } from '../../../src/tasks/task-store';
import { aTask } from '../tasks/fixtures';

describe('OpenTaskCalls', () => {
  it('cuts every open call of a task when the store says it ended, and only those', async () => {
    const store = new MemoryTaskStore({ maxTtlSeconds: 3600 });
    const open = new OpenTaskCalls(store);
    const task = aTask({}, Date.now());
    const other = aTask({}, Date.now());
    await store.begin(task);
    await store.begin(other);
    const cuts: string[] = [];
    open.add(task.id, task.expiresAt, (reason) => cuts.push(`a:${reason}`));
    open.add(task.id, task.expiresAt, (reason) => cuts.push(`b:${reason}`));
    open.add(other.id, other.expiresAt, (reason) => cuts.push(`c:${reason}`));
    await store.end(task.id, new Date());
    expect(cuts).toEqual(['a:task ended', 'b:task ended']);
    expect(open.size).toBe(1);
    open.close();
    await store.close();
  });

  it('cuts at expiry, and a call that ended first is not cut', async () => {
    const store = new MemoryTaskStore({ maxTtlSeconds: 3600 });
    const open = new OpenTaskCalls(store);
    const cuts: string[] = [];
    const soon = new Date(Date.now() + 50);
    const done = open.add('t', soon, () => cuts.push('done'));
    open.add('t', soon, (reason) => cuts.push(reason));
    done();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cuts).toEqual(['task expired']);
    expect(open.size).toBe(0);
    open.close();
  });

  it('holds no timer once its last call of a task ended', async () => {
    jest.useFakeTimers();
    try {
      const open = new OpenTaskCalls(new MemoryTaskStore({ maxTtlSeconds: 3600 }));
      const remove = open.add('t', new Date(Date.now() + 60_000), () => {});
      expect(jest.getTimerCount()).toBe(1);
      remove();
      expect(jest.getTimerCount()).toBe(0);
      open.close();
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('OpenTaskCalls with a recheck (a shared store whose end notice was lost)', () => {
  it('cuts the calls of a task the store says has ended, without any notice', async () => {
    const store = new MemoryTaskStore({ maxTtlSeconds: 3600 });
    // A store whose notices never arrive, as when a replica's pub/sub connection was down.
    const deaf: TaskStore = {
      begin: (t) => store.begin(t),
      get: (id) => store.get(id),
      end: (id, now) => store.end(id, now),
      consume: (id, action, now) => store.consume(id, action, now),
      release: (id, lease) => store.release(id, lease),
      renew: () => store.renew(),
      onEnded: () => () => {},
      close: () => store.close(),
    };
    const open = new OpenTaskCalls(deaf, { recheckMs: 20 });
    const task = aTask({}, Date.now());
    await store.begin(task);
    const cuts: string[] = [];
    open.add(task.id, task.expiresAt, (reason) => cuts.push(reason));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(cuts).toEqual([]);
    await store.end(task.id, new Date());
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cuts).toEqual(['task ended']);
    open.close();
    await store.close();
  });

  it('leaves calls alone when the store cannot answer', async () => {
    const failing = { onEnded: () => () => {}, get: () => Promise.reject(new Error('redis down')) } as unknown as TaskStore;
    const open = new OpenTaskCalls(failing);
    const cuts: string[] = [];
    open.add('t', new Date(Date.now() + 60_000), (reason) => cuts.push(reason));
    await open.recheck();
    expect(cuts).toEqual([]);
    open.close();
  });
});

describe('OpenTaskCalls renewing leases', () => {
  it('renews, per task, the leases of the calls still open, and none of those that ended', async () => {
    const renewed: [string, readonly string[]][] = [];
    const store = { onEnded: () => () => {}, renew: async (id: string, leases: readonly string[]) => void renewed.push([id, leases]) } as unknown as TaskStore;
    const open = new OpenTaskCalls(store);
    const later = new Date(Date.now() + 60_000);
    open.add('t1', later, () => {}, 'l1');
    const ended = open.add('t1', later, () => {}, 'l2');
    open.add('t1', later, () => {}); // no concurrency cap: no lease
    open.add('t2', later, () => {});
    ended();
    await open.renew();
    expect(renewed).toEqual([['t1', ['l1']]]);
    open.close();
  });
});
