import * as grpc from '@grpc/grpc-js';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';

describe('the gateway checks the upstream identity', () => {
  let world: GatewayWorld;
  beforeAll(async () => {
    // The files tool presents spiffe://example.org/tools/files; the config expects another ID.
    world = await GatewayWorld.start({ filesUpstreamId: 'spiffe://example.org/tools/impostor-check' });
    world.files.set('/a', Buffer.from('secret'));
  });
  afterAll(() => world.close());

  it('answers UNAVAILABLE and relays nothing to an upstream presenting the wrong SPIFFE ID', async () => {
    const bot = await world.agent(RESEARCH_BOT);
    const err = await new Promise<grpc.ServiceError | null>((resolve) => bot.readFile({ path: '/a' }, (e: grpc.ServiceError | null) => resolve(e)));
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'allow' }); // policy allowed; identity check refused
    const upstreamErrors = await world.gateway.metrics.registry.getSingleMetricAsString('toolgate_upstream_errors_total');
    expect(upstreamErrors).toMatch(/toolgate_upstream_errors_total\{upstream="files"\} [1-9]/);
  });
});
