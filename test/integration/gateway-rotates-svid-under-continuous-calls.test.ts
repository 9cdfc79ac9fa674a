import * as grpc from '@grpc/grpc-js';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { nextEvent, sleep } from './support/workload-fixtures';

describe('SVID rotation under continuous calls', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    world = await GatewayWorld.start();
    world.files.set('/f', Buffer.from('data'));
  });
  afterAll(() => world.close());

  it('rotates every SVID three times while calls keep flowing, and no call fails', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const gatewaySerials = new Set<string>();
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const caller = (async () => {
      while (running) {
        await new Promise<void>((resolve) =>
          bot.readFile({ path: '/f' }, (e: grpc.ServiceError | null) => {
            if (e) failures.push(`${e.code} ${e.details}`);
            else ok++;
            resolve();
          }),
        );
      }
    })();

    for (let i = 0; i < 3; i++) {
      await sleep(150);
      const updated = nextEvent(world.gateway.source, 'update');
      await world.spiffe.provider.rotate();
      await updated;
      gatewaySerials.add(world.gateway.source.getX509Svid().certificates[0].serialNumber);
    }
    await sleep(150);
    running = false;
    await caller;

    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect(gatewaySerials.size).toBe(3);
  });
});
