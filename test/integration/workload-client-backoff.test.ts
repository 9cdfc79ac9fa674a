import * as grpc from '@grpc/grpc-js';
import { DevIdentityProvider } from '../../src/spiffe/dev/identity-provider';
import type { DevWorkloadApi } from '../../src/spiffe/dev/workload-api-server';
import { SourceError, WorkloadApiError } from '../../src/spiffe/errors';
import { DEFAULT_BACKOFF, exponentialBackoff } from '../../src/spiffe/workload/backoff';
import { X509Source } from '../../src/spiffe/workload/x509-source';
import { ENDPOINT_KINDS, gaps, hasSecurityHeader, listenAddress, nextEvent, rawSvid, sleep, waitUntil } from './support/workload-fixtures';

const AGENT = 'spiffe://example.org/agent';
// Timers may fire a millisecond early after rounding; nothing else may make a gap shorter.
const SLOP_MS = 2;

describe.each(ENDPOINT_KINDS)('Workload API reconnects with backoff over %s', (kind) => {
  let provider: DevIdentityProvider;
  let api: DevWorkloadApi;
  let cleanup: () => void;
  let source: X509Source | undefined;

  beforeEach(async () => {
    provider = await DevIdentityProvider.create({ trustDomain: 'example.org' });
    const listen = listenAddress(kind);
    cleanup = listen.cleanup;
    api = await provider.serve(AGENT, listen.address);
  });

  afterEach(async () => {
    source?.close();
    source = undefined;
    await provider.close();
    cleanup();
  });

  it('waits 20, 40, 80, 160 ms between failing attempts, then resets after a good message', async () => {
    source = await X509Source.create({ address: api.address, backoff: exponentialBackoff({ initialMs: 20, maxMs: 1000, random: () => 1 }) });
    api.failNext('FetchX509SVID', grpc.status.UNAVAILABLE, 'rate limit exceeded for FetchX509SVID', 3);
    const recovered = nextEvent(source, 'update');
    api.endStreams('FetchX509SVID', grpc.status.UNAVAILABLE, 'workload attestation failed');
    await recovered;

    const calls = api.callsTo('FetchX509SVID');
    expect(calls.map((c) => c.code)).toEqual([14, 14, 14, 14, undefined]);
    const waited = gaps(calls.slice(1));
    [40, 80, 160].forEach((min, i) => expect(waited[i]).toBeGreaterThanOrEqual(min - SLOP_MS));
    expect(waited[0]).toBeLessThan(waited[1]);
    expect(waited[1]).toBeLessThan(waited[2]);

    // The good message reset the backoff: a normally ended stream is re-opened after 20 ms, not 320.
    const again = api.waitForCalls('FetchX509SVID', 6);
    const endedAt = Date.now();
    api.endStreams('FetchX509SVID', grpc.status.OK, '');
    const reopened = (await again)[5];
    expect(reopened.at - endedAt).toBeGreaterThanOrEqual(20 - SLOP_MS);
    expect(reopened.at - endedAt).toBeLessThan(250);
    expect(api.calls.every(hasSecurityHeader)).toBe(true);
  });

  it('re-opens a stream the server ended normally, after a backoff, never at once', async () => {
    source = await X509Source.create({ address: api.address, backoff: exponentialBackoff({ initialMs: 60, random: () => 0 }) });
    for (let n = 2; n <= 4; n++) {
      const reopened = api.waitForCalls('FetchX509SVID', n);
      const endedAt = Date.now();
      api.endStreams('FetchX509SVID', grpc.status.OK, '');
      // The new stream's first message resets the backoff, so every wait is the first one: [30, 60] ms.
      expect((await reopened)[n - 1].at - endedAt).toBeGreaterThanOrEqual(30 - SLOP_MS);
    }
    expect(source.getX509Svid().id.toString()).toBe(AGENT);
  });

  it('reconnects after the server stops and starts again, and serves the rotation made meanwhile', async () => {
    source = await X509Source.create({ address: api.address, backoff: exponentialBackoff({ initialMs: 10, maxMs: 50, random: () => 1 }) });
    const before = source.getX509Svid();
    const errors: Error[] = [];
    source.on('error', (err) => errors.push(err));

    await api.stop();
    await waitUntil(() => errors.length > 0);
    expect((errors[0] as WorkloadApiError).grpcCode).toBe(grpc.status.UNAVAILABLE);
    expect(source.getX509Svid()).toBe(before); // an outage keeps the SVID in force

    const updated = nextEvent(source, 'update');
    await provider.rotate();
    await api.restart();
    const restartedAt = Date.now();
    await updated;
    // grpc-js alone would re-dial only after its own 1 s backoff (then 1.6 s, ... up to 120 s);
    // the client's channel settings leave the pace to the watcher's backoff.
    expect(Date.now() - restartedAt).toBeLessThan(800);
    expect(source.getX509Svid()).not.toBe(before);
    expect(source.getX509Svid().id.toString()).toBe(AGENT);
  });

  it('does not retry after InvalidArgument mid-stream, and keeps the last SVID', async () => {
    source = await X509Source.create({ address: api.address, backoff: exponentialBackoff({ initialMs: 10, maxMs: 10 }) });
    const failed = nextEvent<[WorkloadApiError]>(source, 'error');
    api.endStreams('FetchX509SVID', grpc.status.INVALID_ARGUMENT, 'security header missing from request');
    const [error] = await failed;
    expect(error.grpcCode).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.message).toBe('FetchX509SVID: INVALID_ARGUMENT: security header missing from request');

    await sleep(300); // 30 retries' worth of a 10 ms backoff
    expect(api.callsTo('FetchX509SVID')).toHaveLength(1);
    expect(source.getX509Svid().id.toString()).toBe(AGENT);
  });

  it('rejects create() at once on InvalidArgument, with one call and no retry', async () => {
    api.failNext('FetchX509SVID', grpc.status.INVALID_ARGUMENT, 'security header missing from request', 100);
    const started = Date.now();
    const error = await X509Source.create({ address: api.address, backoff: exponentialBackoff({ initialMs: 10, maxMs: 10 }) }).catch((err: unknown) => err as SourceError);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).message).toBe('cannot get the first X.509-SVID: FetchX509SVID: INVALID_ARGUMENT: security header missing from request');
    expect(((error as SourceError).cause as WorkloadApiError).grpcCode).toBe(grpc.status.INVALID_ARGUMENT);
    await sleep(300);
    expect(api.callsTo('FetchX509SVID')).toHaveLength(1);
  });

  it('retries at least every second once its SVID has less than 30 s left, and never under 500 ms then', async () => {
    source = await X509Source.create({ address: api.address, backoff: exponentialBackoff({ initialMs: 100, random: () => 1 }) });
    const updated = nextEvent(source, 'update');
    const lapsing = await provider.issueX509(AGENT, { notAfter: new Date(Date.now() + 20_000) });
    api.setX509SvidResponse({ svids: [rawSvid(lapsing, provider.x509Bundle())], federated_bundles: {} });
    await updated;
    api.failNext('FetchX509SVID', grpc.status.UNAVAILABLE, 'agent down', 1000);
    const windowStart = Date.now();
    api.endStreams('FetchX509SVID', grpc.status.UNAVAILABLE, 'agent down');
    await sleep(3500);

    // The sequence underneath waits 100, 200, 400, 800, then 1600 and 3200 ms; urgent, [500, 1000] ms instead.
    const waited = gaps(api.callsTo('FetchX509SVID').filter((c) => c.at >= windowStart));
    expect(waited.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...waited)).toBeLessThan(1000 + 250); // a loaded machine's timers run late, never 600 ms late
    expect(Math.min(...waited.slice(3))).toBeGreaterThanOrEqual(500 - SLOP_MS);
  });

  it('by default waits at least 50 ms per retry and never loops tightly', async () => {
    source = await X509Source.create({ address: api.address, backoff: DEFAULT_BACKOFF });
    api.failNext('FetchX509SVID', grpc.status.UNAVAILABLE, 'workload attestation failed', 1000);
    const windowStart = Date.now();
    api.endStreams('FetchX509SVID', grpc.status.UNAVAILABLE, 'workload attestation failed');
    await sleep(1000);

    const retries = api.callsTo('FetchX509SVID').filter((c) => c.at >= windowStart);
    const waited = gaps(retries);
    // Delays are uniform in [50, 100], [100, 200], [200, 400], ...: three to five retries in a second.
    expect(retries.length).toBeGreaterThanOrEqual(3);
    expect(retries.length).toBeLessThanOrEqual(5);
    expect(Math.min(...waited)).toBeGreaterThanOrEqual(50 - SLOP_MS);
    expect(waited.reduce((a, b) => a + b, 0) / waited.length).toBeGreaterThanOrEqual(50);
    expect(retries[0].at - windowStart).toBeGreaterThanOrEqual(50 - SLOP_MS);
  });
});
