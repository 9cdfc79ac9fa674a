import type { Socket } from 'node:net';
import { HandshakeQueue } from '../../../../src/spiffe/tls/handshake-queue';

/** What the queue touches of a socket. */
function fakeSocket(name: string): Socket & { name: string } {
  const s = { name, destroyed: false, destroy: () => void (s.destroyed = true) };
  return s as unknown as Socket & { name: string };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('HandshakeQueue', () => {
  it('starts at most perTurn handshakes on each turn of the event loop, in arrival order', async () => {
    const started: string[] = [];
    const queue = new HandshakeQueue(
      (s) => started.push((s as Socket & { name: string }).name),
      () => {},
      { perTurn: 3 },
    );
    for (let i = 0; i < 8; i++) queue.push(fakeSocket(`c${i}`));
    // Nothing starts in the turn the connections are accepted in.
    expect(started).toEqual([]);
    expect(queue.length).toBe(8);
    await nextTurn();
    expect(started).toEqual(['c0', 'c1', 'c2']);
    await nextTurn();
    expect(started).toHaveLength(6);
    await nextTurn();
    expect(started).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    expect(queue.length).toBe(0);
    // An empty queue schedules nothing, and starts again on the next push.
    queue.push(fakeSocket('late'));
    await nextTurn();
    expect(started.at(-1)).toBe('late');
  });

  it('skips a connection its client closed while it waited, without spending a start on it', async () => {
    const started: string[] = [];
    const queue = new HandshakeQueue(
      (s) => started.push((s as Socket & { name: string }).name),
      () => {},
      { perTurn: 2 },
    );
    const gone = fakeSocket('gone');
    queue.push(gone);
    queue.push(fakeSocket('a'));
    queue.push(fakeSocket('b'));
    gone.destroy();
    await nextTurn();
    expect(started).toEqual(['a', 'b']);
  });

  it('closes a connection that waited longer than maxWaitMs instead of starting it, and reports it', async () => {
    let now = 0;
    const started: string[] = [];
    const expired: string[] = [];
    const queue = new HandshakeQueue(
      (s) => started.push((s as Socket & { name: string }).name),
      (s) => expired.push((s as Socket & { name: string }).name),
      { perTurn: 1, maxWaitMs: 100, now: () => now },
    );
    const old = fakeSocket('old');
    const second = fakeSocket('second');
    queue.push(old);
    queue.push(second);
    now = 50;
    queue.push(fakeSocket('fresh'));
    now = 101; // 'old' and 'second' have waited 101 ms, 'fresh' 51 ms
    await nextTurn();
    await nextTurn();
    expect(expired).toEqual(['old', 'second']);
    expect(old.destroyed).toBe(true);
    expect(second.destroyed).toBe(true);
    expect(started).toEqual(['fresh']);
  });

  it('refuses a perTurn that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(
        () =>
          new HandshakeQueue(
            () => {},
            () => {},
            { perTurn: bad },
          ),
      ).toThrow(RangeError);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(
        () =>
          new HandshakeQueue(
            () => {},
            () => {},
            { perSecond: bad },
          ),
      ).toThrow(RangeError);
  });

  it('starts at most perSecond handshakes a second, a burst of at most perTurn, and waits for the next token when the bucket is empty', () => {
    let now = 0;
    const started: string[] = [];
    const runs: Array<{ afterMs: number | undefined; run: () => void }> = [];
    const queue = new HandshakeQueue(
      (s) => started.push((s as Socket & { name: string }).name),
      () => {},
      {
        perTurn: 4,
        perSecond: 100,
        now: () => now,
        scheduler: { nextTurn: (run) => runs.push({ afterMs: undefined, run }), after: (afterMs, run) => runs.push({ afterMs, run }) },
      },
    );
    for (let i = 0; i < 10; i++) queue.push(fakeSocket(`c${i}`));
    const next = () => runs.shift()!;
    // A full bucket: the first turn starts perTurn.
    let r = next();
    expect(r.afterMs).toBeUndefined();
    r.run();
    expect(started).toHaveLength(4);
    // The bucket is empty: the next run waits for one token (10 ms at 100 a second), not a turn.
    r = next();
    expect(r.afterMs).toBe(10);
    now += 10;
    r.run();
    expect(started).toHaveLength(5);
    // 25 ms later: 2.5 tokens, so 2 start.
    r = next();
    now += 25;
    r.run();
    expect(started).toHaveLength(7);
    // After a quiet spell the bucket holds perTurn, not more (1 s would be 100 tokens): with
    // more than perTurn waiting, one run starts 4, and the next waits for a token again.
    for (let i = 10; i < 20; i++) queue.push(fakeSocket(`c${i}`));
    r = next();
    now += 1000;
    r.run();
    expect(started).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9', 'c10']);
    r = next();
    expect(r.afterMs).toBe(10);
    now += 10;
    r.run();
    expect(started).toHaveLength(12);
    while (runs.length > 0) {
      r = next();
      now += r.afterMs ?? 0;
      r.run();
    }
    expect(started).toHaveLength(20);
    expect(queue.length).toBe(0);
    expect(runs).toHaveLength(0);
  });
});
