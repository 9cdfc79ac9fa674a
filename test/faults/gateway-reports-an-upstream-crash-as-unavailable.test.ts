import * as grpc from '@grpc/grpc-js';
import { sleep, waitUntil } from '../integration/support/workload-fixtures';
import { FaultDeployment, LOADERS, stopLoad, type Load } from './support/fault-deployment';
import { sized, timeoutFor } from './support/fault-settings';
import { ms, reportFigures } from './support/figures';

const ROUNDS = sized(1, 10);
/** How long the upstream stays dead before it is started again. */
const DOWN_MS = sized(1500, 3000);
/** Calls must succeed again within this of the upstream listening again. */
const RECOVERY_BOUND_MS = 5000;

describe('fault: the upstream killed (SIGKILL) under load, then started again', () => {
  let d: FaultDeployment;
  beforeAll(async () => {
    d = await FaultDeployment.start();
  }, 120_000);
  afterAll(() => d?.close(), 60_000);

  /** The first moment after `t` from which every call of these loads succeeded, or undefined. */
  function recoveredAt(loads: Load[], t: number): number | undefined {
    const firsts = loads.map((l) => l.outcomes.firstAfter(t, grpc.status.OK));
    if (firsts.some((f) => f === undefined)) return undefined;
    const first = Math.max(...(firsts as number[]));
    const lastBad = Math.max(...loads.map((l) => l.outcomes.lastOtherThan(grpc.status.OK) ?? -Infinity));
    return lastBad < first ? first : undefined;
  }

  it(
    `ends the calls in flight and the calls made while it is down with UNAVAILABLE (the status clients retry), and serves again once it is back (${ROUNDS} round(s))`,
    async () => {
      const agent = await d.agent(`${LOADERS}steady`);
      const unary = d.load(d.client(agent), { kind: 'unary', rate: 100 });
      const stream = d.load(d.client(agent), { kind: 'stream', rate: 40, streams: 4 });
      const recoveries: number[] = [];
      const cut: Array<Record<string, number>> = [];
      const t0 = performance.now();
      try {
        await waitUntil(() => stream.outcomes.calls >= 20, 10_000);
        for (let round = 0; round < ROUNDS; round++) {
          const before = stream.outcomes.streamsByCode();
          await d.killUpstream();
          await sleep(DOWN_MS);
          // The streams open at the kill, and those opened while it was down, ended by now.
          cut.push(diff(stream.outcomes.streamsByCode(), before));
          await d.restartUpstream();
          const backAt = performance.now();
          await waitUntil(() => recoveredAt([unary, stream], backAt) !== undefined && unary.outcomes.countAfter(recoveredAt([unary, stream], backAt)!) >= 50, 30_000);
          recoveries.push(recoveredAt([unary, stream], backAt)! - backAt);
          await sleep(500);
        }
      } finally {
        await stopLoad(unary, stream);
      }

      reportFigures('upstream-crash', {
        seconds: Math.round((performance.now() - t0) / 1000),
        rounds: ROUNDS,
        calls: unary.outcomes.calls + stream.outcomes.calls,
        unary: unary.outcomes.byCode(),
        streamMessages: stream.outcomes.byCode(),
        streamEnds: stream.outcomes.streamsByCode(),
        streamsEndedByEachCrash: cut,
        recoveryMs: recoveries.map(ms),
      });
      // Each crash cut streams, and each of them, like every call refused meanwhile, ended UNAVAILABLE.
      for (const ended of cut) {
        expect(ended.UNAVAILABLE ?? 0).toBeGreaterThanOrEqual(1);
        expect(Object.keys(ended)).toEqual(['UNAVAILABLE']);
      }
      expect(Object.keys(unary.outcomes.byCode()).sort()).toEqual(['OK', 'UNAVAILABLE']);
      expect(Object.keys(stream.outcomes.byCode()).sort()).toEqual(['OK', 'UNAVAILABLE']);
      expect(Object.keys(stream.outcomes.streamsByCode()).sort()).toEqual(['OK', 'UNAVAILABLE']);
      for (const t of recoveries) expect(t).toBeLessThan(RECOVERY_BOUND_MS);
      expect(d.gateway.running).toBe(true);
    },
    timeoutFor(ROUNDS * (DOWN_MS + 3000)),
  );
});

/** `after` − `before`, per code, leaving out codes that did not change. */
function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).flatMap(([code, n]) => (n - (before[code] ?? 0) > 0 ? [[code, n - (before[code] ?? 0)]] : [])));
}
