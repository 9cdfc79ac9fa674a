import { startEchoWorld, type EchoObservations } from './support/echo-service';
import { type GatewayWorld, RESEARCH_BOT } from './support/gateway-world';
import { grpcFrame, grpcRequestHeaders, rawCaller, rawOutcome, type RawConnection } from './support/raw-h2-caller';

describe('the gateway sends exactly `te: trailers` upstream, whatever the caller sent', () => {
  let world: GatewayWorld;
  let seen: EchoObservations;
  let connect: () => RawConnection;
  beforeAll(async () => {
    ({ world, seen } = await startEchoWorld());
    connect = await rawCaller(world, RESEARCH_BOT);
  });
  afterAll(() => world.close());

  it('a caller that sends `te` twice gets its call relayed, not an upstream failure', async () => {
    const { session } = connect();
    const calls = seen.metadata.length;
    try {
      // Node sends both (`te` and `TE` are two header fields); the gateway reads `trailers, trailers`.
      const stream = session.request(grpcRequestHeaders('/test.v1.Echo/Unary', { TE: 'trailers' }), { endStream: false });
      stream.end(grpcFrame(Buffer.from('ping')));
      const outcome = await rawOutcome(stream);
      expect(outcome.grpcStatus).toBe('0');
    } finally {
      session.destroy();
    }
    expect(seen.metadata.length).toBe(calls + 1);
    expect(await world.metric('toolgate_upstream_errors_total', { upstream: 'files' })).toBe(0);
    expect(world.operations.lines.filter((l) => l.msg === 'upstream call failed')).toEqual([]);
  });
});
