import { DEFAULT_BACKOFF, exponentialBackoff, URGENT_MAX_MS, URGENT_WINDOW_MS, urgentBackoff } from '../../../../src/spiffe/workload/backoff';

function take(n: number, next: () => number): number[] {
  return Array.from({ length: n }, next);
}

describe('exponentialBackoff', () => {
  it('doubles from 100 ms up to the 30 s cap (upper ends with random → 1)', () => {
    const b = exponentialBackoff({ random: () => 1 }).newBackoff();
    expect(take(12, () => b.next())).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000]);
  });

  it('never waits less than half the current step (lower ends with random → 0)', () => {
    const b = exponentialBackoff({ random: () => 0 }).newBackoff();
    expect(take(11, () => b.next())).toEqual([50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000]);
  });

  it('jitters within [d/2, d]', () => {
    const b = exponentialBackoff({ random: () => 0.5 }).newBackoff();
    expect(take(3, () => b.next())).toEqual([75, 150, 300]);
  });

  it('starts over after reset()', () => {
    const b = exponentialBackoff({ initialMs: 10, maxMs: 1000, random: () => 1 }).newBackoff();
    expect(take(3, () => b.next())).toEqual([10, 20, 40]);
    b.reset();
    expect(take(2, () => b.next())).toEqual([10, 20]);
  });

  it('gives each watcher its own sequence', () => {
    const strategy = exponentialBackoff({ initialMs: 10, multiplier: 3, random: () => 1 });
    const a = strategy.newBackoff();
    const b = strategy.newBackoff();
    expect([a.next(), a.next(), b.next()]).toEqual([10, 30, 10]);
  });

  it('rejects nonsensical settings', () => {
    expect(() => exponentialBackoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => exponentialBackoff({ initialMs: 100, maxMs: 50 })).toThrow(RangeError);
    expect(() => exponentialBackoff({ multiplier: 0.5 })).toThrow(RangeError);
  });

  it('by default is never a tight loop: every delay ≥ 50 ms, and 1000 first retries average ≥ 50 ms', () => {
    const delays = Array.from({ length: 1000 }, () => {
      const b = DEFAULT_BACKOFF.newBackoff();
      return b.next();
    });
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...delays)).toBeLessThanOrEqual(100);
    expect(delays.reduce((a, b) => a + b, 0) / delays.length).toBeGreaterThanOrEqual(50);
  });
});

describe('urgentBackoff', () => {
  const inner = exponentialBackoff({ initialMs: 100, random: () => 1 });

  it('is the strategy underneath while not urgent', () => {
    const b = urgentBackoff(inner, () => false).newBackoff();
    expect(take(8, () => b.next())).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800]);
  });

  it('while urgent, keeps delays up to 1 s and draws longer ones in [500, 1000] ms', () => {
    const low = urgentBackoff(
      inner,
      () => true,
      undefined,
      () => 0,
    ).newBackoff();
    expect(take(7, () => low.next())).toEqual([100, 200, 400, 800, 500, 500, 500]);
    const high = urgentBackoff(
      inner,
      () => true,
      undefined,
      () => 1,
    ).newBackoff();
    expect(take(7, () => high.next())).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect([URGENT_MAX_MS, URGENT_WINDOW_MS]).toEqual([1000, 30_000]);
  });

  it('goes on with the sequence underneath when the urgency ends, and resets it', () => {
    let urgent = true;
    const b = urgentBackoff(
      inner,
      () => urgent,
      1000,
      () => 1,
    ).newBackoff();
    expect(take(6, () => b.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    urgent = false;
    expect(b.next()).toBe(6400);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('rejects a cap that is not positive', () => {
    expect(() => urgentBackoff(inner, () => true, 0)).toThrow(RangeError);
  });
});
