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
      3,
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
      2,
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
      1,
      100,
      () => now,
    );
    const old = fakeSocket('old');
    queue.push(old);
    queue.push(fakeSocket('second'));
    now = 50;
    queue.push(fakeSocket('fresh'));
    now = 101; // 'old' and 'second' have waited 101 ms, 'fresh' 51 ms
    await nextTurn();
    await nextTurn();
    expect(expired).toEqual(['old', 'second']);
    expect(old.destroyed).toBe(true);
    expect(started).toEqual(['fresh']);
  });

  it('refuses a perTurn that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(
        () =>
          new HandshakeQueue(
            () => {},
            () => {},
            bad,
          ),
      ).toThrow(RangeError);
  });
});
