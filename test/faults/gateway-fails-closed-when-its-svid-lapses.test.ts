import * as grpc from '@grpc/grpc-js';
import { sleep, waitUntil } from '../integration/support/workload-fixtures';
import { FaultDeployment, LOADERS, stopLoad } from './support/fault-deployment';
import { sized, timeoutFor } from './support/fault-settings';
import { ms, reportFigures } from './support/figures';

/** The lifetime of the SVID the gateway holds when its Workload API goes away. */
const TTL_MS = sized(5000, 20_000);
/** How long the outage lasts past the SVID's expiry. */
const EXPIRED_MS = sized(2500, 10_000);
/** Slack past the expiry for calls already decided, and for clocks. */
const MARGIN_MS = 1000;
/** Calls must succeed again within this of the Workload API being back: the gateway retries with a backoff capped at 30 s. */
const RECOVERY_BOUND_MS = 35_000;

describe("fault: the gateway's Workload API down until its SVID expires, then back", () => {
  let d: FaultDeployment;
  beforeAll(async () => {
    d = await FaultDeployment.start();
  }, 120_000);
  afterAll(() => d?.close(), 60_000);

  it(
    'refuses every call (UNAVAILABLE) and reports not ready once its SVID has expired, and serves again soon after the Workload API is back',
    async () => {
      const agent = await d.agent(`${LOADERS}steady`);
      const unary = d.load(d.client(agent), { kind: 'unary', rate: 50 });
      const stream = d.load(d.client(agent), { kind: 'stream', rate: 10, streams: 2 });
      let expiredAt = 0;
      let backAt = 0;
      let recoveredAt: number | undefined;
      const during = { readyz: 0, freshCall: -1 as grpc.status, unary: {} as Record<string, number> };
      const t0 = performance.now();
      try {
        await waitUntil(() => unary.outcomes.calls >= 20, 10_000);
        // A short-lived SVID, then no Workload API to renew it: SPIRE's agent gone for longer than an SVID lives.
        await d.rotateGateway(TTL_MS);
        const notAfter = Date.now() + TTL_MS;
        await d.gatewayApi.stop();
        await sleep(notAfter - Date.now());
        expiredAt = performance.now();
        await sleep(MARGIN_MS + EXPIRED_MS);
        during.unary = unary.outcomes.byCode(expiredAt + MARGIN_MS, performance.now());
        during.readyz = await d.gateway.readyz();
        during.freshCall = await d.callOnce(agent);

        // Back, with a good SVID for the gateway to fetch when it next retries.
        await d.pushSvid(d.gatewayApi, 'spiffe://example.org/toolgate');
        await d.gatewayApi.restart();
        backAt = performance.now();
        const recovered = () => {
          const first = unary.outcomes.firstAfter(backAt, grpc.status.OK);
          const lastBad = unary.outcomes.lastOtherThan(grpc.status.OK);
          return first !== undefined && (lastBad === undefined || lastBad < first) ? first : undefined;
        };
        await waitUntil(() => recovered() !== undefined && unary.outcomes.countAfter(recovered()!) >= 20, RECOVERY_BOUND_MS + 10_000).catch(() => undefined);
        recoveredAt = recovered();
      } finally {
        await stopLoad(unary, stream);
      }

      reportFigures('svid-lapse', {
        seconds: Math.round((performance.now() - t0) / 1000),
        ttlMs: TTL_MS,
        expiredForMs: EXPIRED_MS,
        calls: unary.outcomes.calls + stream.outcomes.calls,
        unaryWhileExpired: during.unary,
        readyzWhileExpired: during.readyz,
        newConnectionWhileExpired: grpc.status[during.freshCall],
        unary: unary.outcomes.byCode(),
        streamMessages: stream.outcomes.byCode(),
        streamEnds: stream.outcomes.streamsByCode(),
        recoveryMs: ms(recoveredAt === undefined ? undefined : recoveredAt - backAt),
      });
      // Without a valid SVID the gateway serves nothing: calls on connections opened before refused, new connections too.
      expect(Object.keys(during.unary)).toEqual(['UNAVAILABLE']);
      expect(during.freshCall).toBe(grpc.status.UNAVAILABLE);
      expect(during.readyz).toBe(503);
      // Before the expiry and after the recovery calls succeed; nothing ever ends otherwise than OK or UNAVAILABLE.
      expect(Object.keys(unary.outcomes.byCode()).sort()).toEqual(['OK', 'UNAVAILABLE']);
      expect(Object.keys(stream.outcomes.byCode()).every((code) => code === 'OK' || code === 'UNAVAILABLE')).toBe(true);
      expect(recoveredAt).toBeDefined();
      expect(recoveredAt! - backAt).toBeLessThan(RECOVERY_BOUND_MS);
      expect(await d.gateway.readyz()).toBe(200);
    },
    timeoutFor(TTL_MS + EXPIRED_MS + RECOVERY_BOUND_MS),
  );
});
