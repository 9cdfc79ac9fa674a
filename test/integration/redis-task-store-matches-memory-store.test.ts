import { MemoryTaskStore } from '../../src/tasks/memory-task-store';
import { RedisTaskStore } from '../../src/tasks/redis-task-store';
import type { Task, TaskBudget } from '../../src/tasks/task';
import { consumeRefusalError, type ConsumeResult, type TaskStore } from '../../src/tasks/task-store';
import { aTask, ALICE, FakeClock, MALLORY, T0, taskRejection } from '../unit/tasks/fixtures';
import { startDevRedisServer, type DevRedisServer } from '../support/dev-redis-server';
import { describeWithRedis } from './support/redis-server';
import { sleep, waitUntil } from './support/workload-fixtures';

const READ = 'tools.files.v1.Files/ReadFile';
const WRITE = 'tools.files.v1.Files/WriteFile';
const FILES = 'tools.files.v1.Files';

interface StoreOptions {
  readonly maxTtlSeconds: number;
  readonly retainSeconds?: number;
  readonly maxOpenPerCaller?: number;
}

/** One implementation under test: how to make a store and how to make it drop expired tasks. */
interface Implementation {
  create(options: StoreOptions): Promise<TaskStore>;
  /** Lets retention pass: `prune` for memory; real time (keys expire) for Redis. */
  pruneAfterRetention(store: TaskStore, now: Date): Promise<void>;
}

let server: DevRedisServer | undefined;
let prefixes = 0;

const implementations: [string, Implementation][] = [
  [
    'MemoryTaskStore',
    {
      create: async (options) => new MemoryTaskStore(options),
      pruneAfterRetention: async (store, now) => void (store as MemoryTaskStore).prune(now),
    },
  ],
  [
    'RedisTaskStore',
    {
      // A fresh key prefix per store: the cases share one server and must not see each other.
      create: (options) => RedisTaskStore.connect({ url: server!.url, keyPrefix: `t${++prefixes}:`, ...options }),
      pruneAfterRetention: () => sleep(1200),
    },
  ],
];

function refused(result: ConsumeResult) {
  if (result.ok) throw new Error('expected a refusal');
  return result;
}

function leaseOf(result: ConsumeResult): string {
  if (!result.ok) throw new Error(`expected a lease, got a refusal: ${result.reason}`);
  if (result.lease === undefined) throw new Error('expected a lease: the task has no concurrency cap');
  return result.lease;
}

