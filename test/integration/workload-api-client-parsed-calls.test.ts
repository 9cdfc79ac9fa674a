import * as grpc from '@grpc/grpc-js';
import { DevIdentityProvider, type DevWorkloadApi } from '../../src/spiffe/dev/index';
import { BundleError, exponentialBackoff, SourceError, WorkloadApiClient, WorkloadApiError, X509SvidError, type JwtBundleSet, type X509Context } from '../../src/spiffe/index';
import { hasSecurityHeader, listenAddress, waitUntil } from './support/workload-fixtures';

const AGENT = 'spiffe://example.org/agent';
const OTHER = 'spiffe://example.org/other';
const fast = exponentialBackoff({ initialMs: 10, maxMs: 40, random: () => 1 });

/** The public client hands over parsed SVIDs and bundles, as go-spiffe's workloadapi.Client does. */
describe('WorkloadApiClient (public, parsed)', () => {
  let provider: DevIdentityProvider;
  let api: DevWorkloadApi;
  let cleanup: () => void;
  let client: WorkloadApiClient;

  beforeEach(async () => {
    provider = await DevIdentityProvider.create({ trustDomain: 'example.org', federatedTrustDomains: ['partner.test'] });
    const listen = listenAddress('unix');
    cleanup = listen.cleanup;
    api = await provider.serve([AGENT, OTHER], listen.address);
    client = new WorkloadApiClient({ address: api.address, backoff: fast });
  });

  afterEach(async () => {
    client.close();
    await provider.close();
    cleanup();
  });

  it('fetchX509Context() returns the SVIDs and the bundles of one message, then ends its stream', async () => {
    const context = await client.fetchX509Context();
    expect(context.svids.map((s) => s.id.toString())).toEqual([AGENT, OTHER]);
    expect(context.bundles.trustDomains().map(String).sort()).toEqual(['example.org', 'partner.test']);
    expect((await client.fetchX509Svid()).id.toString()).toBe(AGENT);
    // Each fetch opened one stream and cancelled it once it had its message.
    await waitUntil(() => api.callsTo('FetchX509SVID').every((c) => c.code !== undefined));
    expect(api.callsTo('FetchX509SVID').map((c) => c.code)).toEqual([grpc.status.CANCELLED, grpc.status.CANCELLED]);
    expect(api.calls.every(hasSecurityHeader)).toBe(true);
  });

  it('fetchX509Context() rejects with the parse error for a malformed message, and with WorkloadApiError for a failed stream', async () => {
    api.setX509SvidResponse({ svids: [] });
    await expect(client.fetchX509Context()).rejects.toThrow(new X509SvidError('X509SVIDResponse: svids is empty'));
    api.failNext('FetchX509SVID', grpc.status.PERMISSION_DENIED, 'no identity issued');
    const failed = client.fetchX509Context();
    await expect(failed).rejects.toThrow(WorkloadApiError);
    await expect(failed).rejects.toMatchObject({ grpcCode: grpc.status.PERMISSION_DENIED });
  });

  it('watchX509Context() reports every rotation until stopped, and a discarded message as an error', async () => {
    const updates: X509Context[] = [];
    const errors: Error[] = [];
    const watch = client.watchX509Context({ onUpdate: (c) => updates.push(c), onError: (e) => errors.push(e) });
    await waitUntil(() => updates.length === 1);
    const first = updates[0].svids[0].certificates[0].serialNumber;

    await provider.rotate();
    await waitUntil(() => updates.length === 2);
    expect(updates[1].svids[0].certificates[0].serialNumber).not.toBe(first);

    api.setX509SvidResponse({ svids: [] });
    await waitUntil(() => errors.length === 1);
    expect(errors[0]).toBeInstanceOf(X509SvidError);
    expect(updates).toHaveLength(2);

    watch.stop();
    watch.stop();
    await waitUntil(() => api.callsTo('FetchX509SVID')[0].code !== undefined);
    expect(api.callsTo('FetchX509SVID')[0].code).toBe(grpc.status.CANCELLED);
  });

  it('fetchJwtBundles() and watchJwtBundles() hand over bundle sets; an empty map is a BundleError', async () => {
    expect((await client.fetchJwtBundles()).trustDomains().map(String).sort()).toEqual(['example.org', 'partner.test']);

    const sets: JwtBundleSet[] = [];
    const errors: Error[] = [];
    const watch = client.watchJwtBundles({ onUpdate: (s) => sets.push(s), onError: (e) => errors.push(e) });
    await waitUntil(() => sets.length === 1);
    api.setJwtBundlesResponse({ bundles: {} });
    await waitUntil(() => errors.length === 1);
    expect(errors[0]).toEqual(new BundleError('JWTBundlesResponse: bundles is empty'));
    watch.stop();
  });

  it('fetchJwtSvid(s)() and validateJwtSvid() hand over parsed JWT-SVIDs', async () => {
    const svid = await client.fetchJwtSvid({ audience: 'tools' });
    expect([svid.id.toString(), svid.audience]).toEqual([AGENT, ['tools']]);
    expect((await client.fetchJwtSvids({ audience: ['tools'] })).map((s) => s.id.toString())).toEqual([AGENT, OTHER]);
    expect((await client.fetchJwtSvids({ audience: 'tools', spiffeId: OTHER })).map((s) => s.id.toString())).toEqual([OTHER]);

    const validated = await client.validateJwtSvid(svid.token, 'tools');
    expect(validated.id.toString()).toBe(AGENT);
    await expect(client.validateJwtSvid(svid.token, 'ledger')).rejects.toMatchObject({ grpcCode: grpc.status.INVALID_ARGUMENT });
  });

  it('after close(), refuses fetches and watches with SourceError', async () => {
    client.close();
    client.close();
    await expect(client.fetchX509Context()).rejects.toThrow(new SourceError('workload API client is closed'));
    await expect(client.fetchJwtSvid({ audience: 'tools' })).rejects.toThrow(SourceError);
    expect(() => client.watchJwtBundles({ onUpdate: () => undefined, onError: () => undefined })).toThrow(SourceError);
  });
});
