import { MemoryRateLimiter } from '../../src/limits/memory-rate-limiter';
import { RedisRateLimiter } from '../../src/limits/redis-rate-limiter';
import { closeRedis, connectRedis } from '../../src/state/redis-client';
import { RedisTaskStore } from '../../src/tasks/redis-task-store';
import { aTask, FakeClock } from '../unit/tasks/fixtures';
import { startDevRedisServer, type DevRedisServer } from '../support/dev-redis-server';
import { describeWithRedis } from './support/redis-server';
import { sleep, waitUntil } from './support/workload-fixtures';

const READ = 'tools.files.v1.Files/ReadFile';

/** Two gateway replicas' views of one Redis, each on its own connections. */
async function twoReplicas(url: string) {
  const options = { url, maxTtlSeconds: 3600 };
  return Promise.all([RedisTaskStore.connect(options), RedisTaskStore.connect(options)]);
}

/** Rejects when `promise` has not settled within `ms`: a hang is a failure. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describeWithRedis('RedisTaskStore and RedisRateLimiter share state across replicas', () => {
  let server: DevRedisServer;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    server = await startDevRedisServer();
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  afterAll(async () => {
    await server.stop();
  });

  async function replicas(url = server.url) {
    const stores = await twoReplicas(url);
    closers.push(...stores.map((store) => () => store.close()));
    return stores;
  }

  it('never exceeds a budget of N when 4N calls race on both replicas', async () => {
    const [a, b] = await replicas();
    const clock = new FakeClock();
    // A concurrency cap far above the race, so every admitted call takes a lease: they must be unique.
    const task = aTask({ budget: { calls: 25, perMethod: { [READ]: 20 }, maxConcurrent: 1000 } });
    await a.begin(task);
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).consume(task.id, READ, clock.date())));
    expect(results.filter((r) => r.ok)).toHaveLength(20);
    const leases = results.flatMap((r) => (r.ok ? [r.lease] : []));
    expect(new Set(leases).size).toBe(20);
    expect(results.filter((r) => !r.ok && r.reason === 'per-method')).toHaveLength(80);
    expect((await b.get(task.id))!.usage).toEqual({ callsUsed: 20, perMethod: { [READ]: 20 }, inFlight: 20 });
  });

  it('holds the concurrency cap across replicas; a lease taken on one is released on the other', async () => {
    const [a, b] = await replicas();
    const clock = new FakeClock();
    const task = aTask({ budget: { maxConcurrent: 1 } });
    await b.begin(task);
    const first = await a.consume(task.id, READ, clock.date());
    if (!first.ok) throw new Error('refused');
    expect(await b.consume(task.id, READ, clock.date())).toEqual({ ok: false, reason: 'concurrency' });
    await b.release(task.id, first.lease!);
    expect((await b.consume(task.id, READ, clock.date())).ok).toBe(true);
  });

  it('gives back the slot of a replica that died once its lease is due; a renewed lease keeps its slot', async () => {
    const [a, b] = await replicas();
    const clock = new FakeClock();
    const task = aTask({ budget: { maxConcurrent: 1 } });
    await a.begin(task);
    // A lease never renewed holds its slot for 30 s, not until the task ends (600 s).
    expect((await a.consume(task.id, READ, clock.date())).ok).toBe(true);
    clock.advance(29);
    expect(await b.consume(task.id, READ, clock.date())).toEqual({ ok: false, reason: 'concurrency' });
    clock.advance(2);
    // Replica a takes the slot again and renews it while its call runs.
    const held = await a.consume(task.id, READ, clock.date());
    if (!held.ok || held.lease === undefined) throw new Error('no lease');
    clock.advance(20);
    await a.renew(task.id, [held.lease], clock.date());
    clock.advance(20);
    expect(await b.consume(task.id, READ, clock.date())).toEqual({ ok: false, reason: 'concurrency' });
    // Then replica a dies: nobody renews, and 30 s after the last renewal the slot is free.
    clock.advance(11);
    const taken = await b.consume(task.id, READ, clock.date());
    expect(taken.ok).toBe(true);
    // A renewal never brings back a lease that was released (or dropped).
    if (!taken.ok || taken.lease === undefined) throw new Error('no lease');
    await b.release(task.id, taken.lease);
    await b.renew(task.id, [taken.lease, held.lease], clock.date());
    expect((await a.consume(task.id, READ, clock.date())).ok).toBe(true);
  });

  it('refuses on the other replica as soon as one ends the task, and tells its listeners within 1 s', async () => {
    const [a, b] = await replicas();
    const clock = new FakeClock();
    const task = aTask();
    await a.begin(task);
    const heardByA: string[] = [];
    const heardByB: string[] = [];
    a.onEnded((id) => heardByA.push(id));
    b.onEnded((id) => heardByB.push(id));
    expect((await b.consume(task.id, READ, clock.date())).ok).toBe(true);
    await a.end(task.id, clock.date());
    expect(await b.consume(task.id, READ, clock.date())).toEqual({ ok: false, reason: 'ended' });
    await waitUntil(() => heardByA.length > 0 && heardByB.length > 0, 1000);
    await b.end(task.id, clock.date());
    await sleep(100);
    expect([heardByA, heardByB]).toEqual([[task.id], [task.id]]);
  });

  it('never lets more than burst through a rate limit shared by two replicas', async () => {
    const bucket = { ratePerSecond: 1, burst: 5 };
    const limiters = await Promise.all([RedisRateLimiter.connect({ url: server.url, bucket }), RedisRateLimiter.connect({ url: server.url, bucket })]);
    closers.push(...limiters.map((limiter) => () => limiter.close()));
    const now = new FakeClock().date();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => limiters[i % 2]!.take('agent:alice', now)));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(
      results
        .filter((r) => r.ok)
        .map((r) => r.remaining)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4]);
    expect(await limiters[1]!.take('agent:bob', now)).toEqual({ ok: true, remaining: 4 });
    expect(await limiters[0]!.take('agent:alice', new Date(now.getTime() + 2500))).toEqual({ ok: true, remaining: 1 });
    expect(await limiters[1]!.take('agent:alice', new Date(now.getTime() + 2500))).toEqual({ ok: true, remaining: 0 });
    expect(await limiters[0]!.take('agent:alice', new Date(now.getTime() + 2500))).toEqual({ ok: false, remaining: 0 });
  });

  it('agrees with MemoryRateLimiter take by take, fractional rates and a clock going back included', async () => {
    const bucket = { ratePerSecond: 0.75, burst: 3 };
    const redis = await RedisRateLimiter.connect({ url: server.url, bucket, keyPrefix: 'agree:' });
    closers.push(() => redis.close());
    const memory = new MemoryRateLimiter(bucket);
    const T = new FakeClock().ms;
    const offsetsMs = [0, 0, 0, 0, 500, 1333, 1334, 2000, 1000, 4100, 4100, 4100, 9000, 9001, 9002, 9003, 60000];
    for (const [i, offset] of offsetsMs.entries()) {
      const now = new Date(T + offset);
      const key = i % 5 === 4 ? 'other' : 'alice';
      expect([i, await redis.take(key, now)]).toEqual([i, await memory.take(key, now)]);
    }
  });

  it('refuses bad options before connecting', async () => {
    await expect(RedisTaskStore.connect({ url: server.url, maxTtlSeconds: 0 })).rejects.toMatchObject({ code: 'ERR_TASK_TTL' });
    await expect(RedisRateLimiter.connect({ url: server.url, bucket: { ratePerSecond: 1, burst: 0 } })).rejects.toThrow(/burst/);
  });

  it('lets idle rate-limit keys expire once they would be full again', async () => {
    const limiter = await RedisRateLimiter.connect({ url: server.url, bucket: { ratePerSecond: 2, burst: 2 }, keyPrefix: 'ttl:' });
    closers.push(() => limiter.close());
    const inspector = await connectRedis(server.url);
    closers.push(() => closeRedis(inspector));
    await limiter.take('alice', new Date());
    const ttl = await inspector.pttl('ttl:rate:alice');
    // Half a token to earn back at 2/s is 500 ms, plus a margin of 1 s.
    expect(ttl).toBeGreaterThan(1000);
    expect(ttl).toBeLessThanOrEqual(1500);
  });

  it('runs its scripts by SHA1 and sends them again when Redis has forgotten them (a restart, a failover)', async () => {
    const [store] = await replicas();
    const limiter = await RedisRateLimiter.connect({ url: server.url, bucket: { ratePerSecond: 1, burst: 5 }, keyPrefix: 'flush:' });
    closers.push(() => limiter.close());
    const inspector = await connectRedis(server.url);
    closers.push(() => closeRedis(inspector));
    const clock = new FakeClock();
    const task = aTask({ budget: { calls: 3 } });
    await store.begin(task);
    expect(await store.consume(task.id, READ, clock.date())).toMatchObject({ ok: true });
    expect((await limiter.take('alice', clock.date())).ok).toBe(true);

    const evalsBefore = await scriptCommands(inspector);
    expect(await store.consume(task.id, READ, clock.date())).toMatchObject({ ok: true });
    expect((await limiter.take('alice', clock.date())).ok).toBe(true);
    // Once loaded, a script runs by its SHA1: no source sent again.
    const evalsAfter = await scriptCommands(inspector);
    expect(evalsAfter.eval).toBe(evalsBefore.eval);
    expect(evalsAfter.evalsha).toBe(evalsBefore.evalsha + 2);

    await inspector.script('FLUSH');
    expect(await store.consume(task.id, READ, clock.date())).toMatchObject({ ok: true, usage: { callsUsed: 3 } });
    expect(await store.consume(task.id, READ, clock.date())).toEqual({ ok: false, reason: 'budget' });
    expect((await limiter.take('alice', clock.date())).ok).toBe(true);
    expect(await store.end(task.id, clock.date())).toMatchObject({ id: task.id });
  });

  it('fails calls quickly, rather than hanging, when Redis goes down', async () => {
    const doomed = await startDevRedisServer();
    try {
      const [a] = await replicas(doomed.url);
      const limiter = await RedisRateLimiter.connect({ url: doomed.url, bucket: { ratePerSecond: 1, burst: 1 } });
      closers.push(() => limiter.close());
      const task = aTask();
      await a.begin(task);
      await doomed.stop();
      const now = new FakeClock().date();
      await expect(within(3000, a.consume(task.id, READ, now))).rejects.not.toThrow(/still pending/);
      await expect(within(3000, a.end(task.id, now))).rejects.not.toThrow(/still pending/);
      await expect(within(3000, limiter.take('alice', now))).rejects.not.toThrow(/still pending/);
    } finally {
      await doomed.stop();
    }
  });

  it('accepts a plain socket path', async () => {
    const client = await connectRedis(server.url.slice('unix://'.length));
    closers.push(() => closeRedis(client));
    expect(await client.ping()).toBe('PONG');
  });

  it('gives up connecting after 5 s, naming the URL without its password', async () => {
    const started = Date.now();
    const error = await connectRedis('redis://toolgate:s3cr3t-pw@127.0.0.1:1/2').then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(/^could not connect to Redis at redis:\/\/toolgate:\*\*\*@127\.0\.0\.1:1\/2 within 5s/);
    expect(error?.message).not.toContain('s3cr3t');
    expect(Date.now() - started).toBeLessThan(7000);
  });

  it('refuses a URL it does not understand without echoing it', async () => {
    await expect(connectRedis('http://user:s3cr3t@host')).rejects.toThrow(/^the Redis URL must be/);
  });
});

/** How many EVAL and EVALSHA commands the server has run (INFO commandstats). */
async function scriptCommands(client: Awaited<ReturnType<typeof connectRedis>>): Promise<{ eval: number; evalsha: number }> {
  const stats = await client.info('commandstats');
  const calls = (command: string) => Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
  return { eval: calls('eval'), evalsha: calls('evalsha') };
}
