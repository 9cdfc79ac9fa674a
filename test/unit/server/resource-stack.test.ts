import { ResourceStack } from '../../../src/server/resource-stack';

describe('ResourceStack', () => {
  function stack() {
    const events: string[] = [];
    const errors: Array<[string, unknown]> = [];
    const resources = new ResourceStack<{ graceMs: number }>(
      (name, err) => errors.push([name, err]),
      (event, name) => events.push(`${event} ${name}`),
    );
    return { resources, events, errors };
  }

  it('releases what was made newest first, one release finished before the next begins, each with the moment it is given', async () => {
    const { resources } = stack();
    const order: string[] = [];
    const release =
      (name: string, ms = 0) =>
      async ({ graceMs }: { graceMs: number }) => {
        order.push(`${name} begins (${graceMs})`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`${name} done`);
      };
    resources.add('source', release('source'));
    resources.add('channels', release('channels', 20));
    resources.add('listeners', release('listeners', 20));
    await resources.release({ graceMs: 7 });
    expect(order).toEqual(['listeners begins (7)', 'listeners done', 'channels begins (7)', 'channels done', 'source begins (7)', 'source done']);
  });

  it('releases everything even when a release throws or rejects, and reports each failure by name', async () => {
    const { resources, errors } = stack();
    const released: string[] = [];
    resources.add('first', () => released.push('first'));
    resources.add('throws', () => {
      throw new Error('boom');
    });
    resources.add('rejects', () => Promise.reject(new Error('bang')));
    resources.add('last', () => released.push('last'));
    await resources.release({ graceMs: 0 });
    expect(released).toEqual(['last', 'first']);
    expect(errors.map(([name, err]) => [name, (err as Error).message])).toEqual([
      ['rejects', 'bang'],
      ['throws', 'boom'],
    ]);
  });

  it('releases once: a second release waits for the first and releases nothing again', async () => {
    const { resources } = stack();
    let count = 0;
    resources.add('once', async () => {
      await new Promise((r) => setTimeout(r, 10));
      count++;
    });
    const first = resources.release({ graceMs: 0 });
    const second = resources.release({ graceMs: 1000 });
    await Promise.all([first, second]);
    await resources.release({ graceMs: 0 });
    expect(count).toBe(1);
    expect(resources.names).toEqual([]);
  });

  it('releases at once, with the release’s moment, a resource made after the release began', async () => {
    const { resources } = stack();
    const seen: number[] = [];
    await resources.release({ graceMs: 3 });
    resources.add('late', ({ graceMs }) => seen.push(graceMs));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([3]);
  });

  it('tells its trace each resource made and each release begun', async () => {
    const { resources, events } = stack();
    resources.add('a', () => {});
    resources.add('b', () => {});
    expect(resources.names).toEqual(['a', 'b']);
    await resources.release({ graceMs: 0 });
    expect(events).toEqual(['made a', 'made b', 'releasing b', 'releasing a']);
  });
});
