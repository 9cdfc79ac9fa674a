import { MemoryRateLimiter } from '../../../src/limits/memory-rate-limiter';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

describe('MemoryRateLimiter', () => {
  it('lets a full burst through, then refuses', async () => {
    const limiter = new MemoryRateLimiter({ ratePerSecond: 1, burst: 3 });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.take('alice', at(0)));
    expect(results).toEqual([
      { ok: true, remaining: 2 },
      { ok: true, remaining: 1 },
      { ok: true, remaining: 0 },
      { ok: false, remaining: 0 },
    ]);
  });

  it('refills at the rate, up to burst, and counts only whole tokens', async () => {
    const limiter = new MemoryRateLimiter({ ratePerSecond: 2, burst: 4 });
    for (let i = 0; i < 4; i++) await limiter.take('alice', at(0));
    expect(await limiter.take('alice', at(0.25))).toEqual({ ok: false, remaining: 0 });
    // 0.5 token earned by 0.25 s, one more by 0.75 s: 1.5 tokens, one taken.
    expect(await limiter.take('alice', at(0.75))).toEqual({ ok: true, remaining: 0 });
    expect(await limiter.take('alice', at(1))).toEqual({ ok: true, remaining: 0 });
    expect(await limiter.take('alice', at(100))).toEqual({ ok: true, remaining: 3 });
  });

  it('earns nothing when the clock goes back', async () => {
    const limiter = new MemoryRateLimiter({ ratePerSecond: 1, burst: 1 });
    expect((await limiter.take('alice', at(10))).ok).toBe(true);
    expect((await limiter.take('alice', at(5))).ok).toBe(false);
    expect((await limiter.take('alice', at(10.5))).ok).toBe(false);
    expect((await limiter.take('alice', at(11))).ok).toBe(true);
  });

  it('keeps a bucket per key', async () => {
    const limiter = new MemoryRateLimiter({ ratePerSecond: 1, burst: 1 });
    expect((await limiter.take('alice', at(0))).ok).toBe(true);
    expect((await limiter.take('alice', at(0))).ok).toBe(false);
    expect(await limiter.take('bob', at(0))).toEqual({ ok: true, remaining: 0 });
  });

  it('forgets buckets that are full again, every 1024 takes, so memory stays bounded', async () => {
    const limiter = new MemoryRateLimiter({ ratePerSecond: 1, burst: 2 });
    for (let i = 0; i < 1023; i++) await limiter.take(`agent-${i}`, at(0));
    expect(limiter.size).toBe(1023);
    // The 1024th take, at 10 s, finds every agent-* bucket full again.
    await limiter.take('busy', at(10));
    expect(limiter.size).toBe(1);
    for (let i = 0; i < 1023; i++) await limiter.take('busy', at(10));
    // The next prune keeps the drained bucket: forgetting it would refill it.
    await limiter.take('other', at(10));
    expect(limiter.size).toBe(2);
    expect(await limiter.take('busy', at(10))).toEqual({ ok: false, remaining: 0 });
    expect(await limiter.take('agent-0', at(10))).toEqual({ ok: true, remaining: 1 });
  });

  it.each([
    [{ ratePerSecond: 0, burst: 1 }, /ratePerSecond/],
    [{ ratePerSecond: -1, burst: 1 }, /ratePerSecond/],
    [{ ratePerSecond: Number.NaN, burst: 1 }, /ratePerSecond/],
    [{ ratePerSecond: Number.POSITIVE_INFINITY, burst: 1 }, /ratePerSecond/],
    [{ ratePerSecond: 1, burst: 0 }, /burst/],
    [{ ratePerSecond: 1, burst: 1.5 }, /burst/],
  ])('refuses %j', (bucket, message) => {
    expect(() => new MemoryRateLimiter(bucket)).toThrow(message);
  });
});
