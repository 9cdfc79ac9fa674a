import * as grpc from '@grpc/grpc-js';
import { CI_BUILDER, GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { nextEvent } from './support/workload-fixtures';

describe('the gateway relays all four call types', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start();
    world.files.set('/docs/one.md', Buffer.from('1'));
    world.files.set('/docs/two.md', Buffer.from('22'));
  });
  afterAll(() => world.close());

  it('unary', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const reply = await new Promise<{ content: Buffer }>((resolve, reject) =>
      bot.readFile({ path: '/docs/two.md' }, (e: Error | null, r: { content: Buffer }) => (e ? reject(e) : resolve(r))),
    );
    expect(reply.content.toString()).toBe('22');
  });

  it('server streaming', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const call = bot.listDir({ path: '/docs' }) as grpc.ClientReadableStream<{ name: string; size: number }>;
    const entries: Array<{ name: string; size: number }> = [];
    call.on('data', (e) => entries.push({ name: e.name, size: e.size }));
    await nextEvent(call, 'end');
    expect(entries).toEqual([
      { name: 'one.md', size: 1 },
      { name: 'two.md', size: 2 },
    ]);
  });

  it('client streaming', async () => {
    const ci = await world.agent(CI_BUILDER);
    const reply = await new Promise<{ bytesWritten: number }>((resolve, reject) => {
      const call = ci.writeFile((e: Error | null, r: { bytesWritten: number }) => (e ? reject(e) : resolve(r))) as grpc.ClientWritableStream<unknown>;
      for (const part of ['he', 'll', 'o']) call.write({ path: '/out/hello.txt', data: Buffer.from(part) });
      call.end();
    });
    expect(reply.bytesWritten).toBe(5);
    expect(world.files.get('/out/hello.txt')?.toString()).toBe('hello');
  });

  it('bidirectional streaming, each answer before the next request', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const call = bot.sync() as grpc.ClientDuplexStream<{ path: string; op: string }, { path: string; status: string }>;
    const answers: string[] = [];
    for (const path of ['/docs/one.md', '/nope']) {
      const answer = nextEvent<[{ status: string }]>(call, 'data');
      call.write({ path, op: 'OP_STAT' });
      answers.push((await answer)[0].status);
    }
    call.end();
    await nextEvent(call, 'status');
    expect(answers).toEqual(['present, 1 bytes', 'absent']);
  });
});