describeWithRedis('RedisTaskStore behaves exactly as MemoryTaskStore', () => {
  beforeAll(async () => {
    server = await startDevRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe.each(implementations)('%s', (_name, implementation) => {
    const stores: TaskStore[] = [];
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((store) => store.close()));
    });

    async function newStore(options: StoreOptions = { maxTtlSeconds: 3600 }): Promise<TaskStore> {
      const store = await implementation.create(options);
      stores.push(store);
      return store;
    }

    async function begun(budget: TaskBudget = {}, overrides: { ttlSeconds?: number; tools?: string[]; retainSeconds?: number } = {}) {
      const clock = new FakeClock();
      const store = await newStore({ maxTtlSeconds: 3600, retainSeconds: overrides.retainSeconds });
      const task = aTask({ budget, ttlSeconds: overrides.ttlSeconds ?? 600, tools: overrides.tools ?? [FILES] });
      await store.begin(task);
      const consume = (action = READ) => store.consume(task.id, action, clock.date());
      return { clock, store, task, consume };
    }

    it('stores the task as begun and gives it back with its usage', async () => {
      const { store, task } = await begun({ calls: 3, perMethod: { [READ]: 2 }, maxConcurrent: 2 }, { tools: [READ, 'tools.shell.v1.Shell'] });
      const snapshot = await store.get(task.id);
      expect(snapshot).toEqual({ task, usage: { callsUsed: 0, perMethod: {}, inFlight: 0 } });
      expect(snapshot!.task.createdAt).toBeInstanceOf(Date);
      expect(await store.get('no-such-task')).toBeUndefined();
    });

    it('counts calls and gives usage, until the total budget is spent', async () => {
      const { store, task, consume } = await begun({ calls: 2 });
      // Without a concurrency cap no lease is taken (nothing to release) and nothing is counted in flight.
      const first = await consume();
      expect(first).toMatchObject({ ok: true, usage: { callsUsed: 1, perMethod: {}, inFlight: 0 } });
      expect(first).not.toHaveProperty('lease');
      expect(await consume(WRITE)).toMatchObject({ ok: true, usage: { callsUsed: 2, perMethod: {}, inFlight: 0 } });
      const third = refused(await consume());
      expect(third).toEqual({ ok: false, reason: 'budget' });
      expect(consumeRefusalError(third).code).toBe('ERR_TASK_BUDGET');
      expect((await store.get(task.id))!.usage).toEqual({ callsUsed: 2, perMethod: {}, inFlight: 0 });
    });

    it('refuses every call of a task with a budget of 0', async () => {
      const { consume } = await begun({ calls: 0 });
      expect(refused(await consume()).reason).toBe('budget');
    });

    it('caps calls per method and per service', async () => {
      const { store, task, consume } = await begun({ perMethod: { [READ]: 1, [FILES]: 2 } });
      expect(await consume(READ)).toMatchObject({ ok: true, usage: { perMethod: { [READ]: 1, [FILES]: 1 } } });
      expect(refused(await consume(READ))).toEqual({ ok: false, reason: 'per-method', key: READ });
      expect(await consume(WRITE)).toMatchObject({ ok: true, usage: { callsUsed: 2, perMethod: { [READ]: 1, [FILES]: 2 } } });
      const spent = refused(await consume(WRITE));
      expect(spent).toEqual({ ok: false, reason: 'per-method', key: FILES });
      expect(consumeRefusalError(spent).code).toBe('ERR_TASK_BUDGET');
      expect((await store.get(task.id))!.usage).toEqual({ callsUsed: 2, perMethod: { [READ]: 1, [FILES]: 2 }, inFlight: 0 });
    });

    it('names the first spent cap in budget key order', async () => {
      const serviceFirst = await begun({ perMethod: { [FILES]: 1, [READ]: 1 } });
      expect((await serviceFirst.consume(READ)).ok).toBe(true);
      expect(refused(await serviceFirst.consume(READ))).toEqual({ ok: false, reason: 'per-method', key: FILES });
      const methodFirst = await begun({ perMethod: { [READ]: 1, [FILES]: 1 } });
      expect((await methodFirst.consume(READ)).ok).toBe(true);
      expect(refused(await methodFirst.consume(READ))).toEqual({ ok: false, reason: 'per-method', key: READ });
    });

    it('counts a per-method key only for its own method or service', async () => {
      const { consume } = await begun({ perMethod: { [WRITE]: 1 } });
      expect(await consume(READ)).toMatchObject({ ok: true, usage: { perMethod: {} } });
      expect(await consume(WRITE)).toMatchObject({ ok: true, usage: { perMethod: { [WRITE]: 1 } } });
      expect(await consume(READ)).toMatchObject({ ok: true, usage: { callsUsed: 3, perMethod: { [WRITE]: 1 } } });
    });

    it('caps calls in flight; a released lease frees its slot, once', async () => {
      const { store, task, consume } = await begun({ maxConcurrent: 1 });
      const first = leaseOf(await consume());
      const busy = refused(await consume());
      expect(busy).toEqual({ ok: false, reason: 'concurrency' });
      expect(consumeRefusalError(busy).code).toBe('ERR_TASK_BUDGET');
      await store.release(task.id, first);
      await store.release(task.id, first);
      const second = await consume();
      expect(second).toMatchObject({ ok: true, usage: { callsUsed: 2, inFlight: 1 } });
      expect(leaseOf(second)).not.toBe(first);
      expect(refused(await consume()).reason).toBe('concurrency');
      await store.release('no-such-task', 'x');
      await store.release(task.id, 'no-such-lease');
      expect((await store.get(task.id))!.usage.inFlight).toBe(1);
    });

    it('checks in order: ended, expired, tool, budget, per-method, concurrency', async () => {
      const all = await begun({ calls: 1, perMethod: { [READ]: 1 }, maxConcurrent: 1 });
      expect((await all.consume()).ok).toBe(true);
      expect(refused(await all.consume()).reason).toBe('budget');
      expect(refused(await all.consume('tools.shell.v1.Shell/Exec')).reason).toBe('tool');
      all.clock.advance(600);
      expect(refused(await all.consume('tools.shell.v1.Shell/Exec')).reason).toBe('expired');
      await all.store.end(all.task.id, all.clock.date());
      expect(refused(await all.consume('tools.shell.v1.Shell/Exec')).reason).toBe('ended');

      const capAndSlot = await begun({ perMethod: { [READ]: 1 }, maxConcurrent: 1 });
      expect((await capAndSlot.consume()).ok).toBe(true);
      expect(refused(await capAndSlot.consume()).reason).toBe('per-method');
      expect(refused(await capAndSlot.consume(WRITE)).reason).toBe('concurrency');
    });

    it('refuses an ended task, keeping the first end time, and tells listeners once', async () => {
      const { clock, store, task, consume } = await begun();
      const heard: string[] = [];
      const stopListening = store.onEnded((id) => heard.push(id));
      expect((await consume()).ok).toBe(true);
      const ended = await store.end(task.id, clock.date());
      expect(ended).toEqual({ ...task, endedAt: new Date(T0) });
      clock.advance(10);
      expect((await store.end(task.id, clock.date()))!.endedAt).toEqual(new Date(T0));
      expect((await store.get(task.id))!.task.endedAt).toEqual(new Date(T0));
      const result = refused(await consume());
      expect(result.reason).toBe('ended');
      expect(consumeRefusalError(result).code).toBe('ERR_TASK_ENDED');
      expect(await store.end('no-such-task', clock.date())).toBeUndefined();
      await waitUntil(() => heard.length > 0);
      await sleep(100);
      expect(heard).toEqual([task.id]);

      stopListening();
      const other = aTask();
      await store.begin(other);
      await store.end(other.id, clock.date());
      await sleep(100);
      expect(heard).toEqual([task.id]);
    });

    it("refuses an expired task from its expiry on, by the caller's clock", async () => {
      const { clock, store, task, consume } = await begun({}, { ttlSeconds: 60 });
      clock.advance(59.999);
      expect((await consume()).ok).toBe(true);
      clock.advance(0.001);
      const result = refused(await consume());
      expect(result.reason).toBe('expired');
      expect(consumeRefusalError(result).code).toBe('ERR_TASK_EXPIRED');
      expect((await store.get(task.id))!.usage.callsUsed).toBe(1);
    });

    it('keeps an expired task for get until retention passes, then forgets it', async () => {
      const { clock, store, task, consume } = await begun({}, { ttlSeconds: 1, retainSeconds: 0 });
      clock.advance(1);
      expect(refused(await consume()).reason).toBe('expired');
      expect(await store.get(task.id)).toBeDefined();
      clock.advance(1);
      await implementation.pruneAfterRetention(store, clock.date());
      expect(await store.get(task.id)).toBeUndefined();
      const gone = refused(await consume());
      expect(gone.reason).toBe('not-found');
      expect(consumeRefusalError(gone).code).toBe('ERR_TASK_NOT_FOUND');
    });

    it('allows a method listed by itself or by its service, nothing else, and counts nothing for a refusal', async () => {
      const { store, task, consume } = await begun({ calls: 5 }, { tools: [READ, 'tools.shell.v1.Shell'] });
      expect((await consume(READ)).ok).toBe(true);
      expect((await consume('tools.shell.v1.Shell/Exec')).ok).toBe(true);
      for (const action of [WRITE, 'tools.files.v1.Files', 'tools.shell.v1.Shell/', '/Exec', 'tools.files.v1/ReadFile']) {
        const result = refused(await consume(action));
        expect([action, result]).toEqual([action, { ok: false, reason: 'tool' }]);
        expect(consumeRefusalError(result).code).toBe('ERR_TASK_TOOL');
      }
      expect((await store.get(task.id))!.usage).toEqual({ callsUsed: 2, perMethod: {}, inFlight: 0 });
    });

    it('refuses a task living longer than maxTtlSeconds with ERR_TASK_TTL, and a duplicate id', async () => {
      const store = await newStore({ maxTtlSeconds: 60 });
      await taskRejection('ERR_TASK_TTL', store.begin(aTask({ ttlSeconds: 61 })));
      const backwards: Task = { ...aTask(), expiresAt: new Date(T0) };
      await taskRejection('ERR_TASK_TTL', store.begin(backwards));
      const task = aTask({ ttlSeconds: 60 });
      await store.begin(task);
      await taskRejection('ERR_TASK_INVALID', store.begin(task));
      await taskRejection('ERR_TASK_INVALID', store.begin({ ...aTask({ ttlSeconds: 30 }), id: task.id }));
    });

    it('refuses the id of a refused task nothing: it was never stored', async () => {
      const store = await newStore({ maxTtlSeconds: 60 });
      const tooLong = aTask({ ttlSeconds: 61 });
      await taskRejection('ERR_TASK_TTL', store.begin(tooLong));
      expect(await store.get(tooLong.id)).toBeUndefined();
      await store.begin({ ...aTask({ ttlSeconds: 60 }), id: tooLong.id });
    });

    it('caps the open tasks of each owner; ended and expired tasks do not count, other owners are apart', async () => {
      const store = await newStore({ maxTtlSeconds: 3600, maxOpenPerCaller: 2 });
      const [first, second] = [aTask(), aTask()];
      await store.begin(first);
      await store.begin(second);
      const third = aTask();
      const refusal = await taskRejection('ERR_TASK_OPEN_LIMIT', store.begin(third));
      expect(refusal.message).toBe('the caller already has 2 open tasks (tasks.maxOpenPerCaller): end one first');
      expect(await store.get(third.id)).toBeUndefined();
      await store.begin(aTask({ ownerSpiffeId: MALLORY }));

      // An ended task frees its slot at once (ending it again changes nothing).
      await store.end(first.id, new Date(T0 + 1000));
      await store.end(first.id, new Date(T0 + 2000));
      await store.begin(third);
      await taskRejection('ERR_TASK_OPEN_LIMIT', store.begin(aTask({}, T0 + 3000)));

      // Expired tasks free theirs from their expiry on (second and third: T0 + 600 s), by the caller's clock.
      await taskRejection('ERR_TASK_OPEN_LIMIT', store.begin(aTask({}, T0 + 599_999)));
      await store.begin(aTask({}, T0 + 600_000));
      await store.begin(aTask({}, T0 + 600_000));
      await taskRejection('ERR_TASK_OPEN_LIMIT', store.begin(aTask({ ownerSpiffeId: ALICE }, T0 + 600_000)));
    });

    it('never lets concurrent begins of one owner exceed the cap', async () => {
      const store = await newStore({ maxTtlSeconds: 3600, maxOpenPerCaller: 3 });
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => store.begin(aTask())));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ERR_TASK_OPEN_LIMIT' });
    });

    it('defaults to 32 open tasks per owner, and refuses a cap that is not a positive whole number', async () => {
      const store = await newStore();
      for (let i = 0; i < 32; i++) await store.begin(aTask());
      await taskRejection('ERR_TASK_OPEN_LIMIT', store.begin(aTask()));
      await taskRejection('ERR_TASK_INVALID', implementation.create({ maxTtlSeconds: 60, maxOpenPerCaller: 0 }));
      await taskRejection('ERR_TASK_INVALID', implementation.create({ maxTtlSeconds: 60, maxOpenPerCaller: 1.5 }));
    });

    it('never lets concurrent consumers exceed the budget', async () => {
      const { store, task, consume } = await begun({ calls: 10, perMethod: { [READ]: 7 } });
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => consume(i % 2 === 0 ? READ : WRITE)));
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      const usage = (await store.get(task.id))!.usage;
      expect(usage.callsUsed).toBe(10);
      expect(usage.perMethod[READ]).toBeLessThanOrEqual(7);
    });
  });
});
