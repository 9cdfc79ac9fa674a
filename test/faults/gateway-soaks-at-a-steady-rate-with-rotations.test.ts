import { sleep, waitUntil } from '../integration/support/workload-fixtures';
import { FaultDeployment, LOADERS, stopLoad } from './support/fault-deployment';
import { sized, timeoutFor } from './support/fault-settings';
import { mib, reportFigures } from './support/figures';

const DURATION_MS = Number(process.env.TOOLGATE_FAULTS_SOAK_S ?? sized(20, 600)) * 1000;
/** Calls per second in all: 80 % unary calls, 20 % messages on 4 streams. */
const RATE = sized(100, 200);
/** An SVID rotation every this often: the gateway's each time, the upstream's and the agent's in turn. */
const ROTATE_EVERY_MS = sized(5000, 60_000);
/** Memory is sampled this often, for the peak. */
const SAMPLE_EVERY_MS = sized(2000, 10_000);
const FD_SLACK = 16;

describe('fault: a steady soak with periodic rotations', () => {
  let d: FaultDeployment;
  beforeAll(async () => {
    d = await FaultDeployment.start();
  }, 120_000);
  afterAll(() => d?.close(), 60_000);

  it(
    `serves ${RATE} calls/s for ${DURATION_MS / 1000} s, rotating SVIDs every ${ROTATE_EVERY_MS / 1000} s, with no failed call`,
    async () => {
      const agent = await d.agent(`${LOADERS}soak`);
      const unary = d.load(d.client(agent), { kind: 'unary', rate: RATE * 0.8 });
      const stream = d.load(d.client(agent), { kind: 'stream', rate: RATE * 0.2, streams: 4 });
      const rotations = { gateway: 0, upstream: 0, agent: 0 };
      let peakRss = 0;
      let start: Awaited<ReturnType<FaultDeployment['gateway']['memory']>>;
      const t0 = performance.now();
      try {
        // Warm (decision cache, JIT, first upstream connection) before the baseline.
        await waitUntil(() => unary.outcomes.calls >= RATE, 10_000);
        start = await d.gateway.memory();
        let nextRotation = performance.now() + ROTATE_EVERY_MS;
        let nextSample = performance.now() + SAMPLE_EVERY_MS;
        while (performance.now() - t0 < DURATION_MS) {
          if (performance.now() >= nextRotation) {
            await d.rotateGateway();
            rotations.gateway++;
            if (rotations.gateway % 2 === 1) {
              await d.rotateUpstream();
              rotations.upstream++;
            } else {
              await d.rotateAgent(agent);
              rotations.agent++;
            }
            nextRotation += ROTATE_EVERY_MS;
          }
          if (performance.now() >= nextSample) {
            peakRss = Math.max(peakRss, (await d.gateway.memory()).rssBytes);
            nextSample += SAMPLE_EVERY_MS;
          }
          await sleep(100);
        }
      } finally {
        await stopLoad(unary, stream);
      }
      const end = await d.gateway.memory();
      const seconds = (performance.now() - t0) / 1000;

      const calls = unary.outcomes.calls + stream.outcomes.calls;
      reportFigures('soak', {
        seconds: Math.round(seconds),
        ratePerSecond: RATE,
        calls,
        failed: unary.outcomes.failed + stream.outcomes.failed,
        achievedPerSecond: Math.round(calls / seconds),
        rotations,
        rssMiB: { start: mib(start!.rssBytes), peak: mib(Math.max(peakRss, end.rssBytes)), end: mib(end.rssBytes) },
        rssGrowthPercent: Math.round(((end.rssBytes - start!.rssBytes) / start!.rssBytes) * 1000) / 10,
        heapUsedMiB: { start: mib(start!.heapUsedBytes), end: mib(end.heapUsedBytes) },
        fds: { start: start!.fds, end: end.fds },
        unary: unary.outcomes.byCode(),
        streamMessages: stream.outcomes.byCode(),
        streamEnds: stream.outcomes.streamsByCode(),
      });
      expect(unary.outcomes.byCode()).toEqual({ OK: unary.outcomes.calls });
      expect(stream.outcomes.byCode()).toEqual({ OK: stream.outcomes.calls });
      expect(stream.outcomes.streamsByCode()).toEqual({ OK: 4 });
      expect(calls).toBeGreaterThan(seconds * RATE * 0.5);
      expect(rotations.gateway).toBeGreaterThanOrEqual(Math.floor(DURATION_MS / ROTATE_EVERY_MS) - 1);
      expect(end.fds).toBeLessThanOrEqual(start!.fds + FD_SLACK);
      expect(d.gateway.running).toBe(true);
    },
    timeoutFor(DURATION_MS),
  );
});
