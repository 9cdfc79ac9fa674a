import { GatewayWorld } from './support/gateway-world';

const NOTICE = /without the production flags/;

describe('a gateway started without the production node flags says so once, and serves the same', () => {
  it('logs the missing flags at warn', async () => {
    const world = await GatewayWorld.start({ missingNodeFlags: ['--max-semi-space-size=4', '--no-liftoff'] });
    try {
      const notices = world.operations.lines.filter((l) => NOTICE.test(String(l.msg)));
      expect(notices).toEqual([expect.objectContaining({ level: 40 /* warn */, missing: ['--max-semi-space-size=4', '--no-liftoff'] })]);
    } finally {
      await world.close();
    }
  });

  it('logs nothing when none is missing', async () => {
    const world = await GatewayWorld.start({ missingNodeFlags: [] });
    try {
      expect(world.operations.lines.filter((l) => NOTICE.test(String(l.msg)))).toEqual([]);
    } finally {
      await world.close();
    }
  });
});
