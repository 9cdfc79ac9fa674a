import * as grpc from '@grpc/grpc-js';
import { sleep } from '../integration/support/workload-fixtures';
import { FaultDeployment, LOADERS, stopLoad } from './support/fault-deployment';
import { sized, timeoutFor } from './support/fault-settings';
import { ms, reportFigures } from './support/figures';

/** The gateway's SVID is rotated this many times; the agent's as often; the upstream's every third time. */
const ROTATIONS = sized(10, 100);
const PAUSE_MS = sized(250, 400);
const UNARY_RATE = sized(100, 150);
const STREAM_RATE = 40;

describe('fault: SVID rotations of the gateway, the upstream and an agent under load', () => {
  let d: FaultDeployment;
  beforeAll(async () => {
    d = await FaultDeployment.start();
  }, 120_000);
  afterAll(() => d?.close(), 60_000);

  it(
    `loses no call through ${ROTATIONS} rotations of the gateway's SVID and of an agent's, and ${Math.ceil(ROTATIONS / 3)} of the upstream's`,
    async () => {
      const agent = await d.agent(`${LOADERS}rotating`);
      const unary = d.load(d.client(agent), { kind: 'unary', rate: UNARY_RATE });
      const stream = d.load(d.client(agent), { kind: 'stream', rate: STREAM_RATE, streams: 4 });
      // After each agent rotation, a call on a new connection: the agent's new SVID must be accepted.
      const freshCalls: grpc.status[] = [];
      const took = { gateway: [] as number[], upstream: [] as number[], agent: [] as number[] };
      const t0 = performance.now();
      try {
        await sleep(500);
        for (let i = 0; i < ROTATIONS; i++) {
          took.gateway.push(await d.rotateGateway());
          if (i % 3 === 1) took.upstream.push(await d.rotateUpstream());
          took.agent.push(await d.rotateAgent(agent));
          freshCalls.push(await d.callOnce(agent));
          await sleep(PAUSE_MS);
        }
        await sleep(500);
      } finally {
        await stopLoad(unary, stream);
      }
      const seconds = (performance.now() - t0) / 1000;

      const calls = unary.outcomes.calls + stream.outcomes.calls + freshCalls.length;
      const failed = unary.outcomes.failed + stream.outcomes.failed + freshCalls.filter((c) => c !== grpc.status.OK).length;
      reportFigures('rotations', {
        seconds: Math.round(seconds),
        calls,
        failed,
        rotations: { gateway: took.gateway.length, upstream: took.upstream.length, agent: took.agent.length },
        gatewayRotationToServedMsMax: ms(Math.max(...took.gateway)),
        unary: unary.outcomes.byCode(),
        streamMessages: stream.outcomes.byCode(),
        streamEnds: stream.outcomes.streamsByCode(),
      });
      expect(unary.outcomes.byCode()).toEqual({ OK: unary.outcomes.calls });
      expect(stream.outcomes.byCode()).toEqual({ OK: stream.outcomes.calls });
      expect(stream.outcomes.streamsByCode()).toEqual({ OK: 4 }); // the streams opened at the start lived through every rotation
      expect(freshCalls).toEqual(Array(ROTATIONS).fill(grpc.status.OK));
      expect(unary.outcomes.calls).toBeGreaterThan(seconds * UNARY_RATE * 0.8);
      expect(d.gateway.running).toBe(true);
    },
    timeoutFor(ROTATIONS * (PAUSE_MS + 300)),
  );
});
