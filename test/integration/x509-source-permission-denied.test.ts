import * as grpc from '@grpc/grpc-js';
import { DevIdentityProvider } from '../../src/spiffe/dev/identity-provider';
import { DevWorkloadApi } from '../../src/spiffe/dev/workload-api-server';
import { SourceError, WorkloadApiError } from '../../src/spiffe/errors';
import { exponentialBackoff } from '../../src/spiffe/workload/backoff';
import type { OutgoingX509SVIDResponse } from '../../src/spiffe/workload/proto';
import { X509Source } from '../../src/spiffe/workload/x509-source';
import { ENDPOINT_KINDS, hasSecurityHeader, listenAddress, nextEvent, rawSvid, sleep } from './support/workload-fixtures';

const AGENT = 'spiffe://example.org/agent';
const NO_IDENTITY = 'FetchX509SVID: PERMISSION_DENIED: no identity issued';
const fast = exponentialBackoff({ initialMs: 10, maxMs: 40, random: () => 1 });

describe.each(ENDPOINT_KINDS)('X509Source on PermissionDenied over %s', (kind) => {
  let provider: DevIdentityProvider;
  let api: DevWorkloadApi;
  let cleanup: () => void;
  let source: X509Source | undefined;

  async function message(): Promise<OutgoingX509SVIDResponse> {
    return { svids: [rawSvid(await provider.issueX509(AGENT), provider.x509Bundle())] };
  }

  beforeAll(async () => {
    provider = await DevIdentityProvider.create({ trustDomain: 'example.org' });
  });
  afterAll(() => provider.close());

  beforeEach(async () => {
    const listen = listenAddress(kind);
    cleanup = listen.cleanup;
    api = await DevWorkloadApi.start({ address: listen.address });
  });

  afterEach(async () => {
    source?.close();
    source = undefined;
    await api.stop();
    cleanup();
  });

  it('withdraws the SVID mid-stream, keeps the bundles, retries with backoff, and recovers', async () => {
    api.setX509SvidResponse(await message());
    source = await X509Source.create({ address: api.address, backoff: fast });
    const live = source;
    const updates: string[] = [];
    live.on('update', () => updates.push(live.getX509Svids().length === 0 ? 'withdrawn' : 'svid'));

    const withdrawn = nextEvent<[WorkloadApiError]>(live, 'withdrawn');
    api.setX509SvidResponse(null); // ends the open stream with PermissionDenied "no identity issued"
    const [error] = await withdrawn;

    expect(error).toBeInstanceOf(WorkloadApiError);
    expect(error.grpcCode).toBe(grpc.status.PERMISSION_DENIED);
    expect(error.message).toBe(NO_IDENTITY);
    expect(() => live.getX509Svid()).toThrow(new SourceError(`X509Source has no X.509-SVID: ${NO_IDENTITY}`));
    expect(live.getX509Svids()).toEqual([]);
    expect(live.getX509BundleForTrustDomain('example.org').hasAuthority(provider.x509Bundle())).toBe(true);
    expect(updates).toEqual(['withdrawn']);

    // Still retrying: each new call is answered PermissionDenied until an identity appears.
    const retried = await api.waitForCalls('FetchX509SVID', 4);
    expect(retried.slice(1, 4).map((c) => c.code)).toEqual([7, 7, 7]);

    const restored = nextEvent(live, 'update');
    api.setX509SvidResponse(await message());
    await restored;
    expect(live.getX509Svid().id.toString()).toBe(AGENT);
    expect(updates).toEqual(['withdrawn', 'svid']);
    expect(api.calls.every(hasSecurityHeader)).toBe(true);
  });

  it('keeps create() waiting through PermissionDenied until the first SVID is issued', async () => {
    const created = X509Source.create({ address: api.address, backoff: fast });
    await api.waitForCalls('FetchX509SVID', 3);
    api.setX509SvidResponse(await message());
    source = await created;
    expect(source.getX509Svid().id.toString()).toBe(AGENT);
    expect(
      api
        .callsTo('FetchX509SVID')
        .slice(0, 3)
        .map((c) => c.code),
    ).toEqual([7, 7, 7]);
  });

  it('rejects create() with SourceError naming the last error when no SVID comes in time', async () => {
    const started = Date.now();
    const error = await X509Source.create({ address: api.address, backoff: fast, timeoutMs: 300 }).then(
      () => undefined,
      (err: unknown) => err as SourceError,
    );
    expect(error).toBeInstanceOf(SourceError);
    expect(error!.message).toBe(`timed out after 300 ms waiting for the first X.509-SVID: ${NO_IDENTITY}`);
    expect(error!.cause).toBeInstanceOf(WorkloadApiError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    // The failed source cleaned up after itself: no further calls arrive (after one that
    // may already have been on the wire when the timeout fired).
    await sleep(50);
    const calls = api.calls.length;
    await sleep(150);
    expect(api.calls.length).toBe(calls);
  });
});
