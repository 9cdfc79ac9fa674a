import { sleep, waitUntil } from '../integration/support/workload-fixtures';
import { ConnectionBurst } from './support/connection-burst';
import { echoRequest, FaultDeployment, LOADERS, stopLoad } from './support/fault-deployment';
import { sized, timeoutFor } from './support/fault-settings';
import { mib, ms, reportFigures } from './support/figures';

const IDLE_CONNECTIONS = sized(500, 2000);
const STREAMS = sized(1000, 5000);
/** The streams' connections: each carries STREAMS / STREAM_CONNECTIONS, under the per-connection limit (limits.maxConcurrentStreams, 1000). */
const STREAM_CONNECTIONS = sized(4, 10);
/** How long everything is held open at its peak. */
const HOLD_MS = sized(3000, 15_000);
/** The well-behaved caller's window, unloaded and after. */
const QUIET_MS = sized(3000, 10_000);
/** After everything closed, the memory figure is read this much later. */
const SETTLE_MS = 15_000;
/** Descriptors the gateway may hold beyond its baseline once everything closed (upstream connections, timers' files, …). */
const FD_SLACK = 16;

/** The default limits.perCaller.maxConcurrentCalls and maxConnections: what one caller may hold. */
const PER_CALLER = 64;

/**
 * Run twice: with the listener and per-caller limits raised past the burst, so that one caller
 * holds everything (what that costs the gateway), and with the default limits, which refuse
 * that caller past its share (what the limits save). The well-behaved caller is served in both.
 */
describe.each([
  {
    limits: 'raised past the burst',
    extraConfig: `limits:\n  maxConnections: ${IDLE_CONNECTIONS + 100}\n  perCaller:\n    maxConcurrentCalls: ${STREAMS + 100}\n    maxConnections: ${IDLE_CONNECTIONS + 100}\n`,
    held: STREAMS,
  },
  { limits: 'the defaults', extraConfig: '', held: PER_CALLER },
])('fault: many idle connections and many held streams, limits $limits', ({ limits, extraConfig, held: heldExpected }) => {
  let d: FaultDeployment;
  const bursts: ConnectionBurst[] = [];
  beforeAll(async () => {
    d = await FaultDeployment.start({ extraConfig });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(bursts.map((b) => b.stop()));
    await d?.close();
  }, 60_000);

  it(
    `holds ${IDLE_CONNECTIONS} idle mTLS connections and ${STREAMS} streams on ${STREAM_CONNECTIONS} connections, a well-behaved caller's calls all succeed, and everything is released`,
    async () => {
      const polite = await d.agent(`${LOADERS}polite`);
      const politeClient = d.client(polite);
      // Each burst from a process of its own: the well-behaved caller's latency is the gateway's, not the burster's.
      const idler = ConnectionBurst.start((await d.agent(`${LOADERS}idler`)).api.address, d.gateway.target, echoRequest('ok'));
      const streamer = ConnectionBurst.start((await d.agent(`${LOADERS}streamer`)).api.address, d.gateway.target, echoRequest('ok'));
      bursts.push(idler, streamer);
      await d.callOnce(polite); // warm: the first call opens the upstream connection
      await sleep(1000);
      const baseline = await d.gateway.memory();

      const unloaded = d.load(politeClient, { kind: 'unary', rate: 50 });
      await sleep(QUIET_MS);
      await stopLoad(unloaded);

      const burst = d.load(politeClient, { kind: 'unary', rate: 50 });
      const t0 = performance.now();
      const idle = await idler.openIdleConnections(IDLE_CONNECTIONS);
      const idleOpenMs = performance.now() - t0;
      const t1 = performance.now();
      const held = await streamer.openHeldStreams(STREAMS, STREAM_CONNECTIONS);
      const streamsOpenMs = performance.now() - t1;
      await sleep(HOLD_MS);
      const peak = await d.gateway.memory();
      const heldStreamEnds = await streamer.endHeldStreams();
      await idler.closeIdleConnections();
      await stopLoad(burst);

      const after = d.load(politeClient, { kind: 'unary', rate: 50 });
      await waitUntil(() => d.gateway.openFds() <= baseline.fds + FD_SLACK, 20_000).catch(() => undefined);
      await sleep(Math.max(SETTLE_MS, QUIET_MS));
      await stopLoad(after);
      const settled = await d.gateway.memory();

      const latency = (l: typeof unloaded) => {
        const s = l.recorder.summary();
        return { calls: s.count, p50: ms(s.p50), p99: ms(s.p99), max: ms(s.max) };
      };
      const memory = (m: typeof baseline) => ({ rssMiB: mib(m.rssBytes), heapUsedMiB: mib(m.heapUsedBytes), fds: m.fds });
      reportFigures('idle-and-streams', {
        limits,
        idleConnections: idle.opened,
        idleRefused: idle.refused,
        idleOpenMs: ms(idleOpenMs),
        streams: held.held,
        streamsRefused: held.refused,
        streamsOpenMs: ms(streamsOpenMs),
        heldStreamEnds,
        memory: { before: memory(baseline), peak: memory(peak), [`${SETTLE_MS / 1000}sAfter`]: memory(settled) },
        wellBehavedMs: { unloaded: latency(unloaded), duringBurst: latency(burst), after: latency(after) },
        wellBehavedCodes: { unloaded: unloaded.outcomes.byCode(), duringBurst: burst.outcomes.byCode(), after: after.outcomes.byCode() },
      });

      if (heldExpected === STREAMS) {
        // Everything asked for was open at once: the gateway held a descriptor per connection.
        expect(idle.refused).toBe(0);
        expect(peak.fds).toBeGreaterThanOrEqual(baseline.fds + IDLE_CONNECTIONS + STREAM_CONNECTIONS);
      } else {
        // The caller's share only: its connections past the cap were closed, its calls refused.
        expect(peak.fds).toBeLessThanOrEqual(baseline.fds + PER_CALLER + STREAM_CONNECTIONS + FD_SLACK);
      }
      expect(held.held).toBe(heldExpected);
      expect(held.refused).toBe(STREAMS - heldExpected);
      // Every held stream ended as its caller ended it; every connection was let go.
      expect(heldStreamEnds).toEqual({ OK: heldExpected });
      expect(settled.fds).toBeLessThanOrEqual(baseline.fds + FD_SLACK);
      // The well-behaved caller was served throughout.
      for (const l of [unloaded, burst, after]) expect(l.outcomes.byCode()).toEqual({ OK: l.outcomes.calls });
      expect(burst.outcomes.calls).toBeGreaterThan(0);
      expect(d.gateway.running).toBe(true);
    },
    timeoutFor(2 * QUIET_MS + HOLD_MS + SETTLE_MS + IDLE_CONNECTIONS * 20 + STREAMS * 5),
  );
});
